import {
  ALERT_WINDOW_MS,
  decide,
  MIN_BASELINE_SUCCEEDED,
  MIN_FAILURES,
  MIN_WINDOW_INVOCATIONS,
  MIN_WINDOW_SUCCEEDED,
  observe,
  planAlerts,
} from "../../src/domain/quality/alerts";
import {
  causesOf,
  GRACE_PERIOD_MS,
  LIVE_MIN_INVOCATIONS,
  nextTier,
  REVOKED_RECOVERY_MS,
  scoreCertification,
  SUSTAINED_CRITICAL_MS,
  type TierState,
  WARNING_RECOVERY_MS,
} from "../../src/domain/quality/certification";
import {
  bucketOf,
  decodeBuckets,
  encodeBuckets,
  LatencyHistogram,
  MAX_BUCKET,
  MIN_MS,
  RELATIVE_ACCURACY,
  representativeOf,
} from "../../src/domain/quality/histogram";
import { baselineWindow, shardOf, ROLLUP_SHARDS, slotWindow } from "../../src/domain/quality/rollups";
import type { Cause, ConformanceBasis, MonitorDoc } from "../../src/domain/quality/records";
import { mergeStats, statsOfInvocation, summarize } from "../../src/domain/quality/stats";
import { exactPercentile, logNormal, seededRandom } from "../helpers/generated";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MINUTE = 60_000;

/** |estimate − exact| ≤ α·exact, plus float slack. */
const expectWithinBound = (estimate: number | null, exact: number) => {
  expect(estimate).not.toBeNull();
  expect(Math.abs(estimate! - exact)).toBeLessThanOrEqual(RELATIVE_ACCURACY * exact * (1 + 1e-9));
};

describe("latency histogram", () => {
  const random = seededRandom(7);
  const distributions: Record<string, () => number> = {
    "log-normal around 120 ms": () => logNormal(random, 120, 0.6),
    "uniform 1–5000 ms": () => 1 + random() * 4999,
    "bimodal (cache hits and misses)": () => (random() < 0.8 ? logNormal(random, 8, 0.3) : logNormal(random, 900, 0.4)),
    "heavy tail (exponential)": () => 0.5 - 300 * Math.log(1 - random()),
  };

  it.each(Object.entries(distributions))("answers percentiles of %s within the stated relative bound", (_name, draw) => {
    const values = Array.from({ length: 50_000 }, draw);
    const histogram = new LatencyHistogram();
    for (const v of values) histogram.add(v);
    for (const p of [1, 10, 50, 90, 95, 99, 99.9, 100]) expectWithinBound(histogram.percentile(p), exactPercentile(values, p));
  });

  it("merges exactly: hourly parts merged equal the whole, bucket for bucket", () => {
    const values = Array.from({ length: 20_000 }, () => logNormal(random, 60, 1));
    const whole = new LatencyHistogram();
    values.forEach((v) => whole.add(v));
    const parts = Array.from({ length: 24 }, () => new LatencyHistogram());
    values.forEach((v, i) => parts[i % 24]!.add(v));
    // Through the stored form too (sparse bucket → count maps).
    const merged = parts.reduce((acc, part) => acc.merge(part.toBuckets()), new LatencyHistogram());
    expect(merged.toBuckets()).toEqual(whole.toBuckets());
    expect(merged.count).toBe(values.length);
    for (const p of [50, 95, 99]) expect(merged.percentile(p)).toBe(whole.percentile(p));
  });

  it("keeps every value of a bucket within the bound of its representative", () => {
    for (let bucket = 1; bucket <= MAX_BUCKET; bucket += 37) {
      const rep = representativeOf(bucket);
      // The bucket's bounds, nudged inside.
      const gamma = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
      const low = MIN_MS * gamma ** (bucket - 1) * (1 + 1e-9);
      const high = MIN_MS * gamma ** bucket * (1 - 1e-9);
      expect(bucketOf(low)).toBe(bucket);
      expect(bucketOf(high)).toBe(bucket);
      expect(Math.abs(rep - low) / low).toBeLessThanOrEqual(RELATIVE_ACCURACY + 1e-9);
      expect(Math.abs(rep - high) / high).toBeLessThanOrEqual(RELATIVE_ACCURACY + 1e-9);
    }
  });

  it("packs histograms for rollups and unpacks them unchanged", () => {
    const values = Array.from({ length: 30_000 }, () => logNormal(random, 200, 1.2));
    const histogram = new LatencyHistogram();
    values.forEach((v) => histogram.add(v));
    histogram.add(0, 3).add(10 * 60_000 * 100, 2 ** 40); // bucket 0, the last bucket, a count beyond 32 bits
    const buckets = histogram.toBuckets();
    const packed = encodeBuckets(buckets);
    expect(packed).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeBuckets(packed)).toEqual(buckets);
    expect(packed.length).toBeLessThan(Object.keys(buckets).length * 6);
    expect(decodeBuckets(encodeBuckets({}))).toEqual({});
    expect(() => decodeBuckets(Buffer.from([0x80]).toString("base64url"))).toThrow(RangeError);
  });

  it("puts 0 and sub-0.1 ms latencies in bucket 0 and clamps absurd ones to the last bucket", () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(0.05)).toBe(0);
    expect(representativeOf(0)).toBe(MIN_MS);
    expect(bucketOf(10 * 60_000 * 100)).toBe(MAX_BUCKET);
    expect(new LatencyHistogram().percentile(50)).toBeNull();
    expect(() => LatencyHistogram.from({ "-1": 1 })).toThrow(RangeError);
  });
});

