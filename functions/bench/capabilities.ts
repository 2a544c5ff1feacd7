import { functionUrl } from "../test/helpers/env";
import { api } from "../test/helpers/http";
import { type Benchmark, type BenchResult, INVOKE_PARAMETERS, INVOKE_USER, invokeFixture, round, sampleInterleaved, summarize } from "./harness";

const SAMPLES = 100;
const WARM_UP = 15;

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
    const fixture = await invokeFixture("Bench Capabilities Ltd");
    try {
      const { capability: w, binding, invokePath } = fixture;
      const direct = functionUrl("capabilitiesApi");
      const mockCall = { user: INVOKE_USER, parameters: INVOKE_PARAMETERS };
      const calls = {
        runtime: fixture.callRuntimeDirectly,
        hosting: () => api.post(invokePath, mockCall, { token: w.access }),
        functionUrl: () => api.post(invokePath, mockCall, { token: w.access, baseUrl: direct }),
        bindingRefresh: () => api.post(invokePath, { bindingId: binding.id, refresh: true }, { token: w.access }),
        bindingCached: () => api.post(invokePath, { bindingId: binding.id }, { token: w.access }),
        stateRead: () => api.get(fixture.statePath, { token: w.access }),
      };
      const samples = await sampleInterleaved(calls, SAMPLES, WARM_UP);

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
      await fixture.close();
    }
  },
};
