import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { openApiDocument } from "../../src/openapi";
import {
  Generator,
  jsonDepth,
  MAX_BODY,
  type Mutation,
  MUTATIONS,
  nested,
  nestedText,
  tagsOf,
  tokenExpectations,
  type FuzzRequest,
} from "../../fuzz/generate";
import type { World } from "../../fuzz/model";
import { TOKEN_KINDS } from "../../fuzz/model";
import { send } from "../../fuzz/runner";
import { envelopeProblem, judge, KNOWN_ISSUES, leaksIn, type OracleContext } from "../../fuzz/oracle";
import { errorCodesOf, type OpenApiDocument, type Operation, operationsOf } from "../../fuzz/spec";

const doc = openApiDocument() as unknown as OpenApiDocument;
const ops = operationsOf(doc);
const op = (id: string) => ops.find((o) => o.operationId === id)!;
const getAppOp = op("getApp");

const id20 = (prefix: string, c: string) => `${prefix}_${c.repeat(20)}`;
const world: World = {
  authorization: Object.fromEntries(TOKEN_KINDS.map((k) => [k, k === "none" ? undefined : [`Bearer ${k}-token`]])) as World["authorization"],
  a: {
    accountId: "acct-a",
    appId: id20("app", "A"),
    runtimeAppId: id20("rt", "A"),
    packageId: id20("pkg", "A"),
    versionId: id20("ver", "A"),
    runId: id20("run", "A"),
    capability: "alpha-pkg.weather_forecast",
    victimAppId: id20("app", "V"),
    email: "alpha@example.com",
    password: "correct-horse-42",
    authProfile: { type: "api_key", headerName: "X-Api-Key", value: "k".repeat(32) },
    webhookUrl: "http://127.0.0.1:1/webhooks",
    victimClientId: id20("prov", "V"),
    victimClientSecret: `secret_${"v".repeat(43)}`,
    reviewId: id20("rev", "A"),
    bindingId: "bnd_alpha",
    listingId: id20("pkg", "A"),
  },
  b: {
    accountId: "acct-b",
    appId: id20("app", "B"),
    runtimeAppId: id20("rt", "B"),
    packageId: id20("pkg", "B"),
    versionId: id20("ver", "B"),
    runId: id20("run", "B"),
    capability: "beta-pkg.weather_forecast",
  },
  secrets: ["super-secret-encryption-key-value"],
  close: async () => {},
};
const ctx = { doc, world };
const codes = errorCodesOf(doc);
const oracle: OracleContext = { envelopeCodes: codes.envelope, oauthCodes: codes.oauth, secrets: world.secrets };

/** `n` requests of one mutation, drawn for operations that take it. */
function drawn(mutation: Mutation, n = 60, seed = 7): FuzzRequest[] {
  const generator = new Generator(ops, ctx, [mutation]);
  return Array.from({ length: n }, (_, i) => generator.request(seed, i)).filter((r) => r.mutation === mutation);
}
const bodyText = (r: FuzzRequest) => r.body?.toString("utf8") ?? "";

const response = (status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "x-request-id": "req_AAAAAAAAAAAAAAAAAAAA", ...headers },
    body: Buffer.from(text),
  };
};
const envelope = (code: string, extra: Record<string, unknown> = {}) => ({
  error: { code, message: "m", requestId: "req_AAAAAAAAAAAAAAAAAAAA", ...extra },
});
const someRequest = (overrides: Partial<FuzzRequest> = {}): FuzzRequest => ({
  index: 0,
  operationId: "getApp",
  method: "GET",
  path: `/v1/providers/apps/${world.a.appId}`,
  headers: {},
  token: "provider-id",
  mutation: "valid",
  note: "",
  tags: [],
  expect: [],
  ...overrides,
});

describe("the fuzzer's view of the OpenAPI document", () => {
  it("lists every operation with its security, and marks the token endpoint's OAuth errors and the secret-showing answers", () => {
    expect(ops.length).toBeGreaterThanOrEqual(60);
    expect(op("getApp").security).toBe("firebase");
    expect(op("invokeCapability").security).toBe("oauth");
    expect(op("createAccount").security).toBe("none");
    expect(ops.filter((o) => o.oauthErrors).map((o) => o.operationId)).toEqual(["requestAccessToken"]);
    expect(op("createApp").returnsSecret).toBe(true);
    expect(op("rotateAppSecret").returnsSecret).toBe(true);
    expect(op("getApp").returnsSecret).toBe(false);
    expect(op("streamCapabilityState").streams).toBe(true);
    expect(codes.envelope.has("VALIDATION_ERROR")).toBe(true);
    expect(codes.oauth.has("invalid_client")).toBe(true);
  });
});

