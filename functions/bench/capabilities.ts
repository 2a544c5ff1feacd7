import { installBinding } from "../test/helpers/bindings";
import { capabilityPath, publishedWeather } from "../test/helpers/capabilities";
import { functionUrl } from "../test/helpers/env";
import { api } from "../test/helpers/http";
import { startSampleProvider } from "../test/helpers/sampleProvider";
import { type Benchmark, type BenchResult, round, summarize } from "./harness";

const SAMPLES = 100;
const WARM_UP = 15;
const USER = { id: "usr_bench" };
const PARAMETERS = { location: "Berlin", days: 3 };

/**
 * The platform's overhead on an invocation: `POST /v1/providers/capabilities/:id/invoke` (token
 * verification, rate limit, capability resolution, input and output validation, the runtime call,
 * the invocation record) against calling the same sample runtime directly with the same body, in
 * the same run, requests interleaved so both see the same machine load. Reported as p50/p95 and
 * their ratios; also through the function's direct URL (no Hosting proxy), for a binding with a
 * state write (`refresh: true`), for a fresh binding served from its state, and an authenticated GET of
 * the same surface as a reference for the API's fixed cost.
 */
export const capabilitiesBenchmark: Benchmark = {
  name: "capabilities",
  async run(): Promise<BenchResult[]> {
    const runtime = await startSampleProvider();
    try {
      const w = await publishedWeather(runtime, {}, "Bench Capabilities Ltd");
      const binding = await installBinding(w, PARAMETERS);
      const invokePath = capabilityPath(w.ref, "invoke");
      const direct = functionUrl("capabilitiesApi");
      const directBody = JSON.stringify({
        requestId: "req_bench",
        capability: "weather_forecast",
        parameters: PARAMETERS,
        user: USER,
        context: { surface: "api" },
      });

      const time = async (call: () => Promise<{ status: number }>) => {
        const started = performance.now();
        const { status } = await call();
        const ms = performance.now() - started;
        if (status !== 200) throw new Error(`Unexpected status ${status}`);
        return ms;
      };
      const calls = {
        runtime: () =>
          fetch(`${runtime.url}/capabilities/weather_forecast/invoke`, {
            method: "POST",
            headers: { "content-type": "application/json", accept: "application/json", [runtime.config.apiKeyHeader]: runtime.config.apiKey },
            body: directBody,
          }).then(async (r) => ({ status: r.status, body: await r.text() })),
        hosting: () => api.post(invokePath, { user: USER, parameters: PARAMETERS }, { token: w.access }),
        functionUrl: () => api.post(invokePath, { user: USER, parameters: PARAMETERS }, { token: w.access, baseUrl: direct }),
        bindingRefresh: () => api.post(invokePath, { bindingId: binding.id, refresh: true }, { token: w.access }),
        bindingCached: () => api.post(invokePath, { bindingId: binding.id }, { token: w.access }),
        stateRead: () => api.get(`${capabilityPath(w.ref, "state")}?bindingId=${binding.id}`, { token: w.access }),
      };

      for (let i = 0; i < WARM_UP; i++) for (const call of Object.values(calls)) await time(call);
      const samples: Record<keyof typeof calls, number[]> = {
        runtime: [],
        hosting: [],
        functionUrl: [],
        bindingRefresh: [],
        bindingCached: [],
        stateRead: [],
      };
      for (let i = 0; i < SAMPLES; i++) {
        for (const [name, call] of Object.entries(calls) as [keyof typeof calls, () => Promise<{ status: number }>][])
          samples[name].push(await time(call));
      }

      const base = summarize(samples.runtime);
      const result = (name: string, key: keyof typeof calls, note: string): BenchResult => {
        const s = summarize(samples[key]);
        return {
          name,
          metrics: {
            n: s.n,
            p50_ms: s.p50,
            p95_ms: s.p95,
            p50_ratio: round(s.p50 / base.p50, 2),
            p95_ratio: round(s.p95 / base.p95, 2),
            p50_overhead_ms: s.p50 - base.p50,
          },
          note,
        };
      };
      return [
        {
          name: "baseline: sample runtime called directly",
          metrics: { n: base.n, p50_ms: base.p50, p95_ms: base.p95 },
          note: "POST {runtime}/capabilities/weather_forecast/invoke from the benchmark process, same body, API key",
        },
        result(
          "invoke through the platform (Hosting)",
          "hosting",
          "POST /v1/providers/capabilities/:id/invoke, provider-initiated (mock user), through the Hosting rewrite: the production path",
        ),
        result("invoke through the platform (function URL)", "functionUrl", "the same request on the function's direct URL (no Hosting proxy)"),
        result(
          "invoke a binding, refresh: true",
          "bindingRefresh",
          "a capability instance: lease, runtime call, state + event + invocation + binding in one transaction",
        ),
        result("invoke a fresh binding (served from state)", "bindingCached", "no runtime call: the cached state, read without a transaction"),
        result(
          "reference: GET state (an authenticated read)",
          "stateRead",
          "the API's fixed cost on this machine: token check, app and account reads, rate limiter, two document reads, through Hosting",
        ),
      ];
    } finally {
      await runtime.close();
    }
  },
};
