import { adminDb } from "../helpers/admin";
import { CAPABILITIES, capabilityPath, type PublishedCapability, publishedWeather, taskList } from "../helpers/capabilities";
import { weatherForecast } from "../helpers/descriptors";
import { api, expectError, expectStatus } from "../helpers/http";
import { invocationsOf, MANAGE, useSampleProvider } from "../helpers/packages";

const sample = useSampleProvider();
const SCENARIOS = `${CAPABILITIES}/sandbox/scenarios`;
const RUN = `${CAPABILITIES}/sandbox/run`;
const TRACES = `${CAPABILITIES}/sandbox/traces`;
const USER = { id: "usr_sandbox_1", locale: "en-GB", timezone: "Europe/London" };

/** Everything production keeps about a capability: a sandbox run must change none of it. */
async function productionFootprint(p: PublishedCapability) {
  const key = `${p.packageId}/${p.capabilityId}`;
  const [invocations, states, events, runtime] = await Promise.all([
    adminDb().collection("invocations").where("capabilityKey", "==", key).get(),
    adminDb().collection("capabilityStates").where("capabilityKey", "==", key).get(),
    adminDb().collection("capabilityEvents").where("capabilityKey", "==", key).get(),
    adminDb().collection("runtimeApps").doc(p.runtimeAppId).get(),
  ]);
  return { invocations: invocations.size, states: states.size, events: events.size, lastInvokedAt: runtime.get("lastInvokedAt")?.toMillis() ?? null };
}

