import { adminDb } from "../helpers/admin";
import { api, type ApiResponse, expectError, expectStatus, request } from "../helpers/http";
import { type SampleProvider, sampleProviderModule, startSampleProvider } from "../helpers/sampleProvider";
import { createApp, oauthProvider, registerRuntimeApp } from "../helpers/stories";

/** How many processes serve runtimeApi: the serving pool's instances, or the emulator's one idle worker. */
async function runtimeInstances(): Promise<number> {
  if (process.env.AIFFINITY_SERVING === "emulator") return 1;
  const res = await api.get("/__serving/status");
  expectStatus(200, res);
  return (res.body as { functions: Record<string, { instances: unknown[] }> }).functions.runtimeApi!.instances.length;
}

const RT = "/v1/providers/runtime/apps";

const template = {
  capabilities: [
    {
      name: "weather_forecast",
      description: "Daily forecast for a location",
      inputSchema: {
        type: "object",
        properties: { location: { type: "string" }, days: { type: "integer", minimum: 1, maximum: 7 } },
        required: ["location"],
      },
      outputSchema: {
        type: "object",
        properties: { location: { type: "string" }, days: { type: "array", items: { $ref: "#/$defs/day" } } },
        $defs: { day: { type: "object", properties: { date: { type: "string" }, highC: { type: "number" } } } },
      },
      refreshIntervalSeconds: 1800,
      surfaceGuidance: { surfaces: ["widget", "chat"], summary: "Weather at a glance", priority: "high" },
    },
    {
      name: "task_list",
      description: "Your open tasks",
      outputSchema: { type: "object", properties: { tasks: { type: "array" } } },
      refreshIntervalSeconds: 60,
      actions: [
        {
          name: "create_task",
          description: "Add a task",
          inputSchema: { type: "object", properties: { title: { type: "string", minLength: 1 } }, required: ["title"] },
        },
      ],
      surfaceGuidance: { surfaces: ["widget"] },
    },
  ],
};

