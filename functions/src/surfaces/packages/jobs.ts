import { z } from "zod";
import { Clock, systemClock } from "../../kernel/clock";
import { newId } from "../../kernel/crypto";
import { db } from "../../kernel/firebase";
import { log } from "../../kernel/logger";
import { markProcessed, wasProcessed } from "../../kernel/pubsub";
import { readListing } from "../catalog/listings";
import { accounts, apps } from "../console/repository";
import type { Account } from "../console/schemas";
import type { RuntimeProber } from "./conformance/prober";
import { ConformanceReport, runConformanceSuite } from "./conformance/suite";
import { compareSemVer } from "./descriptor";
import { RUN_LEASE_MS } from "./model";
import { notifyProvider } from "./notify";
import { policyFindings } from "./policy";
import { applyPublish } from "./publishing";
import * as repo from "./repository";
import { estimateReview } from "./reviews";
import { parseCapabilities, ReviewDoc, ValidationRun, Version } from "./schemas";
import { systemActor, VersionChange } from "./transitions";

export const CONFORMANCE_TOPIC = "conformance-runs";
export const SUBMISSIONS_TOPIC = "package-submissions";

/** A Pub/Sub message's JSON payload, or null when it has none (the handlers then drop it as invalid). */
export function messageJson(message: { json: unknown }): unknown {
  try {
    return message.json;
  } catch {
    return null;
  }
}

export const ConformanceMessage = z.object({ packageId: z.string(), versionId: z.string(), runId: z.string() });
export const SubmissionMessage = z.object({ packageId: z.string(), versionId: z.string(), submissionId: z.string() });

export const RUNNER = "conformance-runner";
const POLICY = "policy-checks";

/**
 * What a delivery did: `done` (the effect happened), `duplicate` (this message id was handled
 * before), `stale` (the message no longer matches the version: out of order, superseded or
 * abandoned), `in_progress` (another runner holds the run's lease), `invalid` (malformed message).
 */
export type JobOutcome = "done" | "duplicate" | "stale" | "in_progress" | "invalid";

interface StartedRun {
  attemptId: string;
  run: ValidationRun;
  version: Version;
  appId: string;
}

/**
 * The Pub/Sub-triggered jobs of the packages surface. Each handler is idempotent: the message id is
 * recorded in the transaction that makes the effect, and every effect is conditional on the
 * version still being in the state the message was sent for, so duplicates and late (out of
 * order) deliveries change nothing.
 */
export class PackageJobs {
  private readonly clock: Clock;
  private readonly prober: RuntimeProber;

  constructor(deps: { prober: RuntimeProber; clock?: Clock }) {
    this.prober = deps.prober;
    this.clock = deps.clock ?? systemClock;
  }

  // ---------- conformance runs ----------

  async runConformance(message: unknown, eventId: string): Promise<JobOutcome> {
    const parsed = ConformanceMessage.safeParse(message);
    if (!parsed.success) {
      log.jobMessageInvalid(RUNNER, eventId);
      return "invalid";
    }
    const started = await this.startRun(parsed.data, eventId);
    if (typeof started === "string") {
      log.jobSkipped(RUNNER, eventId, started);
      return started;
    }
    let report: ConformanceReport | null = null;
    try {
      report = await this.evaluate(started);
    } catch (error) {
      // A bug or an outage in the runner is not the provider's fault, but a run stuck in "running" helps nobody.
      log.jobFailed(RUNNER, eventId, error);
    }
    const outcome = await this.finishRun(parsed.data, eventId, started.attemptId, report);
    log.jobDone(RUNNER, eventId, outcome);
    return outcome;
  }

  /** Takes the run's lease (a queued run, or a running one whose runner stopped answering). */
  async startRun(message: z.output<typeof ConformanceMessage>, eventId: string): Promise<StartedRun | JobOutcome> {
    const { packageId, versionId, runId } = message;
    const attemptId = newId("att");
    return db().runTransaction(async (tx): Promise<StartedRun | JobOutcome> => {
      const now = this.clock.now();
      if (await wasProcessed(tx, RUNNER, eventId)) return "duplicate";
      const run = await repo.findRun(packageId, versionId, runId, tx);
      const version = await repo.findVersion(packageId, versionId, tx);
      const pkg = await repo.findPackage(packageId, tx);
      if (!run || !version || !pkg) return "stale";
      if (run.status === "passed" || run.status === "failed") return "stale";
      if (version.state !== "validating" || version.validation?.runId !== runId) return "stale";
      if (run.status === "running" && run.leaseExpiresAt > now) return "in_progress";
      const leaseExpiresAt = new Date(now.getTime() + RUN_LEASE_MS);
      const update = { status: "running" as const, attempt: run.attempt + 1, attemptId, startedAt: now, leaseExpiresAt };
      tx.update(repo.validationRuns(packageId, versionId).doc(runId), update);
      tx.update(repo.versions(packageId).doc(versionId), { "validation.status": "running", "validation.leaseExpiresAt": leaseExpiresAt, updatedAt: now });
      return { attemptId, run: { ...run, ...update }, version, appId: pkg.appId };
    });
  }

