import { type InvocationDoc, UNAVAILABLE_ERROR_CLASSES } from "../capabilities/invocation";
import { type Buckets, bucketOf, LatencyHistogram } from "./histogram";

/**
 * What a rollup (or a shard of one) knows about a set of invocations. Every field adds up, so
 * rollups of hours merge into days and shards into rollups by addition, exactly.
 * - `count`: every invocation; `errors`: status "error"; `unavailable`: errors of a class in
 *   UNAVAILABLE_ERROR_CLASSES (the provider was not there to answer).
 * - Latency (`latencySumMs`, `histogram`) covers successful invocations only: a refused connection
 *   answers in a millisecond and a timeout at the deadline, and neither says how fast the provider
 *   answers; failures are measured by the error rate and the availability instead.
 */
export interface Stats {
  count: number;
  errors: number;
  unavailable: number;
  errorsByClass: Record<string, number>;
  latencySumMs: number;
  histogram: Buckets;
}

export const emptyStats = (): Stats => ({ count: 0, errors: 0, unavailable: 0, errorsByClass: {}, latencySumMs: 0, histogram: {} });

const isUnavailable = (inv: Pick<InvocationDoc, "status" | "errorClass">) =>
  inv.status === "error" && inv.errorClass !== null && UNAVAILABLE_ERROR_CLASSES.includes(inv.errorClass);

/** The contribution of one invocation. */
export function statsOfInvocation(inv: Pick<InvocationDoc, "status" | "errorClass" | "latencyMs">): Stats {
  const ok = inv.status === "ok";
  return {
    count: 1,
    errors: ok ? 0 : 1,
    unavailable: isUnavailable(inv) ? 1 : 0,
    errorsByClass: ok ? {} : { [inv.errorClass ?? "unknown"]: 1 },
    latencySumMs: ok ? inv.latencyMs : 0,
    histogram: ok ? { [String(bucketOf(inv.latencyMs))]: 1 } : {},
  };
}

const addCounts = (a: Record<string, number>, b: Record<string, number>) => {
  const out = { ...a };
  for (const [key, value] of Object.entries(b)) out[key] = (out[key] ?? 0) + value;
  return out;
};

export function mergeStats(...all: Stats[]): Stats {
  return all.reduce(
    (acc, s) => ({
      count: acc.count + s.count,
      errors: acc.errors + s.errors,
      unavailable: acc.unavailable + s.unavailable,
      errorsByClass: addCounts(acc.errorsByClass, s.errorsByClass),
      latencySumMs: acc.latencySumMs + s.latencySumMs,
      histogram: addCounts(acc.histogram, s.histogram),
    }),
    emptyStats(),
  );
}

/** Derived metrics; rates are percentages (0–100), latencies milliseconds; null when nothing was measured. */
export interface Summary {
  invocations: number;
  errors: number;
  unavailable: number;
  succeeded: number;
  errorRatePercent: number | null;
  availabilityPercent: number | null;
  latencyMs: { p50: number; p95: number; p99: number; mean: number } | null;
}

export function summarize(stats: Stats): Summary {
  const histogram = LatencyHistogram.from(stats.histogram);
  const succeeded = stats.count - stats.errors;
  const p = (q: number) => histogram.percentile(q)!;
  return {
    invocations: stats.count,
    errors: stats.errors,
    unavailable: stats.unavailable,
    succeeded,
    errorRatePercent: stats.count ? (100 * stats.errors) / stats.count : null,
    availabilityPercent: stats.count ? (100 * (stats.count - stats.unavailable)) / stats.count : null,
    latencyMs: histogram.count ? { p50: p(50), p95: p(95), p99: p(99), mean: stats.latencySumMs / histogram.count } : null,
  };
}
