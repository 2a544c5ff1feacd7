import type { FirebaseUser } from "../../src/kernel/auth/principal";
import { mapLimit } from "../../src/kernel/concurrency";
import { countersOf, COUNTER_SHARDS } from "../../src/domain/catalog/counters";
import { foldCounters } from "../../src/jobs/catalogCounters";
import { CatalogService } from "../../src/surfaces/catalog/service";
import { adminDb } from "../helpers/admin";
import { endUser, INSTALLS, marketplace, MARKETPLACE } from "../helpers/catalog";
import { taskList, weatherForecast } from "../helpers/descriptors";
import { api, expectError, expectStatus, request } from "../helpers/http";
import { createPackage, eventually, listedPackage, MANAGE, packageProvider, useSampleProvider } from "../helpers/packages";
import { loadLocalSecretsIntoEnv } from "../helpers/secrets";
import { startSurfaceProcesses, stopSurfaceProcesses } from "../helpers/surfaceProcesses";
import { expiredIdToken } from "../helpers/tokens";

// In-process services derive the pseudonymous user ids with the emulator's key.
loadLocalSecretsIntoEnv();
const sample = useSampleProvider();

const bindingsOf = async (installId: string) =>
  (await adminDb().collection("capabilityBindings").where("installId", "==", installId).get()).docs.map(
    (d) => ({ id: d.id, ...d.data() }) as Record<string, any>,
  );
const eventsOf = async (accountId: string, type: string, packageId: string) =>
  (await adminDb().collection("providerEvents").where("accountId", "==", accountId).where("type", "==", type).get()).docs
    .map((d) => d.data())
    .filter((e) => e.data.packageId === packageId);
const installCount = async (token: string, packageId: string) => {
  const res = await api.get(`${MARKETPLACE}/${packageId}`, { token });
  expectStatus(200, res);
  return res.body.data.installCount as number;
};

/** A provider with a listed package of two capabilities (a scheduled one and an on-demand one) whose webhooks go to the sample provider. */
async function listedWithWebhooks() {
  const provider = await packageProvider(sample(), "Install Data Ltd");
  const hooks = await api.put(
    `/v1/providers/runtime/apps/${provider.runtime!.runtimeAppId}/webhook-profile`,
    { url: `${sample().url}/webhooks`, events: ["install.created", "install.deleted"] },
    { token: provider.runtime!.access },
  );
  expectStatus(200, hooks);
  sample().setSigningSecrets([hooks.body.data.signingSecret]);
  const packageId = await listedPackage(provider.token, provider.app.id, { capabilities: [weatherForecast(), taskList()] });
  return { ...provider, packageId };
}

