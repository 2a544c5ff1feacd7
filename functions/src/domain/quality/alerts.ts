import { MINUTE } from "../../kernel/clock";
import { newId } from "../../kernel/crypto";
import { db } from "../../kernel/firebase";
import { log } from "../../kernel/logger";
import { notifyAccount, type ProviderNotice } from "../events/notifications";
import { findAccount } from "../accounts/account";
import { findPackage } from "../packages/package";
import {
  alerts,
  capabilityDocId,
  monitors,
  type ActiveAlertRef,
  type AlertDoc,
  type AlertMetric,
  type AlertSeverity,
  ALERT_SEVERITIES,
  type BaselineSnapshot,
  type MonitorDoc,
  severityRank,
} from "./records";
import type { Summary } from "./stats";

/**
 * Alert rules (docs/quality.md#alert-rules). Each evaluation looks at one window: the last
 * ALERT_WINDOW_MS of closed 5-minute slots. A metric is only judged with enough data in the window
 * (and, for latency, in the baseline); without it nothing changes, in either direction, so an
 * alert only resolves on evidence.
 */
export const ALERT_WINDOW_MS = 15 * MINUTE;
/** Invocations a window needs before the error rate and the availability are judged. */
export const MIN_WINDOW_INVOCATIONS = 50;
/** Failures (errors, or unavailable ones) a rate alert needs besides its threshold: one failure is not a trend. */
export const MIN_FAILURES = 3;
/** Successful invocations a window needs before its p95 is judged, and the baseline before it is trusted. */
export const MIN_WINDOW_SUCCEEDED = 20;
export const MIN_BASELINE_SUCCEEDED = 100;

/** p95 over the window above this multiple of the 30-day baseline p95. */
const LATENCY_MULTIPLES: Record<AlertSeverity, number> = { info: 1.5, warning: 2, critical: 4 };
/** Error rate (%) above. */
const ERROR_RATE_ABOVE: Record<AlertSeverity, number> = { info: 1, warning: 5, critical: 20 };
/** Availability (%) below. */
const AVAILABILITY_BELOW: Record<AlertSeverity, number> = { info: 99.9, warning: 99.5, critical: 95 };

export const METRIC_UNIT: Record<AlertMetric, "ms" | "percent"> = { latency_p95: "ms", error_rate: "percent", availability: "percent" };

interface ObservationBase {
  metric: AlertMetric;
  /** The baseline p95 the latency thresholds derive from. */
  baseline: number | null;
}

/** One metric judged over one window: measured (enough data), or not. */
export type MetricObservation =
  | (ObservationBase & { measurable: false; value: number | null; severity: null; thresholds: null })
  | (ObservationBase & {
      measurable: true;
      value: number;
      /** The worst level breached, or null when healthy. */
      severity: AlertSeverity | null;
      thresholds: Record<AlertSeverity, number>;
    });
type Measured = Extract<MetricObservation, { measurable: true }>;

const worstBreached = (breached: (s: AlertSeverity) => boolean): AlertSeverity | null => [...ALERT_SEVERITIES].reverse().find(breached) ?? null;

const scaled = (multiples: Record<AlertSeverity, number>, base: number) =>
  Object.fromEntries(ALERT_SEVERITIES.map((s) => [s, multiples[s] * base])) as Record<AlertSeverity, number>;

