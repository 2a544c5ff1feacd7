import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Aiffinity, AiffinityError, parseRetryAfter } from "@aiffinity/sdk";

/**
 * The SDK's retry and credential logic against a scripted loopback server: 429 and 503 answers
 * with and without Retry-After, network failures, and a token refused mid-flight. (The real API
 * does not answer 503 on demand, and its rate limit windows are a minute long.)
 */

type Script = (req: IncomingMessage, body: string) => { status: number; headers?: Record<string, string>; body?: unknown } | "hang-up";

let server: Server;
let baseUrl: string;
let script: Script;
const seen: { method: string; url: string; headers: IncomingMessage["headers"]; at: number }[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, at: Date.now() });
      const answer = script(req, body);
      if (answer === "hang-up") return req.socket.destroy();
      const text = answer.body === undefined ? "" : JSON.stringify(answer.body);
      res.writeHead(answer.status, { "content-type": "application/json", "x-request-id": `req_${seen.length}`, ...answer.headers });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));
beforeEach(() => (seen.length = 0));

const ok = (data: unknown) => ({ status: 200, body: { data, meta: { requestId: "req_ok" } } });
const token = (req: IncomingMessage) => (req.url === "/v1/providers/auth/token" ? { status: 200, body: { access_token: `tok_${seen.length}`, token_type: "Bearer", expires_in: 3600 } } : null);
const credentials = { clientId: "prov_test", clientSecret: "secret_test" };

describe("retries", () => {
  it("waits for Retry-After on 429, then succeeds", async () => {
    let n = 0;
    script = () => (n++ === 0 ? { status: 429, headers: { "retry-after": "1" }, body: { error: { code: "RATE_LIMITED", message: "slow down", requestId: "req_x" } } } : { status: 200, body: { openapi: "3.1.0" } });
    const doc = await new Aiffinity({ baseUrl }).get("/v1/openapi.json");
    expect(doc).toEqual({ openapi: "3.1.0" });
    expect(seen).toHaveLength(2);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it("backs off on 503 without Retry-After, and resends a POST with the same Idempotency-Key", async () => {
    let n = 0;
    script = (req) => token(req) ?? (n++ < 2 ? { status: 503, body: { error: { code: "SERVICE_UNAVAILABLE", message: "later", requestId: "req_y" } } } : { status: 201, body: { data: { id: "rt_1" }, meta: { requestId: "req_z" } } });
    const client = new Aiffinity({ baseUrl, clientCredentials: credentials, retry: { baseDelayMs: 20 } });
    expect(await client.post("/v1/providers/runtime/apps", { body: { appId: "app_1", endpointUrl: "https://runtime.example" } })).toEqual({ id: "rt_1" });
    const posts = seen.filter((s) => s.url === "/v1/providers/runtime/apps");
    expect(posts).toHaveLength(3);
    expect(new Set(posts.map((p) => p.headers["idempotency-key"])).size).toBe(1);
    expect(posts[0]!.headers["idempotency-key"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(posts.every((p) => p.headers.authorization === "Bearer tok_1")).toBe(true);
  });

  it("gives up after its retries, or at once when Retry-After is longer than it may wait", async () => {
    script = () => ({ status: 429, headers: { "retry-after": "3600" }, body: { error: { code: "RATE_LIMITED", message: "an hour", requestId: "req_h" } } });
    const long = await new Aiffinity({ baseUrl }).get("/v1/openapi.json").catch((e) => e);
    expect(long).toBeInstanceOf(AiffinityError);
    expect(long).toEqual(expect.objectContaining({ status: 429, code: "RATE_LIMITED", retryAfterSeconds: 3600, requestId: "req_h" }));
    expect(seen).toHaveLength(1);

    seen.length = 0;
    script = () => ({ status: 503, body: { error: { code: "SERVICE_UNAVAILABLE", message: "down", requestId: "req_d" } } });
    const down = await new Aiffinity({ baseUrl, retry: { retries: 2, baseDelayMs: 10 } }).get("/v1/openapi.json").catch((e) => e);
    expect(down).toEqual(expect.objectContaining({ status: 503, code: "SERVICE_UNAVAILABLE" }));
    expect(seen).toHaveLength(3);

    seen.length = 0;
    const none = await new Aiffinity({ baseUrl, retry: false }).get("/v1/openapi.json").catch((e) => e);
    expect(none.status).toBe(503);
    expect(seen).toHaveLength(1);
  });

  it("retries network failures of safe methods only", async () => {
    let n = 0;
    script = () => (n++ === 0 ? "hang-up" : { status: 200, body: { keys: [] } });
    expect(await new Aiffinity({ baseUrl, retry: { baseDelayMs: 10 } }).get("/v1/providers/auth/jwks")).toEqual({ keys: [] });
    expect(seen).toHaveLength(2);

    seen.length = 0;
    script = () => "hang-up";
    const post = await new Aiffinity({ baseUrl, retry: { baseDelayMs: 10 } }).post("/v1/providers/account/login", { body: { email: "a@example.com", password: "x" } }).catch((e) => e);
    expect(post).toEqual(expect.objectContaining({ status: 0, code: "NETWORK_ERROR" }));
    expect(seen).toHaveLength(1); // a POST may have taken effect: never re-sent blindly
  });

  it("renews an access token the API refuses, once", async () => {
    script = (req) => token(req) ?? (req.headers.authorization === "Bearer tok_1" ? { status: 401, body: { error: { code: "UNAUTHENTICATED", message: "expired", requestId: "req_e" } } } : ok([]));
    const client = new Aiffinity({ baseUrl, clientCredentials: credentials });
    expect(await client.get("/v1/providers/runtime/apps")).toEqual([]);
    expect(seen.map((s) => s.url)).toEqual(["/v1/providers/auth/token", "/v1/providers/runtime/apps", "/v1/providers/auth/token", "/v1/providers/runtime/apps"]);

    // A second refusal is the answer: no loop.
    seen.length = 0;
    script = (req) => token(req) ?? { status: 401, body: { error: { code: "UNAUTHENTICATED", message: "no", requestId: "req_n" } } };
    const refused = await new Aiffinity({ baseUrl, clientCredentials: credentials }).get("/v1/providers/runtime/apps").catch((e) => e);
    expect(refused).toEqual(expect.objectContaining({ status: 401, code: "UNAUTHENTICATED" }));
    expect(seen.filter((s) => s.url === "/v1/providers/runtime/apps")).toHaveLength(2);
  });

  it("reads Retry-After as seconds or as a date", () => {
    expect(parseRetryAfter("7")).toBe(7);
    expect(parseRetryAfter(new Date(Date.now() + 30_000).toUTCString())).toBeGreaterThanOrEqual(29);
    expect(parseRetryAfter("soon")).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });
});