describe("installing and uninstalling", () => {
  let provider: Awaited<ReturnType<typeof listedWithWebhooks>>;
  beforeAll(async () => {
    provider = await listedWithWebhooks();
  });

  it("installs a package with a binding per capability, tells the provider, and lists it with its freshness", async () => {
    const { packageId, accountId } = provider;
    const user = await endUser();
    const before = Date.now();
    const res = await api.post(`${MARKETPLACE}/${packageId}/install`, undefined, { token: user.token });
    expectStatus(201, res);
    const install = res.body.data;
    expect(install).toEqual({
      id: expect.stringMatching(/^inst_[0-9A-Za-z]{20}$/),
      packageId,
      packageName: "Acme Weather",
      slug: expect.any(String),
      version: { id: expect.any(String), version: "1.0.0" },
      status: "active",
      installedAt: expect.any(String),
      removedAt: null,
      dataRetentionPolicyUrl: "https://acme.example/privacy",
      capabilities: [
        {
          id: "weather_forecast",
          ref: `${install.slug}.weather_forecast`,
          name: "Weather forecast",
          bindingId: expect.stringMatching(/^bnd_/),
          parameters: { location: "Berlin", days: 3 },
          refreshIntervalSeconds: 1800,
          freshness: { status: "pending", lastSyncAt: null, nextSyncAt: install.installedAt, ageSeconds: null, consecutiveFailures: 0 },
        },
        {
          id: "task_list",
          ref: `${install.slug}.task_list`,
          name: "Task list",
          bindingId: expect.stringMatching(/^bnd_/),
          parameters: {},
          refreshIntervalSeconds: 0,
          freshness: { status: "on_demand", lastSyncAt: null, nextSyncAt: null, ageSeconds: null, consecutiveFailures: 0 },
        },
      ],
    });
    expect(new Date(install.installedAt).getTime()).toBeGreaterThanOrEqual(before - 1000);

    // The bindings (the engine's contract, capabilities/model.ts), with the pseudonymous id only the provider sees.
    const bindings = await bindingsOf(install.id);
    expect(bindings).toHaveLength(2);
    const weather = bindings.find((b) => b.capabilityId === "weather_forecast")!;
    expect(weather).toEqual(
      expect.objectContaining({
        installId: install.id,
        userId: user.uid,
        providerUserId: expect.stringMatching(/^usr_/),
        accountId,
        appId: provider.app.id,
        packageId,
        versionId: install.version.id,
        capabilityKey: `${packageId}/weather_forecast`,
        capabilityRef: `${install.slug}.weather_forecast`,
        status: "active",
        refreshIntervalSeconds: 1800,
        consecutiveFailures: 0,
        lastSyncAt: null,
      }),
    );
    expect(weather.nextSyncAt.toDate().toISOString()).toBe(install.installedAt);

    // install.created, in the outbox and at the provider's webhook endpoint; no user identity but the pseudonym.
    const [event] = await eventsOf(accountId, "install.created", packageId);
    expect(event!.data).toEqual({
      packageId,
      installId: install.id,
      versionId: install.version.id,
      version: "1.0.0",
      capabilities: ["weather_forecast", "task_list"],
      user: { id: weather.providerUserId },
    });
    expect(JSON.stringify(event)).not.toContain(user.uid);
    const delivered = await eventually(() =>
      sample().webhooks.find((w) => w.json?.type === "install.created" && w.json.data.installId === install.id),
    );
    expect(delivered.signatureValid).toBe(true);

    // The listing counts it and knows it is installed; the user's installs list it.
    const listing = await api.get(`${MARKETPLACE}/${packageId}`, { token: user.token });
    expect(listing.body.data).toEqual(expect.objectContaining({ installCount: 1, installed: true }));
    expect((await api.get(`${MARKETPLACE}/${packageId}`, { token: (await endUser()).token })).body.data.installed).toBe(false);
    const mine = await api.get(INSTALLS, { token: user.token });
    expectStatus(200, mine);
    expect(mine.body.data).toEqual([install]);
    expect(mine.body.meta.pagination).toEqual({ total: 1, limit: 20, offset: 0, hasMore: false });
    // Nobody else sees it.
    expect((await api.get(INSTALLS, { token: (await endUser()).token })).body.data).toEqual([]);

    // The provider's own package view reads the same exact count.
    expect((await api.get(`${MANAGE}/${packageId}`, { token: provider.token })).body.data.installCount).toBe(1);

    // Uninstall: bindings removed and unscheduled, the count back down, the provider told with its retention policy.
    const removed = await api.delete(`${MARKETPLACE}/${packageId}/install`, { token: user.token });
    expectStatus(200, removed);
    expect(removed.body.data).toEqual(
      expect.objectContaining({
        id: install.id,
        status: "removed",
        removedAt: expect.any(String),
        dataRetentionPolicyUrl: "https://acme.example/privacy",
        capabilities: [
          expect.objectContaining({ id: "weather_forecast", freshness: expect.objectContaining({ status: "removed", nextSyncAt: null }) }),
          expect.objectContaining({ id: "task_list", freshness: expect.objectContaining({ status: "removed" }) }),
        ],
      }),
    );
    for (const b of await bindingsOf(install.id)) expect(b).toEqual(expect.objectContaining({ status: "removed", nextSyncAt: null }));
    const [deleted] = await eventsOf(accountId, "install.deleted", packageId);
    expect(deleted!.data).toEqual({
      packageId,
      installId: install.id,
      user: { id: weather.providerUserId },
      dataRetentionPolicyUrl: "https://acme.example/privacy",
    });
    await eventually(() => sample().webhooks.find((w) => w.json?.type === "install.deleted" && w.json.data.installId === install.id));
    expect(await installCount(user.token, packageId)).toBe(0);
    expect((await api.get(INSTALLS, { token: user.token })).body.data).toEqual([]);
    expect((await api.get(`${MARKETPLACE}/${packageId}`, { token: user.token })).body.data.installed).toBe(false);
    expectError(await api.delete(`${MARKETPLACE}/${packageId}/install`, { token: user.token }), 404, "NOT_FOUND");

    // Installing again is a new install (a new id for the provider), counted again.
    const again = await api.post(`${MARKETPLACE}/${packageId}/install`, {}, { token: user.token });
    expectStatus(201, again);
    expect(again.body.data.id).not.toBe(install.id);
    expect(await installCount(user.token, packageId)).toBe(1);
  });

  it("shows each capability's freshness once the engine fetched its data, and deletes the cached state on uninstall", async () => {
    const { packageId } = provider;
    const user = await endUser();
    const res = await api.post(
      `${MARKETPLACE}/${packageId}/install`,
      { parameters: { weather_forecast: { location: "Tromsø" } } },
      { token: user.token },
    );
    expectStatus(201, res);
    const weather = res.body.data.capabilities.find((c: { id: string }) => c.id === "weather_forecast");
    // The provider refreshes the instance through the Capabilities API: the engine caches its state.
    const invoked = await api.post(
      `/v1/providers/capabilities/${weather.ref}/invoke`,
      { bindingId: weather.bindingId },
      { token: provider.runtime!.access },
    );
    expectStatus(200, invoked);
    expect(invoked.body.data.data).toEqual(expect.objectContaining({ location: "Tromsø" }));
    const stateRef = adminDb().collection("capabilityStates").doc(weather.bindingId);
    expect((await stateRef.get()).exists).toBe(true);
    const [listed] = (await api.get(INSTALLS, { token: user.token })).body.data;
    const freshness = listed.capabilities.find((c: { id: string }) => c.id === "weather_forecast").freshness;
    expect(freshness).toEqual(expect.objectContaining({ status: "fresh", consecutiveFailures: 0, lastSyncAt: expect.any(String) }));
    expect(freshness.ageSeconds).toBeLessThan(60);

    expectStatus(200, await api.delete(`${MARKETPLACE}/${packageId}/install`, { token: user.token }));
    expect((await stateRef.get()).exists).toBe(false);
    const events = await adminDb().collection("capabilityEvents").where("bindingId", "==", weather.bindingId).get();
    expect(events.docs.map((d) => d.get("type"))).toContain("state.deleted");
    // The provider can no longer refresh it.
    expectError(
      await api.post(`/v1/providers/capabilities/${weather.ref}/invoke`, { bindingId: weather.bindingId }, { token: provider.runtime!.access }),
      404,
      "NOT_FOUND",
    );
  });

  it("is idempotent: installing twice answers the same install and counts it once", async () => {
    const user = await endUser();
    const first = await api.post(`${MARKETPLACE}/${provider.packageId}/install`, undefined, { token: user.token });
    expectStatus(201, first);
    const countAfterFirst = await installCount(user.token, provider.packageId);
    const second = await api.post(
      `${MARKETPLACE}/${provider.packageId}/install`,
      { parameters: { weather_forecast: { location: "Oslo" } } },
      { token: user.token },
    );
    expectStatus(200, second);
    expect(second.body.data).toEqual(first.body.data);
    expect(await installCount(user.token, provider.packageId)).toBe(countAfterFirst);
    expect(await bindingsOf(first.body.data.id)).toHaveLength(2);
    expect(
      await eventsOf(provider.accountId, "install.created", provider.packageId).then((e) => e.filter((x) => x.data.installId === first.body.data.id)),
    ).toHaveLength(1);
  });

  it("takes parameters per capability, validated against the capability's input schema", async () => {
    const user = await endUser();
    const path = `${MARKETPLACE}/${provider.packageId}/install`;
    const bad = expectError(
      await api.post(path, { parameters: { weather_forecast: { location: "Oslo", days: 99 } } }, { token: user.token }),
      400,
      "VALIDATION_ERROR",
    );
    expect(bad.message).toContain("parameters.weather_forecast.days");
    const missing = expectError(
      await api.post(path, { parameters: { weather_forecast: { days: 2 } } }, { token: user.token }),
      400,
      "VALIDATION_ERROR",
    );
    expect(missing.message).toContain("parameters.weather_forecast");
    const unknown = expectError(await api.post(path, { parameters: { radar: {} } }, { token: user.token }), 400, "VALIDATION_ERROR");
    expect(unknown.message).toContain("parameters.radar: The package has no capability with this id");
    expect((await api.get(INSTALLS, { token: user.token })).body.data).toEqual([]);

    const res = await api.post(path, { parameters: { weather_forecast: { location: "Lisboa", days: 5 } } }, { token: user.token });
    expectStatus(201, res);
    expect(res.body.data.capabilities.map((c: { parameters: unknown }) => c.parameters)).toEqual([{ location: "Lisboa", days: 5 }, {}]);
  });

  it("refuses packages that are not in the catalog", async () => {
    const user = await endUser();
    const draft = await createPackage(provider.token, provider.app.id);
    expectError(await api.post(`${MARKETPLACE}/${draft.id}/install`, undefined, { token: user.token }), 404, "NOT_FOUND");
    expectError(await api.post(`${MARKETPLACE}/pkg_00000000000000000000/install`, undefined, { token: user.token }), 404, "NOT_FOUND");
    expectError(await api.post(`${MARKETPLACE}/nope/install`, undefined, { token: user.token }), 404, "NOT_FOUND");
    expectError(await api.delete(`${MARKETPLACE}/${draft.id}/install`, { token: user.token }), 404, "NOT_FOUND");
  });

  it("keeps existing installs of a deprecated package and refuses new ones", async () => {
    const other = await packageProvider(sample(), "Deprecating Ltd");
    const packageId = await listedPackage(other.token, other.app.id);
    const early = await endUser();
    expectStatus(201, await api.post(`${MARKETPLACE}/${packageId}/install`, undefined, { token: early.token }));
    expectStatus(200, await api.post(`${MANAGE}/${packageId}/deprecate`, { reason: "Sunset" }, { token: other.token }));

    const late = await endUser();
    expectError(await api.post(`${MARKETPLACE}/${packageId}/install`, undefined, { token: late.token }), 404, "NOT_FOUND");
    expectError(await api.get(`${MARKETPLACE}/${packageId}`, { token: late.token }), 404, "NOT_FOUND");
    // The user who has it still sees it (flagged) and can install again idempotently or uninstall.
    const seen = await api.get(`${MARKETPLACE}/${packageId}`, { token: early.token });
    expectStatus(200, seen);
    expect(seen.body.data).toEqual(expect.objectContaining({ deprecated: true, installable: false, installed: true }));
    expectStatus(200, await api.post(`${MARKETPLACE}/${packageId}/install`, undefined, { token: early.token }));
    expect((await api.get(INSTALLS, { token: early.token })).body.data).toEqual([expect.objectContaining({ packageId, status: "active" })]);
    expectStatus(200, await api.delete(`${MARKETPLACE}/${packageId}/install`, { token: early.token }));
  });

  it("pages the user's installs, newest first", async () => {
    const other = await packageProvider(sample(), "Paging Ltd");
    const second = await listedPackage(other.token, other.app.id);
    const user = await endUser();
    expectStatus(201, await api.post(`${MARKETPLACE}/${provider.packageId}/install`, undefined, { token: user.token }));
    expectStatus(201, await api.post(`${MARKETPLACE}/${second}/install`, undefined, { token: user.token }));
    const page = await api.get(`${INSTALLS}?limit=1`, { token: user.token });
    expectStatus(200, page);
    expect(page.body.data.map((i: { packageId: string }) => i.packageId)).toEqual([second]);
    expect(page.body.meta.pagination).toEqual({ total: 2, limit: 1, offset: 0, hasMore: true });
    const next = await api.get(`${INSTALLS}?limit=1&offset=1`, { token: user.token });
    expect(next.body.data.map((i: { packageId: string }) => i.packageId)).toEqual([provider.packageId]);
    expectError(await api.get(`${INSTALLS}?limit=0`, { token: user.token }), 400, "VALIDATION_ERROR");
  });
});

