import { type z } from "zod";
import type { FirebaseUser } from "../../kernel/auth/principal";
import { type Clock, systemClock } from "../../kernel/clock";
import { newId } from "../../kernel/crypto";
import { ApiError, assert, notFound } from "../../kernel/errors";
import { recordProviderEvent } from "../../domain/events/providerEvents";
import { db } from "../../kernel/firebase";
import type { Page } from "../../kernel/http/envelope";
import { appendPointer, compileJsonSchema, firstError } from "../../kernel/jsonSchema";
import { log } from "../../kernel/logger";
import { type Binding, type BindingDoc, capabilityBindings, findBindings } from "../../domain/capabilities/binding";
import { capabilityKey, capabilityRef, providerUserId } from "../../domain/capabilities/naming";
import type { CapabilityDescriptor } from "../../domain/packages/descriptor";
import { findVersion, parseCapabilities } from "../../domain/packages/version";
import { bumpCounters, countersOf, ratingAverage } from "../../domain/catalog/counters";
import { type CatalogListingDoc, catalogListings, readListing } from "../../domain/catalog/listing";
import { ListingIndex } from "./listingIndex";
import { findInstall, installDocId, installedAmong, installs, listActiveInstalls, type InstallDoc } from "../../domain/catalog/install";
import { findRating, listRatingsOf, ratingDocId, ratings } from "../../domain/catalog/rating";
import { type InstallBody, type ListingView, type MarketplaceQuery, type RatingBody } from "./schemas";
import { type RatingDoc } from "../../domain/catalog/rating";
import { deleteBindingState } from "../../domain/capabilities/invoker";
import { queryTerms } from "../../domain/catalog/search";

/** An install with its capability bindings (by id), as the install routes answer it. */
export interface InstallView {
  install: InstallDoc;
  bindings: Map<string, Binding>;
}

/** One read model per instance, shared by every request (and started by the first). */
let shared: ListingIndex | undefined;
const sharedIndex = () => (shared ??= new ListingIndex());

export class CatalogService {
  constructor(
    private readonly clock: Clock = systemClock,
    private readonly index: ListingIndex = sharedIndex(),
  ) {}

  // ---------- browse and search ----------

  /** Browse (no `q`) and search, from the in-memory read model of the catalog (listingIndex.ts). */
  async browse(user: FirebaseUser, query: MarketplaceQuery): Promise<Page<ListingView>> {
    const { limit, offset, category } = query;
    const terms = query.q ? queryTerms(query.q) : [];
    const sort = query.sort ?? (terms.length ? "relevance" : "popular");
    const hits = await this.index.page({ terms, category, sort: terms.length === 0 && sort === "relevance" ? "popular" : sort, limit, offset });
    return { items: await this.views(hits.listings, user.uid), total: hits.total, limit, offset };
  }

  /** Listings with their exact counters and whether the user installed them. */
  private async views(listings: CatalogListingDoc[], uid: string): Promise<ListingView[]> {
    const ids = listings.map((l) => l.packageId);
    const [counters, installed] = await Promise.all([countersOf(ids), installedAmong(ids, uid)]);
    return listings.map((listing) => {
      const id = listing.packageId;
      const c = counters.get(id)!;
      return {
        listing,
        installs: c.installs,
        rating: { average: ratingAverage(c), count: c.ratings },
        installed: installed.has(id),
      };
    });
  }

  /** One listing: visible ones to anyone, hidden ones (deprecated, revoked) only to the users who have them installed. */
  async getListing(user: FirebaseUser, packageId: string): Promise<ListingView> {
    const listing = (await catalogListings().doc(packageId).get()).data();
    assert(listing, notFound("package", packageId));
    const [view] = await this.views([listing], user.uid);
    assert(listing.visible || view!.installed, notFound("package", packageId));
    return view!;
  }

  // ---------- installs ----------