describe("rollup stats", () => {
  it("count failures by class, availability only for unavailable classes, latency for successes only", () => {
    const stats = mergeStats(
      statsOfInvocation({ status: "ok", errorClass: null, latencyMs: 100 }),
      statsOfInvocation({ status: "ok", errorClass: null, latencyMs: 300 }),
      statsOfInvocation({ status: "error", errorClass: "timeout", latencyMs: 3000 }),
      statsOfInvocation({ status: "error", errorClass: "http_4xx", latencyMs: 20 }),
    );
    expect(stats).toEqual(
      expect.objectContaining({ count: 4, errors: 2, unavailable: 1, errorsByClass: { timeout: 1, http_4xx: 1 }, latencySumMs: 400 }),
    );
    const summary = summarize(stats);
    expect(summary).toEqual(expect.objectContaining({ invocations: 4, succeeded: 2, errorRatePercent: 50, availabilityPercent: 75 }));
    expect(summary.latencyMs!.mean).toBe(200);
    expectWithinBound(summary.latencyMs!.p50, 100);
    expectWithinBound(summary.latencyMs!.p99, 300);
  });

  it("spreads invocation ids evenly over the shards", () => {
    const counts = new Array(ROLLUP_SHARDS).fill(0);
    for (let i = 0; i < 256_000; i++) counts[shardOf(`inv_${i.toString(36)}x${(i * 7919).toString(36)}`)]++;
    expect(Math.min(...counts)).toBeGreaterThan(700);
    expect(Math.max(...counts)).toBeLessThan(1300);
  });
});

describe("rollup windows", () => {
  it.each(["2026-03-10T00:00:00Z", "2026-03-10T00:59:59Z", "2026-03-10T13:20:00Z", "2026-03-10T23:30:00Z"])(
    "covers exactly the 30 days before the hour of %s with at most 53 rollups, without overlap",
    (at) => {
      const window = baselineWindow(new Date(at));
      const hour = Math.floor(new Date(at).getTime() / HOUR) * HOUR;
      expect(window.to.getTime()).toBe(hour);
      expect(window.from.getTime()).toBe(hour - 30 * DAY);
      expect(window.parts.length).toBeLessThanOrEqual(53);
      let cursor = window.from.getTime();
      for (const part of window.parts) {
        expect(part.start.getTime()).toBe(cursor);
        if (part.resolution === "1d") expect(part.start.getTime() % DAY).toBe(0);
        cursor += part.resolution === "1d" ? DAY : HOUR;
      }
      expect(cursor).toBe(window.to.getTime());
    },
  );

  it("makes the alert window three 5-minute slots", () => {
    const window = slotWindow(new Date("2026-03-10T12:00:00Z"), ALERT_WINDOW_MS);
    expect(window.parts.map((p) => p.start.toISOString())).toEqual([
      "2026-03-10T11:45:00.000Z",
      "2026-03-10T11:50:00.000Z",
      "2026-03-10T11:55:00.000Z",
    ]);
  });
});

