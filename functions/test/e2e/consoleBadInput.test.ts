import { type BodyCase, describeBodyChecks } from "../helpers/badInput";
import { api, expectStatus } from "../helpers/http";
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

  const publicCase = (path: string, valid: Record<string, unknown>, wrongType: Record<string, unknown>): BodyCase => ({
    method: "POST",
    path: () => path,
    token: () => undefined,
    valid: () => valid,
    wrongType,
  });
  const authCase = (method: "POST" | "PATCH", path: () => string, valid: Record<string, unknown>, wrongType: Record<string, unknown>): BodyCase => ({
    method,
    path,
    token: () => token,
    valid: () => valid,
    wrongType,
    badTokens: () => [expiredIdToken(token)],
  });
  describeBodyChecks({
    "POST /account": publicCase(
      "/v1/providers/account",
      { company_name: "A", email: "a@example.com", password: "correct-horse-42" },
      { company_name: 7 },
    ),
    "POST /account/verify": publicCase("/v1/providers/account/verify", { token: "vt_x" }, { token: ["vt_x"] }),
    "POST /account/verify/resend": publicCase("/v1/providers/account/verify/resend", { email: "a@example.com" }, { email: true }),
    "POST /account/login": publicCase("/v1/providers/account/login", { email: "a@example.com", password: "x" }, { password: 1234 }),
    "POST /account/refresh": publicCase("/v1/providers/account/refresh", { refresh_token: "x" }, { refresh_token: {} }),
    "PATCH /account": authCase(
      "PATCH",
      () => "/v1/providers/account",
      { company_name: "A" },
      { notification_preferences: { quality_alerts: "yes" } },
    ),
    "POST /apps": authCase("POST", () => "/v1/providers/apps", { name: "A" }, { name: null }),
    "PATCH /apps/:id": authCase("PATCH", () => `/v1/providers/apps/${appId}`, { name: "A" }, { redirect_uris: [1] }),
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