  /**
   * Installs the package's current version for the user: the install, one binding per capability
   * (scheduled for its first sync at once), the counter and the `install.created` event, in one
   * transaction. Installing again returns the active install unchanged (`created: false`).
   */
  async install(user: FirebaseUser, packageId: string, body: z.output<typeof InstallBody>): Promise<InstallView & { created: boolean }> {
    const now = this.clock.now();
    const result = await db().runTransaction(async (tx) => {
      const existing = await findInstall(packageId, user.uid, tx);
      const listing = await readListing(tx, packageId);
      if (existing?.status === "active")
        return {
          install: existing,
          bindings: await findBindings(
            existing.capabilities.map((c) => c.bindingId),
            tx,
          ),
          created: false,
        };
      if (!listing || !listing.visible) throw notFound("package", packageId);
      if (!listing.installable) {
        throw new ApiError(
          "PACKAGE_NOT_INSTALLABLE",
          `Package ${packageId} takes no new installs: its provider's app was deleted and it leaves the catalog soon`,
        );
      }
      const version = await findVersion(packageId, listing.currentVersionId, tx);
      if (!version) throw new Error(`Listing ${packageId} names version ${listing.currentVersionId}, which does not exist`);
      const descriptors = parseCapabilities(version.capabilitiesJson);
      const parameters = resolveParameters(descriptors, body.parameters ?? {});

      const installId = newId("inst");
      const pseudonym = providerUserId(listing.accountId, user.uid);
      const bindings = descriptors.map((d) => ({ id: newId("bnd"), descriptor: d }));
      const install: InstallDoc = {
        installId,
        userId: user.uid,
        packageId,
        accountId: listing.accountId,
        appId: listing.appId,
        slug: listing.slug,
        packageName: listing.name,
        versionId: version.id,
        version: version.version,
        providerUserId: pseudonym,
        dataRetentionPolicyUrl: listing.privacyPolicyUrl,
        status: "active",
        capabilities: bindings.map((b) => ({ id: b.descriptor.id, name: b.descriptor.name, bindingId: b.id })),
        installedAt: now,
        removedAt: null,
        updatedAt: now,
      };
      tx.set(installs().doc(installDocId(packageId, user.uid)), install);
      const written = new Map<string, Binding>();
      for (const { id, descriptor } of bindings) {
        const binding: BindingDoc = {
          installId,
          userId: user.uid,
          providerUserId: pseudonym,
          accountId: listing.accountId,
          appId: listing.appId,
          packageId,
          versionId: version.id,
          capabilityId: descriptor.id,
          capabilityKey: capabilityKey(packageId, descriptor.id),
          capabilityRef: capabilityRef(listing.slug, descriptor.id),
          parameters: parameters.get(descriptor.id)!,
          refreshIntervalSeconds: descriptor.refreshIntervalSeconds,
          status: "active",
          // The first sync is due at once: the scheduler's next run (within a minute) fetches the data.
          nextSyncAt: descriptor.refreshIntervalSeconds > 0 ? now : null,
          lastSyncAt: null,
          consecutiveFailures: 0,
          createdAt: now,
          updatedAt: now,
        };
        tx.create(capabilityBindings().doc(id), binding);
        written.set(id, { id, ...binding });
      }
      bumpCounters(tx, packageId, { installs: 1 }, now);
      recordProviderEvent(
        tx,
        {
          accountId: listing.accountId,
          appId: listing.appId,
          type: "install.created",
          data: {
            packageId,
            installId,
            versionId: version.id,
            version: version.version,
            capabilities: descriptors.map((d) => d.id),
            user: { id: pseudonym },
          },
        },
        now,
      );
      return { install, bindings: written, created: true };
    });
    if (result.created) log.installCreated(packageId, result.install.installId);
    return result;
  }

  /**
   * Uninstalls: the bindings are removed (their sync stops: nothing is due any more), their cached
   * state deleted, the counter decremented and the provider told (`install.deleted`), in one transaction.
   */
  async uninstall(user: FirebaseUser, packageId: string): Promise<InstallView> {
    const now = this.clock.now();
    const result = await db().runTransaction(async (tx) => {
      const install = await findInstall(packageId, user.uid, tx);
      if (!install || install.status !== "active") throw notFound("install of package", packageId);
      const bindingIds = install.capabilities.map((c) => c.bindingId);
      const bindings = await findBindings(bindingIds, tx);
      // The state store may read: every read comes before the transaction's first write.
      // The invoker owns cached state: it deletes it here, in the uninstall transaction, after its reads.
      for (const binding of bindings.values()) deleteBindingState(tx, binding, now);
      const removedBindings = new Map<string, Binding>();
      for (const [id, binding] of bindings) {
        const change = { status: "removed" as const, nextSyncAt: null, updatedAt: now };
        tx.update(capabilityBindings().doc(id), change);
        removedBindings.set(id, { ...binding, ...change });
      }
      const removed: InstallDoc = { ...install, status: "removed", removedAt: now, updatedAt: now };
      tx.set(installs().doc(installDocId(packageId, user.uid)), removed);
      bumpCounters(tx, packageId, { installs: -1 }, now);
      recordProviderEvent(
        tx,
        {
          accountId: install.accountId,
          appId: install.appId,
          type: "install.deleted",
          data: {
            packageId,
            installId: install.installId,
            user: { id: install.providerUserId },
            dataRetentionPolicyUrl: install.dataRetentionPolicyUrl,
          },
        },
        now,
      );
      return { install: removed, bindings: removedBindings };
    });
    log.installDeleted(packageId, result.install.installId);
    return result;
  }

