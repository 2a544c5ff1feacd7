import type { Transaction, WriteBatch } from "firebase-admin/firestore";
import { z } from "zod";
import { typedCollection, zDate } from "../../kernel/firestore";
import { countersOf } from "./counters";
import { buildSearchIndex } from "./search";

/**
 * catalogListings/{packageId}: what the catalog shows of a published package, one document per
 * package, written by the packages surface when a version is published, rolled back to or
 * deprecated, flagged by the orphan sweep and by certification (quality). Every writer goes through
 * the helpers below, which keep the derived fields right: the visibility flags (`listingFlags`) and
 * the search index (`buildSearchIndex`, docs/catalog.md#search). The catalog surface folds install
 * counts and ratings into it (`installCount`, `rating*`: sort keys, see counters.ts).
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
export const CertificationTier = z.enum(CERTIFICATION_TIERS).meta({
  id: "CertificationTier",
  description: "`certified`, `warning` (quality problem; revoked after the grace period) or `revoked` (hidden from the catalog for new installs).",
});
export type CertificationTier = z.infer<typeof CertificationTier>;

/** Why a listing is not in the catalog: deprecated by its provider, or its certification was revoked. */
const HIDDEN_REASONS = ["deprecated", "certification_revoked"] as const;
type HiddenReason = (typeof HIDDEN_REASONS)[number];

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
  /** Folded from the install counters (counters.ts): the `popular` sort key; never reset by a publish. */
  installCount: z.number().int().min(0),
  ratingAverage: z.number().nullable(),
  ratingCount: z.number().int().min(0),
  /** Bayesian average of the ratings, 0 when unrated (counters.ts `ratingScore`): the `rating` sort key. */
  ratingScore: z.number().default(0),
  /** Read time of the counter totals folded in last, so that a late fold never overwrites newer ones. */
  countersReadAt: zDate.nullable().default(null),
  /** First publication of the package: the `recent` sort key. */
  publishedAt: zDate,
  /** When the current version became current. */
  versionPublishedAt: zDate,
  updatedAt: zDate,
  /** The package's app was deleted; the listing leaves the catalog 30 days later. */
  orphaned: z.boolean(),
  /** Whether new installs are accepted: visible and not orphaned. Existing installs keep working either way. */
  installable: z.boolean(),
  deprecated: z.boolean(),
  successorPackageId: z.string().nullable(),
  /** Set by certification (quality); listings written before certification existed read as certified. */
  certificationTier: z.enum(CERTIFICATION_TIERS).default("certified"),
  /** Whether browse and search show it: not deprecated and not revoked (orphans stay visible, flagged). */
  visible: z.boolean().default(false),
  hiddenReason: z.enum(HIDDEN_REASONS).nullable().default(null),
  /** The search index (search.ts): `<tier>:<term>` for every term. */
  searchKeys: z.array(z.string()).default([]),
});
export type CatalogListingDoc = z.infer<typeof CatalogListingDoc>;

export const catalogListings = () => typedCollection("catalogListings", CatalogListingDoc);

/** The derived flags, from the facts (deprecated, orphaned, certification): the one place they are decided. */
export function listingFlags(facts: { deprecated: boolean; orphaned: boolean; certificationTier: CertificationTier }) {
  const hiddenReason: HiddenReason | null = facts.deprecated ? "deprecated" : facts.certificationTier === "revoked" ? "certification_revoked" : null;
  return { visible: hiddenReason === null, hiddenReason, installable: hiddenReason === null && !facts.orphaned };
}

/** The search fields of a listing, from the fields a user searches (name, provider, capability names, description). */
export const searchFieldsOf = (l: Pick<CatalogListingDoc, "name" | "providerName" | "capabilities" | "description">) =>
  buildSearchIndex({ name: l.name, providerName: l.providerName, capabilityNames: l.capabilities.map((c) => c.name), description: l.description });

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

/** Reads the listing inside a transaction (reads must come before the transaction's writes). */
export async function readListing(tx: Transaction, packageId: string): Promise<CatalogListingDoc | null> {
  return (await tx.get(catalogListings().doc(packageId))).data() ?? null;
}

/** Makes `published` the listing's current version, keeping installs, ratings and certification. */
export function writePublishedListing(
  tx: Transaction,
  existing: CatalogListingDoc | null,
  published: PublishedListing,
  now: Date,
): CatalogListingDoc {
  // Certification follows the package's live quality, not its versions: a new version keeps the tier.
  const facts = { deprecated: false, orphaned: false, certificationTier: existing?.certificationTier ?? ("certified" as const) };
  const base = {
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
  };
  const doc: CatalogListingDoc = {
    ...base,
    installCount: existing?.installCount ?? 0,
    ratingAverage: existing?.ratingAverage ?? null,
    ratingCount: existing?.ratingCount ?? 0,
    ratingScore: existing?.ratingScore ?? 0,
    countersReadAt: existing?.countersReadAt ?? null,
    publishedAt: existing?.publishedAt ?? now,
    versionPublishedAt: now,
    updatedAt: now,
    ...facts,
    successorPackageId: null,
    ...listingFlags(facts),
    ...searchFieldsOf(base),
  };
  tx.set(catalogListings().doc(published.packageId), doc);
  return doc;
}

type FlagChange = Partial<Pick<CatalogListingDoc, "deprecated" | "orphaned" | "certificationTier" | "successorPackageId" | "appId">>;

/** Applies a change of the facts and the flags that follow from them. */
function updateFlags(tx: Transaction, listing: CatalogListingDoc, change: FlagChange, now: Date): void {
  const next = { ...listing, ...change };
  tx.update(catalogListings().doc(listing.packageId), { ...change, ...listingFlags(next), updatedAt: now });
}

/** A deprecated package leaves browse and search at once; its existing installs keep working. */
export function markListingDeprecated(tx: Transaction, listing: CatalogListingDoc, successorPackageId: string | null, now: Date): void {
  updateFlags(tx, listing, { deprecated: true, successorPackageId }, now);
}

/** The package's app was deleted: still listed (flagged) until the orphan sweep removes it, but not installable. */
export function markListingOrphaned(tx: Transaction, listing: CatalogListingDoc, now: Date): void {
  updateFlags(tx, listing, { orphaned: true }, now);
}

/** A re-homed orphan becomes installable again (unless it was deprecated or revoked meanwhile). */
export function markListingRehomed(tx: Transaction, listing: CatalogListingDoc, appId: string, now: Date): void {
  updateFlags(tx, listing, { appId, orphaned: false }, now);
}

/**
 * Records the package's certification tier on its listing: `revoked` hides the package from browse,
 * search and new installs (existing installs keep working); any other tier shows it again unless it
 * is deprecated. Read the listing first with `readListing` in the same transaction.
 */
export function markListingCertification(tx: Transaction, listing: CatalogListingDoc, tier: CertificationTier, now: Date): void {
  updateFlags(tx, listing, { certificationTier: tier }, now);
}

/** Removes a listing from the catalog (the orphan sweep, 30 days after its app was deleted). */
export function removeListing(writer: Transaction | WriteBatch, packageId: string): void {
  (writer as WriteBatch).delete(catalogListings().doc(packageId));
}

/**
 * Install counts of packages (0 for packages never installed), exact: summed from the install
 * counters (counters.ts). The one place the packages surface reads them from.
 */
export async function installCountsOf(packageIds: string[]): Promise<Map<string, number>> {
  const counters = await countersOf(packageIds);
  return new Map(packageIds.map((id) => [id, counters.get(id)?.installs ?? 0]));
}
