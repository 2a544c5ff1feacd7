import express from "express";
import { Webhook } from "standardwebhooks";
import { createRuntime, expressHandler, issueAccessToken, listen, ManifestError, matchesTemplate, RuntimeError, verifyWebhookSignature, type RuntimeManifest, type RuntimeOptions, type RuntimeRequest } from "../../src";

/**
 * The runtime contract (docs/provider-runtime.md) as the platform exercises it: each auth mode,
 * request signatures, schema checks, idempotency keys, health and webhooks, through the
 * framework-neutral core and both adapters. The platform itself calls a runtime made with this
 * SDK in the end-to-end tests (the sample provider, the CLI's starter, the SDK's tests).
 */

const SECRET = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
const OTHER = `whsec_${Buffer.alloc(32, 9).toString("base64")}`;
const API_KEY = { type: "api_key" as const, headerName: "X-Api-Key", value: "key-0123456789abcdef" };

const manifest: RuntimeManifest = {
  package: { version: "1.2.3" },
  runtime: { auth: { type: "api_key", headerName: "x-api-key", value: { env: "RUNTIME_KEY" } }, signingSecret: { env: "SIGNING" } },
  capabilities: [
    {
      id: "forecast",
      inputSchema: { type: "object", properties: { city: { type: "string", minLength: 1 } }, required: ["city"] },
      outputSchema: { type: "object", required: ["city"], properties: { city: { type: "string" } } },
      actions: [{ id: "remind", inputSchema: { type: "object", required: ["at"], properties: { at: { type: "string" } } }, outputSchema: { type: "object", required: ["id"] } }],
    },
  ],
  webhooks: { url: "/hooks" },
};
const env = { RUNTIME_KEY: "key-0123456789abcdef", SIGNING: SECRET };

/** Signs like the platform: Standard Webhooks headers over the raw body, `webhook-id` = request id. */
function signed(secret: string, id: string, body: string, at = new Date()): Record<string, string> {
  const signature = new Webhook(secret).sign(id, at, body);
  return { "webhook-id": id, "webhook-timestamp": String(Math.floor(at.getTime() / 1000)), "webhook-signature": signature };
}

let n = 0;
function call(path: string, body: unknown, headers: Record<string, string> = {}, secret: string | null = SECRET): RuntimeRequest {
  const text = body === undefined ? "" : JSON.stringify(body);
  const id = `req_${++n}`;
  return { method: body === undefined ? "GET" : "POST", path, body: text, headers: { "x-api-key": env.RUNTIME_KEY, "aiffinity-request-id": id, ...(secret ? signed(secret, id, text) : {}), ...headers } };
}
const json = (r: { body: string }) => JSON.parse(r.body);

/** What the runtimes log: unexpected failures are logged in full (and only there). */
const logged: string[] = [];
const logger = { info: () => {}, warn: (m: string) => void logged.push(m), error: (m: string, f?: Record<string, unknown>) => void logged.push(`${m} ${JSON.stringify(f ?? {})}`) };

