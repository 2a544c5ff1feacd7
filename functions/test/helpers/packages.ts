import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { adminDb } from "./admin";
import { completeListing, weatherForecast } from "./descriptors";
import { api, ApiResponse, expectStatus } from "./http";

export const MANAGE = "/v1/providers/packages/manage";
export const REVIEWS = "/v1/providers/packages/reviews";

export const uniqueSlug = (tag = "pkg") => `${tag}-${randomBytes(5).toString("hex")}`;

/** A complete data_only weather package for `appId`; override any field of the create body. */
export function packageBody(appId: string, overrides: Record<string, unknown> = {}) {
  return { appId, name: "Acme Weather", slug: uniqueSlug(), riskTier: "data_only", capabilities: [weatherForecast()], ...completeListing(), ...overrides };
}

export async function createPackage(token: string, appId: string, overrides: Record<string, unknown> = {}) {
  const res = await api.post(MANAGE, packageBody(appId, overrides), { token });
  expectStatus(201, res);
  const pkg = res.body.data;
  return { pkg, versionId: pkg.versions[0].id as string, id: pkg.id as string };
}

export const versionPath = (packageId: string, versionId: string) => `${MANAGE}/${packageId}/versions/${versionId}`;

/** Validates and waits for the finished run (`?wait=true`). */
export async function validate(token: string, packageId: string, versionId: string) {
  const res = await api.post(`${versionPath(packageId, versionId)}/validate?wait=true`, undefined, { token });
  expectStatus(200, res);
  return res.body.data;
}

/** Polls `check` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 30_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Polls the version until it reaches `state`. */
export async function versionInState(token: string, packageId: string, versionId: string, state: string, timeoutMs = 30_000) {
  return eventually(
    async () => {
      const res: ApiResponse = await api.get(versionPath(packageId, versionId), { token });
      expectStatus(200, res);
      return res.body.data.state === state ? res.body.data : undefined;
    },
    timeoutMs,
    `version ${versionId} to reach ${state}`,
  );
}

/** The queued review of `versionId`, found in the reviewer queue (oldest first, paged through). */
export async function queuedReview(reviewerToken: string, versionId: string) {
  return eventually(async () => {
    for (let offset = 0; ; offset += 100) {
      const page = await api.get(`${REVIEWS}?limit=100&offset=${offset}`, { token: reviewerToken });
      expectStatus(200, page);
      const found = page.body.data.find((r: { versionId: string }) => r.versionId === versionId);
      if (found || !page.body.meta.pagination.hasMore) return found;
    }
  }, 30_000, `review of ${versionId} in the queue`);
}

export interface TestRuntime {
  url: string;
  /** How the runtime answers the next invocations. */
  mode: "ok" | "error_500" | "invalid_output" | "hang";
  invocations: { path: string; body: any; headers: Record<string, string | string[] | undefined> }[];
  close(): Promise<void>;
}

/**
 * PROVISIONAL stand-in for the sample provider runtime (docs/provider-runtime.md, built with the
 * provider runtime): a real HTTP server in the test process answering
 * `POST /capabilities/weather_forecast/invoke` with `{data: <forecast>}`.
 */
export async function startTestRuntime(): Promise<TestRuntime> {
  const runtime: TestRuntime = { url: "", mode: "ok", invocations: [], close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: any = null;
      try {
        body = JSON.parse(text);
      } catch {
        /* recorded as null */
      }
      runtime.invocations.push({ path: req.url ?? "", body, headers: req.headers });
      const send = (status: number, payload: unknown) => {
        const out = JSON.stringify(payload);
        res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(out) });
        res.end(out);
      };
      if (runtime.mode === "hang") return;
      if (runtime.mode === "error_500") return send(500, { error: "simulated" });
      if (req.method !== "POST" || req.url !== "/capabilities/weather_forecast/invoke") return send(404, { error: "no such capability" });
      const location = String(body?.parameters?.location ?? "Berlin");
      const days = Array.from({ length: Number(body?.parameters?.days ?? 3) }, (_, i) => ({
        date: new Date(Date.UTC(2026, 0, 1 + i)).toISOString().slice(0, 10),
        highC: 5 + i,
        lowC: 1 + i,
        condition: "snow",
      }));
      send(200, { data: runtime.mode === "invalid_output" ? { location, days: "sunny" } : { location, days }, ttlSeconds: 1800 });
    });
  });
  const sockets = new Set<import("node:net").Socket>();
  server.on("connection", (s) => (sockets.add(s), s.on("close", () => sockets.delete(s))));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  runtime.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  runtime.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return runtime;
}

/** Starts a test runtime before the file's tests and stops it after them; call the result to get it. */
export function useTestRuntime(): () => TestRuntime {
  let runtime: TestRuntime | undefined;
  beforeAll(async () => {
    runtime = await startTestRuntime();
  });
  afterAll(() => runtime?.close());
  return () => runtime!;
}

/**
 * PROVISIONAL: registers `endpointUrl` as the runtime app of `appId` by writing the `runtimeApps`
 * document the provider runtime API (POST /v1/providers/runtime/apps) will write, because that API
 * is not on this branch yet. Only the fields the conformance prober reads are set.
 */
export async function registerRuntime(accountId: string, appId: string, endpointUrl: string, authType: string | null = "api_key") {
  const id = `rt_${randomBytes(10).toString("hex")}`;
  const now = new Date();
  await adminDb().collection("runtimeApps").doc(id).set({
    accountId,
    appId,
    displayName: "Test runtime",
    endpointUrl,
    status: "active",
    authProfile: authType ? { type: authType } : null,
    createdAt: now,
    updatedAt: now,
  });
  return id;
}
