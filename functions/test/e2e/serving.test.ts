import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { installBinding } from "../helpers/bindings";
import { capabilityPath, type PublishedCapability, publishedWeather } from "../helpers/capabilities";
import { BASE_URL, functionUrl, PROJECT_ID } from "../helpers/env";
import { api, type ApiResponse, expectError, expectStatus } from "../helpers/http";
import { eventually, useSampleProvider } from "../helpers/packages";
import { FUNCTIONS_ROOT } from "../helpers/secrets";
import { openStream } from "../helpers/sse";
import { oauthProvider } from "../helpers/stories";

/**
 * The serving pool (emulators/serving, docs/architecture.md#serving-locally): npm start and npm test
 * serve the HTTP functions through a router on the base URL and Functions Framework instances. These
 * tests need it; with AIFFINITY_SERVING=emulator (the plain emulators) they are skipped.
 */
const REPO = join(FUNCTIONS_ROOT, "..");
const firebaseJson = JSON.parse(readFileSync(process.env.AIFFINITY_FIREBASE_CONFIG ?? join(REPO, "firebase.json"), "utf8"));
const pinnedFramework = JSON.parse(readFileSync(join(FUNCTIONS_ROOT, "package.json"), "utf8")).dependencies["@google-cloud/functions-framework"];
const describeServing = process.env.AIFFINITY_SERVING === "emulator" ? describe.skip : describe;

interface InstanceStatus {
  slot: number;
  state: string;
  pid: number | null;
  port: number;
  inFlight: number;
  requests: { method: string; path: string }[];
  served: number;
  restarts: number;
  rssBytes: number | null;
}
interface ServingStatus {
  framework: { version: string };
  instancesPerFunction: number;
  queueLimit: number;
  hostingTimeoutSeconds: number;
  functions: Record<string, { concurrency: number; timeoutSeconds: number; queued: number; instances: InstanceStatus[] }>;
}

const status = async (origin = BASE_URL): Promise<ServingStatus> => {
  const res = await api.get("/__serving/status", { baseUrl: origin });
  expectStatus(200, res);
  return res.body as ServingStatus;
};

/** The envelope's error, and the headers every answer of the router's own carries. */
function expectRouterError(res: ApiResponse, status: number, code: string) {
  const error = expectError(res, status, code);
  expect(res.headers.get("x-request-id")).toBe(error.requestId);
  return error;
}

/** A concrete path a rewrite's glob matches ("/v1/space/**" → "/v1/space/serving-probe"). */
const probePath = (source: string) => source.replace(/\*\*/g, "serving-probe").replace(/\*/g, "probe");

/**
 * A GET sent with its path byte for byte (`fetch` and undici resolve `..` and `%2e%2e` before
 * sending, as browsers do; hostile clients do not).
 */
function rawGet(path: string, options: { token?: string; origin?: string } = {}): Promise<ApiResponse> {
  const url = new URL(options.origin ?? BASE_URL);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: "GET",
        headers: { connection: "close", ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers))
            if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
          let body: any;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode!, headers, body, text });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const servedBy = (res: ApiResponse) => res.headers.get("x-serving-instance")?.split("/")[0] ?? null;

