import { adminDb } from "../helpers/admin";
import { api, expectError, expectStatus, request } from "../helpers/http";
import { createApp, verifiedProvider } from "../helpers/stories";

describe("apps", () => {
  it("creates an app whose secret appears once and is stored only as a hash", async () => {
    const { token } = await verifiedProvider();
    const res = await api.post(
      "/v1/providers/apps",
      { name: "Acme Weather", description: "Forecasts", redirect_uris: ["https://acme.example/callback"], webhook_url: "https://acme.example/hooks" },
      { token },
    );
    expectStatus(201, res);
    const app = res.body.data;
    expect(res.headers.get("location")).toBe(`/v1/providers/apps/${app.id}`);
    expect(app).toEqual({
      id: expect.stringMatching(/^app_[0-9A-Za-z]{20}$/),
      name: "Acme Weather",
      description: "Forecasts",
      client_id: expect.stringMatching(/^prov_[0-9A-Za-z]{20}$/),
      client_secret: expect.stringMatching(/^secret_[0-9A-Za-z]{43}$/),
      redirect_uris: ["https://acme.example/callback"],
      webhook_url: "https://acme.example/hooks",
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const secret: string = app.client_secret;

    const stored = await adminDb().collection("apps").doc(app.id).get();
    expect(JSON.stringify(stored.data())).not.toContain(secret);
    expect(stored.get("clientSecretHash")).toMatch(/^sha256:[0-9a-f]{64}$/);

    // Never again, in any response.
    const responses = [
      await api.get(`/v1/providers/apps/${app.id}`, { token }),
      await api.get("/v1/providers/apps", { token }),
      await api.patch(`/v1/providers/apps/${app.id}`, { name: "Renamed" }, { token }),
    ];
    for (const r of responses) {
      expectStatus(200, r);
      expect(r.text).not.toContain(secret);
      expect(r.text).not.toContain("client_secret");
      expect(r.text).not.toContain("sha256:");
    }
  });

  it("lists apps newest first with pagination", async () => {
    const { token } = await verifiedProvider();
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await createApp(token, { name: `App ${i}` }));
    const first = await api.get("/v1/providers/apps?limit=2", { token });
    expectStatus(200, first);
    expect(first.body.meta.pagination).toEqual({ total: 5, limit: 2, offset: 0, hasMore: true });
    expect(first.body.data.map((a: { name: string }) => a.name)).toEqual(["App 4", "App 3"]);
    const last = await api.get("/v1/providers/apps?limit=2&offset=4", { token });
    expect(last.body.meta.pagination).toEqual({ total: 5, limit: 2, offset: 4, hasMore: false });
    expect(last.body.data.map((a: { name: string }) => a.name)).toEqual(["App 0"]);
    const defaults = await api.get("/v1/providers/apps", { token });
    expect(defaults.body.meta.pagination).toEqual({ total: 5, limit: 20, offset: 0, hasMore: false });

    for (const bad of ["limit=0", "limit=101", "limit=abc", "offset=-1"]) {
      const error = expectError(await api.get(`/v1/providers/apps?${bad}`, { token }), 400, "VALIDATION_ERROR");
      expect(error.message).toMatch(/^query\.(limit|offset): /);
    }
  });

  it("updates only the fields sent", async () => {
    const { token } = await verifiedProvider();
    const app = await createApp(token, { name: "Before", description: "Keep me", webhook_url: "https://acme.example/hooks" });
    const res = await api.patch(`/v1/providers/apps/${app.id}`, { name: "After", webhook_url: null }, { token });
    expectStatus(200, res);
    expect(res.body.data).toEqual(expect.objectContaining({ name: "After", description: "Keep me", webhook_url: null }));
    expect(new Date(res.body.data.updated_at).getTime()).toBeGreaterThanOrEqual(new Date(res.body.data.created_at).getTime());
  });

  it("validates redirect URIs and the webhook URL", async () => {
    const { token } = await verifiedProvider();
    const cases: [unknown, RegExp][] = [
      [{ name: "x", redirect_uris: ["http://acme.example/cb"] }, /^redirect_uris\.0: URL must use https/],
      [{ name: "x", redirect_uris: ["not a url"] }, /^redirect_uris\.0: Invalid URL/],
      [{ name: "x", webhook_url: "https://user:pass@acme.example/h" }, /^webhook_url: URL must not contain credentials/],
      [{ name: "x", webhook_url: "ftp://acme.example/h" }, /^webhook_url: URL must use https/],
      [
        { name: "x", redirect_uris: Array.from({ length: 11 }, (_, i) => `https://a.example/${i}`) },
        /^redirect_uris: Array must contain at most 10 items/,
      ],
    ];
    for (const [body, message] of cases) {
      expect(expectError(await api.post("/v1/providers/apps", body, { token }), 400, "VALIDATION_ERROR").message).toMatch(message);
    }
    // Loopback is accepted on the emulators (where these tests run) so local runtimes can be used.
    expectStatus(201, await api.post("/v1/providers/apps", { name: "local", webhook_url: "http://127.0.0.1:8787/hooks" }, { token }));
  });

  it("rotates the client secret", async () => {
    const { token } = await verifiedProvider();
    const app = await createApp(token);
    const res = await api.post(`/v1/providers/apps/${app.id}/rotate-secret`, undefined, { token });
    expectStatus(200, res);
    expect(res.body.data.client_secret).toMatch(/^secret_/);
    expect(res.body.data.client_secret).not.toBe(app.client_secret);
    expect(res.body.data.client_id).toBe(app.client_id);
  });

  it("issues an access token of the app to its signed-in owner, for the runtime and capabilities APIs", async () => {
    const { token } = await verifiedProvider();
    const app = await createApp(token);
    const res = await api.post(`/v1/providers/apps/${app.id}/access-token`, undefined, { token });
    expectStatus(200, res);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.body.data).toEqual({ access_token: expect.any(String), token_type: "Bearer", expires_in: 3600 });
    const access = res.body.data.access_token as string;
    // It is the app's token: the Provider Runtime API takes it (and a console ID token it does not).
    expectStatus(200, await api.get("/v1/providers/runtime/apps", { token: access }));
    expectError(await api.get("/v1/providers/runtime/apps", { token }), 401, "UNAUTHENTICATED");
    // Not a console credential, and useless once the app is deleted.
    expectError(await api.get("/v1/providers/apps", { token: access }), 401, "UNAUTHENTICATED");
    expectStatus(200, await api.delete(`/v1/providers/apps/${app.id}`, { token }));
    expectError(await api.get("/v1/providers/runtime/apps", { token: access }), 401, "UNAUTHENTICATED");
    expectError(await api.post(`/v1/providers/apps/${app.id}/access-token`, undefined, { token }), 404, "NOT_FOUND");
  });

  it("deletes an app", async () => {
    const { token } = await verifiedProvider();
    const app = await createApp(token);
    const res = await api.delete(`/v1/providers/apps/${app.id}`, { token });
    expectStatus(200, res);
    expect(res.body.data).toEqual({ id: app.id, deleted: true });
    expectError(await api.get(`/v1/providers/apps/${app.id}`, { token }), 404, "NOT_FOUND");
    expectError(await api.delete(`/v1/providers/apps/${app.id}`, { token }), 404, "NOT_FOUND");
  });

  describe("isolation", () => {
    it("gives a second account 404 for every route on the first account's app", async () => {
      const owner = await verifiedProvider("Owner Co");
      const intruder = await verifiedProvider("Intruder Co");
      const app = await createApp(owner.token);
      const path = `/v1/providers/apps/${app.id}`;
      expectError(await api.get(path, { token: intruder.token }), 404, "NOT_FOUND");
      expectError(await api.patch(path, { name: "pwned" }, { token: intruder.token }), 404, "NOT_FOUND");
      expectError(await api.post(`${path}/rotate-secret`, undefined, { token: intruder.token }), 404, "NOT_FOUND");
      expectError(await api.post(`${path}/access-token`, undefined, { token: intruder.token }), 404, "NOT_FOUND");
      expectError(await api.delete(path, { token: intruder.token }), 404, "NOT_FOUND");
      const list = await api.get("/v1/providers/apps", { token: intruder.token });
      expect(list.body.data).toEqual([]);
      // Untouched.
      const mine = await api.get(path, { token: owner.token });
      expectStatus(200, mine);
      expect(mine.body.data.name).toBe(app.name);
    });
  });

  describe("bad input", () => {
    let token: string;
    beforeAll(async () => {
      token = (await verifiedProvider()).token;
    });

    it("answers malformed JSON with INVALID_JSON", async () => {
      const res = await api.post("/v1/providers/apps", undefined, { token, raw: '{"name": "x",', headers: { "content-type": "application/json" } });
      expect(expectError(res, 400, "INVALID_JSON").message).toMatch(/^Request body is not valid JSON/);
    });

    it("names missing, wrong-typed and unknown fields", async () => {
      expect(expectError(await api.post("/v1/providers/apps", {}, { token }), 400, "VALIDATION_ERROR").message).toBe("name: Required");
      expect(expectError(await api.post("/v1/providers/apps", { name: "" }, { token }), 400, "VALIDATION_ERROR").message).toBe(
        "name: String must contain at least 1 character",
      );
      const wrong = expectError(await api.post("/v1/providers/apps", { name: 42, redirect_uris: "https://x" }, { token }), 400, "VALIDATION_ERROR");
      expect(wrong.message).toBe("name: Expected string, received number; redirect_uris: Expected array, received string");
      expect(wrong.details).toEqual([
        { field: "name", message: "Expected string, received number", code: "invalid_type" },
        { field: "redirect_uris", message: "Expected array, received string", code: "invalid_type" },
      ]);
      expect(
        expectError(await api.post("/v1/providers/apps", { name: "x", client_secret: "mine" }, { token }), 400, "VALIDATION_ERROR").message,
      ).toBe("client_secret: Unknown field");
      expect(expectError(await api.post("/v1/providers/apps", [1, 2], { token }), 400, "VALIDATION_ERROR").message).toBe(
        "body: Expected object, received array",
      );
    });

    it("answers an empty body with a validation error", async () => {
      expect(expectError(await api.post("/v1/providers/apps", undefined, { token }), 400, "VALIDATION_ERROR").message).toMatch(/^body: Required/);
    });

    it("refuses oversized bodies with 413", async () => {
      const res = await api.post("/v1/providers/apps", { name: "x", description: "a".repeat(1_100_000) }, { token });
      expectError(res, 413, "PAYLOAD_TOO_LARGE");
    });

    it("refuses other media types with 415", async () => {
      const res = await api.post("/v1/providers/apps", undefined, {
        token,
        raw: "name=x",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      expectError(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    });

    it("answers malformed ids with 404", async () => {
      expectError(await api.get("/v1/providers/apps/not-an-id", { token }), 404, "NOT_FOUND");
    });

    it("requires a token on every apps route", async () => {
      for (const [method, path] of [
        ["GET", "/v1/providers/apps"],
        ["POST", "/v1/providers/apps"],
        ["GET", "/v1/providers/apps/app_00000000000000000000"],
        ["PATCH", "/v1/providers/apps/app_00000000000000000000"],
        ["DELETE", "/v1/providers/apps/app_00000000000000000000"],
        ["POST", "/v1/providers/apps/app_00000000000000000000/access-token"],
      ] as const) {
        const res = await request(method, path, { body: method === "POST" || method === "PATCH" ? { name: "x" } : undefined });
        expectError(res, 401, "UNAUTHENTICATED");
      }
    });
  });
});