describe("a runtime made from its manifest", () => {
  const runtime = createRuntime({ manifest, env, logger });
  let seen: { idempotencyKey: string; user: unknown; context: unknown; verification: unknown }[] = [];
  let reminders = 0;
  runtime.capability<{ city: string }, { city: string }>("forecast", (req) => {
    seen.push(req);
    if (req.parameters.city === "Nowhere") throw new RuntimeError(422, "UNKNOWN_CITY", "No such city");
    if (req.parameters.city === "Boom") throw new Error("database down");
    return req.parameters.city === "Broken" ? { data: { town: 1 } as never } : { data: { city: req.parameters.city }, ttlSeconds: 60 };
  });
  runtime.action<{ at: string }, { id: string }>("forecast", "remind", () => ({ result: { id: `rem_${++reminders}` }, status: 201 }));

  beforeEach(() => (seen = []));

  it("answers health with the handlers it serves", async () => {
    const health = await runtime.handle(call("/health", undefined));
    expect(health.status).toBe(200);
    expect(json(health)).toEqual({ status: "ok", version: "1.2.3", uptimeSeconds: expect.any(Number), capabilities: ["forecast", "forecast.remind"] });
    expect(health.verification).toEqual({ auth: "api_key", signature: true });
  });

  it("refuses calls without the credentials or the signature", async () => {
    const noKey = call("/health", undefined, { "x-api-key": "wrong-key-0123456789" });
    expect((await runtime.handle(noKey)).status).toBe(401);
    const unsigned = await runtime.handle(call("/health", undefined, {}, null));
    expect(unsigned.status).toBe(401);
    expect(json(unsigned).error.message).toMatch(/signature/);
    expect((await runtime.handle(call("/health", undefined, {}, OTHER))).status).toBe(401);
    const old = call("/health", undefined);
    Object.assign(old.headers, signed(SECRET, String(old.headers["aiffinity-request-id"]), "", new Date(Date.now() - 10 * 60_000)));
    expect((await runtime.handle(old)).status).toBe(401);
  });

  it("checks parameters and data against the capability's schemas", async () => {
    const ok = await runtime.handle(call("/capabilities/forecast/invoke", { requestId: "r", capability: "forecast", parameters: { city: "Oslo" }, user: { id: "usr_1", locale: "nb-NO" }, context: { source: "sync" } }));
    expect(ok.status).toBe(200);
    expect(json(ok)).toEqual({ data: { city: "Oslo" }, ttlSeconds: 60 });
    expect(seen[0]).toEqual(expect.objectContaining({ user: { id: "usr_1", locale: "nb-NO" }, context: { source: "sync" }, verification: { auth: "api_key", signature: true } }));

    const bad = await runtime.handle(call("/capabilities/forecast/invoke", { parameters: { city: "" } }));
    expect(bad.status).toBe(400);
    expect(json(bad).error).toEqual({ code: "VALIDATION_ERROR", message: "parameters/city: must NOT have fewer than 1 characters" });
    expect(seen).toHaveLength(1); // the handler never saw it

    const broken = await runtime.handle(call("/capabilities/forecast/invoke", { parameters: { city: "Broken" } }));
    expect(broken.status).toBe(500);
    expect(json(broken).error.code).toBe("OUTPUT_INVALID");
    const refused = await runtime.handle(call("/capabilities/forecast/invoke", { parameters: { city: "Nowhere" } }));
    expect([refused.status, json(refused).error.code]).toEqual([422, "UNKNOWN_CITY"]);
    const failed = await runtime.handle(call("/capabilities/forecast/invoke", { parameters: { city: "Boom" } }));
    expect([failed.status, json(failed).error]).toEqual([500, { code: "INTERNAL", message: "The handler failed" }]); // no internals leak
    expect(logged.some((l) => l.includes("database down"))).toBe(true);
    expect(logged.some((l) => l.includes("breaks its outputSchema: data: must have required property 'city'"))).toBe(true);
    expect((await runtime.handle(call("/capabilities/other/invoke", { parameters: {} }))).status).toBe(404);
    expect((await runtime.handle(call("/capabilities/forecast/invoke", "not an object"))).status).toBe(400);
  });

  it("gives each call its idempotency key, and answers a repeated action from the first answer", async () => {
    await runtime.handle(call("/capabilities/forecast/invoke", { parameters: { city: "Rome" } }, { "aiffinity-request-id": "req_fixed" }));
    expect(seen[0]!.idempotencyKey).toBe("req_fixed");
    await runtime.handle(call("/capabilities/forecast/invoke", { parameters: { city: "Rome" } }, { "idempotency-key": "key-1" }));
    expect(seen[1]!.idempotencyKey).toBe("key-1");

    const first = await runtime.handle(call("/capabilities/forecast/actions/remind", { input: { at: "9:00" } }, { "idempotency-key": "remind-1" }));
    const again = await runtime.handle(call("/capabilities/forecast/actions/remind", { input: { at: "9:00" } }, { "idempotency-key": "remind-1" }));
    expect(first.status).toBe(201);
    expect(again.body).toBe(first.body);
    expect(reminders).toBe(1);
    const other = await runtime.handle(call("/capabilities/forecast/actions/remind", { input: { at: "9:00" } }, { "idempotency-key": "remind-2" }));
    expect(json(other).result.id).toBe("rem_2");
    const invalid = await runtime.handle(call("/capabilities/forecast/actions/remind", { input: {} }));
    expect([invalid.status, json(invalid).error.message]).toEqual([400, "input: must have required property 'at'"]);
  });

  it("refuses handlers the manifest does not declare", () => {
    expect(() => runtime.capability("undeclared", () => ({ data: 1 }))).toThrow(ManifestError);
    expect(() => runtime.action("forecast", "undeclared", () => ({ result: 1 }))).toThrow(ManifestError);
    expect(() => createRuntime({ manifest, env: { SIGNING: SECRET } })).toThrow(/RUNTIME_KEY is not set/);
    expect(runtime.unhandled()).toEqual([]);
  });
});

