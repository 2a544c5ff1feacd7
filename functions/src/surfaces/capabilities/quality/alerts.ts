import { MINUTE } from "../../../kernel/clock";
import { newId } from "../../../kernel/crypto";
import { db } from "../../../kernel/firebase";
import { log } from "../../../kernel/logger";
import { notifyAccount, ProviderNotice } from "../../../kernel/notifications";
import { accounts } from "../../console/repository";
import { findPackage } from "../../packages/repository";
import { alerts, capabilityDocId, monitors } from "./repository";
import { ActiveAlertRef, AlertDoc, AlertMetric, AlertSeverity, ALERT_SEVERITIES, BaselineSnapshot, MonitorDoc, severityRank } from "./schemas";
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
export const LATENCY_MULTIPLES: Record<AlertSeverity, number> = { info: 1.5, warning: 2, critical: 4 };
/** Error rate (%) above. */
export const ERROR_RATE_ABOVE: Record<AlertSeverity, number> = { info: 1, warning: 5, critical: 20 };
/** Availability (%) below. */
export const AVAILABILITY_BELOW: Record<AlertSeverity, number> = { info: 99.9, warning: 99.5, critical: 95 };

export const METRIC_UNIT: Record<AlertMetric, "ms" | "percent"> = { latency_p95: "ms", error_rate: "percent", availability: "percent" };

export interface Observation {
  metric: AlertMetric;
  /** Enough data to judge the metric in this window. */
  measurable: boolean;
  value: number | null;
  /** The worst level breached, or null when healthy. */
  severity: AlertSeverity | null;
  thresholds: Record<AlertSeverity, number> | null;
  /** The baseline p95 the latency thresholds derive from. */
  baseline: number | null;
}

const worstBreached = (breached: (s: AlertSeverity) => boolean): AlertSeverity | null =>
  [...ALERT_SEVERITIES].reverse().find(breached) ?? null;

const scaled = (multiples: Record<AlertSeverity, number>, base: number) =>
  Object.fromEntries(ALERT_SEVERITIES.map((s) => [s, multiples[s] * base])) as Record<AlertSeverity, number>;

/** Judges one window against the rules. Pure. */
export function observe(window: Summary, baseline: Pick<BaselineSnapshot, "succeeded" | "p95Ms"> | null): Observation[] {
  const out: Observation[] = [];

  const baseP95 = baseline && baseline.succeeded >= MIN_BASELINE_SUCCEEDED ? baseline.p95Ms : null;
  if (baseP95 !== null && window.succeeded >= MIN_WINDOW_SUCCEEDED && window.latencyMs) {
    const thresholds = scaled(LATENCY_MULTIPLES, baseP95);
    const value = window.latencyMs.p95;
    out.push({ metric: "latency_p95", measurable: true, value, severity: worstBreached((s) => value > thresholds[s]), thresholds, baseline: baseP95 });
  } else {
    out.push({ metric: "latency_p95", measurable: false, value: window.latencyMs?.p95 ?? null, severity: null, thresholds: null, baseline: baseP95 });
  }

  const enough = window.invocations >= MIN_WINDOW_INVOCATIONS;
  const errorRate = window.errorRatePercent;
  out.push({
    metric: "error_rate",
    measurable: enough,
    value: errorRate,
    severity: enough && errorRate !== null && window.errors >= MIN_FAILURES ? worstBreached((s) => errorRate > ERROR_RATE_ABOVE[s]) : null,
    thresholds: ERROR_RATE_ABOVE,
    baseline: null,
  });
  const availability = window.availabilityPercent;
  out.push({
    metric: "availability",
    measurable: enough,
    value: availability,
    severity: enough && availability !== null && window.unavailable >= MIN_FAILURES ? worstBreached((s) => availability < AVAILABILITY_BELOW[s]) : null,
    thresholds: AVAILABILITY_BELOW,
    baseline: null,
  });
  return out;
}

export type AlertAction = "none" | "open" | "update" | "resolve" | "escalate";