describeServing("serving pool: the HTTP functions as Cloud Functions 2nd gen serves them", () => {
  const sample = useSampleProvider();

  it("runs every HTTP function on the pinned Functions Framework, each instance at the function's concurrency", async () => {
    const s = await status();
    expect(s.framework.version).toBe(pinnedFramework);
    const rewritten = new Set<string>(firebaseJson.hosting.rewrites.filter((r: any) => r.function).map((r: any) => r.function.functionId));
    expect(Object.keys(s.functions).sort()).toEqual([...rewritten].sort());
    for (const [name, f] of Object.entries(s.functions)) {
      // No function sets its own: Cloud Run's default for 1 vCPU, as firebase deploy resolves it.
      expect({ name, concurrency: f.concurrency }).toEqual({ name, concurrency: 80 });
      expect(f.instances).toHaveLength(s.instancesPerFunction);
      for (const instance of f.instances) expect(instance).toEqual(expect.objectContaining({ state: "live", pid: expect.any(Number) }));
    }
  });

  it("routes each Hosting rewrite of firebase.json, in order, to its function", async () => {
    const rewrites = firebaseJson.hosting.rewrites.filter((r: any) => r.function);
    expect(rewrites.length).toBeGreaterThan(5);
    for (const rewrite of rewrites) {
      const path = probePath(rewrite.source);
      const res = await api.get(path);
      expect({ path, servedBy: res.headers.get("x-serving-instance")?.split("/")[0] }).toEqual({ path, servedBy: rewrite.function.functionId });
      // The function's own answer (an envelope), never the router's or Hosting's.
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(res.body.error ?? res.body.data).toBeDefined();
    }
  });

  it("answers unknown /v1/ paths with the 404 envelope and every other path with the console", async () => {
    const unknown = await api.get("/v1/no/such/route");
    expectError(unknown, 404, "NOT_FOUND");
    expect(unknown.headers.get("x-serving-instance")).toMatch(/^consoleApi\//);

    const page = await api.get("/apps/app_123/runtime");
    expectStatus(200, page);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.text).toContain('<div id="root">');
    expect(page.headers.get("x-serving-instance")).toBeNull();
  });

  it("serves each function's direct URL, the path below the function's name reaching it", async () => {
    for (const name of ["consoleApi", "capabilitiesApi", "catalogApi"]) {
      const res = await api.get("/v1/serving-probe", { baseUrl: functionUrl(name) });
      expectError(res, 404, "NOT_FOUND");
      expect(res.headers.get("x-serving-instance")).toMatch(new RegExp(`^${name}/`));
    }
  });

  it("refuses a body over Cloud Functions' 32 MiB before it reaches an instance", async () => {
    const url = new URL("/v1/providers/account", BASE_URL);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: "POST",
          headers: { "content-type": "application/json", "content-length": String(33 * 1024 * 1024) },
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk) => (body += chunk));
          res.on("end", () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on("error", reject);
      req.write("{");
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error).toEqual(expect.objectContaining({ code: "PAYLOAD_TOO_LARGE", requestId: expect.stringMatching(/^req_/) }));
  });

  it("validates query parameters under the Functions Framework's Express 5", async () => {
    const provider = await oauthProvider("Query Checks Ltd");
    const list = (query: string) => api.get(`/v1/providers/runtime/apps${query}`, { token: provider.access });

    const plain = await list("");
    expectStatus(200, plain);
    expect(plain.body.meta.pagination).toEqual(expect.objectContaining({ limit: 20, offset: 0 }));
    const paged = await list("?limit=5&offset=0");
    expectStatus(200, paged);
    expect(paged.body.meta.pagination).toEqual(expect.objectContaining({ limit: 5, offset: 0 }));
    expect(paged.headers.get("x-serving-instance")).toMatch(/^runtimeApi\//);

    const bad = await list("?limit=abc");
    const error = expectError(bad, 400, "VALIDATION_ERROR");
    expect(error.message).toContain("limit");
    expectError(await list("?limit=5&limit=6"), 400, "VALIDATION_ERROR");
  });

  describe("paths with dot segments", () => {
    it("resolves `.`, `..`, their %2e spellings and `//` before the rewrites, so the function that serves the path answers it", async () => {
      for (const path of [
        "/v1/./openapi.json",
        "/v1/space/../openapi.json",
        "/v1/%2e/openapi.json",
        "/v1/space/%2e%2e/openapi.json",
        "/v1/providers/apps/%2E%2E/.%2e/openapi.json",
        "//v1//openapi.json",
        "/v1/openapi.json/x/..",
        // The absolute form of the request target (RFC 9112 3.2.2) is routed by its path.
        "http://api.example.test/v1/./openapi.json",
      ]) {
        const res = await rawGet(path);
        // Before the fix these missed every rewrite and reached the functions emulator through Hosting.
        expect({ path, status: res.status, servedBy: servedBy(res) }).toEqual({ path, status: 200, servedBy: "consoleApi" });
        expect(res.body.openapi).toBe("3.1.0");
      }
      // Each rewrite's function gets the path as resolved: the surface's own answer, not another's.
      for (const rewrite of firebaseJson.hosting.rewrites.filter((r: any) => r.function)) {
        const path = probePath(rewrite.source);
        const at = path.lastIndexOf("/");
        for (const variant of [`${path.slice(0, at)}/./${path.slice(at + 1)}`, `${path.slice(0, at)}/x/%2e%2e/${path.slice(at + 1)}`]) {
          const res = await rawGet(variant);
          expect({ variant, servedBy: servedBy(res) }).toEqual({ variant, servedBy: rewrite.function.functionId });
          expect(res.body.error ?? res.body.data).toBeDefined();
        }
      }
      const canonical = await api.get("/v1/space/marketplace");
      const dotted = await rawGet("/v1/space/./marketplace");
      expect({ status: dotted.status, code: dotted.body.error?.code, servedBy: servedBy(dotted) }).toEqual({
        status: canonical.status,
        code: canonical.body.error?.code,
        servedBy: "catalogApi",
      });
      // `/v1/providers/../v1/providers/account` is `/v1/v1/providers/account`: no such route.
      const climbed = await rawGet("/v1/providers/../v1/providers/account");
      expectError(climbed, 404, "NOT_FOUND");
      expect(servedBy(climbed)).toBe("consoleApi");
    });

    it("gives the token endpoint's function the resolved path: its errors stay in OAuth's format", async () => {
      const res = await rawGet("/v1/providers/auth/./token");
      expect(servedBy(res)).toBe("runtimeApi");
      expect(res.body).toEqual({ error: expect.any(String), error_description: expect.any(String) });
    });

    it("answers a path that climbs above the root with 400 in the envelope, before any function or Hosting", async () => {
      for (const path of ["/..", "/v1/../../etc/passwd", "/%2e%2e/v1/openapi.json", "/v1/space/%2E%2E/.%2E/..", "//..//v1/openapi.json"]) {
        const res = await rawGet(path);
        const error = expectRouterError(res, 400, "VALIDATION_ERROR");
        expect({ path, message: error.message, servedBy: servedBy(res) }).toEqual({
          path,
          message: "The request path climbs above the root (`..`)",
          servedBy: null,
        });
      }
      const asterisk = await rawGet("*");
      expect(expectRouterError(asterisk, 400, "VALIDATION_ERROR").message).toBe("The request path does not start with `/`");
    });

    it("routes ids that start with a dot to their function (Hosting's globs skip such segments)", async () => {
      const provider = await oauthProvider("Dotted Ids Ltd");
      for (const id of ["..%2f..%2fetc%2fpasswd", ".hidden", "..x"]) {
        const res = await rawGet(`/v1/providers/runtime/apps/${id}`, { token: provider.access });
        expectError(res, 404, "NOT_FOUND");
        expect({ id, servedBy: servedBy(res) }).toEqual({ id, servedBy: "runtimeApi" });
      }
    });

    it("resolves the console's paths the same way, for Hosting", async () => {
      const page = await rawGet("/apps/./app_123/x/../runtime");
      expectStatus(200, page);
      expect(page.text).toContain('<div id="root">');
      expect(servedBy(page)).toBeNull();
    });
  });

  it("gives each function its timeout from the manifest; realtime streams end themselves within the Capabilities API's", async () => {
    const s = await status();
    for (const [name, f] of Object.entries(s.functions)) {
      expect({ name, timeoutSeconds: f.timeoutSeconds }).toEqual({ name, timeoutSeconds: name === "capabilitiesApi" ? 3600 : 60 });
    }
    // Hosting's own limit on a rewritten request, whatever the function's (firebase.google.com/docs/hosting/cloud-run).
    expect(s.hostingTimeoutSeconds).toBe(60);
    const { MAX_STREAM_MS } = await import("../../src/surfaces/capabilities/realtime");
    expect(MAX_STREAM_MS).toBeLessThan(s.functions.capabilitiesApi!.timeoutSeconds * 1000);
  });

  describe("an instance killed mid-request", () => {
    let w: PublishedCapability;
    const USER = { id: "usr_serving_kill" };
    const invoke = () => api.post(capabilityPath(w.ref, "invoke"), { user: USER, parameters: { location: "Oslo", days: 1 } }, { token: w.access });

    beforeAll(async () => {
      // The longest deadline a capability may have: the request stays in flight while the runtime hangs.
      w = await publishedWeather(sample(), { deadlineMs: 10_000 }, "Serving Faults Ltd");
    });
    afterEach(() => sample().reset());

    it("answers the client in the envelope, leaves the rotation at once and is replaced", async () => {
      expectStatus(200, await invoke());
      sample().setFailure("hang");
      const calls = sample().requests.length;
      const pending = invoke();
      await eventually(() => sample().requests.length > calls, 10_000, "the invocation to reach the runtime");

      const before = await status();
      const path = capabilityPath(w.ref, "invoke");
      const victim = before.functions.capabilitiesApi!.instances.find((i) => i.requests.some((r) => r.path === path))!;
      expect(victim).toBeDefined();
      process.kill(victim.pid!, "SIGKILL");

      const answer = await pending;
      const error = expectRouterError(answer, 503, "SERVICE_UNAVAILABLE");
      expect(error.message).toMatch(/instance serving this request stopped/);
      expect(answer.headers.get("retry-after")).toBe("1");

      // Taken out of rotation at once: the next requests, sent while its replacement starts, all succeed.
      sample().reset();
      for (let i = 0; i < 3; i++) expectStatus(200, await invoke());

      const replaced = await eventually(
        async () => {
          const slot = (await status()).functions.capabilitiesApi!.instances[victim.slot]!;
          return slot.state === "live" && slot.pid !== victim.pid ? slot : undefined;
        },
        60_000,
        "a new instance in the killed one's slot",
      );
      expect(replaced.restarts).toBe(victim.restarts + 1);
      expect(replaced.inFlight).toBe(0);
      for (let i = 0; i < 4; i++) expectStatus(200, await invoke());
    });
  });
});