describe("request generation", () => {
  it("is reproducible: the same seed and index give the same request, another seed another run", () => {
    const g1 = new Generator(ops, ctx);
    const g2 = new Generator(ops, ctx);
    for (const i of [0, 1, 17, 500, 4321]) expect(g2.request(99, i)).toEqual(g1.request(99, i));
    const run = (seed: number) => Array.from({ length: 40 }, (_, i) => JSON.stringify(g1.request(seed, i)));
    expect(run(1)).not.toEqual(run(2));
  });

  it("covers every operation round-robin and draws every mutation", () => {
    const g = new Generator(ops, ctx);
    const requests = Array.from({ length: ops.length * 40 }, (_, i) => g.request(3, i));
    expect(new Set(requests.map((r) => r.operationId)).size).toBe(ops.length);
    expect(new Set(requests.map((r) => r.mutation))).toEqual(new Set(MUTATIONS));
  });

  it("valid requests carry the world's ids, a sampled body that parses, and the operation's own token", () => {
    const g = new Generator(ops, ctx, ["valid"]);
    const requests = Array.from({ length: ops.length }, (_, i) => g.request(5, i));
    const getApp = requests.find((r) => r.operationId === "getApp")!;
    expect(getApp.path).toBe(`/v1/providers/apps/${world.a.appId}`);
    expect(getApp.headers.authorization).toBe("Bearer provider-id-token");
    expect(requests.find((r) => r.operationId === "deleteApp")!.path).toContain(world.a.victimAppId);
    expect(requests.find((r) => r.operationId === "invokeCapability")!.headers.authorization).toBe("Bearer app-access-token");
    expect(requests.find((r) => r.operationId === "browseCatalog")!.headers.authorization).toBe("Bearer end-user-token");
    expect(requests.find((r) => r.operationId === "getCapabilityState")!.path).toContain("bindingId=bnd_alpha");
    const createPackage = requests.find((r) => r.operationId === "createPackage")!;
    expect(JSON.parse(bodyText(createPackage)).appId).toBe(world.a.appId);
    for (const r of requests.filter((x) => x.body)) expect(() => JSON.parse(bodyText(r))).not.toThrow();
    expect(JSON.parse(bodyText(requests.find((r) => r.operationId === "setAuthProfile")!))).toEqual(world.a.authProfile);
    const emails = new Generator(ops, ctx, ["valid"]);
    const signUps = [0, 1].map(
      (k) =>
        JSON.parse(
          bodyText(
            emails.request(
              5 + k,
              ops.findIndex((o) => o.operationId === "createAccount"),
            ),
          ),
        ).email,
    );
    expect(signUps[0]).toMatch(/^fuzz-[0-9a-f]{10}@example\.com$/);
    expect(signUps[1]).not.toBe(signUps[0]);
  });

  it("malformed JSON is not JSON in UTF-8: it does not parse, or its bytes are not UTF-8", () => {
    const requests = drawn("malformed-json", 200);
    expect(requests.length).toBeGreaterThan(10);
    for (const r of requests) expect(() => JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(r.body))).toThrow();
    expect(requests.some((r) => r.tags.includes("invalid-utf8"))).toBe(true);
  });

  it("oversized bodies exceed the 1 MiB limit, and are tagged so", () => {
    for (const r of drawn("oversized-body", 30)) {
      expect(r.body!.length).toBeGreaterThan(MAX_BODY);
      expect(r.tags).toContain("oversized");
    }
  });

  it("deep nesting nests at least 32 levels, counted from the bytes", () => {
    const requests = drawn("deep-nesting");
    expect(requests.length).toBeGreaterThan(10);
    for (const r of requests) {
      expect(jsonDepth(bodyText(r))).toBeGreaterThanOrEqual(32);
      expect(r.tags).toContain("deep-nesting");
    }
    expect(jsonDepth(nestedText(100_000, "array"))).toBe(100_000);
    expect(jsonDepth(JSON.stringify(nested(25)))).toBe(25);
    expect(jsonDepth('{"a":"[[[[["}')).toBe(1);
  });

  it("prototype pollution sends own __proto__ or constructor members (body) or keys (query)", () => {
    const requests = drawn("proto-pollution", 120);
    expect(requests.length).toBeGreaterThan(10);
    for (const r of requests) expect(r.tags).toContain("proto-key");
    const inBody = requests.filter((r) => /"(__proto__|constructor)"/.test(bodyText(r)));
    expect(inBody.length).toBeGreaterThan(0);
    for (const r of inBody) {
      const parsed = JSON.parse(bodyText(r));
      const hasOwnPolluter = (v: unknown): boolean =>
        Boolean(
          v && typeof v === "object" && (Object.hasOwn(v, "__proto__") || Object.hasOwn(v, "constructor") || Object.values(v).some(hasOwnPolluter)),
        );
      expect(hasOwnPolluter(parsed)).toBe(true);
    }
  });

  it("field values include lone surrogates and NUL, and the tags find them in the bytes", () => {
    const requests = drawn("field-value", 600);
    expect(requests.some((r) => r.tags.includes("invalid-unicode"))).toBe(true);
    expect(requests.some((r) => r.tags.includes("nul"))).toBe(true);
    expect(tagsOf("/x", Buffer.from(JSON.stringify({ name: "\ud800" })))).toEqual(["invalid-unicode"]);
    expect(tagsOf("/x", Buffer.from(JSON.stringify({ name: "🙂 fine" })))).toEqual([]);
    expect(tagsOf("/x?q=%ED%A0%80", undefined)).toEqual(["invalid-unicode"]);
    expect(tagsOf("/x/%00", undefined)).toEqual(["nul"]);
  });

  it("path ids are hostile encodings or another tenant's ids, which must answer 404", () => {
    const requests = drawn("path-id", 300);
    expect(requests.some((r) => /%2e%2e|\.\./i.test(r.path))).toBe(true);
    expect(requests.some((r) => r.path.includes("%252e"))).toBe(true);
    const crossTenant = requests.filter((r) => r.expect.includes("cross-tenant"));
    expect(crossTenant.length).toBeGreaterThan(0);
    const ofB = [world.b.appId, world.b.packageId, world.b.runtimeAppId, world.b.capability, world.b.versionId, world.b.runId];
    for (const r of crossTenant) expect(r.path).toMatch(new RegExp(ofB.join("|")));
  });

  it("duplicate query parameters repeat a name", () => {
    for (const r of drawn("duplicate-query", 60)) {
      const names = r.path
        .split("?")[1]!
        .split("&")
        .map((p) => p.split("=")[0]);
      expect(new Set(names).size).toBeLessThan(names.length);
    }
  });

  it("wrong content types are something else than application/json, or a false gzip encoding", () => {
    for (const r of drawn("content-type", 60)) {
      expect(r.headers["content-type"] === "application/json" && !r.headers["content-encoding"]).toBe(false);
    }
  });

  it("tokens of every kind are sent, each with what the answer must be", () => {
    const requests = drawn("token", 600);
    expect(new Set(requests.map((r) => r.token)).size).toBeGreaterThanOrEqual(TOKEN_KINDS.length - 1);
    expect(tokenExpectations(op("getApp"), "alg-none")).toEqual(["auth-rejected"]);
    expect(tokenExpectations(op("getApp"), "app-access")).toEqual(["auth-rejected"]);
    expect(tokenExpectations(op("getApp"), "end-user")).toEqual(["not-granted"]);
    expect(tokenExpectations(op("getApp"), "other-tenant-id")).toEqual(["cross-tenant"]);
    expect(tokenExpectations(op("invokeCapability"), "provider-id")).toEqual(["auth-rejected"]);
    expect(tokenExpectations(op("invokeCapability"), "other-tenant-access")).toEqual(["cross-tenant"]);
    expect(tokenExpectations(op("browseCatalog"), "provider-id")).toEqual([]);
    expect(tokenExpectations(op("listReviews"), "provider-id")).toEqual(["not-granted"]);
    expect(tokenExpectations(op("createAccount"), "malformed")).toEqual([]);
  });
});

