import { adminDb } from "../helpers/admin";
import { installBinding, uninstallBinding } from "../helpers/bindings";
import { capabilityPath, type PublishedCapability, publishedWeather } from "../helpers/capabilities";
import { api, type ApiResponse, expectError, expectStatus } from "../helpers/http";
import { createPackage, invocationsOf, useSampleProvider } from "../helpers/packages";
import { inParallel, type SurfaceProcess, startSurfaceProcesses, stopSurfaceProcesses } from "../helpers/surfaceProcesses";

const sample = useSampleProvider();
const USER = { id: "usr_test_1", locale: "de-DE", timezone: "Europe/Berlin" };
/** The descriptor's refresh interval; the sample runtime answers ttlSeconds 1800, so the effective TTL is 600. */
const REFRESH = 600;

const invocationDocs = async (capabilityKey: string) =>
  (await adminDb().collection("invocations").where("capabilityKey", "==", capabilityKey).get()).docs.map((d) => ({ id: d.id, ...d.data() }));

describe("capabilities: invoke, state, coalescing, history", () => {
  let w: PublishedCapability;
  const invoke = (body: unknown) => api.post(capabilityPath(w.ref, "invoke"), body, { token: w.access });
  const state = (bindingId: string) => api.get(`${capabilityPath(w.ref, "state")}?bindingId=${bindingId}`, { token: w.access });

  beforeAll(async () => {
    w = await publishedWeather(sample(), { refreshIntervalSeconds: REFRESH });
  }, 180_000);
  beforeEach(() => sample().reset());

  it("invokes the published version for a mock user, as the runtime contract says, and records it", async () => {
    const res = await invoke({ user: USER, parameters: { location: "Berlin", days: 2 } });
    expectStatus(200, res);
    expect(res.body.data).toEqual({
      capability: w.ref,
      bindingId: null,
      versionId: w.versionId,
      invocationId: expect.stringMatching(/^inv_[0-9A-Za-z]{20}$/),
      origin: "provider",
      data: { location: "Berlin", days: [expect.objectContaining({ date: expect.any(String) }), expect.any(Object)] },
      ttlSeconds: REFRESH,
      fetchedAt: expect.any(String),
      expiresAt: expect.any(String),
      latencyMs: expect.any(Number),
    });
    expect(new Date(res.body.data.expiresAt).getTime() - new Date(res.body.data.fetchedAt).getTime()).toBe(REFRESH * 1000);

    // What the runtime received: the contract's body, the auth profile's credentials, our request id.
    const [received] = invocationsOf(sample());
    expect(invocationsOf(sample())).toHaveLength(1);
    expect(received!.auth).toBe("api_key");
    expect(received!.headers["aiffinity-request-id"]).toBe(res.headers.get("x-request-id"));
    expect(received!.json).toEqual({
      requestId: res.headers.get("x-request-id"),
      capability: "weather_forecast",
      parameters: { location: "Berlin", days: 2 },
      user: USER,
      context: { surface: "api", source: "api" },
    });

    // Recorded: status, latency, sizes, no payload.
    const record = (await adminDb().collection("invocations").doc(res.body.data.invocationId).get()).data()!;
    expect(record).toEqual(
      expect.objectContaining({
        capabilityRef: w.ref,
        packageId: w.packageId,
        capabilityId: "weather_forecast",
        versionId: w.versionId,
        appId: w.app.id,
        accountId: w.accountId,
        bindingId: null,
        kind: "invoke",
        action: null,
        source: "api",
        status: "ok",
        httpStatus: 200,
        errorClass: null,
        errorMessage: null,
        requestBytes: Buffer.byteLength(received!.body),
      }),
    );
    expect(record.responseBytes).toBeGreaterThan(50);
    expect(JSON.stringify(record)).not.toContain("Berlin");

    // The runtime app's health report shows the last invocation.
    const runtime = await api.get(`/v1/providers/runtime/apps/${w.runtimeAppId}`, { token: w.access });
    expect(new Date(runtime.body.data.lastInvokedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it("validates parameters against the capability's input schema before calling the runtime", async () => {
    const wrong = await invoke({ user: USER, parameters: { location: "", days: 9 } });
    expect(expectError(wrong, 400, "VALIDATION_ERROR").message).toMatch(/^parameters\.location: /);
    const extra = await invoke({ user: USER, parameters: { location: "Berlin", color: "red" } });
    expect(expectError(extra, 400, "VALIDATION_ERROR").message).toMatch(/^parameters: must NOT have additional properties/);
    const missing = await invoke({ user: USER });
    expect(expectError(missing, 400, "VALIDATION_ERROR").message).toMatch(/^parameters: must have required property 'location'/);
    expect(sample().requests).toHaveLength(0);
  });

  it("refreshes a capability instance once however many invokes arrive together, then serves its fresh state", async () => {
    const binding = await installBinding(w, { location: "Lisbon", days: 3 });
    const empty = await state(binding.id);
    expectStatus(200, empty);
    expect(empty.body.data).toEqual(
      expect.objectContaining({
        bindingId: binding.id,
        status: "empty",
        data: null,
        fetchedAt: null,
        expiresAt: null,
        ttlRemainingSeconds: 0,
        refreshing: false,
        lastError: null,
      }),
    );

    // Eight concurrent invokes while the runtime takes 1.5 s: one call; the others join it (or, arriving later, find it fresh).
    sample().setFailure("slow", 1500);
    const results = await inParallel(8, 8, () => invoke({ bindingId: binding.id }));
    sample().setFailure("none");
    for (const r of results) expectStatus(200, r);
    expect(invocationsOf(sample())).toHaveLength(1);
    const ids = new Set(results.map((r) => r.body.data.invocationId));
    expect(ids.size).toBe(1);
    const origins = results.map((r) => r.body.data.origin);
    expect(origins.filter((o) => o === "provider")).toHaveLength(1);
    expect(origins.every((o) => ["provider", "coalesced", "cache"].includes(o))).toBe(true);
    expect(results[0]!.body.data).toEqual(
      expect.objectContaining({ bindingId: binding.id, data: expect.objectContaining({ location: "Lisbon" }), ttlSeconds: REFRESH }),
    );

    // The runtime saw the binding's parameters and the pseudonymous user id, never the Firebase uid.
    const [call] = invocationsOf(sample());
    expect(call!.json.user).toEqual({ id: binding.providerUserId });
    expect(call!.json.user.id).toMatch(/^usr_[\w-]{27}$/);
    expect(call!.body).not.toContain(binding.userId);
    expect(call!.json.context).toEqual({ surface: "widget", source: "api", installId: binding.installId });

    const fresh = await state(binding.id);
    expect(fresh.body.data).toEqual(
      expect.objectContaining({
        status: "fresh",
        data: results[0]!.body.data.data,
        versionId: w.versionId,
        invocationId: [...ids][0],
        ttlSeconds: REFRESH,
        refreshing: false,
        lastError: null,
      }),
    );
    expect(fresh.body.data.ttlRemainingSeconds).toBeGreaterThan(REFRESH - 60);
    expect(fresh.body.data.ttlRemainingSeconds).toBeLessThanOrEqual(REFRESH);

    // While fresh: served from the state; `refresh: true` calls the runtime anyway.
    const cached = await invoke({ bindingId: binding.id });
    expect(cached.body.data).toEqual(expect.objectContaining({ origin: "cache", invocationId: [...ids][0] }));
    expect(invocationsOf(sample())).toHaveLength(1);
    const forced = await invoke({ bindingId: binding.id, refresh: true });
    expect(forced.body.data.origin).toBe("provider");
    expect(forced.body.data.invocationId).not.toBe([...ids][0]);
    expect(invocationsOf(sample())).toHaveLength(2);

    // The binding's sync bookkeeping: next refresh one interval after the fetch.
    const doc = (await adminDb().collection("capabilityBindings").doc(binding.id).get()).data()!;
    expect(doc.consecutiveFailures).toBe(0);
    expect(doc.lastSyncAt.toMillis()).toBe(new Date(forced.body.data.fetchedAt).getTime());
    expect(doc.nextSyncAt.toMillis()).toBe(new Date(forced.body.data.fetchedAt).getTime() + REFRESH * 1000);

    // Each state change is an event for the realtime stream.
    const events = (await adminDb().collection("capabilityEvents").where("bindingId", "==", binding.id).get()).docs.map((d) => d.data());
    expect(events.map((e) => e.type)).toEqual(["state.updated", "state.updated"]);
  });

  it("expires the state after its TTL (driven by the stored fetch time) and refreshes it on the next invoke", async () => {
    const binding = await installBinding(w, { location: "Oslo" });
    const first = await invoke({ bindingId: binding.id });
    expect(first.body.data.origin).toBe("provider");

    // Age the data: fetched one second more than its TTL ago (the function's clock is not the test's).
    const fetchedAt = new Date(Date.now() - (REFRESH + 1) * 1000);
    await adminDb().collection("capabilityStates").doc(binding.id).update({ fetchedAt });
    const stale = await state(binding.id);
    expect(stale.body.data).toEqual(
      expect.objectContaining({
        status: "stale",
        ttlRemainingSeconds: 0,
        fetchedAt: fetchedAt.toISOString(),
        expiresAt: new Date(fetchedAt.getTime() + REFRESH * 1000).toISOString(),
      }),
    );
    // Stale data is still served by GET state; the next invoke refreshes it.
    expect(stale.body.data.data).toEqual(first.body.data.data);
    const again = await invoke({ bindingId: binding.id });
    expect(again.body.data.origin).toBe("provider");
    expect(invocationsOf(sample())).toHaveLength(2);
    expect((await state(binding.id)).body.data.status).toBe("fresh");

    // Five seconds before expiry it is still fresh: served from the state.
    await adminDb()
      .collection("capabilityStates")
      .doc(binding.id)
      .update({ fetchedAt: new Date(Date.now() - (REFRESH - 5) * 1000) });
    const cached = await invoke({ bindingId: binding.id });
    expect(cached.body.data.origin).toBe("cache");
    expect(invocationsOf(sample())).toHaveLength(2);
  });

  it("keeps the last good state when a refresh fails, with the failure and a backoff", async () => {
    const binding = await installBinding(w, { location: "Rome" });
    const good = await invoke({ bindingId: binding.id });
    expectStatus(200, good);
    sample().setFailure("error_500");
    const failed = await invoke({ bindingId: binding.id, refresh: true });
    expect(expectError(failed, 502, "PROVIDER_ERROR").message).toMatch(/HTTP 500 \(http_5xx; invocation inv_[0-9A-Za-z]{20}\)$/);
    const after = await state(binding.id);
    expect(after.body.data).toEqual(
      expect.objectContaining({
        status: "fresh",
        data: good.body.data.data,
        invocationId: good.body.data.invocationId,
        lastError: {
          invocationId: expect.stringMatching(/^inv_/),
          errorClass: "http_5xx",
          message: "The runtime answered HTTP 500",
          httpStatus: 500,
          at: expect.any(String),
        },
      }),
    );
    const doc = (await adminDb().collection("capabilityBindings").doc(binding.id).get()).data()!;
    expect(doc.consecutiveFailures).toBe(1);
    // First retry a minute after the failure (then doubling, never beyond the refresh interval).
    expect(doc.nextSyncAt.toMillis() - new Date(after.body.data.lastError.at).getTime()).toBe(60_000);
  });

  it("pages through the history newest first, with since, limit and bindingId", async () => {
    const before = new Date();
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await invoke({ user: USER, parameters: { location: `City ${i}` } });
      expectStatus(200, res);
      made.push(res.body.data.invocationId);
    }
    const since = `?since=${encodeURIComponent(before.toISOString())}`;
    const page1 = await api.get(`${capabilityPath(w.ref, "history")}${since}&limit=2`, { token: w.access });
    expectStatus(200, page1);
    expect(page1.body.data.map((i: { id: string }) => i.id)).toEqual([made[4], made[3]]);
    expect(page1.body.meta.pagination).toEqual({ total: 5, limit: 2, offset: 0, hasMore: true });
    expect(page1.body.data[0]).toEqual({
      id: made[4],
      capability: w.ref,
      bindingId: null,
      versionId: w.versionId,
      kind: "invoke",
      action: null,
      source: "api",
      status: "ok",
      httpStatus: 200,
      errorClass: null,
      errorMessage: null,
      latencyMs: expect.any(Number),
      requestBytes: expect.any(Number),
      responseBytes: expect.any(Number),
      at: expect.any(String),
    });
    const page3 = await api.get(`${capabilityPath(w.ref, "history")}${since}&limit=2&offset=4`, { token: w.access });
    expect(page3.body.data.map((i: { id: string }) => i.id)).toEqual([made[0]]);
    expect(page3.body.meta.pagination).toEqual({ total: 5, limit: 2, offset: 4, hasMore: false });

    // Default: the last 100; every invocation of the capability, newest first.
    const all = await api.get(capabilityPath(w.ref, "history"), { token: w.access });
    expect(all.body.meta.pagination.limit).toBe(100);
    const times = all.body.data.map((i: { at: string }) => new Date(i.at).getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(all.body.data.slice(0, 5).map((i: { id: string }) => i.id)).toEqual([...made].reverse());

    // One instance's history.
    const binding = await installBinding(w, { location: "Porto" });
    const own = await invoke({ bindingId: binding.id });
    const mine = await api.get(`${capabilityPath(w.ref, "history")}?bindingId=${binding.id}`, { token: w.access });
    expect(mine.body.data.map((i: { id: string }) => i.id)).toEqual([own.body.data.invocationId]);
    expect(mine.body.data[0]).toEqual(expect.objectContaining({ bindingId: binding.id, source: "api" }));

    expectError(await api.get(`${capabilityPath(w.ref, "history")}?limit=101`, { token: w.access }), 400, "VALIDATION_ERROR");
    expect(
      expectError(await api.get(`${capabilityPath(w.ref, "history")}?since=yesterday`, { token: w.access }), 400, "VALIDATION_ERROR").message,
    ).toMatch(/^query\.since/);
  });

  it("does not call a paused runtime: 409 RUNTIME_NOT_AVAILABLE, recorded", async () => {
    expectStatus(200, await api.patch(`/v1/providers/runtime/apps/${w.runtimeAppId}`, { status: "paused" }, { token: w.access }));
    try {
      const res = await invoke({ user: USER, parameters: { location: "Paris" } });
      expect(expectError(res, 409, "RUNTIME_NOT_AVAILABLE").message).toMatch(/is paused.*\(runtime_paused; invocation (inv_[0-9A-Za-z]{20})\)$/);
      const invocationId = /invocation (inv_\w+)/.exec(res.body.error.message)![1]!;
      expect(sample().requests).toHaveLength(0);
      const record = (await adminDb().collection("invocations").doc(invocationId).get()).data()!;
      expect(record).toEqual(
        expect.objectContaining({ status: "error", errorClass: "runtime_paused", httpStatus: null, latencyMs: 0, requestBytes: 0 }),
      );
    } finally {
      expectStatus(200, await api.patch(`/v1/providers/runtime/apps/${w.runtimeAppId}`, { status: "active" }, { token: w.access }));
    }
  });

  it("needs a published version for provider-initiated calls", async () => {
    const draft = await createPackage(w.token, w.app.id);
    const res = await api.post(
      capabilityPath(`${draft.pkg.slug}.weather_forecast`, "invoke"),
      { user: USER, parameters: { location: "Berlin" } },
      { token: w.access },
    );
    expect(expectError(res, 409, "CONFLICT").message).toMatch(/no published version.*sandbox/);
  });

  // Invoke and GET state start their reads with the app and account reads (the routes' prefetch):
  // nothing read early may be answered, and nothing may be called, before the caller is authorised.
  it("refuses a suspended account's or a revoked token's invoke and state at once, with no runtime call and no record", async () => {
    const p = await publishedWeather(sample(), {}, "Suspended Weather Ltd");
    const b = await installBinding(p, { location: "Oslo" });
    const calls = {
      fresh: () => api.post(capabilityPath(p.ref, "invoke"), { bindingId: b.id }, { token: p.access }),
      call: () => api.post(capabilityPath(p.ref, "invoke"), { user: USER, parameters: { location: "Oslo" } }, { token: p.access }),
      state: () => api.get(`${capabilityPath(p.ref, "state")}?bindingId=${b.id}`, { token: p.access }),
    };
    expectStatus(200, await calls.fresh());
    expect((await calls.fresh()).body.data.origin).toBe("cache");
    const recorded = (await invocationDocs(`${p.packageId}/weather_forecast`)).length;
    sample().reset();
    const accounts = adminDb().collection("accounts");

    await accounts.doc(p.accountId).update({ status: "suspended" });
    for (const call of Object.values(calls)) expect(expectError(await call(), 403, "FORBIDDEN").message).toMatch(/suspended/);
    await accounts.doc(p.accountId).update({ status: "active" });
    for (const call of Object.values(calls)) expectStatus(200, await call());
    expect(sample().requests.filter((r) => r.path.includes("/capabilities/"))).toHaveLength(1); // the call above
    sample().reset();

    expectStatus(200, await api.post(`/v1/providers/apps/${p.app.id}/rotate-secret`, { revoke_tokens: true }, { token: p.token }));
    for (const call of Object.values(calls)) expect(expectError(await call(), 401, "UNAUTHENTICATED").message).toMatch(/revoked/);
    expect(sample().requests.filter((r) => r.path.includes("/capabilities/"))).toHaveLength(0);
    expect(await invocationDocs(`${p.packageId}/weather_forecast`)).toHaveLength(recorded + 1);
  }, 180_000);

  it("answers 404 for unknown capabilities, other providers' capabilities and other capabilities' bindings", async () => {
    const other = await publishedWeather(sample(), {}, "Other Weather Ltd");
    const theirBinding = await installBinding(other, { location: "Nice" });
    sample().reset(); // the other package's conformance probes
    const notFound = async (res: Promise<ApiResponse>) => expectError(await res, 404, "NOT_FOUND");
    // Their capability with our token, ours with theirs.
    await notFound(api.post(capabilityPath(other.ref, "invoke"), { user: USER, parameters: { location: "Nice" } }, { token: w.access }));
    await notFound(api.get(`${capabilityPath(other.ref, "state")}?bindingId=${theirBinding.id}`, { token: w.access }));
    await notFound(api.get(capabilityPath(other.ref, "history"), { token: w.access }));
    await notFound(api.get(capabilityPath(w.ref, "history"), { token: other.access }));
    // Their binding on our capability.
    await notFound(invoke({ bindingId: theirBinding.id }));
    await notFound(state(theirBinding.id));
    // Unknown capability of our package, unknown package, malformed ids.
    await notFound(api.post(capabilityPath(`${w.slug}.no_such_capability`, "invoke"), { user: USER }, { token: w.access }));
    await notFound(api.get(capabilityPath(`${w.slug}.no_such_capability`, "history"), { token: w.access }));
    await notFound(api.get(capabilityPath("nobody-here.weather_forecast", "history"), { token: w.access }));
    await notFound(api.get(capabilityPath("no-dot-at-all", "history"), { token: w.access }));
    await notFound(state("bnd_doesNotExist000000000"));
    // A removed binding is gone for the API.
    const removed = await installBinding(w, { location: "Bern" });
    await uninstallBinding(removed);
    await notFound(invoke({ bindingId: removed.id }));
    expect(sample().requests.filter((r) => r.path.includes("/capabilities/"))).toHaveLength(0);
    // Nothing was recorded for our capability by any of the above.
    const records = await invocationDocs(`${other.packageId}/weather_forecast`);
    expect(records).toHaveLength(0);
  }, 180_000);
});

describe("capabilities: the runtime app's lastInvokedAt under concurrent invocations", () => {
  let w: PublishedCapability;
  let metered: SurfaceProcess[] = [];
  beforeAll(async () => {
    w = await publishedWeather(sample(), {}, "Concurrent Weather Ltd");
    metered = await startSurfaceProcesses(1, { surface: "capabilities", limits: false, meter: true });
  }, 180_000);
  afterAll(() => stopSurfaceProcesses(metered));

  it("is written once per instance, not by every call that read the old stamp", async () => {
    // Every call reads lastInvokedAt unset; each writing it queued them all on the document's lock.
    const answers = await inParallel(20, 20, () =>
      api.post(capabilityPath(w.ref, "invoke"), { user: USER, parameters: { location: "Berlin" } }, { token: w.access, baseUrl: metered[0]!.url }),
    );
    const writes = answers.map((res) => {
      expectStatus(200, res);
      return Number(/writes=(\d+)/.exec(res.headers.get("x-firestore-ops") ?? "")?.[1] ?? NaN);
    });
    // Each call writes its invocation record; one of them also the runtime app's stamp.
    expect(writes.reduce((a, b) => a + b, 0)).toBe(21);
    const runtime = await api.get(`/v1/providers/runtime/apps/${w.runtimeAppId}`, { token: w.access });
    expect(new Date(runtime.body.data.lastInvokedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
  }, 60_000);
});
