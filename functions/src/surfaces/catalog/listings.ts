import type { Transaction } from "firebase-admin/firestore";
import { z } from "zod";
import { typedCollection, zDate } from "../../kernel/firestore";

/**
 * catalogListings/{packageId}: what the catalog shows of a published package, one document per
 * package, written by the packages surface when a version is published, rolled back to or
 * deprecated (and flagged by the orphan sweep). The catalog surface reads these documents and
 * maintains installCount and the ratings; everything else is written only through the helpers below.
 */
export const ListingCapability = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  refreshIntervalSeconds: z.number().int(),
  dataCategories: z.array(z.string()),
  actions: z.array(z.string()),
});
export type ListingCapability = z.infer<typeof ListingCapability>;

/**
 * The package's quality certification (docs/quality.md), set by the certification job: a `revoked`
 * package is hidden from the catalog and takes no new installs; existing installs keep working.
 */
export const CERTIFICATION_TIERS = ["certified", "warning", "revoked"] as const;
export type CertificationTier = (typeof CERTIFICATION_TIERS)[number];

export const CatalogListingDoc = z.object({
  packageId: z.string(),
  accountId: z.string(),
  appId: z.string(),
  slug: z.string(),
  name: z.string(),
  description: z.string(),
  category: z.string(),
  images: z.object({ icon: z.string().nullable(), screenshots: z.array(z.string()) }),
  privacyPolicyUrl: z.string().nullable(),
  supportUrl: z.string().nullable(),
  /** The provider's company name when the version was published. */
  providerName: z.string(),
  currentVersionId: z.string(),
  currentVersion: z.string(),
  riskTier: z.string(),
  capabilities: z.array(ListingCapability),
  /** Union of the capabilities' data categories, for "this package reads your ..." notices. */
  dataCategories: z.array(z.string()),
  /** Maintained by the catalog surface (installs and ratings); never reset by a publish. */
  installCount: z.number().int().min(0),
  ratingAverage: z.number().nullable(),
  ratingCount: z.number().int().min(0),
  /** First publication of the package. */
  publishedAt: zDate,
  /** When the current version became current. */
  versionPublishedAt: zDate,
  updatedAt: zDate,
  /** The package's app was deleted; the listing leaves the catalog 30 days later. */
  orphaned: z.boolean(),
  /** False for orphaned, deprecated and revoked packages: existing installs keep working, new ones are refused. */
  installable: z.boolean(),
  deprecated: z.boolean(),
  successorPackageId: z.string().nullable(),
  /** Listings written before certification existed read as certified. */
  certificationTier: z.enum(CERTIFICATION_TIERS).default("certified"),
});
export type CatalogListingDoc = z.infer<typeof CatalogListingDoc>;

export const catalogListings = () => typedCollection("catalogListings", CatalogListingDoc);

/** What a publish puts in the listing: the version reviewed and the listing metadata reviewed with it. */
export interface PublishedListing {
  packageId: string;
  accountId: string;
  appId: string;
  slug: string;
  providerName: string;
  listing: {
    name: string;
    description: string;
    category: string;
    images: { icon: string | null; screenshots: string[] };
    privacyPolicyUrl: string | null;
    supportUrl: string | null;
  };
  versionId: string;
  version: string;
  riskTier: string;
  capabilities: ListingCapability[];
}

/** Whether the listing takes new installs: not orphaned, not deprecated, not revoked. */
export const installableOf = (l: Pick<CatalogListingDoc, "orphaned" | "deprecated" | "certificationTier">) =>
  !l.orphaned && !l.deprecated && l.certificationTier !== "revoked";

/** Whether the catalog shows the listing at all (browse and search): revoked packages are hidden. */
export const shownInCatalog = (l: Pick<CatalogListingDoc, "certificationTier">) => l.certificationTier !== "revoked";

/** Reads the listing inside a transaction (reads must come before the transaction's writes). */
export async function readListing(tx: Transaction, packageId: string): Promise<CatalogListingDoc | null> {
  return (await tx.get(catalogListings().doc(packageId))).data() ?? null;
}

/** Makes `published` the listing's current version, keeping installs and ratings. */
export function writePublishedListing(tx: Transaction, existing: CatalogListingDoc | null, published: PublishedListing, now: Date): CatalogListingDoc {
  // Certification follows the package's live quality, not its versions: a new version keeps the tier.
  const certificationTier = existing?.certificationTier ?? "certified";
  const doc: CatalogListingDoc = {
    packageId: published.packageId,
    accountId: published.accountId,
    appId: published.appId,
    slug: published.slug,
    ...published.listing,
    providerName: published.providerName,
    currentVersionId: published.versionId,
    currentVersion: published.version,
    riskTier: published.riskTier,
    capabilities: published.capabilities,
    dataCategories: [...new Set(published.capabilities.flatMap((c) => c.dataCategories))].sort(),
    installCount: existing?.installCount ?? 0,
    ratingAverage: existing?.ratingAverage ?? null,
    ratingCount: existing?.ratingCount ?? 0,
    publishedAt: existing?.publishedAt ?? now,
    versionPublishedAt: now,
    updatedAt: now,
    orphaned: false,
    installable: installableOf({ orphaned: false, deprecated: false, certificationTier }),
    deprecated: false,
    successorPackageId: null,
    certificationTier,
  };
  tx.set(catalogListings().doc(published.packageId), doc);
  return doc;
}

/** A deprecated package stays listed for its existing installs, flagged, and takes no new ones. */
export function markListingDeprecated(tx: Transaction, packageId: string, successorPackageId: string | null, now: Date): void {
  tx.update(catalogListings().doc(packageId), { deprecated: true, installable: false, successorPackageId, updatedAt: now });
}

/** A re-homed orphan becomes installable again (unless it was deprecated or revoked meanwhile). */
export function markListingRehomed(tx: Transaction, listing: CatalogListingDoc, appId: string, now: Date): void {
  tx.update(catalogListings().doc(listing.packageId), { appId, orphaned: false, installable: installableOf({ ...listing, orphaned: false }), updatedAt: now });
}

/** Sets the package's certification tier on its listing: revocation hides it and stops new installs, recovery undoes that. */
export function markListingCertification(tx: Transaction, listing: CatalogListingDoc, tier: CertificationTier, now: Date): void {
  tx.update(catalogListings().doc(listing.packageId), { certificationTier: tier, installable: installableOf({ ...listing, certificationTier: tier }), updatedAt: now });
}

/**
 * Install counts of packages, from their listings (0 for packages never listed). The one place the
 * packages surface reads them from; the catalog surface keeps the listing's count up to date.
 */
export async function installCountsOf(packageIds: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>(packageIds.map((id) => [id, 0]));
  if (packageIds.length === 0) return counts;
  const snaps = await catalogListings().firestore.getAll(...packageIds.map((id) => catalogListings().doc(id)));
  for (const snap of snaps) {
    const data = snap.data();
    if (data) counts.set(snap.id, (data as CatalogListingDoc).installCount);
  }
  return counts;
}
