import { z } from "zod";
import { typedCollection, zDate } from "../../kernel/firestore";
import { CertificationTier } from "../catalog/listing";
import { Dimension } from "../conformance/rules";

/** The stored documents of quality monitoring: rollups, monitors and alerts, certifications. */

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

const ROLLUP_RESOLUTIONS = ["5m", "1h", "1d"] as const;
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

const ALERT_METRICS = ["latency_p95", "error_rate", "availability"] as const;
export const AlertMetric = z.enum(ALERT_METRICS).meta({
  id: "QualityAlertMetric",
  description:
    "`latency_p95`: p95 latency of successful invocations (ms). `error_rate`: share of failed invocations (%). `availability`: share of invocations not failing with an unavailability class (%).",
});
export type AlertMetric = z.infer<typeof AlertMetric>;

export const ALERT_SEVERITIES = ["info", "warning", "critical"] as const;
export const AlertSeverity = z.enum(ALERT_SEVERITIES).meta({ id: "QualityAlertSeverity" });
export type AlertSeverity = z.infer<typeof AlertSeverity>;
export const severityRank = (s: AlertSeverity | null) => (s === null ? -1 : ALERT_SEVERITIES.indexOf(s));

const ALERT_STATUSES = ["active", "resolved"] as const;
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
  tier: CertificationTier,
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
  from: CertificationTier.nullable(),
  to: CertificationTier,
  at: zDate,
  reason: z.string(),
  causes: z.array(Cause),
  overall: z.number().int(),
});
export type CertificationChangeDoc = z.infer<typeof CertificationChangeDoc>;

export const rollupShards = () => typedCollection("qualityRollupShards", RollupShardDoc);
export const rollups = () => typedCollection("qualityRollups", RollupDoc);
export const monitors = () => typedCollection("qualityMonitors", MonitorDoc);
export const alerts = () => typedCollection("qualityAlerts", AlertDoc);
export const certifications = () => typedCollection("qualityCertifications", CertificationDoc);
export const certificationChanges = (packageId: string) => typedCollection(`qualityCertifications/${packageId}/changes`, CertificationChangeDoc);

/**
 * Document ids of a capability's quality documents: the capability key `<packageId>/<capabilityId>`
 * with `~` for the slash (capability ids never contain `~`), so ids are predictable and a baseline
 * read fetches known documents instead of querying.
 */
export const capabilityDocId = (capabilityKey: string) => capabilityKey.replace("/", "~");
export const shardDocId = (capabilityKey: string, slotStart: Date, shard: number) =>
  `${capabilityDocId(capabilityKey)}~${slotStart.getTime()}~${shard}`;
export const rollupDocId = (capabilityKey: string, resolution: RollupResolution, start: Date) =>
  `${capabilityDocId(capabilityKey)}~${resolution}~${start.getTime()}`;
