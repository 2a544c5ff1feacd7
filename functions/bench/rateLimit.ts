import { adminDb } from "../test/helpers/admin";
import { api } from "../test/helpers/http";
import { oauthProvider } from "../test/helpers/stories";
import { inParallel, startSurfaceProcesses, stopSurfaceProcesses } from "../test/helpers/surfaceProcesses";
import { type Benchmark, type BenchResult, round, summarize } from "./harness";

/**
 * The plan rate limiter. Latency: the runtime surface (GET /v1/providers/runtime/apps, a real
 * authenticated endpoint) served from lib/ in separate processes with the limiter on and off,
 * requests alternating between them, against the same Firestore emulator; reported as ratios.
 * Overshoot: concurrent clients split over two limiter processes ("function instances") on one app.
 */
const PROBE = "/v1/providers/runtime/apps";

async function timed(url: string, token: string): Promise<{ ms: number; status: number; ops: number[] }> {
  const started = performance.now();
  const res = await api.get(PROBE, { token, baseUrl: url });
  const ms = performance.now() - started;
  // FIRESTORE_METER=1 in the surface processes: the request's Firestore reads and writes.
  const match = /^reads=(\d+); writes=(\d+)$/.exec(res.headers.get("x-firestore-ops") ?? "");
  return { ms, status: res.status, ops: match ? [Number(match[1]), Number(match[2])] : [NaN, NaN] };
}

async function latency(label: string, limit: number, samples: number): Promise<BenchResult> {
  const { access, accountId } = await oauthProvider(`Bench ${label}`, "free");
  await adminDb().collection("accounts").doc(accountId).update({ customRateLimitPerMinute: limit });
  // The limiter's clock is stopped, so every measured request counts in one window.
  const [on, off] = [
    (await startSurfaceProcesses(1, { fixedNow: new Date(), meter: true }))[0]!,
    (await startSurfaceProcesses(1, { limits: false, meter: true }))[0]!,
  ];
  try {
    for (let i = 0; i < 20; i++) await timed(off.url, access); // warm-up (cold caches, connections)
    await timed(on.url, access);
    const [withLimits, without] = [[] as number[], [] as number[]];
    const ops: [number, number] = [0, 0]; // the limiter's own reads and writes: (on − off) summed over the samples
    for (let i = 0; i < samples; i++) {
      const a = await timed(on.url, access);
      const b = await timed(off.url, access);
      if (a.status !== 200 || b.status !== 200) throw new Error(`Unexpected status ${a.status}/${b.status} in the latency run`);
      withLimits.push(a.ms);
      without.push(b.ms);
      ops[0] += a.ops[0]! - b.ops[0]!;
      ops[1] += a.ops[1]! - b.ops[1]!;
    }
    const [x, y] = [summarize(withLimits), summarize(without)];
    return {
      name: `limiter latency, ${label}`,
      metrics: {
        n: samples,
        p50_ms: x.p50,
        p95_ms: x.p95,
        baseline_p50_ms: y.p50,
        baseline_p95_ms: y.p95,
        p50_ratio: x.p50 / y.p50,
        p95_ratio: x.p95 / y.p95,
        limiter_reads_per_request: round(ops[0]! / samples, 3),
        limiter_writes_per_request: round(ops[1]! / samples, 3),
      },
      note: `limit ${limit}/min (leases of ${Math.max(1, Math.floor(limit / 100))}); baseline = same endpoint, same build, rate-limit hook off`,
    };
  } finally {
    stopSurfaceProcesses([on, off]);
  }
}

async function overshoot(limit: number, clients: number, total: number): Promise<BenchResult> {
  const { access, accountId } = await oauthProvider("Bench overshoot", "free");
  await adminDb().collection("accounts").doc(accountId).update({ customRateLimitPerMinute: limit });
  // Both processes' limiters stand still in one window, as two instances would within a minute.
  const processes = await startSurfaceProcesses(2, { fixedNow: new Date() });
  try {
    const started = performance.now();
    const statuses = await inParallel(total, clients, async (_i, client) => (await timed(processes[client % 2]!.url, access)).status);
    const allowed = statuses.filter((s) => s === 200).length;
    const limited = statuses.filter((s) => s === 429).length;
    if (allowed + limited !== total) throw new Error(`Unexpected statuses: ${[...new Set(statuses)].join(", ")}`);
    const seconds = (performance.now() - started) / 1000;
    return {
      name: `limiter overshoot, ${clients} clients over 2 processes`,
      metrics: {
        limit,
        requests: total,
        allowed,
        limited,
        overshoot_pct: (Math.max(0, allowed - limit) / limit) * 100,
        under_admission_pct: (Math.max(0, limit - allowed) / limit) * 100,
        requests_per_s: total / seconds,
      },
      note: "one app, one window; overshoot must stay ≤ 1% (by construction it is 0)",
    };
  } finally {
    stopSurfaceProcesses(processes);
  }
}

export const rateLimitBenchmark: Benchmark = {
  name: "rate-limit",
  async run() {
    const results = [
      await latency("free-tier path (every request counted in Firestore)", 199, 150),
      await latency("pro path", 1_000, 600),
      await latency("enterprise path", 10_000, 600),
      await overshoot(2000, 24, 2800),
    ];
    for (const r of results) if (r.metrics.p50_ratio) r.metrics.p50_ratio = round(r.metrics.p50_ratio, 3);
    return results;
  },
};
