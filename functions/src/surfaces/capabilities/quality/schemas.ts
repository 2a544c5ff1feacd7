import { z } from "zod";
import { iso, isoOrNull, zDate } from "../../../kernel/firestore";
import { PageQuery } from "../../../kernel/http/envelope";
import { CERTIFICATION_TIERS } from "../../catalog/listings";
import { Dimension, DIMENSIONS } from "../../packages/conformance/rules";
import { PackageId } from "../../packages/schemas";
import { CapabilityRefParam } from "../model";
import type { Summary } from "./stats";

// ---------- Stored documents ----------

const Counts = z.record(z.string(), z.number().int().min(0));

/** The additive fields of stats.ts `Stats`, as stored (shards are written by increments, so maps may be missing). */
const StatsFields = {
  count: z.number().int().min(0),
  errors: z.number().int().min(0),
  unavailable: z.number().int().min(0),
  errorsByClass: Counts.default({}),
  latencySumMs: z.number().min(0),
};

const CapabilityIdentity = {
  capabilityKey: z.string(),
  capabilityRef: z.string(),
  packageId: z.string(),
  capabilityId: z.string(),
  accountId: z.string(),
};

/**
 * qualityRollupShards/{capability~slotStartMs~shard}: what the invocation trigger increments, one of
 * ROLLUP_SHARDS documents per capability and 5-minute slot; folded into rollups and deleted by the
 * evaluation job once the slot is closed.
 */
export const RollupShardDoc = z.object({
  ...CapabilityIdentity,
  slotStart: zDate,
  shard: z.number().int(),
  ...StatsFields,
  /** Bucket → count, incremented field by field. */
  histogram: Counts.default({}),
  updatedAt: zDate,
});
export type RollupShardDoc = z.infer<typeof RollupShardDoc>;

export const ROLLUP_RESOLUTIONS = ["5m", "1h", "1d"] as const;
export type RollupResolution = (typeof ROLLUP_RESOLUTIONS)[number];

/** qualityRollups/{capability~resolution~startMs}: one capability's invocations in one 5-minute slot, hour or UTC day. */
export const RollupDoc = z.object({
  ...CapabilityIdentity,
  resolution: z.enum(ROLLUP_RESOLUTIONS),
  start: zDate,
  ...StatsFields,
  /** The latency histogram, packed (histogram.ts encodeBuckets). */
  histogram: z.string(),
  updatedAt: zDate,
  /** For a Firestore TTL policy: 5-minute rollups live 3 days, hourly 32, daily 400. */
  expiresAt: zDate,
});
export type RollupDoc = z.infer<typeof RollupDoc>;

export const ALERT_METRICS = ["latency_p95", "error_rate", "availability"] as const;
export const AlertMetric = z.enum(ALERT_METRICS).meta({
  id: "QualityAlertMetric",
  description: "`latency_p95`: p95 latency of successful invocations (ms). `error_rate`: share of failed invocations (%). `availability`: share of invocations not failing with an unavailability class (%).",
});
export type AlertMetric = z.infer<typeof AlertMetric>;

export const ALERT_SEVERITIES = ["info", "warning", "critical"] as const;
export const AlertSeverity = z.enum(ALERT_SEVERITIES).meta({ id: "QualityAlertSeverity" });
export type AlertSeverity = z.infer<typeof AlertSeverity>;
export const severityRank = (s: AlertSeverity | null) => (s === null ? -1 : ALERT_SEVERITIES.indexOf(s));

export const ALERT_STATUSES = ["active", "resolved"] as const;
export const AlertStatus = z.enum(ALERT_STATUSES).meta({ id: "QualityAlertStatus" });

export const ALERT_RESOLUTIONS = ["recovered", "escalated"] as const;

/** A 30-day baseline as the monitor caches it (recomputed when the hour changes). */
export const BaselineSnapshot = z.object({
  windowStart: zDate,
  windowEnd: zDate,
  invocations: z.number().int(),
  succeeded: z.number().int(),
  p95Ms: z.number().nullable(),
});
export type BaselineSnapshot = z.infer<typeof BaselineSnapshot>;

export const ActiveAlertRef = z.object({
  alertId: z.string(),
  severity: AlertSeverity,
  /** Since when the latest observations have been critical without a break; null when they are not. */
  criticalSince: zDate.nullable(),
});
export type ActiveAlertRef = z.infer<typeof ActiveAlertRef>;

