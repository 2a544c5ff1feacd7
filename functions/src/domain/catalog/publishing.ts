import type { Transaction } from "firebase-admin/firestore";
import { type CatalogListingDoc, writePublishedListing } from "./listing";
import { packages, type Package } from "../packages/package";
import { type Actor, parseCapabilities, type VersionChange } from "../packages/version";

/**
 * Makes `target` the package's current version, in the caller's transaction: the previous current
 * version is superseded, the catalog listing is rewritten from the version and the listing metadata
 * reviewed with it, and the package points at the new version. Used by publish, rollback and the
 * automatic listing of data_only versions.
 */
export function applyPublish(
  tx: Transaction,
  args: {
    pkg: Package;
    target: VersionChange;
    current: VersionChange | null;
    listing: CatalogListingDoc | null;
    providerName: string;
    actor: Actor;
    reason: string;
    now: Date;
  },
): void {
  const { pkg, target, current, now } = args;
  const reviewed = target.version.listing;
  if (!reviewed || !reviewed.category) throw new Error(`Version ${target.version.id} has no reviewed listing to publish`);
  current?.to("superseded", args.actor, `Superseded by ${target.version.version}`, "supersede");
  target.to("published", args.actor, args.reason, "publish").set({ publishedAt: now });

  writePublishedListing(
    tx,
    args.listing,
    {
      packageId: pkg.id,
      accountId: pkg.accountId,
      appId: pkg.appId,
      slug: pkg.slug,
      providerName: args.providerName,
      listing: { ...reviewed, category: reviewed.category },
      versionId: target.version.id,
      version: target.version.version,
      riskTier: target.version.riskTier,
      capabilities: parseCapabilities(target.version.capabilitiesJson).map((c) => ({
        id: c.id,
        name: c.name,
        description: c.description,
        refreshIntervalSeconds: c.refreshIntervalSeconds,
        dataCategories: c.dataCategories,
        actions: c.actions.map((a) => a.id),
      })),
    },
    now,
  );
  tx.update(packages().doc(pkg.id), {
    status: "published",
    currentVersionId: target.version.id,
    currentVersion: target.version.version,
    riskTier: target.version.riskTier,
    updatedAt: now,
  });
  target.write(tx);
  current?.write(tx);
}
