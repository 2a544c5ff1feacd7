import { FieldValue } from "firebase-admin/firestore";
import { parseDocumentData, untyped } from "../kernel/firestore";
import { mapLimit } from "../kernel/concurrency";
import { db } from "../kernel/firebase";
import { markProcessed, wasProcessed } from "../kernel/pubsub";
import { InvocationDoc } from "../domain/capabilities/invocation";
import { log } from "../kernel/logger";
import { ALERT_WINDOW_MS, type AlertChange, applyAlertEvaluation, type CapabilityIdentity } from "../domain/quality/alerts";
import { evaluateCertification } from "../domain/quality/certification";
import { capabilityDocId, certifications, monitors, rollupShards, shardDocId } from "../domain/quality/records";
import {
  baselineWindow,
  capabilitiesActiveIn,
  floorTo,
  FOLD_GRACE_MS,
  foldClosedSlots,
  type Scope,
  SLOT_MS,
  slotWindow,
  statsOfWindow,
  type Window,
} from "../domain/quality/rollups";
import type { BaselineSnapshot } from "../domain/quality/records";
import { summarize, statsOfInvocation } from "../domain/quality/stats";
import { shardOf } from "../domain/quality/rollups";

const ROLLUP_HANDLER = "quality-rollup";

/**
 * Adds one recorded invocation to its slot's shard. Idempotent: the invocation id is marked in the
 * same transaction (processedEvents), so a redelivered trigger counts nothing twice. The transaction
 * reads only that marker; the shard takes a blind increment, so concurrent invocations never contend.
 */
export async function recordInvocation(
  invocationId: string,
  raw: Record<string, unknown> | undefined,
  now: Date,
): Promise<"recorded" | "duplicate" | "invalid"> {
  const inv = parseDocumentData(InvocationDoc, raw, `invocations/${invocationId}`);
  if (!inv) {
    log.qualityInvocationInvalid(invocationId);
    return "invalid";
  }
  const slotStart = floorTo(inv.at, SLOT_MS);
  const shard = shardOf(invocationId);
  const stats = statsOfInvocation(inv);
  const increments: Record<string, unknown> = {
    capabilityKey: inv.capabilityKey,
    capabilityRef: inv.capabilityRef,
    packageId: inv.packageId,
    capabilityId: inv.capabilityId,
    accountId: inv.accountId,
    slotStart,
    shard,
    count: FieldValue.increment(stats.count),
    errors: FieldValue.increment(stats.errors),
    unavailable: FieldValue.increment(stats.unavailable),
    latencySumMs: FieldValue.increment(stats.latencySumMs),
    updatedAt: now,
  };
  // Only non-empty maps: an empty map in a merge would replace the stored one.
  const incrementsOf = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, FieldValue.increment(v)]));
  if (Object.keys(stats.errorsByClass).length) increments.errorsByClass = incrementsOf(stats.errorsByClass);
  if (Object.keys(stats.histogram).length) increments.histogram = incrementsOf(stats.histogram);
  return db().runTransaction(async (tx) => {
    if (await wasProcessed(tx, ROLLUP_HANDLER, invocationId)) return "duplicate";
    markProcessed(tx, ROLLUP_HANDLER, invocationId, now);
    tx.set(untyped(rollupShards().doc(shardDocId(inv.capabilityKey, slotStart, shard))), increments, { merge: true });
    return "recorded";
  });
}

/** How often the scheduled evaluation runs (src/index.ts declares the schedule). */
export const EVALUATION_SCHEDULE = "every 5 minutes";
const CAPABILITY_CONCURRENCY = 10;
const PACKAGE_CONCURRENCY = 5;

/** The alert window an evaluation at `now` judges: the last 15 minutes of slots that are closed and folded. */
function alertWindowAt(now: Date): Window {
  return slotWindow(floorTo(new Date(now.getTime() - FOLD_GRACE_MS), SLOT_MS), ALERT_WINDOW_MS);
}

const identityOf = (d: CapabilityIdentity): CapabilityIdentity => ({
  capabilityKey: d.capabilityKey,
  capabilityRef: d.capabilityRef,
  packageId: d.packageId,
  capabilityId: d.capabilityId,
  accountId: d.accountId,
});