/**
 * qualityMonitors/{capability}: a capability's alerting state. Every change to its alerts runs in
 * a transaction on this document, which is what guarantees one active alert per metric.
 */
export const MonitorDoc = z.object({
  ...CapabilityIdentity,
  baseline: BaselineSnapshot.nullable(),
  /** End of the last evaluated window: evaluating a window again changes nothing. */
  lastWindowEnd: zDate.nullable(),
  activeAlerts: z.partialRecord(AlertMetric, ActiveAlertRef),
  activeAlertCount: z.number().int().min(0),
  updatedAt: zDate,
});
export type MonitorDoc = z.infer<typeof MonitorDoc>;

/** qualityAlerts/{alr_id}. */
export const AlertDoc = z.object({
  ...CapabilityIdentity,
  /** The package's app when the alert opened (what the alerts endpoint filters on). */
  appId: z.string(),
  metric: AlertMetric,
  /** Fixed for the alert's life; a worse level resolves it (`escalated`) and opens a new alert. */
  severity: AlertSeverity,
  status: AlertStatus,
  /** The limit of this severity: ms for latency, % for the rates. */
  threshold: z.number(),
  /** The 30-day baseline p95 the latency threshold derives from; null for the rates. */
  baselineValue: z.number().nullable(),
  /** The value in the latest evaluated window, and the worst seen while active. */
  value: z.number(),
  peakValue: z.number(),
  /** The severity of the latest evaluated window (may be lower than `severity` while it recovers). */
  currentSeverity: AlertSeverity.nullable(),
  criticalSince: zDate.nullable(),
  windowStart: zDate,
  windowEnd: zDate,
  evaluations: z.number().int().min(1),
  openedAt: zDate,
  resolvedAt: zDate.nullable(),
  resolution: z.enum(ALERT_RESOLUTIONS).nullable(),
  /** The alert this one escalated from, or the one that replaced it. */
  escalatedFrom: z.string().nullable(),
  escalatedTo: z.string().nullable(),
  updatedAt: zDate,
});
export type AlertDoc = z.infer<typeof AlertDoc>;
export type Alert = AlertDoc & { id: string };

export const Tier = z.enum(CERTIFICATION_TIERS).meta({ id: "CertificationTier", description: "`certified`, `warning` (quality problem; revoked after the grace period) or `revoked` (hidden from the catalog for new installs)." });
export type Tier = z.infer<typeof Tier>;

export const CAUSE_CODES = ["critical_alert_sustained", "score_below_threshold"] as const;
export const Cause = z.object({
  code: z.enum(CAUSE_CODES),
  message: z.string(),
  capability: z.string().nullable(),
  alertId: z.string().nullable(),
  since: zDate,
});
export type Cause = z.infer<typeof Cause>;

const DimensionScores = z.record(Dimension, z.number());
export const DIMENSION_SOURCES = ["conformance", "live"] as const;

/** The conformance side of a certification: the latest passing validation run of the current version. */
export const ConformanceBasis = z.object({
  versionId: z.string(),
  version: z.string(),
  runId: z.string().nullable(),
  dimensions: DimensionScores,
  /** Median probe latency per capability (the performance band's input), from the run's probes. */
  probeMedians: z.record(z.string(), z.number().nullable()),
});
export type ConformanceBasis = z.infer<typeof ConformanceBasis>;

/** The package's last 30 days of invocations, as the live dimensions use them (recomputed when the hour changes). */
export const LiveBasis = z.object({
  versionId: z.string(),
  windowEnd: zDate,
  invocations: z.number().int(),
  succeeded: z.number().int(),
  capabilities: z.record(z.string(), z.object({ succeeded: z.number().int(), p50Ms: z.number().nullable() })),
});
export type LiveBasis = z.infer<typeof LiveBasis>;

