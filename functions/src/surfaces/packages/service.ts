import type { Transaction } from "firebase-admin/firestore";
import { type z } from "zod";
import { type Clock, systemClock } from "../../kernel/clock";
import { newId } from "../../kernel/crypto";
import { ApiError, assert, conflict, notFound } from "../../kernel/errors";
import { db } from "../../kernel/firebase";
import type { Page } from "../../kernel/http/envelope";
import { log } from "../../kernel/logger";
import { type Publisher, pubsubPublisher } from "../../kernel/pubsub";
import { installCountsOf, markListingDeprecated, markListingRehomed, readListing } from "../../domain/catalog/listing";
import { findOwnedApp } from "../../domain/accounts/app";
import type { Account } from "../../domain/accounts/account";
import { compareSemVer, nextMinor } from "../../domain/packages/descriptor";
import {
  assertOpenForChanges,
  listingOf,
  findOwnedPackage,
  listPackagesOfAccount,
  packageSlugs,
  packages,
  type Package,
  type PackageDoc,
  type PackageStatus,
} from "../../domain/packages/package";
import {
  fingerprintOf,
  newVersionDoc,
  findVersion,
  listTransitions,
  listVersions,
  versions,
  providerActor,
  recordCreation,
  systemActor,
  VersionChange,
} from "../../domain/packages/version";
import {
  CONFORMANCE_RUNNER,
  conformanceRuns,
  effectiveRun,
  isFinished,
  RUN_LEASE_MS,
  findRun,
  listRunsOfVersion,
  validationRuns,
} from "../../domain/conformance/validationRun";
import { waitForDocument } from "../../kernel/firestore";
import { packageSubmissions, SUBMISSION_RETRY_MS, VALIDATION_MAX_AGE_MS, estimateReview } from "../../domain/packages/review";
import { notifyProvider } from "../../domain/packages/notices";
import { applyPublish } from "../../domain/catalog/publishing";
import {
  type CreatePackageBody,
  type CreateVersionBody,
  type DeprecatePackageBody,
  type DeprecateVersionBody,
  type UpdatePackageBody,
  type UpdateVersionBody,
} from "./schemas";
import { type QueueEstimate } from "../../domain/packages/review";
import { type TransitionDoc, type Version } from "../../domain/packages/version";
import { type ValidationRun, type ValidationRunDoc } from "../../domain/conformance/validationRun";
import { illegalTransition } from "../../domain/packages/versionStates";

/** A package with everything GET /manage/:id shows. */
export interface PackageView {
  pkg: Package;
  installCount: number;
  versions: VersionView[];
}

export interface VersionView {
  version: Version;
  history: TransitionDoc[];
  estimate: QueueEstimate | null;
}

/** How long `?wait=true` waits for a run to finish. */
const WAIT_FOR_RUN_MS = 30_000;

export class PackagesService {
  private readonly clock: Clock;
  private readonly publisher: Publisher;

  constructor(deps: { clock?: Clock; publisher?: Publisher } = {}) {
    this.clock = deps.clock ?? systemClock;
    this.publisher = deps.publisher ?? pubsubPublisher;
  }

  // ---------- packages ----------

