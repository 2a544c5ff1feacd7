import { mapLimit } from "../../../kernel/concurrency";
import { log } from "../../../kernel/logger";
import { ALERT_WINDOW_MS, AlertChange, applyAlertEvaluation, CapabilityIdentity } from "./alerts";
import { evaluateCertification } from "./certification";
import { capabilityDocId, certifications, monitors } from "./repository";
import { baselineWindow, capabilitiesActiveIn, floorTo, FOLD_GRACE_MS, foldClosedSlots, Scope, SLOT_MS, slotWindow, statsOfWindow, Window } from "./rollups";
import type { BaselineSnapshot } from "./schemas";
import { summarize } from "./stats";

/** How often the scheduled evaluation runs (src/index.ts declares the schedule). */
export const EVALUATION_SCHEDULE = "every 5 minutes";
const CAPABILITY_CONCURRENCY = 10;
const PACKAGE_CONCURRENCY = 5;

/** The alert window an evaluation at `now` judges: the last 15 minutes of slots that are closed and folded. */
export function alertWindowAt(now: Date): Window {
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
  return { windowStart: base.from, windowEnd: base.to, invocations: summary.invocations, succeeded: summary.succeeded, p95Ms: summary.latencyMs?.p95 ?? null };
}

async function evaluateCapability(identity: CapabilityIdentity, window: Window, now: Date): Promise<AlertChange[] | "already"> {
  const monitor = (await monitors().doc(capabilityDocId(identity.capabilityKey)).get()).data();
  if (monitor?.lastWindowEnd && monitor.lastWindowEnd.getTime() >= window.to.getTime()) return "already";
  const [baseline, stats] = await Promise.all([baselineFor(identity, window, monitor?.baseline ?? null), statsOfWindow([identity.capabilityKey], window)]);
  return applyAlertEvaluation({ identity, windowStart: window.from, windowEnd: window.to, window: summarize(stats.get(identity.capabilityKey)!), baseline, now });
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
  log.qualityEvaluation({ at: now.toISOString(), foldedSlots, capabilities: identities.size, alertChanges: alertChanges.length, packages: packageIds.size, tierChanges, failures });
  if (failures) throw new Error(`Quality evaluation at ${now.toISOString()}: ${failures} capabilities or packages failed (logged)`);
  return summary;
}