describe("capabilities sandbox: scenarios, runs and traces", () => {
  let w: PublishedCapability;
  const post = (path: string, body: unknown) => api.post(path, body, { token: w.access });
  const scenario = (overrides: Record<string, unknown> = {}) => ({
    capability: w.ref,
    name: "Berlin, two days",
    user: USER,
    parameters: { location: "Berlin", days: 2 },
    assertions: [
      { type: "status", equals: 200 },
      { type: "latency", lessThanMs: 2500 },
      { type: "jsonPath", path: "$.data.location", equals: "Berlin" },
      { type: "jsonPath", path: "$.data.days[1].date", matches: "^\\d{4}-\\d{2}-\\d{2}$" },
      { type: "jsonPath", path: "$.ttlSeconds", exists: true },
      { type: "jsonPath", path: "$.data.days[2]", exists: false },
      { type: "outputSchema" },
    ],
    ...overrides,
  });

  beforeAll(async () => {
    w = await publishedWeather(sample());
    // A signing secret, so the trace has a signature to redact.
    const hooks = await api.put(
      `/v1/providers/runtime/apps/${w.runtimeAppId}/webhook-profile`,
      { url: `${sample().url}/webhooks`, events: ["webhook.test"] },
      { token: w.access },
    );
    expectStatus(200, hooks);
    sample().setSigningSecrets([hooks.body.data.signingSecret]);
  }, 180_000);
  beforeEach(() => sample().reset());

  it("creates a scenario and runs it: a passing run, with every assertion's result and the redacted trace", async () => {
    const created = await post(SCENARIOS, scenario());
    expectStatus(201, created);
    expect(created.body.data).toEqual({
      id: expect.stringMatching(/^scn_[0-9A-Za-z]{20}$/),
      capability: w.ref,
      name: "Berlin, two days",
      description: null,
      versionId: null,
      kind: "invoke",
      action: null,
      user: USER,
      parameters: { location: "Berlin", days: 2 },
      input: null,
      assertions: scenario().assertions,
      createdAt: expect.any(String),
    });

    const before = await productionFootprint(w);
    const run = await post(RUN, { scenarioId: created.body.data.id });
    expectStatus(200, run);
    const trace = run.body.data;
    expect(trace).toEqual(
      expect.objectContaining({
        id: expect.stringMatching(/^trc_/),
        scenarioId: created.body.data.id,
        capability: w.ref,
        versionId: w.versionId,
        kind: "invoke",
        passed: true,
        latencyMs: expect.any(Number),
        error: null,
      }),
    );
    expect(trace.assertions.map((a: { passed: boolean }) => a.passed)).toEqual([true, true, true, true, true, true, true]);
    expect(trace.assertions[2]).toEqual({
      index: 2,
      type: "jsonPath",
      passed: true,
      expected: '$.data.location equals "Berlin"',
      actual: "Berlin",
      message: "Equal",
    });

    // The runtime was really called, exactly like production (credentials, signature), marked as a sandbox call.
    const [call] = invocationsOf(sample());
    expect(call!.auth).toBe("api_key");
    expect(call!.signatureValid).toBe(true);
    expect(call!.json).toEqual({
      requestId: run.headers.get("x-request-id"),
      capability: "weather_forecast",
      parameters: { location: "Berlin", days: 2 },
      user: USER,
      context: { surface: "api", source: "api", sandbox: true },
    });

    // The trace: the full exchange, credentials and signatures redacted.
    expect(trace.trace.request).toEqual({
      method: "POST",
      url: `${sample().url}/capabilities/weather_forecast/invoke`,
      headers: expect.objectContaining({
        accept: "application/json",
        "content-type": "application/json",
        "aiffinity-request-id": run.headers.get("x-request-id"),
        "x-api-key": "[redacted]",
        "webhook-signature": "[redacted]",
        "webhook-id": run.headers.get("x-request-id"),
      }),
      body: call!.json,
    });
    expect(JSON.stringify(trace)).not.toContain(sample().config.apiKey);
    expect(trace.trace.response).toEqual({
      status: 200,
      headers: expect.objectContaining({ "content-type": "application/json" }),
      body: { data: expect.objectContaining({ location: "Berlin" }), ttlSeconds: 1800 },
      bodyBytes: expect.any(Number),
      truncated: false,
    });

    // Production untouched: no history, state, events or last-invocation time.
    expect(await productionFootprint(w)).toEqual(before);
    const history = await api.get(capabilityPath(w.ref, "history"), { token: w.access });
    expect(history.body.data.filter((i: { id: string }) => i.id === trace.id)).toEqual([]);
    expect(history.body.meta.pagination.total).toBe(before.invocations);
  });

  it("reports a failing run: which assertions failed and why, with the trace", async () => {
    const created = await post(
      SCENARIOS,
      scenario({
        name: "Expecting the wrong city",
        assertions: [
          { type: "status", in: [200, 201] },
          { type: "jsonPath", path: "$.data.location", equals: "Paris" },
          { type: "jsonPath", path: "$.data.nowhere", exists: true },
          { type: "jsonPath", path: "$.data.location", matches: "^P" },
          { type: "latency", lessThanMs: 1 },
        ],
      }),
    );
    expectStatus(201, created);
    sample().setFailure("slow", 50);
    const run = await post(RUN, { scenarioId: created.body.data.id });
    sample().setFailure("none");
    expectStatus(200, run);
    expect(run.body.data.passed).toBe(false);
    expect(run.body.data.error).toBeNull();
    expect(run.body.data.assertions).toEqual([
      expect.objectContaining({ passed: true, expected: "status in 200, 201", actual: 200 }),
      expect.objectContaining({ passed: false, expected: '$.data.location equals "Paris"', actual: "Berlin", message: "Not equal" }),
      expect.objectContaining({ passed: false, actual: null, message: "Nothing at this path" }),
      expect.objectContaining({ passed: false, message: "Does not match" }),
      expect.objectContaining({ passed: false, expected: "latency under 1 ms", actual: expect.any(Number) }),
    ]);
    expect(run.body.data.trace.response.status).toBe(200);
  });

  it("turns runtime failures into failed runs with the error class, never into API errors", async () => {
    const created = await post(
      SCENARIOS,
      scenario({ name: "Under failure", assertions: [{ type: "status", equals: 200 }, { type: "outputSchema" }] }),
    );
    const id = created.body.data.id;
    sample().setFailure("invalid_output");
    const invalid = await post(RUN, { scenarioId: id });
    sample().setFailure("error_500");
    const failing = await post(RUN, { scenarioId: id });
    sample().setFailure("none");
    expectStatus(200, invalid);
    expect(invalid.body.data).toEqual(
      expect.objectContaining({ passed: false, error: { class: "output_invalid", message: expect.stringMatching(/outputSchema/) } }),
    );
    expect(invalid.body.data.assertions).toEqual([
      expect.objectContaining({ type: "status", passed: true }),
      expect.objectContaining({ type: "outputSchema", passed: false, actual: expect.stringMatching(/^\/location must be string/) }),
    ]);
    expectStatus(200, failing);
    expect(failing.body.data).toEqual(
      expect.objectContaining({ passed: false, error: { class: "http_5xx", message: "The runtime answered HTTP 500" } }),
    );
    expect(failing.body.data.trace.response).toEqual(
      expect.objectContaining({ status: 500, body: { error: { code: "INTERNAL", message: "Simulated failure" } } }),
    );

    // A scenario may also expect a failure.
    const expectsError = await post(SCENARIOS, scenario({ name: "Expects a 500", assertions: [{ type: "status", equals: 500 }] }));
    sample().setFailure("error_500");
    const passedOnError = await post(RUN, { scenarioId: expectsError.body.data.id });
    sample().setFailure("none");
    expect(passedOnError.body.data).toEqual(expect.objectContaining({ passed: true, error: expect.objectContaining({ class: "http_5xx" }) }));
  });

  it("runs any version of the provider's package, drafts included, before it is submitted", async () => {
    // A draft version 2 that adds the task list capability (not published, not even validated).
    const v2 = await api.post(
      `${MANAGE}/${w.packageId}/versions`,
      { capabilities: [weatherForecast(), taskList()], riskTier: "write_actions" },
      { token: w.token },
    );
    expectStatus(201, v2);
    const draftRef = `${w.slug}.task_list`;
    const created = await post(SCENARIOS, {
      capability: draftRef,
      name: "Create a task in the draft",
      kind: "action",
      action: "create_task",
      user: USER,
      input: { title: "From the sandbox" },
      assertions: [
        { type: "status", equals: 201 },
        { type: "jsonPath", path: "$.result.task.title", equals: "From the sandbox" },
      ],
    });
    expectStatus(201, created);
    expect(created.body.data).toEqual(
      expect.objectContaining({ kind: "action", action: "create_task", input: { title: "From the sandbox" }, parameters: null, versionId: null }),
    );
    const run = await post(RUN, { scenarioId: created.body.data.id });
    expectStatus(200, run);
    expect(run.body.data).toEqual(expect.objectContaining({ passed: true, versionId: v2.body.data.id, kind: "action", action: "create_task" }));
    expect(sample().requests.filter((r) => r.path === "/capabilities/task_list/actions/create_task")).toHaveLength(1);

    // Production still knows only the published version: no such capability there.
    expectError(await api.post(capabilityPath(draftRef, "invoke"), { user: USER }, { token: w.access }), 404, "NOT_FOUND");

    // Pinned to version 1, the draft's capability does not exist.
    const pinned = {
      capability: draftRef,
      name: "Pinned",
      kind: "action",
      action: "create_task",
      user: USER,
      input: { title: "x" },
      versionId: w.versionId,
      assertions: [{ type: "status", equals: 201 }],
    };
    expectError(await post(SCENARIOS, pinned), 404, "NOT_FOUND");
  });

  it("validates scenarios against the capability when they are created", async () => {
    const bad = await post(SCENARIOS, scenario({ parameters: { location: 7 } }));
    expect(expectError(bad, 400, "VALIDATION_ERROR").message).toMatch(/^parameters\.location: must be string/);
    const badPath = await post(SCENARIOS, scenario({ assertions: [{ type: "jsonPath", path: "data.location", exists: true }] }));
    expect(expectError(badPath, 400, "VALIDATION_ERROR").message).toMatch(/^assertions\.0\.path: Must be a JSON path/);
    const twoChecks = await post(SCENARIOS, scenario({ assertions: [{ type: "jsonPath", path: "$.a", exists: true, equals: 1 }] }));
    expect(expectError(twoChecks, 400, "VALIDATION_ERROR").message).toMatch(/exactly one of equals, exists or matches/);
    const badRegex = await post(SCENARIOS, scenario({ assertions: [{ type: "jsonPath", path: "$.a", matches: "([" }] }));
    expect(expectError(badRegex, 400, "VALIDATION_ERROR").message).toMatch(/Not a valid regular expression/);
    const unknownType = await post(SCENARIOS, scenario({ assertions: [{ type: "vibes" }] }));
    expectError(unknownType, 400, "VALIDATION_ERROR");
    const none = await post(SCENARIOS, scenario({ assertions: [] }));
    expectError(none, 400, "VALIDATION_ERROR");
    const email = await post(SCENARIOS, scenario({ user: { id: "jane@example.com" } }));
    expect(expectError(email, 400, "VALIDATION_ERROR").message).toMatch(/^user\.id: Must be a pseudonymous id/);
    const actionOnInvoke = await post(SCENARIOS, scenario({ action: "create_task" }));
    expect(expectError(actionOnInvoke, 400, "VALIDATION_ERROR").message).toMatch(/^action: Only for action scenarios/);
  });

  it("lists scenarios (?capability) and traces (?since, ?limit, ?capability), newest first, of the caller's app only", async () => {
    const since = new Date().toISOString();
    const a = (await post(SCENARIOS, scenario({ name: "A" }))).body.data;
    const b = (await post(SCENARIOS, scenario({ name: "B" }))).body.data;
    const runs = [];
    for (const s of [a, b, a]) runs.push((await post(RUN, { scenarioId: s.id })).body.data);

    const scenarios = await api.get(`${SCENARIOS}?capability=${w.ref}&limit=2`, { token: w.access });
    expectStatus(200, scenarios);
    expect(scenarios.body.data.map((s: { id: string }) => s.id)).toEqual([b.id, a.id]);
    expect(scenarios.body.meta.pagination).toEqual(expect.objectContaining({ limit: 2, offset: 0, hasMore: true }));
    const otherCapability = await api.get(`${SCENARIOS}?capability=${w.slug}.elsewhere`, { token: w.access });
    expect(otherCapability.body.data).toEqual([]);

    const traces = await api.get(`${TRACES}?since=${encodeURIComponent(since)}&limit=2&capability=${w.ref}`, { token: w.access });
    expectStatus(200, traces);
    expect(traces.body.data.map((t: { id: string }) => t.id)).toEqual([runs[2].id, runs[1].id]);
    expect(traces.body.meta.pagination).toEqual({ total: 3, limit: 2, offset: 0, hasMore: true });
    expect(traces.body.data[0]).toEqual(runs[2]);
    const later = await api.get(`${TRACES}?since=${encodeURIComponent(runs[2].createdAt)}`, { token: w.access });
    expect(later.body.data.map((t: { id: string }) => t.id)).toEqual([runs[2].id]);

    // Another provider sees none of it, and cannot run it.
    const other = await publishedWeather(sample(), {}, "Nosy Parker Ltd");
    expect((await api.get(SCENARIOS, { token: other.access })).body.data).toEqual([]);
    expect((await api.get(TRACES, { token: other.access })).body.data).toEqual([]);
    expectError(await api.post(RUN, { scenarioId: a.id }, { token: other.access }), 404, "NOT_FOUND");
    expectError(await api.post(SCENARIOS, scenario(), { token: other.access }), 404, "NOT_FOUND");
  }, 180_000);

  it("stops a catastrophic pattern instead of stalling", async () => {
    const created = await post(
      SCENARIOS,
      scenario({ assertions: [{ type: "jsonPath", path: "$.data.location", matches: "^(a+)+$" }], parameters: { location: `${"a".repeat(40)}!` } }),
    );
    expectStatus(201, created);
    const started = Date.now();
    const run = await post(RUN, { scenarioId: created.body.data.id });
    expectStatus(200, run);
    expect(run.body.data.assertions[0]).toEqual(expect.objectContaining({ passed: false, message: expect.stringMatching(/longer than 50 ms/) }));
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