describe("alert rules", () => {
  /** A window summary with `n` invocations, of which `errors` failed (`unavailable` of them unavailable), and a p95. */
  const window = (n: number, errors: number, unavailable: number, p95 = 100) => ({
    invocations: n,
    errors,
    unavailable,
    succeeded: n - errors,
    errorRatePercent: n ? (100 * errors) / n : null,
    availabilityPercent: n ? (100 * (n - unavailable)) / n : null,
    latencyMs: n - errors ? { p50: p95 / 2, p95, p99: p95, mean: p95 / 2 } : null,
  });
  const baseline = { succeeded: MIN_BASELINE_SUCCEEDED, p95Ms: 100 };
  const of = (metric: string, w: ReturnType<typeof window>, b: typeof baseline | null = baseline) => observe(w, b).find((o) => o.metric === metric)!;

  it("grades p95 latency against the baseline: over 1.5× info, 2× warning, 4× critical", () => {
    expect(of("latency_p95", window(100, 0, 0, 150)).severity).toBeNull();
    expect(of("latency_p95", window(100, 0, 0, 151)).severity).toBe("info");
    expect(of("latency_p95", window(100, 0, 0, 201)).severity).toBe("warning");
    expect(of("latency_p95", window(100, 0, 0, 401)).severity).toBe("critical");
    expect(of("latency_p95", window(100, 0, 0, 401)).thresholds).toEqual({ info: 150, warning: 200, critical: 400 });
  });

  it("judges latency only with enough successes in the window and in the baseline", () => {
    expect(of("latency_p95", window(MIN_WINDOW_SUCCEEDED - 1, 0, 0, 1000)).measurable).toBe(false);
    expect(of("latency_p95", window(MIN_WINDOW_SUCCEEDED, 0, 0, 1000)).measurable).toBe(true);
    expect(of("latency_p95", window(100, 0, 0, 1000), { succeeded: MIN_BASELINE_SUCCEEDED - 1, p95Ms: 100 }).measurable).toBe(false);
    expect(of("latency_p95", window(100, 0, 0, 1000), null).measurable).toBe(false);
  });

  it("grades the error rate: over 1% info, 5% warning, 20% critical, with at least 3 failures", () => {
    expect(of("error_rate", window(200, 2, 0)).severity).toBeNull(); // 1%, and only 2 failures
    expect(of("error_rate", window(200, 3, 0)).severity).toBe("info");
    expect(of("error_rate", window(100, 6, 0)).severity).toBe("warning");
    expect(of("error_rate", window(100, 21, 0)).severity).toBe("critical");
    expect(of("error_rate", window(MIN_WINDOW_INVOCATIONS - 1, 40, 0)).measurable).toBe(false);
    expect(of("error_rate", window(1000, MIN_FAILURES - 1, 0)).severity).toBeNull(); // 0.2%, too few failures anyway
  });

  it("grades availability: under 99.9% info, 99.5% warning, 95% critical", () => {
    expect(of("availability", window(1000, 3, 1)).severity).toBeNull(); // one unavailable is not a trend
    expect(of("availability", window(1000, 3, 3)).severity).toBe("info"); // 99.7%
    expect(of("availability", window(1000, 6, 6)).severity).toBe("warning"); // 99.4%
    expect(of("availability", window(100, 6, 6)).severity).toBe("critical"); // 94%
    expect(of("availability", window(100, 5, 5)).severity).toBe("warning"); // 95% is not under 95%
  });

  it("opens, keeps, escalates and resolves, and never judges without data", () => {
    const breach = of("error_rate", window(100, 6, 0));
    const healthy = of("error_rate", window(100, 0, 0));
    const worse = of("error_rate", window(100, 30, 0));
    const silent = of("error_rate", window(10, 10, 0));
    expect(decide(undefined, breach)).toBe("open");
    expect(decide(undefined, healthy)).toBe("none");
    expect(decide({ severity: "warning" }, breach)).toBe("update");
    expect(decide({ severity: "critical" }, breach)).toBe("update"); // de-escalation keeps the alert
    expect(decide({ severity: "warning" }, worse)).toBe("escalate");
    expect(decide({ severity: "warning" }, healthy)).toBe("resolve");
    expect(decide({ severity: "warning" }, silent)).toBe("none");
    expect(decide(undefined, silent)).toBe("none");
  });
});

