import { encodeBuckets, LatencyHistogram } from "../src/domain/quality/histogram";
import { floorTo } from "../src/domain/quality/rollups";
import { exactPercentile, logNormal, seededRandom } from "../test/helpers/generated";
import { adminDb } from "../test/helpers/admin";
import { api, expectStatus } from "../test/helpers/http";
import { CAPABILITIES, type CapabilityUnderTest, publishedPackage, publishPackage } from "../test/helpers/quality";
import { startSampleProvider } from "../test/helpers/sampleProvider";
import { type Benchmark, type BenchResult, round, summarize } from "./harness";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const PACKAGES = 3;
const SAMPLES = 40;
const SMALL = 10_000;
const LARGE = 1_000_000;

interface HourStats {
  count: number;
  errors: number;
  unavailable: number;
  errorsByClass: Record<string, number>;
  latencySumMs: number;
  histogram: LatencyHistogram;
}

/**
 * Generates `total` invocations of one capability over the 31 days before the current hour (a
 * daily cycle, 1% failures of which half time out), aggregated per hour and per UTC day exactly as
 * the evaluation job's fold writes them (same histogram, same fields), and writes those rollup
 * documents to the emulator. Returns the successful latencies (for an independent p95) and what
 * was written.
 */
async function generateRollups(c: CapabilityUnderTest, total: number, seed: number) {
  const random = seededRandom(seed);
  const to = floorTo(new Date(), HOUR).getTime();
  const from = to - 31 * DAY;
  const hours = (to - from) / HOUR;
  const weight = (h: number) => 1 + 0.6 * Math.sin((2 * Math.PI * (h % 24)) / 24);
  const weights = Array.from({ length: hours }, (_, h) => weight(h));
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const hourly = new Map<number, HourStats>();
  const okByHour = new Map<number, number[]>();
  let generated = 0;
  for (let h = 0; h < hours; h++) {
    const n = h === hours - 1 ? total - generated : Math.round((total * weights[h]!) / weightSum);
    generated += n;
    const s: HourStats = { count: n, errors: 0, unavailable: 0, errorsByClass: {}, latencySumMs: 0, histogram: new LatencyHistogram() };
    const okLatencies: number[] = [];
    okByHour.set(from + h * HOUR, okLatencies);
    for (let i = 0; i < n; i++) {
      const r = random();
      if (r < 0.005) {
        s.errors++;
        s.unavailable++;
        s.errorsByClass.timeout = (s.errorsByClass.timeout ?? 0) + 1;
      } else if (r < 0.01) {
        s.errors++;
        s.errorsByClass.http_4xx = (s.errorsByClass.http_4xx ?? 0) + 1;
      } else {
        const latency = random() < 0.9 ? logNormal(random, 120, 0.4) : logNormal(random, 700, 0.5);
        s.latencySumMs += latency;
        s.histogram.add(latency);
        okLatencies.push(latency);
      }
    }
    hourly.set(from + h * HOUR, s);
  }

  const identity = {
    capabilityKey: `${c.packageId}/${c.capabilityId}`,
    capabilityRef: `${c.slug}.${c.capabilityId}`,
    packageId: c.packageId,
    capabilityId: c.capabilityId,
    accountId: c.accountId,
  };
  const docId = (resolution: string, start: number) => `${c.packageId}~${c.capabilityId}~${resolution}~${start}`;
  const docs: { id: string; data: Record<string, unknown> }[] = [];
  const toDoc = (resolution: "1h" | "1d", start: number, s: HourStats, retention: number) => ({
    id: docId(resolution, start),
    data: {
      ...identity,
      resolution,
      start: new Date(start),
      count: s.count,
      errors: s.errors,
      unavailable: s.unavailable,
      errorsByClass: s.errorsByClass,
      latencySumMs: s.latencySumMs,
      histogram: encodeBuckets(s.histogram.toBuckets()),
      updatedAt: new Date(),
      expiresAt: new Date(start + retention),
    },
  });
  const days = new Map<number, HourStats>();
  for (const [start, s] of hourly) {
    docs.push(toDoc("1h", start, s, 32 * DAY));
    const day = Math.floor(start / DAY) * DAY;
    const d = days.get(day) ?? { count: 0, errors: 0, unavailable: 0, errorsByClass: {}, latencySumMs: 0, histogram: new LatencyHistogram() };
    d.count += s.count;
    d.errors += s.errors;
    d.unavailable += s.unavailable;
    for (const [k, v] of Object.entries(s.errorsByClass)) d.errorsByClass[k] = (d.errorsByClass[k] ?? 0) + v;
    d.latencySumMs += s.latencySumMs;
    d.histogram.merge(s.histogram);
    days.set(day, d);
  }
  for (const [start, d] of days) docs.push(toDoc("1d", start, d, 400 * DAY));

  const db = adminDb();
  for (let i = 0; i < docs.length; i += 400) {
    const batch = db.batch();
    for (const doc of docs.slice(i, i + 400)) batch.set(db.collection("qualityRollups").doc(doc.id), doc.data);
    await batch.commit();
  }
  // What a baseline window [from, to) holds (the hour may change while the benchmark runs).
  const inWindow = (window: { from: string; to: string }) =>
    [...hourly].filter(([start]) => start >= Date.parse(window.from) && start < Date.parse(window.to)).reduce((sum, [, s]) => sum + s.count, 0);
  const bucketsPerDay = [...days.values()].reduce((sum, d) => sum + Object.keys(d.histogram.toBuckets()).length, 0) / days.size;
  const bytes = docs.reduce((sum, d) => sum + JSON.stringify(d.data).length, 0);
  const okInWindow = (window: { from: string; to: string }) =>
    [...okByHour].filter(([start]) => start >= Date.parse(window.from) && start < Date.parse(window.to)).flatMap(([, values]) => values);
  return { packageId: c.packageId, docs: docs.length, inWindow, okInWindow, bucketsPerDay, bytes };
}