  async createPackage(account: Account, body: z.output<typeof CreatePackageBody>): Promise<PackageView> {
    if (account.status !== "active") throw new ApiError("ACCOUNT_NOT_VERIFIED", "Verify your e-mail address before creating packages");
    const now = this.clock.now();
    const id = newId("pkg");
    const versionId = newId("ver");
    const semver = body.version ?? "1.0.0";
    const pkg: PackageDoc = {
      accountId: account.id,
      appId: body.appId,
      name: body.name,
      slug: body.slug,
      description: body.description,
      category: body.category ?? null,
      images: { icon: body.images?.icon ?? null, screenshots: body.images?.screenshots ?? [] },
      privacyPolicyUrl: body.privacyPolicyUrl ?? null,
      supportUrl: body.supportUrl ?? null,
      status: "draft",
      riskTier: body.riskTier,
      currentVersionId: null,
      currentVersion: null,
      latestVersion: semver,
      versionCount: 1,
      deprecation: null,
      orphanedAt: null,
      catalogRemovalDueAt: null,
      catalogRemovedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    const version = newVersionDoc(
      {
        packageId: id,
        accountId: account.id,
        version: semver,
        riskTier: body.riskTier,
        capabilities: body.capabilities,
        changelog: body.changelog ?? null,
      },
      now,
    );
    await db().runTransaction(async (tx) => {
      assert(await findOwnedApp(account.id, body.appId, tx), notFound("app", body.appId));
      const slugRef = packageSlugs().doc(body.slug);
      if ((await tx.get(slugRef)).exists) throw conflict(`Slug '${body.slug}' is already taken`);
      tx.create(slugRef, { packageId: id, createdAt: now });
      tx.create(packages().doc(id), pkg);
      tx.create(versions(id).doc(versionId), version);
      recordCreation(tx, id, versionId, semver, providerActor(account.id), now);
    });
    return this.view({ id, ...pkg });
  }

  private async ownedPackage(account: Account, packageId: string, tx?: Transaction): Promise<Package> {
    const pkg = await findOwnedPackage(account.id, packageId, tx);
    assert(pkg, notFound("package", packageId));
    return pkg;
  }

  private async ownedVersion(account: Account, packageId: string, versionId: string, tx?: Transaction): Promise<{ pkg: Package; version: Version }> {
    const pkg = await this.ownedPackage(account, packageId, tx);
    const version = await findVersion(packageId, versionId, tx);
    assert(version, notFound("version", versionId));
    return { pkg, version };
  }

  private async versionView(version: Version, history: TransitionDoc[]): Promise<VersionView> {
    const estimate =
      version.review?.status === "queued" && version.review.queuedAt ? await estimateReview(version.review.queuedAt, this.clock.now()) : null;
    return { version, history: history.filter((t) => t.versionId === version.id), estimate };
  }

  private async view(pkg: Package): Promise<PackageView> {
    const [versions, history, counts] = await Promise.all([listVersions(pkg.id), listTransitions(pkg.id), installCountsOf([pkg.id])]);
    versions.sort((a, b) => compareSemVer(b.version, a.version));
    return { pkg, installCount: counts.get(pkg.id) ?? 0, versions: await Promise.all(versions.map((v) => this.versionView(v, history))) };
  }

  async getPackage(account: Account, packageId: string): Promise<PackageView> {
    return this.view(await this.ownedPackage(account, packageId));
  }

  async listPackages(
    account: Account,
    status: PackageStatus | undefined,
    limit: number,
    offset: number,
  ): Promise<Page<{ pkg: Package; installCount: number }>> {
    const { items, total } = await listPackagesOfAccount(account.id, status, limit, offset);
    const counts = await installCountsOf(items.map((p) => p.id));
    return { items: items.map((pkg) => ({ pkg, installCount: counts.get(pkg.id) ?? 0 })), total, limit, offset };
  }

  /** Listing metadata changes reach the catalog with the next published version, which is reviewed with them. */
  async updatePackage(account: Account, packageId: string, body: z.output<typeof UpdatePackageBody>): Promise<PackageView> {
    const now = this.clock.now();
    const pkg = await db().runTransaction(async (tx) => {
      const current = await this.ownedPackage(account, packageId, tx);
      const update: Partial<PackageDoc> = { updatedAt: now };
      let rehome = false;
      if (body.appId !== undefined && body.appId !== current.appId) {
        assert(await findOwnedApp(account.id, body.appId, tx), notFound("app", body.appId));
        Object.assign(update, { appId: body.appId, orphanedAt: null, catalogRemovalDueAt: null });
        rehome = true;
      }
      const listing = rehome ? await readListing(tx, packageId) : null;
      if (body.name !== undefined) update.name = body.name;
      if (body.description !== undefined) update.description = body.description;
      if (body.category !== undefined) update.category = body.category;
      if (body.images !== undefined) {
        update.images = {
          icon: body.images.icon !== undefined ? body.images.icon : current.images.icon,
          screenshots: body.images.screenshots ?? current.images.screenshots,
        };
      }
      if (body.privacyPolicyUrl !== undefined) update.privacyPolicyUrl = body.privacyPolicyUrl;
      if (body.supportUrl !== undefined) update.supportUrl = body.supportUrl;
      if (listing) markListingRehomed(tx, listing, body.appId!, now);
      tx.update(packages().doc(packageId), update);
      return { ...current, ...update };
    });
    return this.view(pkg);
  }

  // ---------- versions ----------

  async createVersion(account: Account, packageId: string, body: z.output<typeof CreateVersionBody>): Promise<VersionView> {
    const now = this.clock.now();
    const versionId = newId("ver");
    const version = await db().runTransaction(async (tx) => {
      const pkg = await this.ownedPackage(account, packageId, tx);
      if (pkg.deprecation) throw conflict(`Package ${packageId} is deprecated`);
      const semver = body.version ?? nextMinor(pkg.latestVersion);
      if (compareSemVer(semver, pkg.latestVersion) <= 0)
        throw conflict(`Version ${semver} must be greater than the latest version, ${pkg.latestVersion}`);
      const riskTier = body.riskTier ?? pkg.riskTier;
      const doc = newVersionDoc(
        { packageId, accountId: account.id, version: semver, riskTier, capabilities: body.capabilities, changelog: body.changelog ?? null },
        now,
      );
      tx.create(versions(packageId).doc(versionId), doc);
      recordCreation(tx, packageId, versionId, semver, providerActor(account.id), now);
      const update: Partial<PackageDoc> = { latestVersion: semver, versionCount: pkg.versionCount + 1, updatedAt: now };
      if (!pkg.currentVersionId) update.riskTier = riskTier; // the package's tier follows its newest version until one is published
      tx.update(packages().doc(packageId), update);
      return { id: versionId, ...doc };
    });
    return this.versionView(version, await listTransitions(packageId));
  }

  async getVersion(account: Account, packageId: string, versionId: string): Promise<VersionView> {
    const { version } = await this.ownedVersion(account, packageId, versionId);
    return this.versionView(version, await listTransitions(packageId));
  }

  /** Drafts (and validated versions, which return to draft) may change; submitted versions are immutable. */
  async updateVersion(account: Account, packageId: string, versionId: string, body: z.output<typeof UpdateVersionBody>): Promise<VersionView> {
    const now = this.clock.now();
    const version = await db().runTransaction(async (tx) => {
      const { pkg, version } = await this.ownedVersion(account, packageId, versionId, tx);
      if (version.state === "validating") throw conflict(`Version ${version.version} is being validated; wait for the run to finish`);
      if (version.state !== "draft" && version.state !== "validated")
        throw conflict(`Version ${version.version} is ${version.state}: versions are immutable once submitted; create a new version`);
      const change = new VersionChange(packageId, version, now);
      if (version.state === "validated") change.to("draft", providerActor(account.id), "Edited after validation; validate again", "edit");
      if (body.capabilities !== undefined) change.set({ capabilitiesJson: JSON.stringify(body.capabilities) });
      if (body.changelog !== undefined) change.set({ changelog: body.changelog });
      if (body.riskTier !== undefined) {
        change.set({ riskTier: body.riskTier });
        if (!pkg.currentVersionId && version.version === pkg.latestVersion)
          tx.update(packages().doc(packageId), { riskTier: body.riskTier, updatedAt: now });
      }
      change.write(tx);
      return change.version;
    });
    return this.versionView(version, await listTransitions(packageId));
  }

  // ---------- validation ----------

  /**
   * Queues a conformance run (the Pub/Sub-triggered runner executes it). A version still
   * `validating` after its run's lease expired (the runner crashed, the message was lost) may be
   * validated again: the abandoned run is closed as failed in the same transaction.
   */
  async requestValidation(account: Account, packageId: string, versionId: string): Promise<ValidationRun> {
    const now = this.clock.now();
    const runId = newId("run");
    const run = await db().runTransaction(async (tx) => {
      const { pkg, version } = await this.ownedVersion(account, packageId, versionId, tx);
      const previous = version.validation ? await findRun(packageId, versionId, version.validation.runId, tx) : null;
      assertOpenForChanges(pkg);
      const change = new VersionChange(packageId, version, now);
      if (version.state === "validating") {
        if (previous && previous.leaseExpiresAt > now) {
          throw conflict(
            `Validation run ${previous.id} is still in progress; read it with GET /v1/providers/packages/manage/${packageId}/versions/${versionId}/validations/${previous.id}`,
          );
        }
        if (previous) {
          tx.update(validationRuns(packageId, versionId).doc(previous.id), {
            status: "failed",
            failure: "The run did not finish before its lease expired; it was abandoned",
            finishedAt: now,
            attemptId: null,
          });
        }
        change.to("draft", systemActor(CONFORMANCE_RUNNER), `Validation run ${previous?.id ?? "(unknown)"} abandoned: its lease expired`, "validate");
      }
      change.to("validating", providerActor(account.id), `Validation requested (${runId})`, "validate");
      const listing = listingOf(pkg);
      const leaseExpiresAt = new Date(now.getTime() + RUN_LEASE_MS);
      const fingerprint = fingerprintOf(version, listing);
      const doc: ValidationRunDoc = {
        packageId,
        versionId,
        accountId: account.id,
        version: version.version,
        status: "queued",
        fingerprint,
        subject: listing,
        requestedAt: now,
        requestedBy: account.id,
        attempt: 0,
        attemptId: null,
        startedAt: null,
        leaseExpiresAt,
        finishedAt: null,
        report: null,
        failure: null,
      };
      tx.create(validationRuns(packageId, versionId).doc(runId), doc);
      change.set({ validation: { runId, status: "queued", leaseExpiresAt, fingerprint, overall: null, passed: null, finishedAt: null } });
      change.write(tx);
      return { id: runId, ...doc };
    });
    try {
      await this.publisher.publish(conformanceRuns, { packageId, versionId, runId });
    } catch (error) {
      log.publishFailed(conformanceRuns.name, runId, error);
      await this.abandonUnqueuedRun(packageId, versionId, runId);
      throw new ApiError("SERVICE_UNAVAILABLE", "The conformance runner could not be reached; validate again shortly");
    }
    return run;
  }

  /** The message never left: close the run and return the version to draft, so validate can be retried at once. */
  private async abandonUnqueuedRun(packageId: string, versionId: string, runId: string): Promise<void> {
    const now = this.clock.now();
    await db().runTransaction(async (tx) => {
      const version = await findVersion(packageId, versionId, tx);
      const run = await findRun(packageId, versionId, runId, tx);
      if (!version || !run || run.status !== "queued" || version.state !== "validating" || version.validation?.runId !== runId) return;
      tx.update(validationRuns(packageId, versionId).doc(runId), { status: "failed", failure: "The run could not be queued", finishedAt: now });
      new VersionChange(packageId, version, now)
        .to("draft", systemActor(CONFORMANCE_RUNNER), `Validation run ${runId} could not be queued`, "abandon validation")
        .set({ validation: { ...version.validation, status: "failed", finishedAt: now } })
        .write(tx);
    });
  }

  /** Waits (bounded) until the run finishes; returns the run as it is then. */
  async waitForRun(packageId: string, versionId: string, runId: string, timeoutMs = WAIT_FOR_RUN_MS): Promise<ValidationRun> {
    const settled = await waitForDocument(validationRuns(packageId, versionId).doc(runId), (run) => run !== undefined && isFinished(run), timeoutMs);
    if (settled && settled !== "timeout") return { id: runId, ...settled };
    const run = await findRun(packageId, versionId, runId);
    assert(run, notFound("validation run", runId));
    return effectiveRun(run, this.clock.now());
  }

  async getRun(account: Account, packageId: string, versionId: string, runId: string): Promise<ValidationRun> {
    await this.ownedVersion(account, packageId, versionId);
    const run = await findRun(packageId, versionId, runId);
    assert(run, notFound("validation run", runId));
    return effectiveRun(run, this.clock.now());
  }

  async listRuns(account: Account, packageId: string, versionId: string, limit: number, offset: number): Promise<Page<ValidationRun>> {
    await this.ownedVersion(account, packageId, versionId);
    const { items, total } = await listRunsOfVersion(packageId, versionId, limit, offset);
    const now = this.clock.now();
    return { items: items.map((r) => effectiveRun(r, now)), total, limit, offset };
  }

  // ---------- submission and publication ----------

  /**
   * Submits a validated version: its passing run must have judged exactly the current version and
   * listing. The listing metadata is frozen into the version, which is immutable from here on.
   */
  async submitVersion(account: Account, packageId: string, versionId: string): Promise<VersionView> {
    const now = this.clock.now();
    const { version, message } = await db().runTransaction(async (tx) => {
      const { pkg, version } = await this.ownedVersion(account, packageId, versionId, tx);
      assertOpenForChanges(pkg);
      if (version.state === "submitted" && version.submission) {
        // The policy checks have not run yet: the message may have been lost. Send it again (the handler is idempotent).
        if (now.getTime() - version.submission.at.getTime() < SUBMISSION_RETRY_MS) {
          throw conflict(`Version ${version.version} is already submitted; the automated policy checks are running`);
        }
        return { version, message: { packageId, versionId, submissionId: version.submission.id } };
      }
      const change = new VersionChange(packageId, version, now);
      change.to("submitted", providerActor(account.id), "Submitted for review", "submit");
      const validation = version.validation;
      if (!validation || validation.status !== "passed" || !validation.finishedAt)
        throw conflict(`Version ${version.version} has no passing validation; validate it first`);
      const listing = listingOf(pkg);
      if (fingerprintOf(version, listing) !== validation.fingerprint) {
        throw conflict(`The package's listing changed after version ${version.version} was validated; validate it again`);
      }
      if (now.getTime() - validation.finishedAt.getTime() > VALIDATION_MAX_AGE_MS) {
        throw conflict(`The validation of version ${version.version} is older than 30 days; validate it again`);
      }
      const submissionId = newId("sub");
      change.set({
        submission: { id: submissionId, at: now, by: account.id },
        listing,
        review: { reviewId: null, status: "pending", queuedAt: null, decidedAt: null, decidedBy: null, reasons: [], notes: null },
      });
      change.write(tx);
      notifyProvider(
        tx,
        account,
        pkg.appId,
        { type: "package.version.submitted", data: { packageId, versionId, version: version.version, riskTier: version.riskTier } },
        now,
      );
      return { version: change.version, message: { packageId, versionId, submissionId } };
    });
    try {
      await this.publisher.publish(packageSubmissions, message);
    } catch (error) {
      // The version stays submitted; submitting again after SUBMISSION_RETRY_MS re-sends the message.
      log.publishFailed(packageSubmissions.name, message.submissionId, error);
      throw new ApiError("SERVICE_UNAVAILABLE", `The review pipeline could not be reached; submit again in ${SUBMISSION_RETRY_MS / 60_000} minutes`);
    }
    return this.versionView(version, await listTransitions(packageId));
  }

  /** Makes an approved version the catalog's current version, immediately. */
  async publishVersion(account: Account, packageId: string, versionId: string): Promise<VersionView> {
    return this.makeCurrent(account, packageId, versionId, "publish");
  }

  /** Makes an earlier published (now superseded) version current again. */
  async rollback(account: Account, packageId: string, versionId: string, reason: string | undefined): Promise<VersionView> {
    return this.makeCurrent(account, packageId, versionId, "rollback", reason);
  }

  private async makeCurrent(
    account: Account,
    packageId: string,
    versionId: string,
    mode: "publish" | "rollback",
    reason?: string,
  ): Promise<VersionView> {
    const now = this.clock.now();
    const version = await db().runTransaction(async (tx) => {
      const { pkg, version } = await this.ownedVersion(account, packageId, versionId, tx);
      const current = pkg.currentVersionId && pkg.currentVersionId !== versionId ? await findVersion(packageId, pkg.currentVersionId, tx) : null;
      const listing = await readListing(tx, packageId);
      assertOpenForChanges(pkg);
      if (mode === "publish" && version.state === "superseded") {
        throw conflict(
          `Version ${version.version} was published before; roll back to it with POST /v1/providers/packages/manage/${packageId}/versions/${versionId}/rollback`,
        );
      }
      if (mode === "rollback" && version.state !== "superseded") {
        throw conflict(
          version.state === "approved"
            ? `Version ${version.version} was never published; publish it instead`
            : `Cannot roll back to a version in state '${version.state}' (only to superseded versions)`,
        );
      }
      if (mode === "publish") {
        if (version.state !== "approved") throw illegalTransition(version.state, "published", "publish");
        if (current && compareSemVer(version.version, current.version) <= 0) {
          throw conflict(`A newer version (${current.version}) is already published; versions are published in order (roll back to go back)`);
        }
      }
      const target = new VersionChange(packageId, version, now);
      applyPublish(tx, {
        pkg,
        target,
        current: current ? new VersionChange(packageId, current, now) : null,
        listing,
        providerName: account.companyName,
        actor: providerActor(account.id),
        reason:
          mode === "publish"
            ? "Published by the provider"
            : `Rolled back from ${current?.version ?? "no current version"}${reason ? `: ${reason}` : ""}`,
        now,
      });
      notifyProvider(
        tx,
        account,
        pkg.appId,
        {
          type: "package.version.published",
          data: {
            packageId,
            versionId,
            version: version.version,
            riskTier: version.riskTier,
            rollback: mode === "rollback",
            previousVersion: current?.version ?? null,
          },
        },
        now,
      );
      return target.version;
    });
    return this.versionView(version, await listTransitions(packageId));
  }

  // ---------- deprecation ----------

  /** Deprecates an approved or superseded version; the current version goes with its package (or after a rollback/publish). */
  async deprecateVersion(account: Account, packageId: string, versionId: string, body: z.output<typeof DeprecateVersionBody>): Promise<VersionView> {
    const now = this.clock.now();
    const version = await db().runTransaction(async (tx) => {
      const { pkg, version } = await this.ownedVersion(account, packageId, versionId, tx);
      const successor = body.successorVersionId ? await findVersion(packageId, body.successorVersionId, tx) : null;
      if (body.successorVersionId && !successor) throw notFound("version", body.successorVersionId);
      if (pkg.currentVersionId === versionId) {
        throw conflict(`Version ${version.version} is the current version; publish or roll back to another version first, or deprecate the package`);
      }
      const change = new VersionChange(packageId, version, now).to("deprecated", providerActor(account.id), body.reason, "deprecate");
      if (successor) {
        if (successor.id === versionId) throw conflict("A version cannot succeed itself");
        if (!["approved", "published", "superseded"].includes(successor.state))
          throw conflict(`Successor version ${successor.version} is ${successor.state}; it must be approved or published`);
      }
      change.set({ deprecation: { reason: body.reason, successorVersionId: successor?.id ?? null, at: now } });
      change.write(tx);
      notifyProvider(
        tx,
        account,
        pkg.appId,
        {
          type: "package.version.deprecated",
          data: { packageId, versionId, version: version.version, reason: body.reason, successorVersionId: successor?.id ?? null },
        },
        now,
      );
      return change.version;
    });
    return this.versionView(version, await listTransitions(packageId));
  }

  /** Deprecates the package: its listing stays for existing installs, flagged and not installable. */
  async deprecatePackage(account: Account, packageId: string, body: z.output<typeof DeprecatePackageBody>): Promise<PackageView> {
    const now = this.clock.now();
    const pkg = await db().runTransaction(async (tx) => {
      const pkg = await this.ownedPackage(account, packageId, tx);
      const versions = await listVersions(packageId, tx);
      const successor = body.successorPackageId ? await findOwnedPackage(account.id, body.successorPackageId, tx) : null;
      const listing = await readListing(tx, packageId);
      if (body.successorPackageId && !successor) throw notFound("package", body.successorPackageId);
      if (pkg.deprecation) throw conflict(`Package ${packageId} is already deprecated`);
      if (successor?.id === packageId) throw conflict("A package cannot succeed itself");
      if (successor?.deprecation) throw conflict(`Successor package ${successor.id} is deprecated too`);
      const inReview = versions.find((v) => v.state === "submitted" || v.state === "in_review");
      if (inReview) throw conflict(`Version ${inReview.version} is under review; wait for the decision before deprecating the package`);

      const current = versions.find((v) => v.id === pkg.currentVersionId);
      if (current)
        new VersionChange(packageId, current, now)
          .to("deprecated", providerActor(account.id), `Package deprecated: ${body.reason}`, "deprecate")
          .write(tx);
      if (listing) markListingDeprecated(tx, listing, successor?.id ?? null, now);
      const update: Partial<PackageDoc> = {
        status: "deprecated",
        deprecation: { reason: body.reason, successorPackageId: successor?.id ?? null, at: now },
        updatedAt: now,
      };
      tx.update(packages().doc(packageId), update);
      notifyProvider(
        tx,
        account,
        pkg.appId,
        { type: "package.deprecated", data: { packageId, reason: body.reason, successorPackageId: successor?.id ?? null } },
        now,
      );
      return { ...pkg, ...update };
    });
    return this.view(pkg);
  }
}
