import { installBinding } from "../helpers/bindings";
import { CAPABILITIES, capabilityPath, type PublishedCapability, publishedWeather } from "../helpers/capabilities";
import { type BodyCase, describeBodyChecks } from "../helpers/badInput";
import { api, expectError, expectStatus } from "../helpers/http";
import { useSampleProvider } from "../helpers/packages";
import { expiredAccessToken } from "../helpers/tokens";

const sample = useSampleProvider();
const USER = { id: "usr_bad_input" };

/**
 * Every Provider Capabilities route fed the same bad inputs: each answers the documented error in
 * the envelope, and the runtime is never called.
 */
describe("Provider Capabilities: bad input on every route", () => {
  let w: PublishedCapability;
  let bindingId: string;
  let scenarioId: string;
  let expired: string;

  beforeAll(async () => {
    w = await publishedWeather(sample());
    bindingId = (await installBinding(w, { location: "Berlin" })).id;
    const scenario = await api.post(
      `${CAPABILITIES}/sandbox/scenarios`,
      { capability: w.ref, name: "ok", user: USER, parameters: { location: "Berlin" }, assertions: [{ type: "status", equals: 200 }] },
      { token: w.access },
    );
    expectStatus(201, scenario);
    scenarioId = scenario.body.data.id;
    expired = await expiredAccessToken(w.access);
    sample().reset();
  }, 180_000);
  afterAll(() => expect(sample().requests.filter((r) => r.path.startsWith("/capabilities/"))).toEqual([]));

  const bodyCase = (path: () => string, valid: () => Record<string, unknown>, wrongType: Record<string, unknown>): BodyCase => ({
    method: "POST",
    path,
    token: () => w.access,
    valid,
    wrongType,
    badTokens: () => ["not-a-jwt", expired],
  });
  describeBodyChecks({
    "POST /:id/invoke": bodyCase(
      () => capabilityPath(w.ref, "invoke"),
      () => ({ bindingId }),
      { refresh: "yes" },
    ),
    "POST /:id/action": bodyCase(
      () => capabilityPath(w.ref, "action"),
      () => ({ action: "none", user: USER }),
      { input: [] },
    ),
    "POST /sandbox/scenarios": bodyCase(
      () => `${CAPABILITIES}/sandbox/scenarios`,
      () => ({ capability: w.ref, name: "x", user: USER, parameters: { location: "Berlin" }, assertions: [{ type: "status", equals: 200 }] }),
      { assertions: { type: "status" } },
    ),
    "POST /sandbox/run": bodyCase(
      () => `${CAPABILITIES}/sandbox/run`,
      () => ({ scenarioId }),
      { scenarioId: 42 },
    ),
  });

  it("says why an expired token is refused", async () => {
    const old = await api.post(capabilityPath(w.ref, "invoke"), { bindingId }, { token: expired });
    expect(expectError(old, 401, "UNAUTHENTICATED").message).toMatch(/expired/);
  });

  type QueryCase = { path: () => string; valid: () => string; wrong: () => string; field: string };
  const queryCases: Record<string, QueryCase> = {
    "GET /:id/state": {
      path: () => capabilityPath(w.ref, "state"),
      valid: () => `?bindingId=${bindingId}`,
      wrong: () => "?bindingId=a%20b",
      field: "query.bindingId",
    },
    "GET /:id/history": { path: () => capabilityPath(w.ref, "history"), valid: () => "?limit=5", wrong: () => "?limit=many", field: "query.limit" },
    "GET /:id/realtime": {
      path: () => capabilityPath(w.ref, "realtime"),
      valid: () => `?bindingId=${bindingId}`,
      wrong: () => `?lastEventId=${"9".repeat(300)}`,
      field: "query.lastEventId",
    },
    "GET /sandbox/scenarios": {
      path: () => `${CAPABILITIES}/sandbox/scenarios`,
      valid: () => `?capability=${w.ref}`,
      wrong: () => "?capability=NOT%20A%20REF",
      field: "query.capability",
    },
    "GET /sandbox/traces": {
      path: () => `${CAPABILITIES}/sandbox/traces`,
      valid: () => "?limit=1",
      wrong: () => "?since=last-week",
      field: "query.since",
    },
  };

  describe.each(Object.entries(queryCases))("%s", (_name, c) => {
    it("answers a wrong-typed query parameter with 400 naming it", async () => {
      expect(expectError(await api.get(`${c.path()}${c.wrong()}`, { token: w.access }), 400, "VALIDATION_ERROR").message).toMatch(
        new RegExp(`^${c.field.replace(".", "\\.")}: `),
      );
    });
    it("answers missing, invalid and expired tokens with 401", async () => {
      expectError(await api.get(`${c.path()}${c.valid()}`), 401, "UNAUTHENTICATED");
      expectError(await api.get(`${c.path()}${c.valid()}`, { token: "not-a-jwt" }), 401, "UNAUTHENTICATED");
      expectError(await api.get(`${c.path()}${c.valid()}`, { token: expired }), 401, "UNAUTHENTICATED");
    });
  });

  it("needs bindingId for the state, and either bindingId or a user for invokes and actions", async () => {
    expect(expectError(await api.get(capabilityPath(w.ref, "state"), { token: w.access }), 400, "VALIDATION_ERROR").message).toBe(
      "query.bindingId: Required",
    );
    const noUser = await api.post(capabilityPath(w.ref, "invoke"), { parameters: { location: "Berlin" } }, { token: w.access });
    expect(expectError(noUser, 400, "VALIDATION_ERROR").message).toMatch(/^user: Required without bindingId/);
    const both = await api.post(capabilityPath(w.ref, "invoke"), { bindingId, user: USER, parameters: {} }, { token: w.access });
    expect(expectError(both, 400, "VALIDATION_ERROR").message).toBe(
      "user: Not allowed with bindingId: the binding's user is used; parameters: Not allowed with bindingId: the binding's parameters are used",
    );
    const refreshAlone = await api.post(
      capabilityPath(w.ref, "invoke"),
      { user: USER, parameters: { location: "x" }, refresh: true },
      { token: w.access },
    );
    expect(expectError(refreshAlone, 400, "VALIDATION_ERROR").message).toMatch(/^refresh: Only with bindingId/);
    const noUserAction = await api.post(capabilityPath(w.ref, "action"), { action: "x" }, { token: w.access });
    expect(expectError(noUserAction, 400, "VALIDATION_ERROR").message).toMatch(/^user: Required without bindingId/);
    const timezone = await api.post(
      capabilityPath(w.ref, "invoke"),
      { user: { id: "u1", timezone: "Mars/Olympus" }, parameters: { location: "x" } },
      { token: w.access },
    );
    expect(expectError(timezone, 400, "VALIDATION_ERROR").message).toMatch(/^user\.timezone: Must be an IANA time zone/);
  });

  it("answers unknown routes of the surface with 404 and wrong methods with 405", async () => {
    expectError(await api.get(`${CAPABILITIES}/sandbox/nothing`, { token: w.access }), 404, "NOT_FOUND");
    const wrongMethod = await api.delete(capabilityPath(w.ref, "invoke"), { token: w.access });
    expectError(wrongMethod, 405, "METHOD_NOT_ALLOWED");
    expect(wrongMethod.headers.get("allow")).toBe("POST, OPTIONS");
    // `sandbox` is never taken for a capability id.
    expectError(await api.get(`${CAPABILITIES}/sandbox/history`, { token: w.access }), 404, "NOT_FOUND");
  });
});