/** The 30 days before the window (so a degradation is never part of the baseline it is judged against). */
async function baselineFor(identity: CapabilityIdentity, window: Window, cached: BaselineSnapshot | null): Promise<BaselineSnapshot> {
  const base = baselineWindow(window.from);
  if (cached && cached.windowEnd.getTime() === base.to.getTime()) return cached;
  const summary = summarize((await statsOfWindow([identity.capabilityKey], base)).get(identity.capabilityKey)!);
  return {
    windowStart: base.from,
    windowEnd: base.to,
    invocations: summary.invocations,
    succeeded: summary.succeeded,
    p95Ms: summary.latencyMs?.p95 ?? null,
  };
}

async function evaluateCapability(identity: CapabilityIdentity, window: Window, now: Date): Promise<AlertChange[] | "already"> {
  const monitor = (await monitors().doc(capabilityDocId(identity.capabilityKey)).get()).data();
  if (monitor?.lastWindowEnd && monitor.lastWindowEnd.getTime() >= window.to.getTime()) return "already";
  const [baseline, stats] = await Promise.all([
    baselineFor(identity, window, monitor?.baseline ?? null),
    statsOfWindow([identity.capabilityKey], window),
  ]);
  return applyAlertEvaluation({
    identity,
    windowStart: window.from,
    windowEnd: window.to,
    window: summarize(stats.get(identity.capabilityKey)!),
    baseline,
    now,
  });
}

export interface EvaluationSummary {
  foldedSlots: number;
  capabilities: number;
  alertChanges: AlertChange[];
  packages: number;
  tierChanges: number;
  failures: number;
}

/**
 * One evaluation (every 5 minutes, and in tests at any `now`): folds closed slots into rollups,
 * judges the alert window of every capability with recent traffic or an active alert, then
 * evaluates the certification of their packages and of every package due for re-evaluation.
 * Idempotent: a window already judged is skipped, and the tier machine only moves with time.
 * A failing capability or package does not stop the others; the run reports failure at the end.
 */
export async function evaluateQuality(now: Date, scope: Scope = {}): Promise<EvaluationSummary> {
  const foldedSlots = await foldClosedSlots(now, scope);
  const window = alertWindowAt(now);

  const identities = new Map<string, CapabilityIdentity>();
  for (const rollup of (await capabilitiesActiveIn(window, scope)).values()) identities.set(rollup.capabilityKey, identityOf(rollup));
  let alerting = monitors().where("activeAlertCount", ">", 0);
  if (scope.accountId) alerting = alerting.where("accountId", "==", scope.accountId);
  for (const doc of (await alerting.get()).docs) identities.set(doc.data().capabilityKey, identityOf(doc.data()));

  let failures = 0;
  const alertChanges: AlertChange[] = [];
  await mapLimit([...identities.values()], CAPABILITY_CONCURRENCY, async (identity) => {
    try {
      const changes = await evaluateCapability(identity, window, now);
      if (changes !== "already") alertChanges.push(...changes);
    } catch (error) {
      failures++;
      log.qualityEvaluationFailed(identity.capabilityKey, error);
    }
  });

  const packageIds = new Set([...identities.values()].map((i) => i.packageId));
  let due = certifications().where("nextEvaluationAt", "<=", now);
  if (scope.accountId) due = due.where("accountId", "==", scope.accountId);
  for (const doc of (await due.get()).docs) packageIds.add(doc.id);
  let tierChanges = 0;
  await mapLimit([...packageIds], PACKAGE_CONCURRENCY, async (packageId) => {
    try {
      if ((await evaluateCertification(packageId, now, window.to))?.changed) tierChanges++;
    } catch (error) {
      failures++;
      log.qualityEvaluationFailed(packageId, error);
    }
  });

  const summary = { foldedSlots, capabilities: identities.size, alertChanges, packages: packageIds.size, tierChanges, failures };
  log.qualityEvaluation({
    at: now.toISOString(),
    foldedSlots,
    capabilities: identities.size,
    alertChanges: alertChanges.length,
    packages: packageIds.size,
    tierChanges,
    failures,
  });
  if (failures) throw new Error(`Quality evaluation at ${now.toISOString()}: ${failures} capabilities or packages failed (logged)`);
  return summary;
}