describe("auth modes", () => {
  const serve = (auth: RuntimeOptions["auth"]) => {
    const r = createRuntime({ auth });
    r.capability("ping", { outputSchema: { type: "object" } }, () => ({ data: {} }));
    return r;
  };
  const health = (r: ReturnType<typeof serve>, headers: Record<string, string>) => r.handle({ method: "GET", path: "/health", headers, body: "" });

  it("OAuth 2.0: issues tokens at its token path (Basic or form) and accepts only its own, unexpired ones", async () => {
    const mode = { type: "oauth2" as const, clientId: "aiffinity", clientSecret: "oauth-secret-0123456789", tokenPath: "/oauth/token" };
    const r = serve(mode);
    const basic = `Basic ${Buffer.from("aiffinity:oauth-secret-0123456789").toString("base64")}`;
    const issued = await r.handle({ method: "POST", path: "/oauth/token", headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" }, body: "grant_type=client_credentials" });
    expect(issued.status).toBe(200);
    const { access_token: token, token_type, expires_in } = json(issued);
    expect([token_type, expires_in]).toEqual(["Bearer", 3600]);
    expect((await health(r, { authorization: `Bearer ${token}` })).verification.auth).toBe("oauth2");

    const form = await r.handle({ method: "POST", path: "/oauth/token", headers: {}, body: "grant_type=client_credentials&client_id=aiffinity&client_secret=oauth-secret-0123456789" });
    expect(form.status).toBe(200);
    const wrong = await r.handle({ method: "POST", path: "/oauth/token", headers: {}, body: "grant_type=client_credentials&client_id=aiffinity&client_secret=nope" });
    expect([wrong.status, json(wrong).error, wrong.headers["www-authenticate"]]).toEqual([401, "invalid_client", 'Basic realm="runtime"']);
    expect(json(await r.handle({ method: "POST", path: "/oauth/token", headers: { authorization: basic }, body: "grant_type=password" })).error).toBe("unsupported_grant_type");

    const expired = issueAccessToken({ ...mode, tokenTtlSeconds: -1 }).token;
    expect((await health(r, { authorization: `Bearer ${expired}` })).status).toBe(401);
    const foreign = issueAccessToken({ ...mode, clientSecret: "another-secret-0123456789" }).token;
    expect((await health(r, { authorization: `Bearer ${foreign}` })).status).toBe(401);
    expect((await health(r, { authorization: `Bearer ${token.slice(0, -2)}xx` })).status).toBe(401);

    const external = serve({ type: "oauth2", verifyToken: (t: string) => t === "from-my-server" });
    expect((await health(external, { authorization: "Bearer from-my-server" })).status).toBe(200);
    expect((await health(external, { authorization: "Bearer other" })).status).toBe(401);
  });

  it("custom headers: secrets, a fresh timestamp and the request id, as the templates say", async () => {
    const r = serve({ type: "custom", headers: { "X-Auth": "Token {{secret.token}}", "X-Stamp": "{{timestamp}}-{{requestId}}" }, secrets: { token: "custom-secret-0123" } });
    const now = Math.floor(Date.now() / 1000);
    const good = { "x-auth": "Token custom-secret-0123", "x-stamp": `${now}-req_9`, "aiffinity-request-id": "req_9" };
    expect((await health(r, good)).verification.auth).toBe("custom");
    expect((await health(r, { ...good, "x-stamp": `${now - 3600}-req_9` })).status).toBe(401);
    expect((await health(r, { ...good, "x-stamp": `${now}-req_8` })).status).toBe(401);
    expect((await health(r, { ...good, "x-auth": "Token guess" })).status).toBe(401);
    expect((await health(r, { "x-auth": "Token custom-secret-0123" })).status).toBe(401); // every header must match
    expect(matchesTemplate("{{unknown}}", "", {}, "", 300)).toBe(false);
  });

  it("any of several modes (one runtime behind several profiles), and signatures recorded instead of required", async () => {
    const r = createRuntime({ auth: [API_KEY, { type: "custom", headers: { "X-Auth": "T {{secret.t}}" }, secrets: { t: "abc" } }], signingSecret: [SECRET], requireSignature: false });
    const byKey = await r.handle({ method: "GET", path: "/health", headers: { "x-api-key": API_KEY.value }, body: "" });
    expect([byKey.status, byKey.verification]).toEqual([200, { auth: "api_key", signature: false }]);
    const byCustom = await r.handle({ method: "GET", path: "/health", headers: { "x-auth": "T abc", ...signed(SECRET, "req_1", "") }, body: "" });
    expect(byCustom.verification).toEqual({ auth: "custom", signature: true });
    // During a rotation both secrets verify.
    r.setSigningSecrets([OTHER, SECRET]);
    expect(verifyWebhookSignature([OTHER, SECRET], signed(SECRET, "x", "{}"), "{}")).toBe(true);
    expect(verifyWebhookSignature([OTHER], signed(SECRET, "x", "{}"), "{}")).toBe(false);
    expect(() => createRuntime({})).toThrow(/No auth mode/);
  });
});

describe("webhooks", () => {
  const runtime = createRuntime({ manifest, env, logger });
  const received: string[] = [];
  let failNext = false;
  runtime.webhook("install.created", (event, delivery) => {
    if (failNext) {
      failNext = false;
      throw new Error("not now");
    }
    received.push(`${event.type}:${delivery.deliveryId}`);
  });
  runtime.webhook("*", (event) => void received.push(`*:${event.type}`));
  const deliver = (id: string, event: Record<string, unknown>, secret = SECRET) => {
    const body = JSON.stringify(event);
    return runtime.handle({ method: "POST", path: "/hooks", headers: { "content-type": "application/json", ...signed(secret, id, body) }, body });
  };

  it("verifies each delivery, handles it once per webhook-id, and asks for a retry when a handler fails", async () => {
    const event = { id: "evt_1", type: "install.created", occurredAt: new Date().toISOString(), appId: "app_1", data: { installId: "inst_1" } };
    expect((await deliver("msg_1", event)).status).toBe(204);
    expect((await deliver("msg_1", event)).status).toBe(204); // a duplicate delivery
    expect(received).toEqual(["install.created:msg_1", "*:install.created"]);
    expect((await deliver("msg_2", event, OTHER)).status).toBe(401);
    failNext = true;
    expect((await deliver("msg_3", event)).status).toBe(500);
    expect((await deliver("msg_3", event)).status).toBe(204); // the retry runs the handlers again
    expect(received.filter((r) => r.endsWith("msg_3"))).toEqual(["install.created:msg_3"]);
  });
});

describe("adapters", () => {
  const build = () => {
    const r = createRuntime({ auth: API_KEY });
    r.capability<{ n: number }, { twice: number }>("double", { inputSchema: { type: "object", required: ["n"] }, outputSchema: { type: "object", required: ["twice"] } }, ({ parameters }) => ({ data: { twice: parameters.n * 2 } }));
    return r;
  };
  const invoke = (url: string) => fetch(`${url}/capabilities/double/invoke`, { method: "POST", headers: { "x-api-key": API_KEY.value, "content-type": "application/json" }, body: JSON.stringify({ parameters: { n: 21 } }) });

  it("serves over Node's http", async () => {
    const server = await listen(build(), { port: 0 });
    try {
      const res = await invoke(server.url);
      expect([res.status, await res.json()]).toEqual([200, { data: { twice: 42 } }]);
    } finally {
      await server.close();
    }
  });

  it("mounts in Express (before body parsers, or behind express.raw) and refuses a parsed body", async () => {
    const app = express();
    app.use("/raw", express.raw({ type: "*/*" }), expressHandler(build()));
    app.use("/aiffinity", expressHandler(build()));
    app.use("/parsed", express.json(), expressHandler(build()));
    app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.status(500).json({ error: error.message }));
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      for (const mount of ["/aiffinity", "/raw"]) {
        const res = await invoke(`${url}${mount}`);
        expect([res.status, await res.json()]).toEqual([200, { data: { twice: 42 } }]);
      }
      const parsed = await invoke(`${url}/parsed`);
      expect(parsed.status).toBe(500);
      expect((await parsed.json()).error).toMatch(/already parsed/);
    } finally {
      server.close();
    }
  });
});