/** What an observation does to the metric's active alert (if any). Pure. */
export function decide(active: Pick<ActiveAlertRef, "severity"> | undefined, observation: Observation): AlertAction {
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

/**
 * Applies one window's observations to a capability's alerts, in one transaction on its monitor:
 * opens, updates, escalates (resolve + open) or resolves, with events and mail. Idempotent: a
 * window that is not newer than the monitor's last one changes nothing ("already").
 */
export async function applyAlertEvaluation(input: AlertEvaluation): Promise<AlertChange[] | "already"> {
  const { identity, windowStart, windowEnd, now } = input;
  const monitorRef = monitors().doc(capabilityDocId(identity.capabilityKey));
  const observations = observe(input.window, input.baseline);
  const result = await db().runTransaction(async (tx): Promise<AlertChange[] | "already"> => {
    const monitor = (await tx.get(monitorRef)).data();
    if (monitor?.lastWindowEnd && monitor.lastWindowEnd.getTime() >= windowEnd.getTime()) return "already";
    const active = { ...(monitor?.activeAlerts ?? {}) };
    const activeDocs = new Map<AlertMetric, AlertDoc>();
    for (const [metric, ref] of Object.entries(active) as [AlertMetric, ActiveAlertRef][]) {
      const doc = (await tx.get(alerts().doc(ref.alertId))).data();
      if (doc) activeDocs.set(metric, doc);
    }
    const pkg = await findPackage(identity.packageId, tx);
    const account = (await tx.get(accounts().doc(identity.accountId))).data();
    if (!pkg) return []; // packages are never deleted; nothing to alert about without one

    const changes: AlertChange[] = [];
    const notices: ProviderNotice[] = [];
    const open = (o: Observation, escalatedFrom: string | null, id = newId("alr")) => {
      const severity = o.severity!;
      const doc: AlertDoc = {
        ...identity,
        appId: pkg.appId,
        metric: o.metric,
        severity,
        status: "active",
        threshold: o.thresholds![severity],
        baselineValue: o.baseline,
        value: o.value!,
        peakValue: o.value!,
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
      tx.create(alerts().doc(id), doc);
      active[o.metric] = { alertId: id, severity, criticalSince: doc.criticalSince };
      changes.push({ alertId: id, metric: o.metric, severity, change: escalatedFrom ? "escalated" : "opened" });
      notices.push(openedNotice(id, doc, pkg.name));
    };
    const resolve = (o: Observation, current: AlertDoc, alertId: string, resolution: "recovered" | "escalated", escalatedTo: string | null) => {
      tx.update(alerts().doc(alertId), {
        status: "resolved",
        value: o.value!,
        currentSeverity: o.severity,
        criticalSince: null,
        windowStart,
        windowEnd,
        evaluations: current.evaluations + 1,
        resolvedAt: now,
        resolution,
        escalatedTo,
        updatedAt: now,
      });
      delete active[o.metric];
      if (resolution === "recovered") changes.push({ alertId, metric: o.metric, severity: current.severity, change: "resolved" });
      notices.push(resolvedNotice(alertId, current, o, resolution, escalatedTo, now, pkg.name));
    };

    for (const o of observations) {
      const ref = active[o.metric];
      const current = activeDocs.get(o.metric);
      const action = decide(ref, o);
      if (action === "open") open(o, null);
      else if ((action === "resolve" || action === "escalate" || action === "update") && (!ref || !current)) {
        // The monitor pointed at an alert that no longer exists: start over from this observation.
        delete active[o.metric];
        if (o.severity) open(o, null);
      } else if (action === "resolve") resolve(o, current!, ref!.alertId, "recovered", null);
      else if (action === "escalate") {
        const next = newId("alr");
        resolve(o, current!, ref!.alertId, "escalated", next);
        open(o, ref!.alertId, next);
      } else if (action === "update") {
        const criticalSince = o.severity === "critical" ? (ref!.criticalSince ?? windowEnd) : null;
        tx.update(alerts().doc(ref!.alertId), {
          value: o.value!,
          peakValue: worse(o.metric, current!.peakValue, o.value!),
          currentSeverity: o.severity,
          criticalSince,
          windowStart,
          windowEnd,
          evaluations: current!.evaluations + 1,
          updatedAt: now,
        });
        active[o.metric] = { ...ref!, criticalSince };
      }
    }

    const next: MonitorDoc = {
      ...identity,
      baseline: input.baseline,
      lastWindowEnd: windowEnd,
      activeAlerts: active,
      activeAlertCount: Object.keys(active).length,
      updatedAt: now,
    };
    tx.set(monitorRef, next);
    if (account) {
      for (const notice of notices) notifyAccount(tx, { id: identity.accountId, ...account }, pkg.appId, notice, { preference: "quality_alerts", category: "quality_alert" }, now);
    }
    return changes;
  });
  if (result !== "already") for (const c of result) log.qualityAlertChanged(c.alertId, identity.capabilityKey, c.metric, c.severity, c.change);
  return result;
}

const worse = (metric: AlertMetric, a: number, b: number) => (metric === "availability" ? Math.min(a, b) : Math.max(a, b));

/** What every alert event says about the alert. */
const alertRef = (alertId: string, a: AlertDoc) => ({ alertId, capability: a.capabilityRef, packageId: a.packageId, metric: a.metric, severity: a.severity });

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

function resolvedNotice(alertId: string, a: AlertDoc, o: Observation, resolution: "recovered" | "escalated", escalatedTo: string | null, now: Date, packageName: string): ProviderNotice {
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
          paragraphs: [`The ${METRIC_NAME[a.metric]} of ${a.capabilityRef} is back to ${fmt(o.value!, METRIC_UNIT[a.metric])}; alert ${alertId} (${a.severity}) is resolved.`],
        }
      : undefined,
  };
}
