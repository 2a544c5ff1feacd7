import type { z } from "zod";
import { type Clock, systemClock } from "../kernel/clock";
import { newId } from "../kernel/crypto";
import { db } from "../kernel/firebase";
import { log } from "../kernel/logger";
import { type DeliveredMessage, markProcessed, readMessage, wasProcessed } from "../kernel/pubsub";
import { findAccount } from "../domain/accounts/account";
import type { RuntimeProber } from "../domain/conformance/prober";
import { type ConformanceReport, runConformanceSuite } from "../domain/conformance/suite";
import { CONFORMANCE_RUNNER, conformanceRuns, findRun, type ValidationRun, validationRuns, RUN_LEASE_MS } from "../domain/conformance/validationRun";
import { compareSemVer } from "../domain/packages/descriptor";
import { notifyProvider } from "../domain/packages/notices";
import { findPackage } from "../domain/packages/package";
import { findVersion, listVersions, parseCapabilities, systemActor, type Version, VersionChange, versions } from "../domain/packages/version";

const RUNNER = CONFORMANCE_RUNNER;

type ConformanceMessage = z.output<typeof conformanceRuns.message>;

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
 * Runs a requested conformance validation (topic `conformance-runs`). Idempotent: the message id is
 * recorded in the transaction that records the result, and every effect is conditional on the
 * version still being in the state the message was sent for, so duplicates and late (out of
 * order) deliveries change nothing.
 */
export class ConformanceRunner {
  private readonly clock: Clock;
  private readonly prober: RuntimeProber;

  constructor(deps: { prober: RuntimeProber; clock?: Clock }) {
    this.prober = deps.prober;
    this.clock = deps.clock ?? systemClock;
  }

  async handle(message: DeliveredMessage): Promise<JobOutcome> {
    const parsed = readMessage(conformanceRuns, message, RUNNER);
    return parsed ? this.runConformance(parsed, message.messageId) : "invalid";
  }

  async runConformance(message: ConformanceMessage, eventId: string): Promise<JobOutcome> {
    const started = await this.startRun(message, eventId);
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
    const outcome = await this.finishRun(message, eventId, started.attemptId, report);
    log.jobDone(RUNNER, eventId, outcome);
    return outcome;
  }

  /** Takes the run's lease (a queued run, or a running one whose runner stopped answering). */
  async startRun(message: ConformanceMessage, eventId: string): Promise<StartedRun | JobOutcome> {
    const { packageId, versionId, runId } = message;
    const attemptId = newId("att");
    return db().runTransaction(async (tx): Promise<StartedRun | JobOutcome> => {
      const now = this.clock.now();
      if (await wasProcessed(tx, RUNNER, eventId)) return "duplicate";
      const run = await findRun(packageId, versionId, runId, tx);
      const version = await findVersion(packageId, versionId, tx);
      const pkg = await findPackage(packageId, tx);
      if (!run || !version || !pkg) return "stale";
      if (run.status === "passed" || run.status === "failed") return "stale";
      if (version.state !== "validating" || version.validation?.runId !== runId) return "stale";
      if (run.status === "running" && run.leaseExpiresAt > now) return "in_progress";
      const leaseExpiresAt = new Date(now.getTime() + RUN_LEASE_MS);
      const update = { status: "running" as const, attempt: run.attempt + 1, attemptId, startedAt: now, leaseExpiresAt };
      tx.update(validationRuns(packageId, versionId).doc(runId), update);
      tx.update(versions(packageId).doc(versionId), { "validation.status": "running", "validation.leaseExpiresAt": leaseExpiresAt, updatedAt: now });
      return { attemptId, run: { ...run, ...update }, version, appId: pkg.appId };
    });
  }

  /** Runs the suite on the run's snapshot of the listing and the version (frozen while validating). */
  async evaluate(started: StartedRun): Promise<ConformanceReport> {
    const { run, version, appId } = started;
    const siblings = await listVersions(run.packageId);
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
  async finishRun(message: ConformanceMessage, eventId: string, attemptId: string, report: ConformanceReport | null): Promise<JobOutcome> {
    const { packageId, versionId, runId } = message;
    return db().runTransaction(async (tx): Promise<JobOutcome> => {
      const now = this.clock.now();
      if (await wasProcessed(tx, RUNNER, eventId)) return "duplicate";
      const run = await findRun(packageId, versionId, runId, tx);
      const version = await findVersion(packageId, versionId, tx);
      const pkg = await findPackage(packageId, tx);
      if (!run || !version || !pkg || run.status !== "running" || run.attemptId !== attemptId) return "stale";
      if (version.state !== "validating" || version.validation?.runId !== runId) return "stale";
      const account = await findAccount(version.accountId, tx);
      if (!account) throw new Error(`Account ${version.accountId} is missing`);

      const passed = report?.passed ?? false;
      const status = passed ? ("passed" as const) : ("failed" as const);
      const failure = report ? null : `The conformance runner failed unexpectedly (${eventId}); validate the version again`;
      tx.update(validationRuns(packageId, versionId).doc(runId), { status, report, failure, finishedAt: now, attemptId: null });
      new VersionChange(packageId, version, now)
        .to(
          passed ? "validated" : "draft",
          systemActor(RUNNER),
          report ? `Validation run ${runId} ${status} with score ${report.overall}` : failure!,
          "finish validation",
        )
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
          data: {
            packageId,
            versionId,
            version: version.version,
            runId,
            passed,
            score: report?.overall ?? null,
            dimensions: report?.dimensions ?? null,
            errorCount: errors.length,
          },
          mail: {
            subject: passed ? `${title} passed validation (${report!.overall}/100)` : `${title} failed validation`,
            paragraphs: [
              report ? `Validation run ${runId} scored ${report.overall}/100 (80 and no errors needed to pass).` : failure!,
              ...errors.slice(0, 10).map((f) => `- ${f.ruleId} at ${f.path}: ${f.message}`),
              ...(errors.length > 10
                ? [`...and ${errors.length - 10} more; see GET /v1/providers/packages/manage/${packageId}/versions/${versionId}/validations/${runId}`]
                : []),
              passed
                ? `Submit it for review: POST /v1/providers/packages/manage/${packageId}/versions/${versionId}/submit`
                : "Fix the findings and validate again.",
            ],
          },
        },
        now,
      );
      markProcessed(tx, RUNNER, eventId, now);
      return "done";
    });
  }
}