/** A request the test holds in flight: its body is sent one byte short until `finish()`. */
function heldRequest(origin: string, path: string) {
  const url = new URL(path, origin);
  let finish!: () => void;
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: { "content-type": "application/json", "content-length": "2" },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on("error", reject);
    req.write("{");
    finish = () => req.end("}");
  });
  return { response, finish: () => finish() };
}

describeServing("serving pool: capacity", () => {
  // A pool of its own, one instance of consoleApi at concurrency 1 with room for one waiting request.
  let pool: ChildProcess;
  let origin: string;
  const QUEUE_TIMEOUT_SECONDS = 5;

  beforeAll(async () => {
    pool = fork(
      join(REPO, "emulators/serving/serve.mjs"),
      [
        "--ipc",
        "--port=0",
        `--port-base=${firebaseJson.emulators.functions.port + 40}`,
        "--functions=consoleApi",
        "--instances=1",
        "--concurrency=1",
        "--queue=1",
        `--queue-timeout=${QUEUE_TIMEOUT_SECONDS}`,
        "--no-hosting",
      ],
      { stdio: ["ignore", "ignore", "ignore", "ipc"] },
    );
    origin = await new Promise<string>((resolve, reject) => {
      pool.once("message", (m: { origin: string }) => resolve(m.origin));
      pool.once("exit", (code) => reject(new Error(`serving pool exited with ${code}`)));
    });
  }, 120_000);

  afterAll(async () => {
    if (pool.exitCode !== null) return;
    const exited = new Promise((resolve) => pool.once("exit", resolve));
    pool.disconnect();
    await exited;
  });

  const inFlightAndQueued = async () => {
    const f = (await status(origin)).functions.consoleApi!;
    return { inFlight: f.instances[0]!.inFlight, queued: f.queued };
  };

  it("queues beyond the instance's concurrency and answers 503 with Retry-After when the queue is full", async () => {
    const held = heldRequest(origin, "/v1/providers/account/login");
    await eventually(async () => (await inFlightAndQueued()).inFlight === 1 || undefined, 10_000, "the held request in flight");

    const waiting = api.get("/v1/openapi.json", { baseUrl: origin });
    await eventually(async () => (await inFlightAndQueued()).queued === 1 || undefined, 10_000, "a queued request");

    const refused = await api.get("/v1/openapi.json", { baseUrl: origin });
    const error = expectRouterError(refused, 503, "SERVICE_UNAVAILABLE");
    expect(error.message).toMatch(/consoleApi is at capacity \(1 instances × 1 concurrent requests, 1 queued\)/);
    expect(refused.headers.get("retry-after")).toBe("1");

    held.finish();
    expect((await held.response).status).toBe(400);
    // The queued request was served once the instance had room.
    const served = await waiting;
    expectStatus(200, served);
    expect(served.body.openapi).toBe("3.1.0");
    expect(await inFlightAndQueued()).toEqual({ inFlight: 0, queued: 0 });
  });

  it("answers the token endpoint's clients in OAuth's error format, not the envelope", async () => {
    // This pool serves consoleApi only: the token endpoint's function (runtimeApi) is not here.
    const res = await api.post("/v1/providers/auth/token", { grant_type: "client_credentials" }, { baseUrl: origin });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: "invalid_request", error_description: "No function runtimeApi is served here" });
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
  });

  it("answers a request that waited longer than the queue allows with 503", async () => {
    const held = heldRequest(origin, "/v1/providers/account/login");
    await eventually(async () => (await inFlightAndQueued()).inFlight === 1 || undefined, 10_000, "the held request in flight");

    const waited = await api.get("/v1/openapi.json", { baseUrl: origin });
    const error = expectRouterError(waited, 503, "SERVICE_UNAVAILABLE");
    expect(error.message).toBe(`consoleApi had no free instance for ${QUEUE_TIMEOUT_SECONDS} s; retry.`);

    held.finish();
    expect((await held.response).status).toBe(400);
    expectStatus(200, await api.get("/v1/openapi.json", { baseUrl: origin }));
  });
});

