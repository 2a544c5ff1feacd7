import { newId } from "../../src/kernel/crypto";
import { capabilityKey, capabilityRef, providerUserId } from "../../src/surfaces/capabilities/model";
import { adminDb } from "./admin";
import { localSecrets } from "./secrets";

/**
 * Capability bindings are created by installs (the Catalog & Install API, issue 6). Until that API
 * exists, tests seed BindingDoc documents directly with the Admin SDK, exactly as an install would
 * write them; replace seedBinding() with a real install once issue 6 is merged.
 */
export interface SeedBindingArgs {
  accountId: string;
  appId: string;
  packageId: string;
  slug: string;
  versionId: string;
  capabilityId: string;
  refreshIntervalSeconds: number;
  parameters?: Record<string, unknown>;
  /** The end user's Firebase uid (default: a new random one). */
  userId?: string;
}

export interface SeededBinding {
  id: string;
  userId: string;
  providerUserId: string;
  installId: string;
}

export async function seedBinding(args: SeedBindingArgs): Promise<SeededBinding> {
  const id = newId("bnd");
  const installId = newId("ins");
  const userId = args.userId ?? `user_${newId("u", 12)}`;
  const pseudonym = providerUserId(args.accountId, userId, localSecrets().DATA_ENCRYPTION_KEY!);
  const now = new Date();
  await adminDb()
    .collection("capabilityBindings")
    .doc(id)
    .set({
      installId,
      userId,
      providerUserId: pseudonym,
      accountId: args.accountId,
      appId: args.appId,
      packageId: args.packageId,
      versionId: args.versionId,
      capabilityId: args.capabilityId,
      capabilityKey: capabilityKey(args.packageId, args.capabilityId),
      capabilityRef: capabilityRef(args.slug, args.capabilityId),
      parameters: args.parameters ?? {},
      refreshIntervalSeconds: args.refreshIntervalSeconds,
      status: "active",
      nextSyncAt: args.refreshIntervalSeconds > 0 ? now : null,
      lastSyncAt: null,
      consecutiveFailures: 0,
      createdAt: now,
      updatedAt: now,
    });
  return { id, userId, providerUserId: pseudonym, installId };
}

/** What an uninstall does to the binding document (issue 6 does it in its transaction). */
export async function removeSeededBinding(id: string) {
  await adminDb().collection("capabilityBindings").doc(id).update({ status: "removed", nextSyncAt: null, updatedAt: new Date() });
}