describe("provider runtime: configuration story against the sample provider", () => {
  let provider: SampleProvider;
  let owner: Awaited<ReturnType<typeof oauthProvider>>;
  let runtimeId: string;
  /** Every response of the story, to prove no secret ever comes back. */
  const seen: ApiResponse[] = [];
  const call = async (res: Promise<ApiResponse>) => {
    const r = await res;
    seen.push(r);
    return r;
  };
  const health = async () => {
    const res = await call(api.get(`${RT}/${runtimeId}/health`, { token: owner.access }));
    expectStatus(200, res);
    return res.body.data;
  };

  beforeAll(async () => {
    provider = await startSampleProvider();
    owner = await oauthProvider();
  });
  afterAll(() => provider.close());
  beforeEach(() => provider.reset());

  it("registers the runtime app, with defaults", async () => {
    const res = await call(api.post(RT, { appId: owner.app.id, endpointUrl: provider.url }, { token: owner.access }));
    expectStatus(201, res);
    expect(res.headers.get("location")).toBe(`${RT}/${res.body.data.id}`);
    expect(res.body.data).toEqual({
      id: expect.stringMatching(/^rt_[0-9A-Za-z]{20}$/),
      appId: owner.app.id,
      displayName: owner.app.name,
      endpointUrl: provider.url,
      status: "active",
      authProfile: null,
      capabilityTemplate: null,
      webhookProfile: null,
      credentialSecret: { configured: false, createdAt: null, previousSecretExpiresAt: null },
      lastInvokedAt: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    runtimeId = res.body.data.id;

    expectError(await api.post(RT, { appId: owner.app.id, endpointUrl: provider.url }, { token: owner.access }), 409, "CONFLICT");
    const list = await api.get(RT, { token: owner.access });
    expectStatus(200, list);
    expect(list.body.data.map((r: { id: string }) => r.id)).toEqual([runtimeId]);
    expect(list.body.meta.pagination).toEqual({ total: 1, limit: 20, offset: 0, hasMore: false });

    // A second console app of the same account can be bound with the first app's token.
    const second = await createApp(owner.token, { name: "Second" });
    const other = await registerRuntimeApp(owner.access, second.id, "https://runtime.acme.example", { displayName: "Other", status: "paused" });
    expect(other).toEqual(expect.objectContaining({ displayName: "Other", status: "paused" }));
  });

  it("updates endpoint, name and status", async () => {
    const res = await call(api.patch(`${RT}/${runtimeId}`, { displayName: "Acme Runtime", status: "paused" }, { token: owner.access }));
    expectStatus(200, res);
    expect(res.body.data).toEqual(expect.objectContaining({ displayName: "Acme Runtime", status: "paused", endpointUrl: provider.url }));
    const back = await api.patch(`${RT}/${runtimeId}`, { status: "active" }, { token: owner.access });
    expect(back.body.data).toEqual(expect.objectContaining({ displayName: "Acme Runtime", status: "active" }));
    expect(
      expectError(
        await api.patch(`${RT}/${runtimeId}`, { endpointUrl: "http://runtime.acme.example" }, { token: owner.access }),
        400,
        "VALIDATION_ERROR",
      ).message,
    ).toMatch(/^endpointUrl: URL must use https/);
  });

  it("probes health for real: without credentials the provider refuses us", async () => {
    const h = await health();
    expect(h).toEqual(
      expect.objectContaining({
        runtimeAppId: runtimeId,
        status: "degraded",
        runtimeStatus: "active",
        endpoint: {
          url: `${provider.url}/health`,
          reachable: true,
          statusCode: 401,
          latencyMs: expect.any(Number),
          error: { kind: "http_status", message: expect.stringContaining("401") },
        },
        uptimeSeconds: null,
        lastInvokedAt: null,
      }),
    );
    expect(provider.requests).toEqual([expect.objectContaining({ method: "GET", path: "/health", auth: null })]);
    expect(provider.requests[0]!.headers["aiffinity-request-id"]).toMatch(/^req_/);
  });

  it("authenticates with an API key", async () => {
    const res = await call(
      api.put(
        `${RT}/${runtimeId}/auth-profile`,
        { type: "api_key", headerName: "X-Api-Key", value: provider.config.apiKey },
        { token: owner.access },
      ),
    );
    expectStatus(200, res);
    expect(res.body.data).toEqual({
      type: "api_key",
      headerName: "X-Api-Key",
      value: `****${provider.config.apiKey.slice(-4)}`,
      updatedAt: expect.any(String),
    });
    const h = await health();
    expect(h.status).toBe("healthy");
    expect(h.endpoint).toEqual(expect.objectContaining({ reachable: true, statusCode: 200, error: null }));
    expect(h.uptimeSeconds).toEqual(expect.any(Number));
    expect(provider.requests.map((r) => r.auth)).toEqual(["api_key"]);

    await call(
      api.put(
        `${RT}/${runtimeId}/auth-profile`,
        { type: "api_key", headerName: "X-Api-Key", value: "wrong-key-0000000000" },
        { token: owner.access },
      ),
    );
    expect((await health()).endpoint.statusCode).toBe(401);
  });

  it("authenticates with OAuth 2.0 client credentials against the provider's token URL, caching the token", async () => {
    const profile = {
      type: "oauth2",
      tokenUrl: `${provider.url}/oauth/token`,
      clientId: provider.config.oauthClientId,
      clientSecret: provider.config.oauthClientSecret,
    };
    const res = await call(api.put(`${RT}/${runtimeId}/auth-profile`, profile, { token: owner.access }));
    expectStatus(200, res);
    expect(res.body.data).toEqual({
      type: "oauth2",
      tokenUrl: profile.tokenUrl,
      clientId: profile.clientId,
      clientSecret: `****${profile.clientSecret.slice(-4)}`,
      scope: null,
      tokenEndpointAuthMethod: "client_secret_basic",
      updatedAt: expect.any(String),
    });
    // Each instance caches its own token (as each Cloud Run instance does): probing more often than
    // there are instances proves reuse, since no instance fetches a second token for one profile.
    const instances = await runtimeInstances();
    const probes = instances + 2;
    const issuedBefore = provider.tokensIssued;
    for (let i = 0; i < probes; i++) expect((await health()).status).toBe("healthy");
    const issued = provider.tokensIssued - issuedBefore;
    expect(issued).toBeGreaterThanOrEqual(1);
    expect(issued).toBeLessThanOrEqual(instances);
    expect(provider.requests.filter((r) => r.path === "/health").map((r) => r.auth)).toEqual(Array(probes).fill("oauth2"));
    expect(provider.requests.find((r) => r.path === "/oauth/token")!.headers.authorization).toMatch(/^Basic /);

    // client_secret_post, and a changed profile fetches a new token.
    await call(
      api.put(
        `${RT}/${runtimeId}/auth-profile`,
        { ...profile, tokenEndpointAuthMethod: "client_secret_post", scope: "forecast tasks" },
        { token: owner.access },
      ),
    );
    provider.reset();
    expect((await health()).status).toBe("healthy");
    const tokenRequest = provider.requests.find((r) => r.path === "/oauth/token")!;
    expect(tokenRequest.headers.authorization).toBeUndefined();
    expect(new URLSearchParams(tokenRequest.body).get("scope")).toBe("forecast tasks");

    // A wrong secret at the provider's token URL is reported, not hidden.
    await call(api.put(`${RT}/${runtimeId}/auth-profile`, { ...profile, clientSecret: "not-the-secret-1234" }, { token: owner.access }));
    const failed = await health();
    expect(failed.status).toBe("unreachable");
    expect(failed.endpoint.error).toEqual({ kind: "auth_failed", message: expect.stringContaining("401") });
  });

  it("authenticates with custom header templates", async () => {
    const res = await call(
      api.put(
        `${RT}/${runtimeId}/auth-profile`,
        {
          type: "custom",
          headers: { "X-Sample-Auth": "Token {{secret.token}}", "X-Request-Stamp": "{{timestamp}}-{{requestId}}" },
          secrets: { token: provider.config.customSecret },
        },
        { token: owner.access },
      ),
    );
    expectStatus(200, res);
    expect(res.body.data.secrets).toEqual({ token: `****${provider.config.customSecret.slice(-4)}` });
    expect(res.body.data.headers["X-Sample-Auth"]).toBe("Token {{secret.token}}");
    expect((await health()).status).toBe("healthy");
    const probe = provider.requests[0]!;
    expect(probe.auth).toBe("custom");
    expect(probe.headers["x-request-stamp"]).toMatch(/^\d{10}-req_[0-9A-Za-z]{20}$/);

    const bad = await api.put(`${RT}/${runtimeId}/auth-profile`, { type: "custom", headers: { "X-A": "{{secret.nope}}" } }, { token: owner.access });
    expect(expectError(bad, 400, "VALIDATION_ERROR").message).toMatch(/headers\.X-A: Unknown placeholder \{\{secret\.nope\}\}/);
    const reserved = await api.put(
      `${RT}/${runtimeId}/auth-profile`,
      { type: "api_key", headerName: "Webhook-Signature", value: "x" },
      { token: owner.access },
    );
    expect(expectError(reserved, 400, "VALIDATION_ERROR").message).toMatch(/^headerName: /);
  });

  it("encrypts the credentials at rest", async () => {
    const stored = await adminDb().collection("runtimeApps").doc(runtimeId).get();
    const text = JSON.stringify(stored.data());
    for (const secret of [provider.config.apiKey, provider.config.oauthClientSecret, provider.config.customSecret, "not-the-secret-1234"])
      expect(text).not.toContain(secret);
    expect(stored.get("authProfile.secrets.token.sealed")).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it("stores the capability template and checks the handlers the provider reports", async () => {
    const res = await call(api.put(`${RT}/${runtimeId}/capability-template`, template, { token: owner.access }));
    expectStatus(200, res);
    expect(res.body.data.capabilities[0]).toEqual({
      ...template.capabilities[0],
      actions: [],
      surfaceGuidance: { surfaces: ["widget", "chat"], summary: "Weather at a glance", priority: "high", notes: null },
    });
    expect(res.body.data.capabilities[1].inputSchema).toBeNull();
    const h = await health();
    expect(h.handlers).toEqual({
      registered: ["weather_forecast", "task_list", "task_list.create_task"],
      reportedByProvider: sampleProviderModule.CAPABILITIES,
      missing: [],
    });
    expect(h.status).toBe("healthy");

    // A capability the provider does not report makes it degraded.
    const extra = { ...template, capabilities: [...template.capabilities, { ...template.capabilities[1], name: "calendar", actions: [] }] };
    expectStatus(200, await api.put(`${RT}/${runtimeId}/capability-template`, extra, { token: owner.access }));
    const degraded = await health();
    expect(degraded.status).toBe("degraded");
    expect(degraded.handlers.missing).toEqual(["calendar"]);
    expectStatus(200, await api.put(`${RT}/${runtimeId}/capability-template`, template, { token: owner.access }));

    const app = await call(api.get(`${RT}/${runtimeId}`, { token: owner.access }));
    expect(app.body.data.capabilityTemplate.capabilities.map((c: { name: string }) => c.name)).toEqual(["weather_forecast", "task_list"]);
  });

  it("validates capability templates: schemas, intervals, names", async () => {
    const put = (body: unknown) => api.put(`${RT}/${runtimeId}/capability-template`, body, { token: owner.access });
    const cap = template.capabilities[1]!;
    const cases: [unknown, RegExp][] = [
      [{ capabilities: [{ ...cap, outputSchema: { type: "strnig" } }] }, /^capabilities\.0\.outputSchema: Not a valid JSON Schema/],
      [{ capabilities: [{ ...cap, outputSchema: { $ref: "#/$defs/missing" } }] }, /^capabilities\.0\.outputSchema: Not a usable JSON Schema/],
      [
        { capabilities: [{ ...cap, outputSchema: { $ref: "https://schemas.example/remote.json" } }] },
        /^capabilities\.0\.outputSchema: Not a usable JSON Schema/,
      ],
      [
        { capabilities: [{ ...cap, refreshIntervalSeconds: 30 }] },
        /^capabilities\.0\.refreshIntervalSeconds: Number must be greater than or equal to 60/,
      ],
      [
        { capabilities: [{ ...cap, refreshIntervalSeconds: 90_000 }] },
        /^capabilities\.0\.refreshIntervalSeconds: Number must be less than or equal to 86400/,
      ],
      [{ capabilities: [cap, cap] }, /^capabilities\.1\.name: Duplicate name 'task_list'/],
      [{ capabilities: [{ ...cap, name: "Task List" }] }, /^capabilities\.0\.name: /],
      [{ capabilities: [] }, /^capabilities: Array must contain at least 1 item/],
      [
        { capabilities: [{ ...cap, surfaceGuidance: { surfaces: ["billboard"] } }] },
        /^capabilities\.0\.surfaceGuidance\.surfaces\.0: Expected one of/,
      ],
      [{ capabilities: [{ ...cap, extra: true }] }, /^capabilities\.0\.extra: Unknown field/],
    ];
    for (const [body, message] of cases) expect(expectError(await put(body), 400, "VALIDATION_ERROR").message).toMatch(message);
  });

  it("reports failures of the endpoint precisely, within the probe's deadline", async () => {
    await api.put(
      `${RT}/${runtimeId}/auth-profile`,
      { type: "api_key", headerName: "X-Api-Key", value: provider.config.apiKey },
      { token: owner.access },
    );
    const expectations: [Parameters<SampleProvider["setFailure"]>[0], string, string, boolean][] = [
      ["error_500", "degraded", "http_status", true],
      ["malformed", "degraded", "bad_body", true],
      ["huge", "degraded", "too_large", true],
      ["hang", "unreachable", "timeout", false],
    ];
    for (const [mode, status, kind, reachable] of expectations) {
      provider.setFailure(mode);
      const started = Date.now();
      const h = await health();
      expect({ mode, status: h.status, kind: h.endpoint.error?.kind, reachable: h.endpoint.reachable }).toEqual({ mode, status, kind, reachable });
      expect(Date.now() - started).toBeLessThan(9_000);
    }
    provider.setFailure("slow", 300);
    const slow = await health();
    expect(slow.status).toBe("healthy");
    expect(slow.endpoint.latencyMs).toBeGreaterThanOrEqual(290);
    provider.setFailure("none");

    // Nothing listening: connection refused.
    const closed = await startSampleProvider();
    await closed.close();
    await api.patch(`${RT}/${runtimeId}`, { endpointUrl: closed.url }, { token: owner.access });
    const refused = await health();
    expect(refused).toEqual(
      expect.objectContaining({
        status: "unreachable",
        endpoint: expect.objectContaining({ reachable: false, error: expect.objectContaining({ kind: "connection_refused" }) }),
      }),
    );
    await api.patch(`${RT}/${runtimeId}`, { endpointUrl: provider.url }, { token: owner.access });
  });

  it("signs every request to the provider once a credential secret is set", async () => {
    const res = await call(api.put(`${RT}/${runtimeId}/credential-secret`, undefined, { token: owner.access }));
    expectStatus(200, res);
    const secret = res.body.data.secret as string;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    provider.setSigningSecrets([secret]);
    await health();
    expect(provider.requests[0]!.signatureValid).toBe(true);
    expect(provider.requests[0]!.headers["webhook-id"]).toBe(provider.requests[0]!.headers["aiffinity-request-id"]);
    provider.setSigningSecrets(["whsec_" + Buffer.alloc(32, 1).toString("base64")]);
    await health();
    expect(provider.requests[1]!.signatureValid).toBe(false);
  });

  it("never returns a secret in any response", async () => {
    const all = [...seen, await api.get(`${RT}/${runtimeId}`, { token: owner.access }), await api.get(RT, { token: owner.access })];
    for (const res of all) {
      for (const secret of [
        provider.config.apiKey,
        provider.config.oauthClientSecret,
        provider.config.customSecret,
        "not-the-secret-1234",
        "wrong-key-0000000000",
      ]) {
        expect(res.text).not.toContain(secret);
      }
      expect(res.text).not.toContain('"sealed"');
    }
    const app = await api.get(`${RT}/${runtimeId}`, { token: owner.access });
    expect(app.text).not.toMatch(/whsec_/);
    expect(app.body.data.credentialSecret).toEqual({ configured: true, createdAt: expect.any(String), previousSecretExpiresAt: null });
  });
});

describe("provider runtime: isolation and bad input", () => {
  let owner: Awaited<ReturnType<typeof oauthProvider>>;
  let intruder: Awaited<ReturnType<typeof oauthProvider>>;
  let runtimeId: string;
  beforeAll(async () => {
    owner = await oauthProvider("Owner Co");
    intruder = await oauthProvider("Intruder Co");
    runtimeId = (await registerRuntimeApp(owner.access, owner.app.id, "https://runtime.owner.example")).id;
  });

  const routes = (id: string): [string, string, unknown][] => [
    ["GET", `${RT}/${id}`, undefined],
    ["PATCH", `${RT}/${id}`, { displayName: "x" }],
    ["PUT", `${RT}/${id}/auth-profile`, { type: "api_key", headerName: "X-Key", value: "abc" }],
    ["PUT", `${RT}/${id}/capability-template`, { capabilities: [template.capabilities[1]] }],
    ["PUT", `${RT}/${id}/webhook-profile`, { url: "https://hooks.owner.example", events: ["*"] }],
    ["POST", `${RT}/${id}/webhook-profile/test`, undefined],
    ["GET", `${RT}/${id}/webhook-profile/deliveries`, undefined],
    ["PUT", `${RT}/${id}/credential-secret`, {}],
    ["GET", `${RT}/${id}/health`, undefined],
  ];

  it("gives another account 404 on every route, and cannot bind another account's app", async () => {
    for (const [method, path, body] of routes(runtimeId))
      expectError(await request(method, path, { token: intruder.access, body }), 404, "NOT_FOUND");
    expectError(await api.post(RT, { appId: owner.app.id, endpointUrl: "https://evil.example" }, { token: intruder.access }), 404, "NOT_FOUND");
    expect((await api.get(RT, { token: intruder.access })).body.data).toEqual([]);
    expectError(
      await api.post(RT, { appId: "app_00000000000000000000", endpointUrl: "https://x.example" }, { token: owner.access }),
      404,
      "NOT_FOUND",
    );
    // Untouched.
    expect((await api.get(`${RT}/${runtimeId}`, { token: owner.access })).body.data.displayName).toBe(owner.app.name);
  });

  it("answers malformed ids with 404 and requires a valid access token everywhere", async () => {
    for (const [method, path, body] of routes("rt_short")) expectError(await request(method, path, { token: owner.access, body }), 404, "NOT_FOUND");
    for (const [method, path, body] of [
      ...routes(runtimeId),
      ["GET", RT, undefined],
      ["POST", RT, { appId: owner.app.id, endpointUrl: "https://x.example" }],
    ] as [string, string, unknown][]) {
      const missing = await request(method, path, { body });
      expectError(missing, 401, "UNAUTHENTICATED");
      expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="aiffinity"');
      const invalid = await request(method, path, { body, token: "eyJhbGciOiJSUzI1NiJ9.e30.c2ln" });
      expectError(invalid, 401, "UNAUTHENTICATED");
      expect(invalid.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
      // A console (Firebase) token is not an access token.
      expectError(await request(method, path, { body, token: owner.token }), 401, "UNAUTHENTICATED");
    }
  });

  it("answers malformed JSON, missing, wrong-typed and unknown fields on every body", async () => {
    const bodies: [string, string, Record<string, unknown>, string, RegExp][] = [
      ["POST", RT, { appId: owner.app.id, endpointUrl: "https://x.example" }, "endpointUrl", /^appId: Required$|^endpointUrl: Required$/],
      ["PATCH", `${RT}/${runtimeId}`, { displayName: "x" }, "displayName", /^body: Provide at least one field/],
      ["PUT", `${RT}/${runtimeId}/auth-profile`, { type: "api_key", headerName: "X-Key", value: "abc" }, "value", /^value: Required$/],
      ["PUT", `${RT}/${runtimeId}/capability-template`, { capabilities: [template.capabilities[1]] }, "capabilities", /^capabilities: Required$/],
      ["PUT", `${RT}/${runtimeId}/webhook-profile`, { url: "https://hooks.owner.example", events: ["*"] }, "events", /^events: Required$/],
    ];
    for (const [method, path, valid, field, missingMessage] of bodies) {
      const malformed = await request(method, path, { token: owner.access, raw: "{", headers: { "content-type": "application/json" } });
      expectError(malformed, 400, "INVALID_JSON");
      const { [field]: _dropped, ...rest } = valid;
      expect(expectError(await request(method, path, { token: owner.access, body: rest }), 400, "VALIDATION_ERROR").message).toMatch(missingMessage);
      expect(
        expectError(await request(method, path, { token: owner.access, body: { ...valid, [field]: 12345 } }), 400, "VALIDATION_ERROR").message,
      ).toMatch(new RegExp(`^${field}: |^body: `));
      expect(
        expectError(await request(method, path, { token: owner.access, body: { ...valid, surprise: 1 } }), 400, "VALIDATION_ERROR").message,
      ).toMatch(/surprise: Unknown field/);
      expectError(
        await request(method, path, { token: owner.access, raw: "a=b", headers: { "content-type": "application/x-www-form-urlencoded" } }),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
      );
    }
    const weird = await api.put(`${RT}/${runtimeId}/auth-profile`, { type: "basic", value: "x" }, { token: owner.access });
    expect(expectError(weird, 400, "VALIDATION_ERROR").message).toMatch(/^type: /);
    const badSecret = await api.put(`${RT}/${runtimeId}/credential-secret`, { secret: "whsec_short" }, { token: owner.access });
    expect(expectError(badSecret, 400, "VALIDATION_ERROR").message).toMatch(/^secret: Must be whsec_/);
    expectError(await api.put(`${RT}/${runtimeId}/credential-secret`, { gracePeriodSeconds: -1 }, { token: owner.access }), 400, "VALIDATION_ERROR");
    expectError(await api.get(`${RT}/${runtimeId}/webhook-profile/deliveries?status=lost`, { token: owner.access }), 400, "VALIDATION_ERROR");
    expectError(await api.get(`${RT}?limit=0`, { token: owner.access }), 400, "VALIDATION_ERROR");
  });

  it("refuses non-https endpoints (loopback is accepted on the emulators only)", async () => {
    const app = await createApp(owner.token, { name: "Third" });
    for (const url of ["http://runtime.example", "ftp://runtime.example", "https://user:pw@runtime.example", "not a url"]) {
      expectError(await api.post(RT, { appId: app.id, endpointUrl: url }, { token: owner.access }), 400, "VALIDATION_ERROR");
    }
    expectStatus(201, await api.post(RT, { appId: app.id, endpointUrl: "http://127.0.0.1:9/runtime" }, { token: owner.access }));
  });

  it("removes the runtime app with its console app", async () => {
    const app = await createApp(owner.token, { name: "Short-lived" });
    const rt = await registerRuntimeApp(owner.access, app.id, "https://runtime.owner.example");
    expectStatus(200, await api.delete(`/v1/providers/apps/${app.id}`, { token: owner.token }));
    expectError(await api.get(`${RT}/${rt.id}`, { token: owner.access }), 404, "NOT_FOUND");
  });
});