  async listInstalls(user: FirebaseUser, limit: number, offset: number): Promise<Page<InstallView>> {
    const { items, total } = await listActiveInstalls(user.uid, limit, offset);
    const bindings = await findBindings(items.flatMap((i) => i.capabilities.map((c) => c.bindingId)));
    return { items: items.map((install) => ({ install, bindings })), total, limit, offset };
  }

  now(): Date {
    return this.clock.now();
  }

  // ---------- ratings ----------

  /**
   * Rates a package (1–5 stars, optional text): one rating per user and package, by users who have
   * it installed. The rating and its counter change commit in one transaction (counters.ts).
   */
  async rate(
    user: FirebaseUser,
    packageId: string,
    body: z.output<typeof RatingBody>,
  ): Promise<{ rating: RatingDoc; created: boolean; packageRating: { average: number | null; count: number } }> {
    const now = this.clock.now();
    const outcome = await db().runTransaction(async (tx) => {
      const install = await findInstall(packageId, user.uid, tx);
      const listing = await readListing(tx, packageId);
      const previous = await findRating(packageId, user.uid, tx);
      if (!install || install.status !== "active") {
        assert(listing?.visible, notFound("package", packageId));
        throw new ApiError("INSTALL_REQUIRED", `Install package ${packageId} before rating it`);
      }
      const rating: RatingDoc = {
        packageId,
        userId: user.uid,
        stars: body.stars,
        text: body.text ?? null,
        createdAt: previous?.createdAt ?? now,
        updatedAt: now,
      };
      tx.set(ratings().doc(ratingDocId(packageId, user.uid)), rating);
      bumpCounters(tx, packageId, previous ? { ratingSum: body.stars - previous.stars } : { ratings: 1, ratingSum: body.stars }, now);
      return { rating, created: !previous };
    });
    const totals = (await countersOf([packageId])).get(packageId)!;
    return { ...outcome, packageRating: { average: ratingAverage(totals), count: totals.ratings } };
  }

  /** A package's ratings, newest first (raters stay anonymous); visible packages, or hidden ones the user has installed. */
  async listRatings(user: FirebaseUser, packageId: string, limit: number, offset: number): Promise<Page<RatingDoc>> {
    await this.getListing(user, packageId);
    const { items, total } = await listRatingsOf(packageId, limit, offset);
    return { items, total, limit, offset };
  }
}

/**
 * The parameters of each capability: those given, or the descriptor's `sampleInput`, valid
 * against the capability's input schema. Answers VALIDATION_ERROR naming the offending field.
 */
function resolveParameters(
  descriptors: CapabilityDescriptor[],
  given: Record<string, Record<string, unknown>>,
): Map<string, Record<string, unknown>> {
  const known = new Set(descriptors.map((d) => d.id));
  const details: { field: string; message: string }[] = [];
  for (const id of Object.keys(given))
    if (!known.has(id)) details.push({ field: `parameters.${id}`, message: "The package has no capability with this id" });
  const out = new Map<string, Record<string, unknown>>();
  for (const d of descriptors) {
    const parameters = given[d.id] ?? d.sampleInput;
    const check = compileJsonSchema(d.inputSchema);
    const problem = check.ok ? firstError(check.validate, parameters) : { pointer: "", detail: "the capability's input schema is unusable" };
    if (problem)
      details.push({
        field: appendPointer(`parameters.${d.id}`, problem.pointer),
        message: given[d.id] ? problem.detail : `${problem.detail} (the default parameters do not fit; send parameters for this capability)`,
      });
    out.set(d.id, parameters);
  }
  if (details.length) throw new ApiError("VALIDATION_ERROR", details.map((d) => `${d.field}: ${d.message}`).join("; "), { details });
  return out;
}