  /** Runs the suite on the run's snapshot of the listing and the version (frozen while validating). */
  async evaluate(started: StartedRun): Promise<ConformanceReport> {
    const { run, version, appId } = started;
    const siblings = await repo.listVersions(run.packageId);
    return runConformanceSuite(
      {
        appId,
        package: run.subject,
        version: {
          version: version.version,
          riskTier: version.riskTier,
          changelog: version.changelog,
          capabilities: parseCapabilities(version.capabilitiesJson),
          hasOlderVersion: siblings.some((v) => compareSemVer(v.version, version.version) < 0),
        },
      },
      this.prober,
    );
  }

  /** Records the result, if this runner still holds the run (its lease may have been taken over). */
  async finishRun(message: z.output<typeof ConformanceMessage>, eventId: string, attemptId: string, report: ConformanceReport | null): Promise<JobOutcome> {
    const { packageId, versionId, runId } = message;
    return db().runTransaction(async (tx): Promise<JobOutcome> => {
      const now = this.clock.now();
      if (await wasProcessed(tx, RUNNER, eventId)) return "duplicate";
      const run = await repo.findRun(packageId, versionId, runId, tx);
      const version = await repo.findVersion(packageId, versionId, tx);
      const pkg = await repo.findPackage(packageId, tx);
      if (!run || !version || !pkg || run.status !== "running" || run.attemptId !== attemptId) return "stale";
      if (version.state !== "validating" || version.validation?.runId !== runId) return "stale";
      const account = await this.account(tx, version.accountId);

      const passed = report?.passed ?? false;
      const status = passed ? ("passed" as const) : ("failed" as const);
      const failure = report ? null : `The conformance runner failed unexpectedly (${eventId}); validate the version again`;
      tx.update(repo.validationRuns(packageId, versionId).doc(runId), { status, report, failure, finishedAt: now, attemptId: null });
      new VersionChange(packageId, version, now)
        .to(passed ? "validated" : "draft", systemActor(RUNNER), report ? `Validation run ${runId} ${status} with score ${report.overall}` : failure!, "finish validation")
        .set({ validation: { ...version.validation, status, overall: report?.overall ?? null, passed, finishedAt: now } })
        .write(tx);

      const errors = report?.findings.filter((f) => f.severity === "error") ?? [];
      const title = `${pkg.name} ${version.version}`;
      notifyProvider(
        tx,
        account,
        pkg.appId,
        {
          type: "package.validation.completed",
          data: { packageId, versionId, version: version.version, runId, passed, score: report?.overall ?? null, dimensions: report?.dimensions ?? null, errorCount: errors.length },
          mail: {
            subject: passed ? `${title} passed validation (${report!.overall}/100)` : `${title} failed validation`,
            paragraphs: [
              report ? `Validation run ${runId} scored ${report.overall}/100 (80 and no errors needed to pass).` : failure!,
              ...errors.slice(0, 10).map((f) => `- ${f.ruleId} at ${f.path}: ${f.message}`),
              ...(errors.length > 10 ? [`...and ${errors.length - 10} more; see GET /v1/providers/packages/manage/${packageId}/versions/${versionId}/validations/${runId}`] : []),
              passed ? `Submit it for review: POST /v1/providers/packages/manage/${packageId}/versions/${versionId}/submit` : "Fix the findings and validate again.",
            ],
          },
        },
        now,
      );
      markProcessed(tx, RUNNER, eventId, now);
      return "done";
    });
  }

  // ---------- submissions ----------