describe("the oracle", () => {
  const getApp = op("getApp");

  it("passes a documented error in the envelope and a JSON success", () => {
    expect(judge(getApp, someRequest(), response(404, envelope("NOT_FOUND")), oracle)).toEqual([]);
    expect(judge(getApp, someRequest(), response(200, { data: {}, meta: { requestId: "req_AAAAAAAAAAAAAAAAAAAA" } }), oracle)).toEqual([]);
  });

  it("flags answers outside the envelope: HTML, a missing code or requestId, an undocumented code, a mismatched X-Request-Id", () => {
    const kinds = (res: ReturnType<typeof response>) => judge(getApp, someRequest(), res, oracle).map((v) => v.kind);
    expect(kinds(response(400, "<html>Bad Request</html>", { "content-type": "text/html" }))).toEqual(["non-envelope"]);
    expect(kinds(response(400, { error: { message: "m", requestId: "req_AAAAAAAAAAAAAAAAAAAA" } }))).toEqual(["non-envelope"]);
    expect(kinds(response(400, { error: { code: "VALIDATION_ERROR", message: "m" } }))).toEqual(["non-envelope"]);
    expect(kinds(response(400, envelope("SOMETHING_ELSE")))).toEqual(["non-envelope"]);
    expect(kinds(response(400, envelope("VALIDATION_ERROR"), { "x-request-id": "req_BBBBBBBBBBBBBBBBBBBB" }))).toEqual(["non-envelope"]);
    expect(kinds(response(200, "not json"))).toEqual(["non-envelope"]);
  });

  it("wants the OAuth format on the token endpoint, and the envelope elsewhere", () => {
    const token = op("requestAccessToken");
    expect(envelopeProblem(response(401, { error: "invalid_client", error_description: "d" }), token, oracle, true)).toBeNull();
    expect(envelopeProblem(response(401, envelope("UNAUTHENTICATED")), token, oracle, true)).not.toBeNull();
    expect(envelopeProblem(response(401, { error: "invalid_client", error_description: "d" }), getApp, oracle, false)).not.toBeNull();
  });

  it("flags every 5xx of the API's own, but not a provider runtime's documented failure", () => {
    expect(judge(getApp, someRequest(), response(500, envelope("INTERNAL")), oracle).map((v) => v.kind)).toEqual(["5xx"]);
    expect(judge(getApp, someRequest(), response(503, envelope("SERVICE_UNAVAILABLE")), oracle).map((v) => v.kind)).toEqual(["5xx"]);
    const emulator = judge(getApp, someRequest(), { status: 504, headers: { "content-type": "text/plain" }, body: Buffer.from("timeout") }, oracle);
    expect(emulator.map((v) => v.kind)).toEqual(["5xx", "non-envelope"]);
    expect(emulator.map((v) => v.origin)).toEqual(["serving", "serving"]);
    expect(emulator[0]!.reason).toContain("no X-Request-Id");
    expect(judge(op("invokeCapability"), someRequest(), response(502, envelope("PROVIDER_ERROR")), oracle)).toEqual([]);
  });

  it("files nothing as known: a 500 for invalid Unicode or deep nesting, or Hosting's 404 for a '..' id, is a finding", () => {
    const surrogate = someRequest({ tags: ["invalid-unicode"] });
    expect(judge(getApp, surrogate, response(500, envelope("INTERNAL")), oracle)).toEqual([
      { kind: "5xx", origin: "function", reason: "500 INTERNAL" },
    ]);
    expect(judge(getApp, someRequest({ tags: ["deep-nesting"] }), response(500, envelope("INTERNAL")), oracle)[0]!.known).toBeUndefined();
    expect(judge(getApp, surrogate, response(400, envelope("VALIDATION_ERROR")), oracle)).toEqual([]);
    const hostingPage = { status: 404, headers: { "content-type": "text/html" }, body: Buffer.from("<pre>Cannot GET</pre>") };
    // Fixed in the serving router (every /v1/ path reaches its function): no longer a known issue.
    expect(KNOWN_ISSUES).toEqual([]);
    const [dotDot] = judge(getApp, someRequest({ path: "/v1/providers/apps/..%2f..%2fetc" }), hostingPage, oracle);
    expect(dotDot).toEqual(expect.objectContaining({ kind: "non-envelope", origin: "serving" }));
    expect(dotDot!.known).toBeUndefined();
    expect(judge(getApp, someRequest({ path: "/v1/providers/apps/x" }), hostingPage, oracle)[0]!.known).toBeUndefined();
  });

  it("flags a stack trace, internal paths, private keys, password hashes, secrets and internal errors", () => {
    const leaks = (text: string, o: Operation = getApp, req = someRequest()) => leaksIn(text, req, o, oracle);
    expect(leaks('{"error":{"message":"boom\\n    at Object.handler (/srv/functions/lib/surfaces/apps/service.js:12:7)"}}')).toEqual([
      expect.stringMatching(/^stack trace/),
      expect.stringMatching(/^internal path/),
    ]);
    expect(leaks("Error: x\n    at async Promise.all (index 0)\n    at run (node:internal/process/task_queues:95:5)")).toEqual([
      expect.stringMatching(/^stack trace/),
    ]);
    expect(leaks("-----BEGIN PRIVATE KEY-----\nMIIE")).toEqual([expect.stringMatching(/^private key/)]);
    expect(leaks('{"keys":[{"kty":"RSA","n":"abc","e":"AQAB","d":"AAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}')).toEqual([
      expect.stringMatching(/^private JWK/),
    ]);
    expect(leaks('{"passwordHash":"x"}')).toEqual([expect.stringMatching(/^password hash/)]);
    expect(leaks("$2b$10$abcdefghijklmnopqrstuv")).toEqual([expect.stringMatching(/^password hash/)]);
    expect(leaks("9 FAILED_PRECONDITION: The query requires an index")).toEqual([expect.stringMatching(/^internal error/)]);
    expect(leaks("TypeError: Cannot read properties of undefined")).toEqual([expect.stringMatching(/^internal error/)]);
    expect(leaks(`{"client_secret":"secret_${"x".repeat(43)}"}`)).toEqual([expect.stringMatching(/^secret value in getApp/)]);
    expect(leaks("the key is super-secret-encryption-key-value")).toEqual([expect.stringMatching(/^known secret/)]);
  });

  it("allows a secret where the operation shows one once, and an echo of what the request sent", () => {
    const secret = `secret_${"y".repeat(43)}`;
    expect(leaksIn(`{"data":{"client_secret":"${secret}"}}`, someRequest({ method: "POST" }), op("createApp"), oracle)).toEqual([]);
    const echo = someRequest({ method: "POST", body: Buffer.from('{"name":"TypeError: x"}') });
    expect(leaksIn('{"error":{"message":"name: TypeError: x is not allowed"}}', echo, getApp, oracle)).toEqual([]);
    expect(leaksIn('{"data":{"name":"Acme"}}', someRequest(), getApp, oracle)).toEqual([]);
  });

  it("checks authorisation expectations: forged tokens get 401, other principals no 2xx, another tenant's id a 404", () => {
    const kinds = (expectation: FuzzRequest["expect"][number], status: number) =>
      judge(
        getApp,
        someRequest({ expect: [expectation] }),
        response(status, status < 300 ? { data: {} } : envelope(status === 401 ? "UNAUTHENTICATED" : "NOT_FOUND")),
        oracle,
      ).map((v) => v.kind);
    expect(kinds("auth-rejected", 401)).toEqual([]);
    expect(kinds("auth-rejected", 200)).toEqual(["authz"]);
    expect(kinds("not-granted", 200)).toEqual(["authz"]);
    expect(kinds("cross-tenant", 404)).toEqual([]);
    expect(kinds("cross-tenant", 200)).toEqual(["authz"]);
  });
});