describe("certification", () => {
  const basis: ConformanceBasis = {
    versionId: "ver_1",
    version: "1.0.0",
    runId: "run_1",
    dimensions: { schema: 100, listing: 90, security: 100, reliability: 100, performance: 90, privacy: 100 },
    probeMedians: { a: 400, b: null },
  };
  const deadlines = { a: 3000, b: 1000 };

  it("keeps the conformance dimensions until there is enough live data", () => {
    const live = {
      versionId: "ver_1",
      windowEnd: new Date(),
      invocations: LIVE_MIN_INVOCATIONS - 1,
      succeeded: 0,
      capabilities: { a: { succeeded: 0, p50Ms: null } },
    };
    const score = scoreCertification(basis, deadlines, live);
    expect(score.sources).toEqual({ reliability: "conformance", performance: "conformance" });
    expect(score.dimensions).toEqual(basis.dimensions);
    expect(score.overall).toBe(97);
  });

  it("refreshes reliability and performance from live data, reusing the conformance latency bands", () => {
    // 90% success; a: live median 100 ms of 3000 (≤ 10%: 100); b: no live data, no probe success (0).
    const live = {
      versionId: "ver_1",
      windowEnd: new Date(),
      invocations: 1000,
      succeeded: 900,
      capabilities: { a: { succeeded: 900, p50Ms: 100 }, b: { succeeded: 0, p50Ms: null } },
    };
    const score = scoreCertification(basis, deadlines, live);
    expect(score.sources).toEqual({ reliability: "live", performance: "live" });
    expect(score.dimensions.reliability).toBe(90);
    expect(score.dimensions.performance).toBe(50);
    expect(score.overall).toBe(Math.round((100 + 90 + 100 + 90 + 50 + 100) / 6));
  });

  const windowEnd = new Date("2026-03-10T12:00:00Z");
  const monitor = (criticalSince: Date | null, severity: "warning" | "critical" = "critical"): MonitorDoc => ({
    capabilityKey: "pkg_1/a",
    capabilityRef: "acme.a",
    packageId: "pkg_1",
    capabilityId: "a",
    accountId: "acc",
    baseline: null,
    lastWindowEnd: windowEnd,
    activeAlerts: { availability: { alertId: "alr_1", severity, criticalSince } },
    activeAlertCount: 1,
    updatedAt: windowEnd,
  });

  it("holds a critical alert against the package once it has lasted 30 minutes, and a score under 80", () => {
    const justNow = new Date(windowEnd.getTime() - SUSTAINED_CRITICAL_MS + 5 * MINUTE);
    const sustained = new Date(windowEnd.getTime() - SUSTAINED_CRITICAL_MS);
    expect(causesOf(90, [monitor(justNow)], windowEnd, [], windowEnd)).toEqual([]);
    expect(causesOf(90, [monitor(sustained, "warning")], windowEnd, [], windowEnd)).toEqual([]);
    expect(causesOf(90, [monitor(sustained)], windowEnd, [], windowEnd)).toEqual([
      expect.objectContaining({ code: "critical_alert_sustained", capability: "acme.a", alertId: "alr_1", since: sustained }),
    ]);
    const earlier: Cause = { code: "score_below_threshold", message: "", capability: null, alertId: null, since: new Date(0) };
    expect(causesOf(79, [], windowEnd, [earlier], windowEnd)).toEqual([
      expect.objectContaining({ code: "score_below_threshold", since: new Date(0) }),
    ]);
  });

  it("moves certified → warning → revoked after the grace period, and back after the recovery periods", () => {
    const t0 = new Date("2026-03-01T00:00:00Z");
    const at = (ms: number) => new Date(t0.getTime() + ms);
    const cause: Cause[] = [{ code: "critical_alert_sustained", message: "down", capability: "acme.a", alertId: "alr_1", since: t0 }];
    let state: TierState = { tier: "certified", tierSince: t0, causeSince: null, clearSince: null };

    let step = nextTier(state, cause, at(0));
    expect(step.change).toEqual(expect.objectContaining({ from: "certified", to: "warning" }));
    state = step.state;
    expect(nextTier(state, cause, at(0)).change).toBeNull(); // the same instant again: nothing
    expect(nextTier(state, cause, at(GRACE_PERIOD_MS - 1)).change).toBeNull();

    // A short break (under the recovery period) does not end the warning nor restart the grace period.
    state = nextTier(state, [], at(HOUR)).state;
    expect(state).toEqual(expect.objectContaining({ tier: "warning", clearSince: at(HOUR) }));
    state = nextTier(state, cause, at(HOUR + 10 * MINUTE)).state;
    expect(state.clearSince).toBeNull();

    step = nextTier(state, cause, at(GRACE_PERIOD_MS));
    expect(step.change).toEqual(expect.objectContaining({ from: "warning", to: "revoked" }));
    state = step.state;

    state = nextTier(state, [], at(GRACE_PERIOD_MS + HOUR)).state;
    expect(nextTier(state, [], at(GRACE_PERIOD_MS + HOUR + REVOKED_RECOVERY_MS - 1)).change).toBeNull();
    step = nextTier(state, [], at(GRACE_PERIOD_MS + HOUR + REVOKED_RECOVERY_MS));
    expect(step.change).toEqual(expect.objectContaining({ from: "revoked", to: "certified" }));
  });

  it("restores a warning after an hour without a cause", () => {
    const t0 = new Date("2026-03-01T00:00:00Z");
    let state: TierState = { tier: "warning", tierSince: t0, causeSince: t0, clearSince: null };
    state = nextTier(state, [], new Date(t0.getTime() + MINUTE)).state;
    expect(nextTier(state, [], new Date(t0.getTime() + MINUTE + WARNING_RECOVERY_MS - 1)).change).toBeNull();
    expect(nextTier(state, [], new Date(t0.getTime() + MINUTE + WARNING_RECOVERY_MS)).change).toEqual(
      expect.objectContaining({ from: "warning", to: "certified" }),
    );
  });
});

