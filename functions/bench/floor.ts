import { capabilityPath } from "../test/helpers/capabilities";
import { endUser, MARKETPLACE, INSTALLS } from "../test/helpers/catalog";
import { functionUrl } from "../test/helpers/env";
import { api, type ApiResponse } from "../test/helpers/http";
import { type Benchmark, type BenchResult, INVOKE_PARAMETERS, INVOKE_USER, invokeFixture, round, sampleInterleaved, summarize } from "./harness";

const SAMPLES = 100;
const WARM_UP = 15;
/** Requests per route for the Firestore cost (the meter's counts are exact; a few show they are stable). */
const COST_SAMPLES = 5;

/** A function's direct URL: on the serving pool's router (npm run bench's default), else on the functions emulator. */
const served = (fn: string) => functionUrl(fn);

const opsOf = (res: ApiResponse) => {
  const match = /^reads=(\d+); writes=(\d+)$/.exec(res.headers.get("x-firestore-ops") ?? "");
  if (!match) throw new Error(`No X-Firestore-Ops header (is FIRESTORE_METER=1 set?): ${res.status} ${res.text.slice(0, 200)}`);
  return { reads: Number(match[1]), writes: Number(match[2]) };
};

/**
 * The floor: a minimal function served the same way (the same functions runtime, the same kernel)
 * that verifies the same access token and reads one Firestore document (src/surfaces/benchFloor).
 * Against it, in the same run, requests interleaved: invoke served from a binding's fresh state
 * (target p50 ≤ 1.5 × floor) and invoke with a provider call (target p50 ≤ floor + the direct
 * provider call). Then the Firestore cost of each hot route, counted by the kernel's meter.
 */
export const floorBenchmark: Benchmark = {
  name: "floor",
  async run(): Promise<BenchResult[]> {
    const fixture = await invokeFixture("Bench Floor Ltd");
    try {
      const { capability: w, binding, invokePath } = fixture;
      const calls = {
        floor: () => api.get("/v1/bench/floor", { token: w.access, baseUrl: served("benchFloor") }),
        provider: fixture.callRuntimeDirectly,
        invokeFresh: () => api.post(invokePath, { bindingId: binding.id }, { token: w.access, baseUrl: served("capabilitiesApi") }),
        state: () => api.get(fixture.statePath, { token: w.access, baseUrl: served("capabilitiesApi") }),
        invokeCall: () =>
          api.post(invokePath, { user: INVOKE_USER, parameters: INVOKE_PARAMETERS }, { token: w.access, baseUrl: served("capabilitiesApi") }),
      };
      type Name = keyof typeof calls;
      const samples = await sampleInterleaved(calls, SAMPLES, WARM_UP);
      const s = Object.fromEntries((Object.keys(calls) as Name[]).map((n) => [n, summarize(samples[n])])) as Record<
        Name,
        ReturnType<typeof summarize>
      >;

      const results: BenchResult[] = [
        {
          name: "floor: verify the token, read one document",
          metrics: { n: s.floor.n, p50_ms: s.floor.p50, p95_ms: s.floor.p95 },
          note: "GET /v1/bench/floor (emulator-only function, same kernel, no rate limit); the baseline of this benchmark",
        },
        {
          name: "invoke served from fresh state",
          metrics: { p50_ms: s.invokeFresh.p50, p95_ms: s.invokeFresh.p95, p50_vs_floor: round(s.invokeFresh.p50 / s.floor.p50, 2) },
          note: "POST …/invoke {bindingId} of a binding whose state is fresh (no provider call); target p50 ≤ 1.5 × floor",
        },
        {
          name: "reference: GET state of the same binding",
          metrics: { p50_ms: s.state.p50, p95_ms: s.state.p95, p50_vs_floor: round(s.state.p50 / s.floor.p50, 2) },
          note: "the same reads as invoke from fresh state (app, account, package, binding, state in one round trip), as a GET: what the reads cost apart from the POST",
        },
        {
          name: "invoke with a provider call",
          metrics: {
            p50_ms: s.invokeCall.p50,
            p95_ms: s.invokeCall.p95,
            provider_direct_p50_ms: s.provider.p50,
            floor_plus_provider_p50_ms: s.floor.p50 + s.provider.p50,
            p50_vs_floor_plus_provider: round(s.invokeCall.p50 / (s.floor.p50 + s.provider.p50), 2),
          },
          note: "POST …/invoke {user, parameters}: runtime call + invocation record; target p50 ≤ floor + the direct provider call (ratio ≤ 1)",
        },
      ];

      // Firestore cost per hot route (the kernel's meter, FIRESTORE_METER=1), through Hosting.
      const user = await endUser();
      await api.post(`${MARKETPLACE}/${w.packageId}/install`, undefined, { token: user.token });
      const developerToken = w.token;
      const routes: Record<string, { read: boolean; call: () => Promise<ApiResponse> }> = {
        "floor GET /v1/bench/floor": { read: true, call: calls.floor },
        "browse GET /v1/space/marketplace": { read: true, call: () => api.get(MARKETPLACE, { token: user.token }) },
        "search GET /v1/space/marketplace?q=weather": { read: true, call: () => api.get(`${MARKETPLACE}?q=weather`, { token: user.token }) },
        "listing GET /v1/space/marketplace/:id": { read: true, call: () => api.get(`${MARKETPLACE}/${w.packageId}`, { token: user.token }) },
        "installs GET /v1/space/installs": { read: true, call: () => api.get(INSTALLS, { token: user.token }) },
        "install POST /v1/space/marketplace/:id/install (new user)": {
          read: false,
          call: async () => api.post(`${MARKETPLACE}/${w.packageId}/install`, undefined, { token: (await endUser()).token }),
        },
        "state GET …/state": { read: true, call: () => api.get(fixture.statePath, { token: w.access }) },
        "invoke fresh POST …/invoke {bindingId}": { read: true, call: calls.invokeFresh },
        "invoke with call POST …/invoke": { read: false, call: calls.invokeCall },
        "history GET …/history": { read: true, call: () => api.get(capabilityPath(w.ref, "history"), { token: w.access }) },
        "token POST /v1/providers/auth/token": {
          read: false,
          call: () =>
            api.post("/v1/providers/auth/token", {
              grant_type: "client_credentials",
              client_id: w.app.client_id,
              client_secret: w.app.client_secret,
            }),
        },
        "console GET /v1/providers/apps": { read: true, call: () => api.get("/v1/providers/apps", { token: developerToken }) },
        "runtime GET /v1/providers/runtime/apps": { read: true, call: () => api.get("/v1/providers/runtime/apps", { token: w.access }) },
      };
      for (const [label, { read, call }] of Object.entries(routes)) {
        const reads: number[] = [];
        const writes: number[] = [];
        for (let i = 0; i < COST_SAMPLES; i++) {
          const res = await call();
          if (res.status >= 300) throw new Error(`${label}: unexpected status ${res.status} ${res.text.slice(0, 200)}`);
          const ops = opsOf(res);
          reads.push(ops.reads);
          writes.push(ops.writes);
        }
        results.push({
          name: `cost: ${label}`,
          metrics: {
            reads_p50: summarize(reads).p50,
            reads_max: Math.max(...reads),
            writes_p50: summarize(writes).p50,
            writes_max: Math.max(...writes),
          },
          note: read
            ? "a read route: target a few reads, no writes (the rate limiter's lease is the only write: every request on the free tier, 1 in 10 on pro)"
            : undefined,
        });
      }
      return results;
    } finally {
      await fixture.close();
    }
  },
};