  /**
   * Automated policy checks of a submitted version: a failure rejects it; a data_only version that
   * passes is approved and listed at once; other tiers join the manual review queue.
   */
  async checkSubmission(message: unknown, eventId: string): Promise<JobOutcome> {
    const parsed = SubmissionMessage.safeParse(message);
    if (!parsed.success) {
      log.jobMessageInvalid(POLICY, eventId);
      return "invalid";
    }
    const { packageId, versionId, submissionId } = parsed.data;
    const outcome = await db().runTransaction(async (tx): Promise<JobOutcome> => {
      const now = this.clock.now();
      if (await wasProcessed(tx, POLICY, eventId)) return "duplicate";
      const version = await repo.findVersion(packageId, versionId, tx);
      const pkg = await repo.findPackage(packageId, tx);
      if (!version || !pkg || version.state !== "submitted" || version.submission?.id !== submissionId || !version.listing) return "stale";
      const account = await this.account(tx, version.accountId);
      const appExists = (await tx.get(apps().doc(pkg.appId))).exists;
      const current = pkg.currentVersionId ? await repo.findVersion(packageId, pkg.currentVersionId, tx) : null;
      const listing = await readListing(tx, packageId);

      const capabilities = parseCapabilities(version.capabilitiesJson);
      const findings = policyFindings({ account, appExists, pkg, listing: version.listing, capabilities });
      const change = new VersionChange(packageId, version, now);
      const title = `${pkg.name} ${version.version}`;
      const base = { packageId, versionId, version: version.version, riskTier: version.riskTier };

      if (findings.length) {
        const reasons = findings.map((f) => ({ message: f.message, path: f.path, ruleId: f.ruleId }));
        change.to("rejected", systemActor(POLICY), `Automated policy checks failed: ${findings.map((f) => f.ruleId).join(", ")}`, "reject");
        change.set({ review: { ...version.review!, status: "rejected", decidedAt: now, decidedBy: "system", reasons } });
        change.write(tx);
        notifyProvider(tx, account, pkg.appId, {
          type: "package.review.rejected",
          data: { ...base, reasons, notes: null },
          mail: {
            subject: `${title} was not approved`,
            paragraphs: [`${title} failed the automated policy checks:`, ...reasons.map((r) => `- ${r.ruleId} at ${r.path}: ${r.message}`), "Fix them in a new version, validate it and submit it again."],
          },
        }, now);
      } else if (version.riskTier === "data_only") {
        change.to("approved", systemActor(POLICY), "data_only version passed the automated policy checks", "approve");
        change.set({ review: { ...version.review!, status: "approved", decidedAt: now, decidedBy: "system" } });
        // Listed at once, unless the package moved on meanwhile (deprecated, or a newer version is current).
        const listable = !pkg.deprecation && !pkg.orphanedAt && (!current || compareSemVer(version.version, current.version) > 0);
        notifyProvider(tx, account, pkg.appId, {
          type: "package.review.approved",
          data: { ...base, reasons: [], notes: null },
          ...(listable ? {} : { mail: { subject: `${title} was approved`, paragraphs: [`${title} passed the automated policy checks. It was not listed automatically because the package changed meanwhile (deprecated, or a newer version is current).`] } }),
        }, now);
        if (listable) {
          applyPublish(tx, {
            pkg,
            target: change,
            current: current ? new VersionChange(packageId, current, now) : null,
            listing,
            providerName: account.companyName,
            actor: systemActor(POLICY),
            reason: "Listed automatically (data_only)",
            now,
          });
          notifyProvider(tx, account, pkg.appId, {
            type: "package.version.published",
            data: { ...base, rollback: false, previousVersion: current?.version ?? null },
            mail: { subject: `${title} is live in the catalog`, paragraphs: [`${title} passed the automated policy checks and is now listed in the catalog.`] },
          }, now);
        } else {
          change.write(tx);
        }
      } else {
        const reviewId = newId("rev");
        const review: ReviewDoc = {
          packageId,
          versionId,
          accountId: version.accountId,
          appId: pkg.appId,
          packageName: version.listing.name,
          slug: pkg.slug,
          version: version.version,
          riskTier: version.riskTier,
          status: "queued",
          queuedAt: now,
          claimedBy: null,
          claimedAt: null,
          claimExpiresAt: null,
          decidedAt: null,
          decidedBy: null,
          reasons: [],
          notes: null,
        };
        const estimate = await estimateReview(now, now);
        tx.create(repo.reviews().doc(reviewId), review);
        change.to("in_review", systemActor(POLICY), `Passed the automated policy checks; queued for manual review (${version.riskTier})`, "queue for review");
        change.set({ review: { ...version.review!, reviewId, status: "queued", queuedAt: now } });
        change.write(tx);
        const days = Math.max(1, Math.round((estimate.expectedReviewBy.getTime() - now.getTime()) / 86_400_000));
        notifyProvider(tx, account, pkg.appId, {
          type: "package.review.queued",
          data: { ...base, expectedReviewBy: estimate.expectedReviewBy.toISOString() },
          mail: {
            subject: `${title} is in the review queue`,
            paragraphs: [`${title} passed the automated policy checks and waits for a reviewer (${version.riskTier} packages are reviewed by hand).`, `Expected decision by ${estimate.expectedReviewBy.toISOString().slice(0, 10)} (about ${days} day${days === 1 ? "" : "s"}).`],
          },
        }, now);
      }
      markProcessed(tx, POLICY, eventId, now);
      return "done";
    });
    log.jobDone(POLICY, eventId, outcome);
    return outcome;
  }

  private async account(tx: FirebaseFirestore.Transaction, accountId: string): Promise<Account> {
    const data = (await tx.get(accounts().doc(accountId))).data();
    if (!data) throw new Error(`Account ${accountId} is missing`);
    return { id: accountId, ...data };
  }
}