describe("install counts under concurrency", () => {
  let provider: Awaited<ReturnType<typeof packageProvider>>;
  let packageId: string;
  beforeAll(async () => {
    provider = await packageProvider(sample(), "Popular Ltd");
    packageId = await listedPackage(provider.token, provider.app.id);
  });

  it("counts concurrent installs by many users exactly, across function instances, duplicates included", async () => {
    // Four processes serving the catalog surface stand in for four function instances (the emulator runs one).
    const instances = await startSurfaceProcesses(4, { surface: "catalog" });
    try {
      const users = await mapLimit(Array.from({ length: 40 }), 8, () => endUser());
      const at = (n: number) => ({ baseUrl: instances[n % instances.length]!.url });
      // Every user installs twice, all at once, on two different instances.
      const responses = await Promise.all(
        users.flatMap((u, i) => [0, 1].map((k) => api.post(`${MARKETPLACE}/${packageId}/install`, undefined, { token: u.token, ...at(2 * i + k) }))),
      );
      expect(responses.map((r) => r.status).sort()).toEqual([...Array(40).fill(200), ...Array(40).fill(201)]);
      // One install per user, whichever request created it.
      for (const [i] of users.entries()) expect(responses[2 * i]!.body.data.id).toBe(responses[2 * i + 1]!.body.data.id);
      expect(await installCount(users[0]!.token, packageId)).toBe(40);

      // Half of them uninstall, concurrently, each twice: one succeeds, the other finds nothing to remove.
      const removals = await Promise.all(
        users
          .slice(0, 20)
          .flatMap((u, i) => [0, 1].map((k) => api.delete(`${MARKETPLACE}/${packageId}/install`, { token: u.token, ...at(2 * i + k + 1) }))),
      );
      expect(removals.map((r) => r.status).sort()).toEqual([...Array(20).fill(200), ...Array(20).fill(404)]);
      expect(await installCount(users[0]!.token, packageId)).toBe(20);
    } finally {
      stopSurfaceProcesses(instances);
    }
  }, 120_000);

  it("holds at hundreds of concurrent installs (in-process, distinct users): no update is lost", async () => {
    const service = new CatalogService();
    const users: FirebaseUser[] = Array.from({ length: 300 }, (_, i) => ({
      kind: "user",
      uid: `load-${packageId}-${i}`,
      email: null,
      emailVerified: true,
      claims: {},
    }));
    const before = (await countersOf([packageId])).get(packageId)!.installs;
    const started = Date.now();
    const results = await Promise.all(users.map((u) => service.install(u, packageId, {})));
    const seconds = (Date.now() - started) / 1000;
    expect(results.every((r) => r.created)).toBe(true);
    const after = (await countersOf([packageId])).get(packageId)!.installs;
    expect(after - before).toBe(300);
    // The increments spread over the shards instead of one hot document.
    const shards = await adminDb().collection("catalogCounterShards").where("packageId", "==", packageId).get();
    expect(shards.size).toBeGreaterThan(COUNTER_SHARDS / 2);
    expect(shards.size).toBeLessThanOrEqual(COUNTER_SHARDS);
    // Informational: the emulator's rate (production Firestore differs).
    process.stdout.write(`300 concurrent installs in ${seconds.toFixed(1)} s (${Math.round(300 / seconds)}/s on the emulator)\n`);

    // The fold copies the exact count into the listing's sort key; popular browsing ranks by it.
    await foldCounters(new Date());
    const listing = (await adminDb().collection("catalogListings").doc(packageId).get()).data()!;
    expect(listing.installCount).toBe(after);
    const dirty = await adminDb().collection("catalogCounterShards").where("packageId", "==", packageId).where("dirty", "==", true).get();
    expect(dirty.size).toBe(0);
    const user = await endUser();
    const top = await marketplace(user.token, { sort: "popular", limit: 100 });
    const position = top.body.data.findIndex((l: { id: string }) => l.id === packageId);
    expect(position).toBeGreaterThanOrEqual(0);
    for (const l of top.body.data.slice(position + 1)) expect(l.installCount).toBeLessThanOrEqual(after);
  }, 120_000);
});