describe("sending", () => {
  it("sends the path and body exactly as generated, decompresses the answer, and reads only the head of a stream", async () => {
    const seen: { url: string; body: string }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        seen.push({ url: req.url!, body: Buffer.concat(chunks).toString("utf8") });
        if (req.url!.startsWith("/stream")) {
          res.writeHead(200, { "content-type": "text/event-stream" });
          res.write("event: hello\n\n"); // and never ends
          return;
        }
        res.writeHead(404, { "content-type": "application/json", "content-encoding": "gzip", "x-request-id": "req_AAAAAAAAAAAAAAAAAAAA" });
        res.end(gzipSync(JSON.stringify(envelope("NOT_FOUND"))));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const res = await send(
        base,
        someRequest({ method: "POST", path: "/v1/a/%2e%2e/../b?x=%ED%A0%80&x=1", body: Buffer.from('{"a":"\\ud800"}') }),
        5_000,
      );
      expect(seen[0]).toEqual({ url: "/v1/a/%2e%2e/../b?x=%ED%A0%80&x=1", body: '{"a":"\\ud800"}' });
      expect(judge(getAppOp, someRequest(), res, oracle)).toEqual([]);
      const stream = await send(base, someRequest({ path: "/stream" }), 5_000);
      expect(stream.status).toBe(200);
      expect(stream.body.toString()).toContain("event: hello");
      await expect(send("http://example.com", someRequest(), 1_000)).rejects.toThrow(/loopback only/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