describeServing("serving pool: the functions' timeouts", () => {
  // A pool of its own for capabilitiesApi, its 3600 s timeout capped at 5 s (--max-timeout) and
  // Hosting's 60 s at 2 s (--hosting-timeout) so a request can outlive them; the runtime behind the
  // capability hangs for real. The function's timeout is seen on its direct URL, Hosting's on the
  // rewritten paths.
  const sample = useSampleProvider();
  const TIMEOUT_SECONDS = 5;
  const HOSTING_SECONDS = 2;
  let pool: ChildProcess;
  let origin: string;
  let w: PublishedCapability;
  const USER = { id: "usr_serving_timeout" };

  beforeAll(async () => {
    pool = fork(
      join(REPO, "emulators/serving/serve.mjs"),
      [
        "--ipc",
        "--port=0",
        `--port-base=${firebaseJson.emulators.functions.port + 42}`,
        "--functions=capabilitiesApi",
        "--instances=1",
        `--max-timeout=${TIMEOUT_SECONDS}`,
        `--hosting-timeout=${HOSTING_SECONDS}`,
        "--no-hosting",
      ],
      { stdio: ["ignore", "ignore", "ignore", "ipc"] },
    );
    origin = await new Promise<string>((resolve, reject) => {
      pool.once("message", (m: { origin: string }) => resolve(m.origin));
      pool.once("exit", (code) => reject(new Error(`serving pool exited with ${code}`)));
    });
    // The capability's own deadline (10 s) is longer than the function's timeout here.
    w = await publishedWeather(sample(), { deadlineMs: 10_000 }, "Serving Timeouts Ltd");
  }, 180_000);
  afterEach(() => sample().reset());

  afterAll(async () => {
    if (!pool || pool.exitCode !== null) return;
    const exited = new Promise((resolve) => pool.once("exit", resolve));
    pool.disconnect();
    await exited;
  });

  const instance = async () => (await status(origin)).functions.capabilitiesApi!.instances[0]!;
  const direct = () => `${origin}/${PROJECT_ID}/us-central1/capabilitiesApi`;
  const invoke = (baseUrl = direct()) =>
    api.post(capabilityPath(w.ref, "invoke"), { user: USER, parameters: { location: "Oslo", days: 1 } }, { token: w.access, baseUrl });

  it("ends a request that outlives the function's timeout with 504 GATEWAY_TIMEOUT and frees its slot", async () => {
    const s = await status(origin);
    expect([s.functions.capabilitiesApi!.timeoutSeconds, s.hostingTimeoutSeconds]).toEqual([TIMEOUT_SECONDS, HOSTING_SECONDS]);
    const served = await invoke();
    expectStatus(200, served);
    expect(servedBy(served)).toBe("capabilitiesApi");

    sample().setFailure("hang");
    const calls = sample().requests.length;
    const answer = await invoke();
    const error = expectRouterError(answer, 504, "GATEWAY_TIMEOUT");
    expect(error.message).toBe(`capabilitiesApi did not answer within its ${TIMEOUT_SECONDS} s timeout; the request was ended.`);
    // It reached the runtime, which still hangs: the router ended it, not the function (PROVIDER_TIMEOUT at 10 s).
    await eventually(() => sample().requests.length > calls, 10_000, "the invocation to reach the runtime");
    expect(await instance()).toEqual(expect.objectContaining({ state: "live", inFlight: 0 }));

    sample().reset();
    expectStatus(200, await invoke());
  });

  it("ends a request Hosting rewrote at Hosting's limit, before the function's own, and frees its slot", async () => {
    expectStatus(200, await invoke(origin));
    sample().setFailure("hang");
    const started = Date.now();
    const answer = await invoke(origin);
    const elapsed = Date.now() - started;
    const error = expectRouterError(answer, 504, "GATEWAY_TIMEOUT");
    expect(error.message).toBe(
      `Hosting ends a rewritten request after ${HOSTING_SECONDS} s (capabilitiesApi's own timeout is ${TIMEOUT_SECONDS} s: call its function URL for longer requests); the request was ended.`,
    );
    expect(elapsed).toBeGreaterThanOrEqual(HOSTING_SECONDS * 1000);
    expect(elapsed).toBeLessThan(TIMEOUT_SECONDS * 1000);
    expect(await instance()).toEqual(expect.objectContaining({ state: "live", inFlight: 0 }));
    sample().reset();
    expectStatus(200, await invoke(origin));
  });

  it("cuts a Server-Sent Events stream at the timeout; the client reconnects", async () => {
    const binding = await installBinding(w, { location: "Vienna" });
    const url = `${direct()}${capabilityPath(w.ref, "realtime")}?bindingId=${binding.id}`;
    const stream = await openStream(url, { token: w.access });
    expect(stream.status).toBe(200);
    await stream.next((e) => e.event === "ready");
    expect((await instance()).inFlight).toBe(1);
    await expect(stream.next((e) => e.event === "never", 30_000)).rejects.toThrow(/stream ended/);
    expect((await instance()).inFlight).toBe(0);

    const again = await openStream(url, { token: w.access });
    expect(again.status).toBe(200);
    await again.next((e) => e.event === "ready");
    again.close();
  });
});
