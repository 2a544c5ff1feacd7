import { accessToken, oauthProvider } from "../test/helpers/stories";
import { inParallel, type SurfaceProcess, startSurfaceProcesses, stopSurfaceProcesses } from "../test/helpers/surfaceProcesses";
import { type Benchmark, type BenchResult, round, summarize } from "./harness";

const REQUESTS = 1500;
const CLIENTS = 16;
const SIGNATURES = 3000;

/** Asks the surface process for `count` bare jose RS256 signatures and answers how long they took. */
function signLoop(p: SurfaceProcess, count: number): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (m: { signLoop?: { ms: number } }) => {
      if (!m.signLoop) return;
      p.child.off("message", onMessage);
      resolve(m.signLoop.ms);
    };
    p.child.on("message", onMessage);
    p.child.send({ signLoop: count });
  });
}

/**
 * The token endpoint (POST /v1/providers/auth/token, client credentials) served by one process of
 * the runtime surface, with its rate limit, at CLIENTS concurrent clients; against a bare jose RS256
 * sign loop with the same key in that same process, measured before and after (target: the
 * endpoint's throughput ≥ 50 % of the loop's).
 */
export const tokenBenchmark: Benchmark = {
  name: "token",
  async run(): Promise<BenchResult[]> {
    const { app } = await oauthProvider("Bench Token Ltd", "enterprise");
    const [server] = await startSurfaceProcesses(1, { surface: "runtime" });
    try {
      const body = new URLSearchParams({ grant_type: "client_credentials", client_id: app.client_id, client_secret: app.client_secret }).toString();
      const issue = async () => {
        const started = performance.now();
        const res = await fetch(`${server!.url}/v1/providers/auth/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body,
        });
        await res.text();
        if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}`);
        return performance.now() - started;
      };
      await accessToken(app.client_id, app.client_secret); // the app works through Hosting too
      await inParallel(100, CLIENTS, issue); // warm-up
      await signLoop(server!, 200);
      const loopBefore = await signLoop(server!, SIGNATURES);
      const started = performance.now();
      const latencies = await inParallel(REQUESTS, CLIENTS, issue);
      const endpointMs = performance.now() - started;
      const loopAfter = await signLoop(server!, SIGNATURES);
      const loopPerSecond = (SIGNATURES * 2 * 1000) / (loopBefore + loopAfter);
      const endpointPerSecond = (REQUESTS * 1000) / endpointMs;
      const l = summarize(latencies);
      return [
        {
          name: "token endpoint vs a bare jose RS256 sign loop (same process)",
          metrics: {
            requests: REQUESTS,
            clients: CLIENTS,
            endpoint_per_s: round(endpointPerSecond, 0),
            p50_ms: l.p50,
            p95_ms: l.p95,
            sign_loop_per_s: round(loopPerSecond, 0),
            ratio: round(endpointPerSecond / loopPerSecond, 2),
          },
          note: "target ratio ≥ 0.5; the loop signs the same claims with the same key (issueAccessToken), one at a time, in the surface's process",
        },
      ];
    } finally {
      stopSurfaceProcesses([server!]);
    }
  },
};