describe("install routes: bad input", () => {
  let token: string;
  let packageId: string;
  beforeAll(async () => {
    const provider = await packageProvider(sample(), "Bad Input Ltd");
    packageId = await listedPackage(provider.token, provider.app.id);
    token = (await endUser()).token;
  });
  const install = () => `${MARKETPLACE}/${packageId}/install`;
  const json = { "content-type": "application/json" };

  it("answers malformed JSON, wrong types, unknown fields, oversized and non-JSON bodies", async () => {
    expectError(await request("POST", install(), { token, raw: '{"parameters": ', headers: json }), 400, "INVALID_JSON");
    expect(expectError(await api.post(install(), { parameters: "Berlin" }, { token }), 400, "VALIDATION_ERROR").message).toContain("parameters");
    expect(
      expectError(await api.post(install(), { parameters: { weather_forecast: "Berlin" } }, { token }), 400, "VALIDATION_ERROR").message,
    ).toContain("parameters.weather_forecast");
    expect(expectError(await api.post(install(), { surprise: 1 }, { token }), 400, "VALIDATION_ERROR").message).toContain("surprise: Unknown field");
    expectError(
      await api.post(install(), { parameters: { weather_forecast: { location: "x".repeat(1_200_000) } } }, { token }),
      413,
      "PAYLOAD_TOO_LARGE",
    );
    expectError(
      await request("POST", install(), { token, raw: "parameters=x", headers: { "content-type": "application/x-www-form-urlencoded" } }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    expect((await api.get(INSTALLS, { token })).body.data).toEqual([]);
  });

  it("needs a valid Firebase ID token on every route", async () => {
    const routes: [string, string][] = [
      ["POST", install()],
      ["DELETE", install()],
      ["GET", INSTALLS],
      ["GET", `${MARKETPLACE}/${packageId}`],
    ];
    for (const [method, path] of routes) {
      expectError(await request(method, path), 401, "UNAUTHENTICATED");
      const expired = await request(method, path, { token: expiredIdToken(token) });
      expectError(expired, 401, "UNAUTHENTICATED");
      expect(expired.headers.get("www-authenticate")).toContain('error="invalid_token"');
      expectError(await request(method, path, { token: "garbage" }), 401, "UNAUTHENTICATED");
    }
  });

  it("does not let a user uninstall another user's install", async () => {
    const owner = await endUser();
    expectStatus(201, await api.post(install(), undefined, { token: owner.token }));
    expectError(await api.delete(install(), { token }), 404, "NOT_FOUND");
    expect((await api.get(INSTALLS, { token: owner.token })).body.data).toHaveLength(1);
  });
});
