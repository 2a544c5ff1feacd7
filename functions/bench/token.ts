import { getAllCoalesced } from "../src/kernel/coalesce";
import { accounts } from "../src/domain/accounts/account";
import { apps } from "../src/domain/accounts/app";
import { TokenService } from "../src/surfaces/runtime/tokens";
import { accessToken, createApp, oauthProvider } from "../test/helpers/stories";
import { inParallel, type SurfaceProcess, startSurfaceProcesses, stopSurfaceProcesses } from "../test/helpers/surfaceProcesses";
import { type Benchmark, type BenchResult, cpuSince, javaPids, round, summarize } from "./harness";

const REQUESTS = 1500;
const CLIENTS = 16;
const SIGNATURES = 3000;
const WARM_UP = 200;

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

const form = (app: { client_id: string; client_secret: string }) =>
  new URLSearchParams({ grant_type: "client_credentials", client_id: app.client_id, client_secret: app.client_secret }).toString();

/** Where the machine's two cores go: CPU ms per request of the surface, the clients (this process), the emulators. */
function cpuSplit(surfacePid: number, requests: number) {
  const since = cpuSince({ surface: surfacePid, clients: process.pid, emulators: javaPids() });
  return (): Record<string, number> => {
    const per = since(requests);
    // The Firestore-alone shapes call from this process: it is the only one besides the emulators.
    if (surfacePid === process.pid) return { caller_cpu_ms: round(per.clients), emulators_cpu_ms: round(per.emulators) };
    return { surface_cpu_ms: round(per.surface), clients_cpu_ms: round(per.clients), emulators_cpu_ms: round(per.emulators) };
  };
}

/** Runs `task` REQUESTS times from CLIENTS clients after a warm-up of 100; throughput, latencies and CPU per request. */
async function measure(surfacePid: number, task: (worker: number) => Promise<void>, requests = REQUESTS) {
  const timed = async (_: number, worker: number) => {
    const started = performance.now();
    await task(worker);
    return performance.now() - started;
  };
  await inParallel(100, CLIENTS, timed);
  const cpu = cpuSplit(surfacePid, requests);
  const started = performance.now();
  const latencies = await inParallel(requests, CLIENTS, timed);
  const perSecond = (requests * 1000) / (performance.now() - started);
  return { perSecond, latencies: summarize(latencies), cpu: cpu() };
}

/** POSTs the worker's form to `url`; every answer must be 200. */
const drive = (surfacePid: number, url: string, bodyOf: (worker: number) => string, requests = REQUESTS) =>
  measure(
    surfacePid,
    async (worker) => {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: bodyOf(worker) });
      await res.text();
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    },
    requests,
  );

type BenchApp = { id: string; client_id: string };

/**
 * The endpoint's Firestore calls alone, in this process: the throttle's reservation ∥ its lock
 * check ∥ the app and account, then the refund (a right secret). No HTTP, no signature: what
 * Firestore as served here allows, whatever the code around it.
 */
function firestoreAlone(accountId: string, appOf: (worker: number) => BenchApp) {
  const { throttle } = new TokenService();
  return measure(process.pid, async (worker) => {
    const app = appOf(worker);
    const [guess] = await Promise.all([throttle.reserve(app.client_id, "127.0.0.1"), getAllCoalesced(apps().doc(app.id), accounts().doc(accountId))]);
    await guess.refund();
  });
}

/**
 * The token endpoint (POST /v1/providers/auth/token, client credentials) served by one process of
 * the runtime surface, with its rate limit, at CLIENTS concurrent clients; against a bare jose RS256
 * sign loop with the same key in that same process, measured before and after (target: the
 * endpoint's throughput ≥ 50 % of the loop's). Three shapes of traffic: every client with one
 * client id from one address (one hot throttle document), each client with its own client id, and
 * the ceiling of this process shape: a route of the same Express stack that parses the form and
 * signs, with no Firestore and no rate limit; and the other ceiling, the endpoint's Firestore calls
 * alone.
 */
export const tokenBenchmark: Benchmark = {
  name: "token",
  async run(): Promise<BenchResult[]> {
    const { app, token, accountId } = await oauthProvider("Bench Token Ltd", "enterprise");
    const own = await inParallel(CLIENTS, 4, () => createApp(token, { name: "Bench client" }));
    const [server] = await startSurfaceProcesses(1, { surface: "runtime" });
    try {
      await accessToken(app.client_id, app.client_secret); // the app works through Hosting too
      const endpoint = `${server!.url}/v1/providers/auth/token`;
      await signLoop(server!, 200);
      const loopBefore = await signLoop(server!, SIGNATURES);
      const pid = server!.child.pid!;
      const shapes = [
        (requests?: number) => drive(pid, endpoint, () => form(app), requests),
        (requests?: number) => drive(pid, endpoint, (worker) => form(own[worker]!), requests),
        (requests?: number) => drive(pid, `${server!.url}/__bench/sign`, () => form(app), requests),
      ];
      // Every shape warmed before any is measured: a process's first requests of a route run up to
      // 2 × slower (JIT), which slowed whichever shape came first. The endpoint then takes at most
      // 2 × 300 + 2 × 1,600 requests in a minute, within its limit of 5,000 per address.
      for (const shape of shapes) await shape(WARM_UP);
      const [oneClient, ownClients, ceiling] = [await shapes[0]!(), await shapes[1]!(), await shapes[2]!()];
      const aloneOne = await firestoreAlone(accountId, () => app);
      const aloneOwn = await firestoreAlone(accountId, (worker) => own[worker]!);
      const loopAfter = await signLoop(server!, SIGNATURES);
      const loopPerSecond = (SIGNATURES * 2 * 1000) / (loopBefore + loopAfter);
      const result = (name: string, r: Awaited<ReturnType<typeof drive>>, note: string): BenchResult => ({
        name,
        metrics: {
          requests: REQUESTS,
          clients: CLIENTS,
          endpoint_per_s: round(r.perSecond, 0),
          p50_ms: r.latencies.p50,
          p95_ms: r.latencies.p95,
          sign_loop_per_s: round(loopPerSecond, 0),
          ratio: round(r.perSecond / loopPerSecond, 2),
          ...r.cpu,
        },
        note,
      });
      return [
        result(
          "token endpoint vs a bare jose RS256 sign loop (same process)",
          oneClient,
          "target ratio ≥ 0.5; one client id from one address (one throttle document takes every reservation and refund); the loop signs the same claims with the same key (issueAccessToken), one at a time, in the surface's process",
        ),
        result("token endpoint, a client id per client", ownClients, "the same endpoint with 16 apps' credentials: 16 throttle documents"),
        result(
          "ceiling: the same Express stack parsing the form and signing, nothing else",
          ceiling,
          "no Firestore, no rate limit, no throttle: what any token endpoint served this way can reach on this machine",
        ),
        result(
          "ceiling: the endpoint's Firestore calls alone, one client id",
          aloneOne,
          "the throttle's reservation ∥ lock check ∥ app and account, then the refund, from this process: no HTTP, no signature",
        ),
        result("ceiling: the endpoint's Firestore calls alone, a client id per client", aloneOwn, "as above, 16 throttle documents"),
      ];
    } finally {
      stopSurfaceProcesses([server!]);
    }
  },
};