/** qualityCertifications/{packageId}: the package's certification as last evaluated. */
export const CertificationDoc = z.object({
  packageId: z.string(),
  accountId: z.string(),
  appId: z.string(),
  slug: z.string(),
  name: z.string(),
  conformance: ConformanceBasis,
  live: LiveBasis.nullable(),
  dimensions: DimensionScores,
  sources: z.object({ reliability: z.enum(DIMENSION_SOURCES), performance: z.enum(DIMENSION_SOURCES) }),
  overall: z.number().int(),
  tier: Tier,
  tierSince: zDate,
  causes: z.array(Cause),
  /** Start of the current unbroken spell with causes, or of the current spell without; one of them is null. */
  causeSince: zDate.nullable(),
  clearSince: zDate.nullable(),
  evaluatedAt: zDate,
  nextEvaluationAt: zDate,
  changeCount: z.number().int().min(0),
});
export type CertificationDoc = z.infer<typeof CertificationDoc>;

/** qualityCertifications/{packageId}/changes/{seq}: every tier change, with its reason. */
export const CertificationChangeDoc = z.object({
  seq: z.number().int(),
  from: Tier.nullable(),
  to: Tier,
  at: zDate,
  reason: z.string(),
  causes: z.array(Cause),
  overall: z.number().int(),
});
export type CertificationChangeDoc = z.infer<typeof CertificationChangeDoc>;

// ---------- Requests ----------

/** Query strings are strict here: a misspelt filter would otherwise silently answer unfiltered data. */
export const BaselinesQuery = PageQuery.extend({
  capability: CapabilityRefParam.optional().meta({ description: "Only this capability (`<slug>.<capabilityId>`); 404 unless it is one of your app's." }),
  packageId: PackageId.optional().meta({ description: "Only this package's capabilities; 404 unless it is your app's." }),
}).strict();

export const CertificationQuery = PageQuery.extend({
  packageId: PackageId.optional().meta({ description: "Only this package; 404 unless it is your app's." }),
  tier: Tier.optional(),
}).strict();

export const AlertsQuery = PageQuery.extend({
  status: AlertStatus.optional().meta({ description: "`active` or `resolved` (default both)." }),
  severity: AlertSeverity.optional(),
}).strict();

// ---------- Responses ----------

const isoDate = z.iso.datetime();
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
const percent = z.number().min(0).max(100);

export const BaselineOut = z
  .object({
    capability: z.string().meta({ description: "`<slug>.<capabilityId>`", example: "demo-weather.weather_forecast" }),
    packageId: z.string(),
    capabilityId: z.string(),
    deadlineMs: z.number().int(),
    window: z.object({ from: isoDate, to: isoDate }).meta({ description: "The 30 days ending at the start of the current hour (UTC)." }),
    invocations: z.number().int(),
    errors: z.number().int(),
    latencyMs: z
      .object({ p50: z.number(), p95: z.number(), p99: z.number(), mean: z.number() })
      .nullable()
      .meta({ description: "Successful invocations only; percentiles within 1% of the exact value (docs/quality.md). Null without a successful invocation." }),
    errorRatePercent: percent.nullable().meta({ description: "Failed invocations as a percentage of all; null without invocations." }),
    availabilityPercent: percent.nullable().meta({ description: "Invocations not failing with timeout, connection_refused, network or http_5xx, as a percentage; null without invocations." }),
  })
  .meta({ id: "CapabilityBaseline" });

export interface BaselineView {
  capability: string;
  packageId: string;
  capabilityId: string;
  deadlineMs: number;
  window: { from: Date; to: Date };
  summary: Summary;
}

export const toBaselineOut = (b: BaselineView): z.input<typeof BaselineOut> => ({
  capability: b.capability,
  packageId: b.packageId,
  capabilityId: b.capabilityId,
  deadlineMs: b.deadlineMs,
  window: { from: iso(b.window.from), to: iso(b.window.to) },
  invocations: b.summary.invocations,
  errors: b.summary.errors,
  latencyMs: b.summary.latencyMs && {
    p50: round(b.summary.latencyMs.p50, 2),
    p95: round(b.summary.latencyMs.p95, 2),
    p99: round(b.summary.latencyMs.p99, 2),
    mean: round(b.summary.latencyMs.mean, 2),
  },
  errorRatePercent: b.summary.errorRatePercent === null ? null : round(b.summary.errorRatePercent, 3),
  availabilityPercent: b.summary.availabilityPercent === null ? null : round(b.summary.availabilityPercent, 3),
});