describe("alert planning (the pure half of an evaluation)", () => {
  const window = (n: number, errors: number) => ({
    invocations: n,
    errors,
    unavailable: 0,
    succeeded: n - errors,
    errorRatePercent: n ? (100 * errors) / n : null,
    availabilityPercent: n ? 100 : null,
    latencyMs: null,
  });
  const identity = { capabilityKey: "pkg_1/weather", capabilityRef: "acme.weather", packageId: "pkg_1", capabilityId: "weather", accountId: "acc_1" };
  const windowEnd = new Date("2026-03-02T10:15:00Z");
  const evaluation = (n: number, errors: number) => ({
    identity,
    windowStart: new Date(windowEnd.getTime() - ALERT_WINDOW_MS),
    windowEnd,
    window: window(n, errors),
    baseline: null,
    now: windowEnd,
  });
  let ids = 0;
  const plan = (n: number, errors: number, active: Parameters<typeof planAlerts>[0]["active"] = new Map()) =>
    planAlerts({
      evaluation: evaluation(n, errors),
      observations: observe(window(n, errors), null),
      active,
      appId: "app_1",
      packageName: "Acme",
      newAlertId: () => `alr_${++ids}`,
    });

  it("opens an alert on a breach, with its event and a mail for warning and above", () => {
    const p = plan(100, 6);
    expect(p.create).toHaveLength(1);
    expect(p.create[0]!.doc).toEqual(
      expect.objectContaining({ metric: "error_rate", severity: "warning", status: "active", value: 6, threshold: 5 }),
    );
    expect(p.update).toEqual([]);
    expect(p.monitor.activeAlerts.error_rate).toEqual({ alertId: p.create[0]!.id, severity: "warning", criticalSince: null });
    expect(p.changes).toEqual([{ alertId: p.create[0]!.id, metric: "error_rate", severity: "warning", change: "opened" }]);
    expect(p.notices.map((n) => [n.type, Boolean(n.mail)])).toEqual([["alert.opened", true]]);
  });

  it("escalates by resolving the alert and opening a worse one that points back at it", () => {
    const first = plan(100, 6).create[0]!;
    const p = plan(100, 30, new Map([["error_rate", { ref: { alertId: first.id, severity: "warning", criticalSince: null }, doc: first.doc }]]));
    expect(p.update).toEqual([
      { id: first.id, fields: expect.objectContaining({ status: "resolved", resolution: "escalated", escalatedTo: p.create[0]!.id }) },
    ]);
    expect(p.create[0]!.doc).toEqual(expect.objectContaining({ severity: "critical", escalatedFrom: first.id, criticalSince: windowEnd }));
    expect(p.changes.map((c) => c.change)).toEqual(["escalated"]);
  });

  it("resolves on a healthy window, keeps the alert on a milder breach, and decides nothing without data", () => {
    const first = plan(100, 6).create[0]!;
    const live = () =>
      new Map([["error_rate" as const, { ref: { alertId: first.id, severity: "warning" as const, criticalSince: null }, doc: first.doc }]]);
    const healthy = plan(100, 0, live());
    expect(healthy.update[0]).toEqual({ id: first.id, fields: expect.objectContaining({ status: "resolved", resolution: "recovered" }) });
    expect(healthy.monitor.activeAlertCount).toBe(0);
    const milder = plan(100, 4, live());
    expect(milder.update[0]).toEqual({
      id: first.id,
      fields: expect.objectContaining({ value: 4, peakValue: 6, currentSeverity: "info", evaluations: 2 }),
    });
    expect(milder.create).toEqual([]);
    const silent = plan(10, 10, live());
    expect([silent.create, silent.update, silent.notices]).toEqual([[], [], []]);
    expect(silent.monitor.activeAlerts.error_rate?.alertId).toBe(first.id);
  });
});