/** Judges one window against the rules. Pure. */
export function observe(window: Summary, baseline: Pick<BaselineSnapshot, "succeeded" | "p95Ms"> | null): MetricObservation[] {
  const out: MetricObservation[] = [];

  const baseP95 = baseline && baseline.succeeded >= MIN_BASELINE_SUCCEEDED ? baseline.p95Ms : null;
  if (baseP95 !== null && window.succeeded >= MIN_WINDOW_SUCCEEDED && window.latencyMs) {
    const thresholds = scaled(LATENCY_MULTIPLES, baseP95);
    const value = window.latencyMs.p95;
    out.push({
      metric: "latency_p95",
      measurable: true,
      value,
      severity: worstBreached((s) => value > thresholds[s]),
      thresholds,
      baseline: baseP95,
    });
  } else {
    out.push({ metric: "latency_p95", measurable: false, value: window.latencyMs?.p95 ?? null, severity: null, thresholds: null, baseline: baseP95 });
  }

  const enough = window.invocations >= MIN_WINDOW_INVOCATIONS;
  const rate = (
    metric: "error_rate" | "availability",
    value: number | null,
    failures: number,
    thresholds: Record<AlertSeverity, number>,
    breached: (v: number, t: number) => boolean,
  ): MetricObservation =>
    enough && value !== null
      ? {
          metric,
          measurable: true,
          value,
          severity: failures >= MIN_FAILURES ? worstBreached((s) => breached(value, thresholds[s])) : null,
          thresholds,
          baseline: null,
        }
      : { metric, measurable: false, value, severity: null, thresholds: null, baseline: null };
  out.push(rate("error_rate", window.errorRatePercent, window.errors, ERROR_RATE_ABOVE, (v, t) => v > t));
  out.push(rate("availability", window.availabilityPercent, window.unavailable, AVAILABILITY_BELOW, (v, t) => v < t));
  return out;
}

export type AlertAction = "none" | "open" | "update" | "resolve" | "escalate";

/** What an observation does to the metric's active alert (if any). Pure. */
export function decide(active: Pick<ActiveAlertRef, "severity"> | undefined, observation: MetricObservation): AlertAction {
  if (!observation.measurable) return "none";
  if (!active) return observation.severity ? "open" : "none";
  if (!observation.severity) return "resolve";
  return severityRank(observation.severity) > severityRank(active.severity) ? "escalate" : "update";
}

const fmt = (value: number, unit: "ms" | "percent") => (unit === "ms" ? `${Math.round(value * 10) / 10} ms` : `${Math.round(value * 1000) / 1000}%`);

/** The rule of `metric` at `severity`, in words (shown with each alert). */
export function conditionOf(metric: AlertMetric, severity: AlertSeverity, baseline: number | null): string {
  const window = `over ${ALERT_WINDOW_MS / MINUTE} minutes`;
  if (metric === "latency_p95") {
    return `p95 latency ${window} > ${LATENCY_MULTIPLES[severity]} × the 30-day baseline p95${baseline === null ? "" : ` (${fmt(baseline, "ms")})`}`;
  }
  if (metric === "error_rate") return `error rate ${window} > ${ERROR_RATE_ABOVE[severity]}%`;
  return `availability ${window} < ${AVAILABILITY_BELOW[severity]}%`;
}

const METRIC_NAME: Record<AlertMetric, string> = { latency_p95: "p95 latency", error_rate: "error rate", availability: "availability" };

export interface CapabilityIdentity {
  capabilityKey: string;
  capabilityRef: string;
  packageId: string;
  capabilityId: string;
  accountId: string;
}

export interface AlertEvaluation {
  identity: CapabilityIdentity;
  windowStart: Date;
  windowEnd: Date;
  window: Summary;
  baseline: BaselineSnapshot | null;
  now: Date;
}

export interface AlertChange {
  alertId: string;
  metric: AlertMetric;
  severity: AlertSeverity;
  change: "opened" | "resolved" | "escalated";
}

/** Everything an evaluation of one window decides on, read in its transaction. */
export interface AlertFacts {
  evaluation: AlertEvaluation;
  observations: MetricObservation[];
  /** The monitor's active alerts by metric, with their documents (a pointer whose alert is gone is dropped). */
  active: Map<AlertMetric, { ref: ActiveAlertRef; doc: AlertDoc }>;
  appId: string;
  packageName: string;
  newAlertId: () => string;
}

/** The writes an evaluation makes. */
export interface AlertPlan {
  create: { id: string; doc: AlertDoc }[];
  update: { id: string; fields: Partial<AlertDoc> }[];
  monitor: MonitorDoc;
  changes: AlertChange[];
  notices: ProviderNotice[];
}

