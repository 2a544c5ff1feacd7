import { z } from "zod";
import { iso, isoOrNull, PageQuery, IsoDate } from "../../kernel/http/envelope";
import type { Binding } from "../../domain/capabilities/binding";
import { Category, RiskTier } from "../../domain/packages/descriptor";
import { CERTIFICATION_TIERS, type CatalogListingDoc, ListingCapability } from "../../domain/catalog/listing";
import { queryTerms } from "../../domain/catalog/search";
import { INSTALL_STATUSES, type InstallDoc } from "../../domain/catalog/install";
import { type RatingDoc } from "../../domain/catalog/rating";
import { PackageId } from "../../domain/packages/package";

// ---------- Requests ----------

export const PackageParams = z.object({ id: PackageId });

const CATALOG_SORTS = ["relevance", "popular", "recent", "rating"] as const;

export const MarketplaceQuery = PageQuery.extend({
  q: z
    .string()
    .trim()
    .max(200)
    .optional()
    .transform((q) => (q ? q : undefined))
    .refine((q) => q === undefined || queryTerms(q).length > 0, { message: "Must contain a letter or digit" })
    .meta({
      description:
        "Search words (up to 8): each must match the start of a word of the name, provider, capability names or description; case and accents are ignored.",
    }),
  category: Category.optional(),
  sort: z.enum(CATALOG_SORTS).optional().meta({
    description:
      "`popular` (most installed; the default without `q`), `recent` (newest first), `rating` (best rated), `relevance` (the default with `q`; needs `q`).",
  }),
}).refine((v) => v.sort !== "relevance" || v.q !== undefined, { message: "sort=relevance needs q", path: ["sort"] });
export type MarketplaceQuery = z.output<typeof MarketplaceQuery>;

const CapabilityParameters = z.record(z.string(), z.unknown());

export const InstallBody = z
  .strictObject({
    parameters: z
      .record(z.string().max(64), CapabilityParameters)
      .optional()
      .meta({
        description:
          "Per capability id, the invocation parameters of this install, validated against the capability's input schema. " +
          "A capability not named here uses its descriptor's `sampleInput`.",
        example: { weather_forecast: { location: "Lisbon", days: 5 } },
      }),
  })
  .meta({ id: "InstallRequest" });

export const RatingBody = z
  .strictObject({
    stars: z.number().int().min(1).max(5).meta({ description: "1 to 5." }),
    text: z.string().trim().min(1).max(2000).nullable().optional().meta({ description: "An optional review, up to 2000 characters." }),
  })
  .meta({ id: "RatingRequest" });

// ---------- Responses ----------

export const ListingOut = z
  .object({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    description: z.string(),
    category: Category,
    images: z.object({ icon: z.string().nullable(), screenshots: z.array(z.string()) }),
    providerName: z.string().meta({ description: "The provider's company name." }),
    currentVersion: z.object({ id: z.string(), version: z.string(), publishedAt: IsoDate }),
    riskTier: RiskTier,
    capabilities: z.array(ListingCapability),
    dataCategories: z.array(z.string()).meta({ description: "Kinds of data the package handles (union of its capabilities')." }),
    installCount: z.number().int().meta({ description: "Active installs, exact." }),
    rating: z
      .object({ average: z.number().nullable(), count: z.number().int() })
      .meta({ description: "Average of the users' ratings (null when unrated), exact." }),
    privacyPolicyUrl: z.string().nullable(),
    dataRetentionPolicyUrl: z
      .string()
      .nullable()
      .meta({ description: "Where the provider states how long it keeps your data after you uninstall (its privacy policy)." }),
    supportUrl: z.string().nullable(),
    publishedAt: IsoDate.meta({ description: "First publication in the catalog." }),
    updatedAt: IsoDate,
    installable: z.boolean().meta({ description: "False for orphaned packages (their provider app was deleted) and hidden ones: no new installs." }),
    orphaned: z.boolean(),
    deprecated: z.boolean(),
    successorPackageId: z.string().nullable(),
    certificationTier: z.enum(CERTIFICATION_TIERS).nullable(),
    installed: z.boolean().meta({ description: "Whether you have it installed." }),
  })
  .meta({ id: "CatalogListing" });

const FRESHNESS = ["fresh", "stale", "pending", "failing", "on_demand", "removed"] as const;

const InstalledCapabilityOut = z
  .object({
    id: z.string(),
    ref: z.string().meta({ description: "`<package slug>.<capability id>`" }),
    name: z.string(),
    bindingId: z.string(),
    parameters: z.record(z.string(), z.unknown()),
    refreshIntervalSeconds: z.number().int().meta({ description: "0: refreshed on demand only." }),
    freshness: z.object({
      status: z.enum(FRESHNESS).meta({
        description:
          "`fresh`: synced within two refresh intervals. `stale`: not. `pending`: not synced yet. `failing`: the last sync failed (retried with backoff). " +
          "`on_demand`: no scheduled sync. `removed`: uninstalled.",
      }),
      lastSyncAt: IsoDate.nullable().meta({ description: "Last successful sync." }),
      nextSyncAt: IsoDate.nullable(),
      ageSeconds: z.number().int().nullable().meta({ description: "Seconds since the last successful sync." }),
      consecutiveFailures: z.number().int(),
    }),
  })
  .meta({ id: "InstalledCapability" });

