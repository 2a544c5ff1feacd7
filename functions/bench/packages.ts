import { api, expectStatus } from "../test/helpers/http";
import { createPackage, MANAGE, packageProvider, versionPath } from "../test/helpers/packages";
import { startSampleProvider } from "../test/helpers/sampleProvider";
import { type Benchmark, type BenchResult, round, summarize } from "./harness";

const RUNS = 7;
const POLL_MS = 25;

async function until<T>(check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * The package pipeline's latency through the real emulators: from `validate` to a finished
 * conformance run (Pub/Sub → runner → three probes per capability), and from `submit` to the
 * data_only version being listed (Pub/Sub → policy checks → publish). Baseline: an authenticated
 * GET of the package, measured in the same run, so the ratios say how many plain API round trips
 * each pipeline step costs.
 */
export const packagesBenchmark: Benchmark = {
  name: "packages",
  async run(): Promise<BenchResult[]> {
    const runtime = await startSampleProvider();
    try {
      const { token, app } = await packageProvider(runtime, "Bench Ltd");

      // Warm-up: the first invocation of each function pays its cold start.
      const warm = await createPackage(token, app.id);
      const warmRun = await api.post(`${versionPath(warm.id, warm.versionId)}/validate?wait=true`, undefined, { token });
      expectStatus(200, warmRun);
      expectStatus(202, await api.post(`${versionPath(warm.id, warm.versionId)}/submit`, undefined, { token }));

      const baseline: number[] = [];
      const validateToFinished: number[] = [];
      const validateWait: number[] = [];
      const submitToListed: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const { id, versionId } = await createPackage(token, app.id);
        const path = versionPath(id, versionId);

        let t = performance.now();
        expectStatus(200, await api.get(`${MANAGE}/${id}`, { token }));
        baseline.push(performance.now() - t);

        t = performance.now();
        const queued = await api.post(`${path}/validate`, undefined, { token });
        expectStatus(202, queued);
        const location = queued.headers.get("location")!;
        await until(async () => {
          const run = (await api.get(location, { token })).body.data;
          if (run.status === "failed") throw new Error(`validation failed: ${JSON.stringify(run.findings)}`);
          return run.status === "passed" ? run : undefined;
        });
        validateToFinished.push(performance.now() - t);

        t = performance.now();
        const waited = await api.post(`${path}/validate?wait=true`, undefined, { token });
        expectStatus(200, waited);
        validateWait.push(performance.now() - t);

        t = performance.now();
        expectStatus(202, await api.post(`${path}/submit`, undefined, { token }));
        await until(async () => ((await api.get(path, { token })).body.data.state === "published" ? true : undefined));
        submitToListed.push(performance.now() - t);
      }

      const base = summarize(baseline);
      const result = (name: string, samples: number[], what: string): BenchResult => {
        const s = summarize(samples);
        return { name, metrics: { n: s.n, p50_ms: s.p50, p95_ms: s.p95, ratio_p50_to_baseline: round(s.p50 / base.p50, 1) }, note: what };
      };
      return [
        {
          name: "baseline: GET package",
          metrics: { n: base.n, p50_ms: base.p50, p95_ms: base.p95 },
          note: "authenticated GET /v1/providers/packages/manage/:id through Hosting",
        },
        result(
          "validate → finished run",
          validateToFinished,
          `POST validate (202), then GET the run every ${POLL_MS} ms until passed; 1 capability, 3 probes`,
        ),
        result("validate?wait=true", validateWait, "POST validate?wait=true: one request, answered with the finished run"),
        result("submit → listed (data_only)", submitToListed, `POST submit (202), then GET the version every ${POLL_MS} ms until published`),
      ];
    } finally {
      await runtime.close();
    }
  },
};
