import { z } from "zod";
import { iso, isoOrNull, PageQuery, IsoDate } from "../../../kernel/http/envelope";
import { type Dimension, DIMENSIONS } from "../../../domain/conformance/rules";
import { PackageId } from "../../../domain/packages/package";
import { CapabilityRefParam } from "../../../domain/capabilities/naming";
import type { Summary } from "../../../domain/quality/stats";
import {
  ALERT_RESOLUTIONS,
  type Alert,
  AlertMetric,
  AlertSeverity,
  AlertStatus,
  CAUSE_CODES,
  DIMENSION_SOURCES,
} from "../../../domain/quality/records";
import { CertificationTier } from "../../../domain/catalog/listing";

// ---------- Requests ----------

/** Query strings are strict here: a misspelt filter would otherwise silently answer unfiltered data. */
export const BaselinesQuery = PageQuery.extend({
  capability: CapabilityRefParam.optional().meta({
    description: "Only this capability (`<slug>.<capabilityId>`); 404 unless it is one of your app's.",
  }),
  packageId: PackageId.optional().meta({ description: "Only this package's capabilities; 404 unless it is your app's." }),
  series: z
    .enum(["daily"])
    .optional()
    .meta({ description: "`daily` adds `daily`: the same figures for each UTC day of the window (the first and last days partial), for charts." }),
}).strict();

export const CertificationQuery = PageQuery.extend({
  packageId: PackageId.optional().meta({ description: "Only this package; 404 unless it is your app's." }),
  tier: CertificationTier.optional(),
}).strict();

export const AlertsQuery = PageQuery.extend({
  status: AlertStatus.optional().meta({ description: "`active` or `resolved` (default both)." }),
  severity: AlertSeverity.optional(),
}).strict();

// ---------- Responses ----------

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
const percent = z.number().min(0).max(100);

const latencyOut = z.object({ p50: z.number(), p95: z.number(), p99: z.number(), mean: z.number() });

const DailyBaselineOut = z
  .object({
    date: z.string().meta({ description: "The UTC day, `YYYY-MM-DD`.", example: "2026-03-01" }),
    invocations: z.number().int(),
    errors: z.number().int(),
    latencyMs: latencyOut.nullable(),
    errorRatePercent: percent.nullable(),
    availabilityPercent: percent.nullable(),
  })
  .meta({ id: "DailyBaseline" });

export const BaselineOut = z
  .object({
    capability: z.string().meta({ description: "`<slug>.<capabilityId>`", example: "demo-weather.weather_forecast" }),
    packageId: z.string(),
    capabilityId: z.string(),
    deadlineMs: z.number().int(),
    window: z.object({ from: IsoDate, to: IsoDate }).meta({ description: "The 30 days ending at the start of the current hour (UTC)." }),
    invocations: z.number().int(),
    errors: z.number().int(),
    latencyMs: latencyOut.nullable().meta({
      description: "Successful invocations only; percentiles within 1% of the exact value (docs/quality.md). Null without a successful invocation.",
    }),
    errorRatePercent: percent.nullable().meta({ description: "Failed invocations as a percentage of all; null without invocations." }),
    availabilityPercent: percent.nullable().meta({
      description: "Invocations not failing with timeout, connection_refused, network or http_5xx, as a percentage; null without invocations.",
    }),
    daily: z
      .array(DailyBaselineOut)
      .optional()
      .meta({ description: "With `?series=daily`: each UTC day of the window, oldest first, days without invocations included." }),
  })
  .meta({ id: "CapabilityBaseline" });

export interface BaselineView {
  capability: string;
  packageId: string;
  capabilityId: string;
  deadlineMs: number;
  window: { from: Date; to: Date };
  summary: Summary;
  daily?: { day: Date; summary: Summary }[];
}

const figuresOut = (summary: Summary) => ({
  invocations: summary.invocations,
  errors: summary.errors,
  latencyMs: summary.latencyMs && {
    p50: round(summary.latencyMs.p50, 2),
    p95: round(summary.latencyMs.p95, 2),
    p99: round(summary.latencyMs.p99, 2),
    mean: round(summary.latencyMs.mean, 2),
  },
  errorRatePercent: summary.errorRatePercent === null ? null : round(summary.errorRatePercent, 3),
  availabilityPercent: summary.availabilityPercent === null ? null : round(summary.availabilityPercent, 3),
});

export const toBaselineOut = (b: BaselineView): z.input<typeof BaselineOut> => ({
  capability: b.capability,
  packageId: b.packageId,
  capabilityId: b.capabilityId,
  deadlineMs: b.deadlineMs,
  window: { from: iso(b.window.from), to: iso(b.window.to) },
  ...figuresOut(b.summary),
  ...(b.daily ? { daily: b.daily.map((d) => ({ date: iso(d.day).slice(0, 10), ...figuresOut(d.summary) })) } : {}),
});

const CauseOut = z
  .object({
    code: z.enum(CAUSE_CODES),
    message: z.string(),
    capability: z.string().nullable(),
    alertId: z.string().nullable(),
    since: IsoDate,
  })
  .meta({ id: "CertificationCause" });

const ReasonOut = z.object({ code: z.string(), message: z.string() }).meta({ id: "CertificationReason" });

const CertificationChangeOut = z
  .object({ from: CertificationTier.nullable(), to: CertificationTier, at: IsoDate, reason: z.string(), overall: z.number().int() })
  .meta({ id: "CertificationChange" });

const dimensionsOut = <T extends z.ZodType>(value: T) => z.object(Object.fromEntries(DIMENSIONS.map((d) => [d, value])) as Record<Dimension, T>);

export const CertificationOut = z
  .object({
    packageId: z.string(),
    slug: z.string(),
    name: z.string(),
    versionId: z.string(),
    version: z.string(),
    tier: CertificationTier,
    tierSince: IsoDate.nullable().meta({ description: "Null until the package is first evaluated with live data." }),
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
    graceEndsAt: IsoDate.nullable().meta({ description: "In `warning`: when the package is revoked if a cause is still present then." }),
    restoresAt: IsoDate.nullable().meta({
      description: "In `warning` or `revoked` without a current cause: when it is certified again if none returns.",
    }),
    evaluatedAt: IsoDate.nullable(),
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
    condition: z
      .string()
      .meta({ description: "The rule that opened the alert, in words.", example: "p95 latency over 15 minutes > 2 × the 30-day baseline (180 ms)" }),
    unit: z.enum(["ms", "percent"]),
    threshold: z.number(),
    baseline: z.number().nullable().meta({ description: "The 30-day p95 (ms) a latency threshold derives from." }),
    value: z.number().meta({ description: "The value in the latest evaluated 15-minute window." }),
    peakValue: z.number(),
    currentSeverity: AlertSeverity.nullable().meta({
      description: "The level of the latest evaluated window (may be lower than `severity` while recovering).",
    }),
    window: z.object({ from: IsoDate, to: IsoDate }).meta({ description: "The latest evaluated window." }),
    openedAt: IsoDate,
    resolvedAt: IsoDate.nullable(),
    resolution: z
      .enum(ALERT_RESOLUTIONS)
      .nullable()
      .meta({ description: "`recovered`, or `escalated` (a new alert of a higher severity replaced it: `escalatedTo`)." }),
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