export const InstallOut = z
  .object({
    id: z.string(),
    packageId: z.string(),
    packageName: z.string(),
    slug: z.string(),
    version: z.object({ id: z.string(), version: z.string() }),
    status: z.enum(INSTALL_STATUSES),
    installedAt: IsoDate,
    removedAt: IsoDate.nullable(),
    dataRetentionPolicyUrl: z
      .string()
      .nullable()
      .meta({ description: "The provider's policy on the data it holds about you (kept after an uninstall as it says)." }),
    capabilities: z.array(InstalledCapabilityOut),
  })
  .meta({ id: "Install" });

export const RatingOut = z
  .object({
    packageId: z.string(),
    stars: z.number().int(),
    text: z.string().nullable(),
    mine: z.boolean().meta({ description: "Whether it is your rating (other users stay anonymous)." }),
    createdAt: IsoDate,
    updatedAt: IsoDate,
  })
  .meta({ id: "Rating" });

export const RatedOut = RatingOut.extend({
  packageRating: z.object({ average: z.number().nullable(), count: z.number().int() }).meta({ description: "The package's rating including yours." }),
}).meta({ id: "RatingWithPackageRating" });

// ---------- Mappers ----------

export interface ListingView {
  listing: CatalogListingDoc;
  installs: number;
  rating: { average: number | null; count: number };
  installed: boolean;
}

const round2 = (value: number | null) => (value === null ? null : Math.round(value * 100) / 100);

export const toListingOut = (v: ListingView): z.input<typeof ListingOut> => {
  const l = v.listing;
  return {
    id: l.packageId,
    slug: l.slug,
    name: l.name,
    description: l.description,
    category: l.category as Category,
    images: l.images,
    providerName: l.providerName,
    currentVersion: { id: l.currentVersionId, version: l.currentVersion, publishedAt: iso(l.versionPublishedAt) },
    riskTier: l.riskTier as RiskTier,
    capabilities: l.capabilities,
    dataCategories: l.dataCategories,
    installCount: v.installs,
    rating: { average: round2(v.rating.average), count: v.rating.count },
    privacyPolicyUrl: l.privacyPolicyUrl,
    dataRetentionPolicyUrl: l.privacyPolicyUrl,
    supportUrl: l.supportUrl,
    publishedAt: iso(l.publishedAt),
    updatedAt: iso(l.updatedAt),
    installable: l.installable,
    orphaned: l.orphaned,
    deprecated: l.deprecated,
    successorPackageId: l.successorPackageId,
    certificationTier: l.certificationTier,
    installed: v.installed,
  };
};

/** How fresh an installed capability's data is, from its binding's sync bookkeeping. */
function freshnessOf(b: Binding | null, refreshIntervalSeconds: number, now: Date): z.input<typeof InstalledCapabilityOut>["freshness"] {
  const lastSyncAt = b?.lastSyncAt ?? null;
  const ageSeconds = lastSyncAt ? Math.max(0, Math.floor((now.getTime() - lastSyncAt.getTime()) / 1000)) : null;
  const failures = b?.consecutiveFailures ?? 0;
  let status: (typeof FRESHNESS)[number];
  if (!b || b.status === "removed") status = "removed";
  else if (refreshIntervalSeconds === 0) status = "on_demand";
  else if (failures > 0) status = "failing";
  else if (ageSeconds === null) status = "pending";
  else status = ageSeconds <= 2 * refreshIntervalSeconds ? "fresh" : "stale";
  return { status, lastSyncAt: isoOrNull(lastSyncAt), nextSyncAt: isoOrNull(b?.nextSyncAt), ageSeconds, consecutiveFailures: failures };
}

export const toInstallOut = (install: InstallDoc, bindings: Map<string, Binding>, now: Date): z.input<typeof InstallOut> => ({
  id: install.installId,
  packageId: install.packageId,
  packageName: install.packageName,
  slug: install.slug,
  version: { id: install.versionId, version: install.version },
  status: install.status,
  installedAt: iso(install.installedAt),
  removedAt: isoOrNull(install.removedAt),
  dataRetentionPolicyUrl: install.dataRetentionPolicyUrl,
  capabilities: install.capabilities.map((c) => {
    const binding = bindings.get(c.bindingId) ?? null;
    const interval = binding?.refreshIntervalSeconds ?? 0;
    return {
      id: c.id,
      ref: binding?.capabilityRef ?? `${install.slug}.${c.id}`,
      name: c.name,
      bindingId: c.bindingId,
      parameters: binding?.parameters ?? {},
      refreshIntervalSeconds: interval,
      freshness: freshnessOf(binding, interval, now),
    };
  }),
});

export const toRatingOut = (r: RatingDoc, uid: string): z.input<typeof RatingOut> => ({
  packageId: r.packageId,
  stars: r.stars,
  text: r.text,
  mine: r.userId === uid,
  createdAt: iso(r.createdAt),
  updatedAt: iso(r.updatedAt),
});
