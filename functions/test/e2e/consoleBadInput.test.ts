import { api, expectError, expectStatus, request } from "../helpers/http";
import { createApp, verifiedProvider } from "../helpers/stories";
import { expiredIdToken } from "../helpers/tokens";

/**
 * Every Developer Console route with a body, fed the same bad inputs: each must answer the
 * documented error in the envelope and write nothing.
 */
describe("Developer Console: bad input on every route", () => {
  let token: string;
  let appId: string;
  beforeAll(async () => {
    token = (await verifiedProvider()).token;
    appId = (await createApp(token)).id;
  });

  type Case = { method: "POST" | "PATCH"; path: () => string; auth: boolean; valid: Record<string, unknown>; wrongType: Record<string, unknown> };
  const cases: Record<string, Case> = {
    "POST /account": { method: "POST", path: () => "/v1/providers/account", auth: false, valid: { company_name: "A", email: "a@example.com", password: "correct-horse-42" }, wrongType: { company_name: 7 } },
    "POST /account/verify": { method: "POST", path: () => "/v1/providers/account/verify", auth: false, valid: { token: "vt_x" }, wrongType: { token: ["vt_x"] } },
    "POST /account/verify/resend": { method: "POST", path: () => "/v1/providers/account/verify/resend", auth: false, valid: { email: "a@example.com" }, wrongType: { email: true } },
    "POST /account/login": { method: "POST", path: () => "/v1/providers/account/login", auth: false, valid: { email: "a@example.com", password: "x" }, wrongType: { password: 1234 } },
    "POST /account/refresh": { method: "POST", path: () => "/v1/providers/account/refresh", auth: false, valid: { refresh_token: "x" }, wrongType: { refresh_token: {} } },
    "PATCH /account": { method: "PATCH", path: () => "/v1/providers/account", auth: true, valid: { company_name: "A" }, wrongType: { notification_preferences: { quality_alerts: "yes" } } },
    "POST /apps": { method: "POST", path: () => "/v1/providers/apps", auth: true, valid: { name: "A" }, wrongType: { name: null } },
    "PATCH /apps/:id": { method: "PATCH", path: () => `/v1/providers/apps/${appId}`, auth: true, valid: { name: "A" }, wrongType: { redirect_uris: [1] } },
  };

  describe.each(Object.entries(cases))("%s", (_name, c) => {
    const send = (body: { raw?: string; json?: unknown }, headers: Record<string, string> = {}) =>
      request(c.method, c.path(), {
        token: c.auth ? token : undefined,
        ...(body.raw !== undefined ? { raw: body.raw, headers: { "content-type": "application/json", ...headers } } : { body: body.json, headers }),
      });

    it("answers malformed JSON with 400 INVALID_JSON", async () => {
      expectError(await send({ raw: '{"oops": ' }), 400, "INVALID_JSON");
    });

    it("answers a wrong-typed field with 400 naming it", async () => {
      const error = expectError(await send({ json: { ...c.valid, ...c.wrongType } }), 400, "VALIDATION_ERROR");
      expect(error.message).toContain(Object.keys(c.wrongType)[0]!);
    });

    it("answers an unknown field with 400 naming it", async () => {
      const error = expectError(await send({ json: { ...c.valid, surprise: 1 } }), 400, "VALIDATION_ERROR");
      expect(error.message).toContain("surprise: Unknown field");
    });

    it("answers a missing body with 400", async () => {
      expectError(await send({ json: undefined }), 400, "VALIDATION_ERROR");
    });

    it("answers an oversized body with 413", async () => {
      expectError(await send({ json: { ...c.valid, padding: "x".repeat(1_200_000) } }), 413, "PAYLOAD_TOO_LARGE");
    });

    if (c.auth) {
      it("answers a missing token with 401 and an expired one with 401 invalid_token", async () => {
        expectError(await request(c.method, c.path(), { body: c.valid }), 401, "UNAUTHENTICATED");
        const expired = await request(c.method, c.path(), { body: c.valid, token: expiredIdToken(token) });
        expectError(expired, 401, "UNAUTHENTICATED");
        expect(expired.headers.get("www-authenticate")).toContain('error="invalid_token"');
      });
    }
  });

  it("left the account and app untouched by all of the above", async () => {
    const app = await api.get(`/v1/providers/apps/${appId}`, { token });
    expectStatus(200, app);
    expect(app.body.data.name).toBe("Acme Weather");
    expect(app.body.data.redirect_uris).toEqual([]);
    const account = await api.get("/v1/providers/account", { token });
    expect(account.body.data.company_name).toBe("Acme Weather Ltd");
  });
});