const CauseOut = z
  .object({
    code: z.enum(CAUSE_CODES),
    message: z.string(),
    capability: z.string().nullable(),
    alertId: z.string().nullable(),
    since: isoDate,
  })
  .meta({ id: "CertificationCause" });

const ReasonOut = z.object({ code: z.string(), message: z.string() }).meta({ id: "CertificationReason" });

export const CertificationChangeOut = z
  .object({ from: Tier.nullable(), to: Tier, at: isoDate, reason: z.string(), overall: z.number().int() })
  .meta({ id: "CertificationChange" });

const dimensionsOut = <T extends z.ZodType>(value: T) => z.object(Object.fromEntries(DIMENSIONS.map((d) => [d, value])) as Record<Dimension, T>);

export const CertificationOut = z
  .object({
    packageId: z.string(),
    slug: z.string(),
    name: z.string(),
    versionId: z.string(),
    version: z.string(),
    tier: Tier,
    tierSince: isoDate.nullable().meta({ description: "Null until the package is first evaluated with live data." }),
    score: z.object({
      overall: z.number().int(),
      dimensions: dimensionsOut(z.number().int()),
      sources: dimensionsOut(z.enum(DIMENSION_SOURCES)).meta({
        description: "`live`: refreshed from the last 30 days of invocations; `conformance`: from the validation run of the current version.",
      }),
    }),
    validationRunId: z.string().nullable(),
    reasons: z.array(ReasonOut).meta({ description: "Why the package has its current tier." }),
    causes: z.array(CauseOut).meta({ description: "The problems currently held against the package (empty when there are none)." }),
    graceEndsAt: isoDate.nullable().meta({ description: "In `warning`: when the package is revoked if a cause is still present then." }),
    restoresAt: isoDate.nullable().meta({ description: "In `warning` or `revoked` without a current cause: when it is certified again if none returns." }),
    evaluatedAt: isoDate.nullable(),
    changes: z.array(CertificationChangeOut).meta({ description: "The latest tier changes, newest first (at most 10)." }),
  })
  .meta({ id: "Certification" });

export const AlertOut = z
  .object({
    id: z.string(),
    capability: z.string(),
    packageId: z.string(),
    capabilityId: z.string(),
    metric: AlertMetric,
    severity: AlertSeverity,
    status: AlertStatus,
    condition: z.string().meta({ description: "The rule that opened the alert, in words.", example: "p95 latency over 15 minutes > 2 × the 30-day baseline (180 ms)" }),
    unit: z.enum(["ms", "percent"]),
    threshold: z.number(),
    baseline: z.number().nullable().meta({ description: "The 30-day p95 (ms) a latency threshold derives from." }),
    value: z.number().meta({ description: "The value in the latest evaluated 15-minute window." }),
    peakValue: z.number(),
    currentSeverity: AlertSeverity.nullable().meta({ description: "The level of the latest evaluated window (may be lower than `severity` while recovering)." }),
    window: z.object({ from: isoDate, to: isoDate }).meta({ description: "The latest evaluated window." }),
    openedAt: isoDate,
    resolvedAt: isoDate.nullable(),
    resolution: z.enum(ALERT_RESOLUTIONS).nullable().meta({ description: "`recovered`, or `escalated` (a new alert of a higher severity replaced it: `escalatedTo`)." }),
    escalatedFrom: z.string().nullable(),
    escalatedTo: z.string().nullable(),
  })
  .meta({ id: "QualityAlert" });

export const toAlertOut = (a: Alert, condition: string, unit: "ms" | "percent"): z.input<typeof AlertOut> => ({
  id: a.id,
  capability: a.capabilityRef,
  packageId: a.packageId,
  capabilityId: a.capabilityId,
  metric: a.metric,
  severity: a.severity,
  status: a.status,
  condition,
  unit,
  threshold: round(a.threshold, 3),
  baseline: a.baselineValue === null ? null : round(a.baselineValue, 2),
  value: round(a.value, 3),
  peakValue: round(a.peakValue, 3),
  currentSeverity: a.currentSeverity,
  window: { from: iso(a.windowStart), to: iso(a.windowEnd) },
  openedAt: iso(a.openedAt),
  resolvedAt: isoOrNull(a.resolvedAt),
  resolution: a.resolution,
  escalatedFrom: a.escalatedFrom,
  escalatedTo: a.escalatedTo,
});
