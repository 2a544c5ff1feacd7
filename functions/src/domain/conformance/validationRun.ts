import type { Transaction } from "firebase-admin/firestore";
import { z } from "zod";
import { MINUTE } from "../../kernel/clock";
import { pageOf, typedCollection, zDate } from "../../kernel/firestore";
import { defineTopic } from "../../kernel/pubsub";
import { ListingMetadata } from "../packages/package";
import { RunStatus } from "../packages/version";
import { Dimension, Finding } from "./rules";
import { ProbeSummary } from "./suite";

/** The conformance runner's name in version histories and logs. */
export const CONFORMANCE_RUNNER = "conformance-runner";

/** A requested run's message to the conformance runner (jobs/conformance.ts). */
export const conformanceRuns = defineTopic("conformance-runs", z.object({ packageId: z.string(), versionId: z.string(), runId: z.string() }));

/** A run may hold a version in `validating` this long (covers the queue and the runner's 300 s timeout). */
export const RUN_LEASE_MS = 6 * MINUTE;

const ReportDoc = z.object({
  overall: z.number(),
  passed: z.boolean(),
  dimensions: z.record(Dimension, z.number()),
  findings: z.array(Finding),
  probes: z.array(ProbeSummary),
});

/** packages/{id}/versions/{vid}/validationRuns/{runId}. */
export const ValidationRunDoc = z.object({
  packageId: z.string(),
  versionId: z.string(),
  accountId: z.string(),
  version: z.string(),
  status: RunStatus,
  /** Hash of the version and listing validated; submission requires it to still match. */
  fingerprint: z.string(),
  /** The listing metadata as it was when the run was requested. */
  subject: ListingMetadata,
  requestedAt: zDate,
  requestedBy: z.string(),
  attempt: z.number().int().min(0),
  /** Identifies the runner holding the lease; a runner whose attempt was taken over cannot finish. */
  attemptId: z.string().nullable(),
  startedAt: zDate.nullable(),
  leaseExpiresAt: zDate,
  finishedAt: zDate.nullable(),
  report: ReportDoc.nullable(),
  /** Why a run failed without a report (abandoned, could not be queued). */
  failure: z.string().nullable(),
});
export type ValidationRunDoc = z.infer<typeof ValidationRunDoc>;
export type ValidationRun = ValidationRunDoc & { id: string };

export const validationRuns = (packageId: string, versionId: string) =>
  typedCollection(`packages/${packageId}/versions/${versionId}/validationRuns`, ValidationRunDoc);

export async function findRun(packageId: string, versionId: string, runId: string, tx?: Transaction): Promise<ValidationRun | null> {
  const ref = validationRuns(packageId, versionId).doc(runId);
  const snap = tx ? await tx.get(ref) : await ref.get();
  const data = snap.data();
  return data ? { id: snap.id, ...data } : null;
}

export const listRunsOfVersion = (packageId: string, versionId: string, limit: number, offset: number) =>
  pageOf(validationRuns(packageId, versionId), "requestedAt", "desc", limit, offset);

export const isFinished = (run: Pick<ValidationRun, "status">) => run.status === "passed" || run.status === "failed";

/** A run as the API shows it: an unfinished run whose lease expired is reported failed (it was abandoned). */
export function effectiveRun(run: ValidationRun, now: Date): ValidationRun {
  if (!isFinished(run) && run.leaseExpiresAt <= now) {
    return { ...run, status: "failed", failure: "The run did not finish before its lease expired; validate the version again" };
  }
  return run;
}
