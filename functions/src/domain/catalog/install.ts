import type { Transaction } from "firebase-admin/firestore";
import { z } from "zod";
import { pageOf, typedCollection, zDate } from "../../kernel/firestore";

export const INSTALL_STATUSES = ["active", "removed"] as const;

/**
 * installs/{packageId}_{uid}: one per user and package, reused when the user installs again. The
 * public `installId` is new at each install (providers see it in webhooks, never the uid).
 */
export const InstallDoc = z.object({
  installId: z.string(),
  userId: z.string(),
  packageId: z.string(),
  accountId: z.string(),
  appId: z.string(),
  slug: z.string(),
  packageName: z.string(),
  versionId: z.string(),
  version: z.string(),
  providerUserId: z.string(),
  /** The listing's privacy policy when installed: where the provider states how long it keeps the user's data. */
  dataRetentionPolicyUrl: z.string().nullable(),
  status: z.enum(INSTALL_STATUSES),
  capabilities: z.array(z.object({ id: z.string(), name: z.string(), bindingId: z.string() })),
  installedAt: zDate,
  removedAt: zDate.nullable(),
  updatedAt: zDate,
});
export type InstallDoc = z.infer<typeof InstallDoc>;

export const installs = () => typedCollection("installs", InstallDoc);

/** One install document per user and package (the user's uid never leaves the platform). */
export const installDocId = (packageId: string, uid: string) => `${packageId}_${uid}`;

export async function findInstall(packageId: string, uid: string, tx?: Transaction): Promise<InstallDoc | null> {
  const ref = installs().doc(installDocId(packageId, uid));
  return (tx ? await tx.get(ref) : await ref.get()).data() ?? null;
}

/** Which of `packageIds` the user has installed (active installs), in one batched read. */
export async function installedAmong(packageIds: string[], uid: string): Promise<Set<string>> {
  if (packageIds.length === 0) return new Set();
  const snaps = await installs().firestore.getAll(...packageIds.map((id) => installs().doc(installDocId(id, uid))));
  return new Set(
    snaps
      .map((s) => s.data())
      .filter((d): d is InstallDoc => d?.status === "active")
      .map((d) => d.packageId),
  );
}

/** The user's active installs, newest first. */
export const listActiveInstalls = (uid: string, limit: number, offset: number) =>
  pageOf(installs().where("userId", "==", uid).where("status", "==", "active"), "installedAt", "desc", limit, offset);
