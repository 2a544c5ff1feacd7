import type { Transaction } from "firebase-admin/firestore";
import { z } from "zod";
import { conflict } from "../../kernel/errors";
import { type DocumentSource, pageOf, readDocument, typedCollection, zDate } from "../../kernel/firestore";
import { Category, RiskTier } from "./descriptor";

/** Package ids as they appear in paths and bodies. */
export const PackageId = z
  .string()
  .regex(/^pkg_[0-9A-Za-z]{20}$/)
  .meta({ example: "pkg_3ZkQ8bW1mN0pR5sT7vX9" });

const PACKAGE_STATUSES = ["draft", "published", "deprecated"] as const;
export const PackageStatus = z.enum(PACKAGE_STATUSES).meta({
  id: "PackageStatus",
  description: "`draft`: never published. `published`: has a current version in the catalog. `deprecated`: deprecated by its provider.",
});
export type PackageStatus = z.infer<typeof PackageStatus>;

const Images = z.object({ icon: z.string().nullable(), screenshots: z.array(z.string()) });

/** The package's listing metadata: what conformance checks and what a review approves. */
export const ListingMetadata = z.object({
  name: z.string(),
  description: z.string(),
  category: Category.nullable(),
  images: Images,
  privacyPolicyUrl: z.string().nullable(),
  supportUrl: z.string().nullable(),
});
export type ListingMetadata = z.infer<typeof ListingMetadata>;

/** packages/{id}. */
export const PackageDoc = ListingMetadata.extend({
  accountId: z.string(),
  appId: z.string(),
  slug: z.string(),
  status: PackageStatus,
  /** Tier of the current version, or of the newest version while none is published. */
  riskTier: RiskTier,
  currentVersionId: z.string().nullable(),
  currentVersion: z.string().nullable(),
  latestVersion: z.string(),
  versionCount: z.number().int().min(1),
  deprecation: z.object({ reason: z.string(), successorPackageId: z.string().nullable(), at: zDate }).nullable(),
  orphanedAt: zDate.nullable(),
  catalogRemovalDueAt: zDate.nullable(),
  catalogRemovedAt: zDate.nullable(),
  createdAt: zDate,
  updatedAt: zDate,
});
export type PackageDoc = z.infer<typeof PackageDoc>;
export type Package = PackageDoc & { id: string };

/** packageSlugs/{slug}: reserves a slug platform-wide (created in the same transaction as the package). */
const SlugDoc = z.object({ packageId: z.string(), createdAt: zDate });

export const packages = () => typedCollection("packages", PackageDoc);
export const packageSlugs = () => typedCollection("packageSlugs", SlugDoc);

/** The package if it belongs to `accountId`; another account's package is indistinguishable from a missing one. */
export async function findOwnedPackage(accountId: string, packageId: string, tx?: Transaction): Promise<Package | null> {
  const pkg = await findPackage(packageId, tx);
  return pkg && pkg.accountId === accountId ? pkg : null;
}

export async function findPackage(packageId: string, from?: DocumentSource): Promise<Package | null> {
  const snap = await readDocument(packages().doc(packageId), from);
  const data = snap.data();
  return data ? { id: snap.id, ...data } : null;
}

export function listPackagesOfAccount(accountId: string, status: PackageStatus | undefined, limit: number, offset: number) {
  let query = packages().where("accountId", "==", accountId);
  if (status) query = query.where("status", "==", status);
  return pageOf(query, "createdAt", "desc", limit, offset);
}

export const listingOf = (p: Package): ListingMetadata => ({
  name: p.name,
  description: p.description,
  category: p.category,
  images: p.images,
  privacyPolicyUrl: p.privacyPolicyUrl,
  supportUrl: p.supportUrl,
});

/** Deprecated and orphaned packages take no new validations, submissions or publications. */
export function assertOpenForChanges(p: Package): void {
  if (p.deprecation) throw conflict(`Package ${p.id} is deprecated`);
  if (p.orphanedAt)
    throw conflict(
      `Package ${p.id} is orphaned (its app was deleted); move it to an app of yours with PATCH /v1/providers/packages/manage/${p.id} {"appId": ...}`,
    );
}
