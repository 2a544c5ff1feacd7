import { adminDb } from "./admin";
import type { PublishedCapability } from "./capabilities";
import { endUser, MARKETPLACE } from "./catalog";
import { api, expectStatus } from "./http";

/** A capability binding as a user's install creates it, with what tests need to know of it. */
export interface InstalledBinding {
  id: string;
  /** The end user's Firebase uid and ID token. */
  userId: string;
  userToken: string;
  providerUserId: string;
  installId: string;
  packageId: string;
}

/**
 * Installs the published package of `p` for a new end user through the Catalog & Install API,
 * with `parameters` for its capability, and answers the binding of that capability.
 */
export async function installBinding(p: PublishedCapability, parameters: Record<string, unknown> = {}): Promise<InstalledBinding> {
  const user = await endUser();
  const res = await api.post(`${MARKETPLACE}/${p.packageId}/install`, { parameters: { [p.capabilityId]: parameters } }, { token: user.token });
  expectStatus(201, res);
  const capability = (res.body.data.capabilities as { id: string; bindingId: string }[]).find((c) => c.id === p.capabilityId)!;
  const binding = (await adminDb().collection("capabilityBindings").doc(capability.bindingId).get()).data()!;
  return {
    id: capability.bindingId,
    userId: user.uid,
    userToken: user.token,
    providerUserId: binding.providerUserId,
    installId: res.body.data.id,
    packageId: p.packageId,
  };
}

/** Uninstalls the binding's package for its user (the binding is removed, its state deleted). */
export async function uninstallBinding(binding: InstalledBinding) {
  expectStatus(200, await api.delete(`${MARKETPLACE}/${binding.packageId}/install`, { token: binding.userToken }));
}