async function timedGet(path: string, token: string): Promise<{ ms: number; body: any }> {
  const started = performance.now();
  const res = await api.get(path, { token });
  const ms = performance.now() - started;
  expectStatus(200, res);
  return { ms, body: res.body };
}

/**
 * GET /v1/providers/capabilities/baselines for two providers with three published packages each
 * (one capability per package): one with 10,000 recorded invocations in all, one with 1,000,000.
 * Their rollups (hourly and daily, 31 days) are generated straight into the emulator as the fold
 * writes them. Requests alternate between the two; the ratio large/small shows whether reads grow
 * with the number of invocations (they should not: a read merges at most 53 rollups per capability).
 */
export const qualityBenchmark: Benchmark = {
  name: "quality",
  async run(): Promise<BenchResult[]> {
    const runtime = await startSampleProvider();
    try {
      const setups = [] as { label: string; total: number; access: string; generated: Awaited<ReturnType<typeof generateRollups>>[] }[];
      for (const [label, total] of [
        ["10k", SMALL],
        ["1M", LARGE],
      ] as const) {
        const owner = await publishedPackage(runtime, `Bench Quality ${label}`);
        const capabilities = [owner.capability];
        for (let i = 1; i < PACKAGES; i++) capabilities.push((await publishPackage(owner)).capability);
        const generated = [];
        for (const [i, c] of capabilities.entries()) generated.push(await generateRollups(c, Math.round(total / PACKAGES), 1000 + i + total));
        setups.push({ label, total, access: owner.access, generated });
      }

      const path = `${CAPABILITIES}/baselines`;
      for (const s of setups) for (let i = 0; i < 5; i++) await timedGet(path, s.access); // warm-up
      const samples = new Map<string, number[]>(setups.map((s) => [s.label, []]));
      const answers = new Map<string, any>();
      for (let i = 0; i < SAMPLES; i++) {
        for (const s of setups) {
          const { ms, body } = await timedGet(path, s.access);
          samples.get(s.label)!.push(ms);
          answers.set(s.label, body);
        }
      }

      const results: BenchResult[] = [];
      for (const s of setups) {
        const body = answers.get(s.label);
        const reported = body.data.reduce((sum: number, b: { invocations: number }) => sum + b.invocations, 0);
        const expected = s.generated.reduce((sum, g) => sum + g.inWindow(body.data[0].window), 0);
        if (reported !== expected)
          throw new Error(`baselines report ${reported} invocations for ${s.label}, ${expected} were generated in the window`);
        // The reported p95 against the exact one of the same generated calls, in % (the bound is ±1%).
        const first = s.generated[0]!;
        const exactP95 = exactPercentile(first.okInWindow(body.data[0].window), 95);
        const reportedP95 = body.data.find((b: { packageId: string }) => b.packageId === first.packageId).latencyMs.p95;
        const stats = summarize(samples.get(s.label)!);
        results.push({
          name: `GET baselines, ${s.label} invocations`,
          metrics: {
            n: stats.n,
            p50_ms: stats.p50,
            p95_ms: stats.p95,
            invocations_in_window: expected,
            rollup_docs_written: s.generated.reduce((sum, g) => sum + g.docs, 0),
            rollup_kib_written: round(s.generated.reduce((sum, g) => sum + g.bytes, 0) / 1024, 1),
            histogram_buckets_per_day: round(s.generated[0]!.bucketsPerDay, 1),
            p95_error_percent: round(100 * (reportedP95 / exactP95 - 1), 3),
          },
          note: `${PACKAGES} capabilities; each request merges ${PACKAGES} × ≤53 rollups (hourly at the window's edges, daily between)`,
        });
      }
      const [small, large] = setups.map((s) => summarize(samples.get(s.label)!));
      results.push({
        name: "baseline read: 1M vs 10k invocations",
        metrics: { p50_ratio: round(large!.p50 / small!.p50, 2), p95_ratio: round(large!.p95 / small!.p95, 2) },
        note: "≈1 means reads stay flat as recorded invocations grow 100×; requests alternated between the two providers",
      });
      return results;
    } finally {
      await runtime.close();
    }
  },
};