/** Decides what one window does to a capability's alerts: opens, updates, escalates (resolve + open) or resolves. Pure. */
export function planAlerts(f: AlertFacts): AlertPlan {
  const { identity, windowStart, windowEnd, now } = f.evaluation;
  const plan: Omit<AlertPlan, "monitor"> = { create: [], update: [], changes: [], notices: [] };
  const active: Partial<Record<AlertMetric, ActiveAlertRef>> = {};
  for (const [metric, { ref }] of f.active) active[metric] = ref;

  const open = (o: Measured, severity: AlertSeverity, escalatedFrom: string | null, id = f.newAlertId()) => {
    const doc: AlertDoc = {
      ...identity,
      appId: f.appId,
      metric: o.metric,
      severity,
      status: "active",
      threshold: o.thresholds[severity],
      baselineValue: o.baseline,
      value: o.value,
      peakValue: o.value,
      currentSeverity: severity,
      criticalSince: severity === "critical" ? windowEnd : null,
      windowStart,
      windowEnd,
      evaluations: 1,
      openedAt: now,
      resolvedAt: null,
      resolution: null,
      escalatedFrom,
      escalatedTo: null,
      updatedAt: now,
    };
    plan.create.push({ id, doc });
    active[o.metric] = { alertId: id, severity, criticalSince: doc.criticalSince };
    plan.changes.push({ alertId: id, metric: o.metric, severity, change: escalatedFrom ? "escalated" : "opened" });
    plan.notices.push(openedNotice(id, doc, f.packageName));
  };
  const resolve = (o: Measured, live: { ref: ActiveAlertRef; doc: AlertDoc }, resolution: "recovered" | "escalated", escalatedTo: string | null) => {
    plan.update.push({
      id: live.ref.alertId,
      fields: {
        status: "resolved",
        value: o.value,
        currentSeverity: o.severity,
        criticalSince: null,
        windowStart,
        windowEnd,
        evaluations: live.doc.evaluations + 1,
        resolvedAt: now,
        resolution,
        escalatedTo,
        updatedAt: now,
      },
    });
    delete active[o.metric];
    if (resolution === "recovered")
      plan.changes.push({ alertId: live.ref.alertId, metric: o.metric, severity: live.doc.severity, change: "resolved" });
    plan.notices.push(resolvedNotice(live.ref.alertId, live.doc, o, resolution, escalatedTo, now, f.packageName));
  };

  for (const o of f.observations) {
    if (!o.measurable) continue; // no judgement without data, in either direction
    const live = f.active.get(o.metric);
    const action = decide(live?.ref, o);
    if (action === "open" && o.severity) open(o, o.severity, null);
    else if (action === "resolve" && live) resolve(o, live, "recovered", null);
    else if (action === "escalate" && live && o.severity) {
      const next = f.newAlertId();
      resolve(o, live, "escalated", next);
      open(o, o.severity, live.ref.alertId, next);
    } else if (action === "update" && live) {
      const criticalSince = o.severity === "critical" ? (live.ref.criticalSince ?? windowEnd) : null;
      plan.update.push({
        id: live.ref.alertId,
        fields: {
          value: o.value,
          peakValue: worse(o.metric, live.doc.peakValue, o.value),
          currentSeverity: o.severity,
          criticalSince,
          windowStart,
          windowEnd,
          evaluations: live.doc.evaluations + 1,
          updatedAt: now,
        },
      });
      active[o.metric] = { ...live.ref, criticalSince };
    }
  }

  const monitor: MonitorDoc = {
    ...identity,
    baseline: f.evaluation.baseline,
    lastWindowEnd: windowEnd,
    activeAlerts: active,
    activeAlertCount: Object.keys(active).length,
    updatedAt: now,
  };
  return { ...plan, monitor };
}

/**
 * Applies one window's observations to a capability's alerts (planAlerts decides), in one
 * transaction on its monitor, with events and mail. Idempotent: a window that is not newer than
 * the monitor's last one changes nothing ("already").
 */
export async function applyAlertEvaluation(evaluation: AlertEvaluation): Promise<AlertChange[] | "already"> {
  const { identity, windowEnd, now } = evaluation;
  const monitorRef = monitors().doc(capabilityDocId(identity.capabilityKey));
  const observations = observe(evaluation.window, evaluation.baseline);
  const result = await db().runTransaction(async (tx): Promise<AlertChange[] | "already"> => {
    const monitor = (await tx.get(monitorRef)).data();
    if (monitor?.lastWindowEnd && monitor.lastWindowEnd.getTime() >= windowEnd.getTime()) return "already";
    const active = new Map<AlertMetric, { ref: ActiveAlertRef; doc: AlertDoc }>();
    for (const [metric, ref] of Object.entries(monitor?.activeAlerts ?? {}) as [AlertMetric, ActiveAlertRef][]) {
      const doc = (await tx.get(alerts().doc(ref.alertId))).data();
      if (doc) active.set(metric, { ref, doc });
    }
    const pkg = await findPackage(identity.packageId, tx);
    const account = await findAccount(identity.accountId, tx);
    if (!pkg) return []; // packages are never deleted; nothing to alert about without one

    const plan = planAlerts({ evaluation, observations, active, appId: pkg.appId, packageName: pkg.name, newAlertId: () => newId("alr") });
    for (const { id, doc } of plan.create) tx.create(alerts().doc(id), doc);
    for (const { id, fields } of plan.update) tx.update(alerts().doc(id), fields);
    tx.set(monitorRef, plan.monitor);
    if (account)
      for (const notice of plan.notices)
        notifyAccount(tx, account, pkg.appId, notice, { preference: "quality_alerts", category: "quality_alert" }, now);
    return plan.changes;
  });
  if (result !== "already") for (const c of result) log.qualityAlertChanged(c.alertId, identity.capabilityKey, c.metric, c.severity, c.change);
  return result;
}

const worse = (metric: AlertMetric, a: number, b: number) => (metric === "availability" ? Math.min(a, b) : Math.max(a, b));

/** What every alert event says about the alert. */
const alertRef = (alertId: string, a: AlertDoc) => ({
  alertId,
  capability: a.capabilityRef,
  packageId: a.packageId,
  metric: a.metric,
  severity: a.severity,
});

function openedNotice(alertId: string, a: AlertDoc, packageName: string): ProviderNotice {
  const unit = METRIC_UNIT[a.metric];
  const condition = conditionOf(a.metric, a.severity, a.baselineValue);
  const mailed = a.severity !== "info";
  return {
    type: "alert.opened",
    data: {
      ...alertRef(alertId, a),
      condition,
      threshold: a.threshold,
      value: a.value,
      baseline: a.baselineValue,
      windowStart: a.windowStart.toISOString(),
      windowEnd: a.windowEnd.toISOString(),
      escalatedFrom: a.escalatedFrom,
    },
    mail: mailed
      ? {
          subject: `[${a.severity}] ${packageName}: ${METRIC_NAME[a.metric]} of ${a.capabilityRef} ${a.escalatedFrom ? "got worse" : "degraded"}`,
          paragraphs: [
            `The ${METRIC_NAME[a.metric]} of ${a.capabilityRef} is ${fmt(a.value, unit)} (${a.windowStart.toISOString()} to ${a.windowEnd.toISOString()}): ${condition}.`,
            a.severity === "critical"
              ? "A critical alert that lasts 30 minutes moves the package to the certification tier 'warning'; after the 72-hour grace period it is revoked and hidden from the catalog for new installs."
              : "The alert resolves on its own when the metric recovers.",
            `Alert ${alertId}: GET /v1/providers/capabilities/alerts?status=active`,
          ],
        }
      : undefined,
  };
}

function resolvedNotice(
  alertId: string,
  a: AlertDoc,
  o: Measured,
  resolution: "recovered" | "escalated",
  escalatedTo: string | null,
  now: Date,
  packageName: string,
): ProviderNotice {
  const mailed = resolution === "recovered" && a.severity !== "info";
  return {
    type: "alert.resolved",
    data: {
      ...alertRef(alertId, a),
      resolution,
      value: o.value,
      resolvedAt: now.toISOString(),
      escalatedTo,
    },
    mail: mailed
      ? {
          subject: `[resolved] ${packageName}: ${METRIC_NAME[a.metric]} of ${a.capabilityRef} recovered`,
          paragraphs: [
            `The ${METRIC_NAME[a.metric]} of ${a.capabilityRef} is back to ${fmt(o.value, METRIC_UNIT[a.metric])}; alert ${alertId} (${a.severity}) is resolved.`,
          ],
        }
      : undefined,
  };
}
