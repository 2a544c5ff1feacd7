import functionsTest from "firebase-functions-test";
import type { FirebaseUser } from "../../src/kernel/auth/principal";
import { fixedClock, MINUTE } from "../../src/kernel/clock";
import { newId } from "../../src/kernel/crypto";
import type { Binding, BindingDoc } from "../../src/domain/capabilities/binding";
import { CatalogService } from "../../src/surfaces/catalog/service";
import {
  CatalogSync,
  catalogSyncs,
  DISPATCH_LEASE_MS,
  invokerSync,
  MAX_DUE_PER_RUN,
  SYNC_RATE_PER_APP,
  SYNC_RUN_LEASE_MS,
  type SyncEngine,
  type SyncMessage,
} from "../../src/jobs/catalogSync";
import { adminDb } from "../helpers/admin";
import { taskList, weatherForecast } from "../helpers/descriptors";
import { PROJECT_ID } from "../helpers/env";
import { HoldingPublisher } from "../helpers/inProcess";
import { eventually, invocationsOf, listedPackage, packageProvider, useSampleProvider } from "../helpers/packages";
import { loadLocalSecretsIntoEnv } from "../helpers/secrets";

const testEnv = functionsTest({ projectId: PROJECT_ID });
loadLocalSecretsIntoEnv();
const sample = useSampleProvider();
afterAll(() => testEnv.cleanup());

/**
 * The data sync's scheduler and worker, driven in this process with a controllable clock, with the
 * real engine (calling the sample provider) or one that records what it is asked to invoke and, as
 * the engine does when it skips a binding, leaves the schedule to the worker. Each test lives in its
 * own past year, so the scheduler (which takes every due binding of the database) sees only that
 * test's bindings, never those of the other test files (due now); they are removed after each test.
 */
class RecordingEngine implements SyncEngine {
  readonly calls: Binding[] = [];
  constructor(private answer: (b: Binding) => Promise<boolean> | boolean = () => true) {}
  async invokeBinding(binding: Binding) {
    this.calls.push(binding);
    return { ok: await this.answer(binding), scheduled: false };
  }
}

const at = (base: Date, ms: number) => new Date(base.getTime() + ms);
const syncAt = (now: Date, engine: SyncEngine, publisher: HoldingPublisher, extra: Partial<ConstructorParameters<typeof CatalogSync>[0]> = {}) =>
  new CatalogSync({ engine, publisher, clock: fixedClock(now), random: () => 0.5, sleep: async () => undefined, ...extra });
const bindingDoc = async (id: string) => (await adminDb().collection("capabilityBindings").doc(id).get()).data()!;
const millis = (value: { toMillis(): number } | null) => value?.toMillis() ?? null;
const messagesOf = (held: HoldingPublisher) =>
  held.messages.filter((m) => m.topic === catalogSyncs.name).map((m) => m.message as unknown as SyncMessage);
const user = (): FirebaseUser => ({ kind: "user", uid: newId("sync"), email: null, emailVerified: true, claims: {} });

let packageId: string;
beforeAll(async () => {
  const provider = await packageProvider(sample(), "Sync Ltd");
  packageId = await listedPackage(provider.token, provider.app.id, { capabilities: [weatherForecast(), taskList()] });
});

afterEach(async () => {
  const writer = adminDb().bulkWriter();
  const old = await adminDb().collection("capabilityBindings").where("nextSyncAt", "<", new Date("2000-01-01")).get();
  for (const doc of old.docs) void writer.update(doc.ref, { status: "removed", nextSyncAt: null });
  await writer.close();
});

/** Installs the package for a new user at `now`; returns the scheduled (weather) and on-demand (tasks) binding ids. */
async function installAt(now: Date, parameters: Record<string, Record<string, unknown>> = {}) {
  const { install } = await new CatalogService(fixedClock(now)).install(user(), packageId, { parameters });
  const [weather, tasks] = install.capabilities.map((c) => c.bindingId);
  return { install, weather: weather!, tasks: tasks! };
}

describe("data sync", () => {
  it("claims due bindings, syncs each once however often its message is delivered, through the engine to the provider, and schedules the next sync", async () => {
    const T = new Date("1971-03-01T10:00:00Z");
    const { weather, install } = await installAt(T, { weather_forecast: { location: "Porto" } });
    const held = new HoldingPublisher();

    // The on-demand capability is never scheduled; the other one is due at once.
    expect(await syncAt(at(T, 30_000), invokerSync, held).dispatchDue(at(T, 30_000))).toEqual({ due: 1, dispatched: 1, deferred: 0, messages: 1 });
    const [message] = messagesOf(held);
    const lease = T.getTime() + 30_000 + DISPATCH_LEASE_MS;
    expect(message).toEqual({ delayMs: 0, bindings: [{ id: weather, lease }] });
    expect(millis((await bindingDoc(weather)).nextSyncAt)).toBe(lease);
    // Claimed: the next run does not dispatch it again.
    expect((await syncAt(at(T, 60_000), invokerSync, held).dispatchDue(at(T, 60_000))).due).toBe(0);

    // Two deliveries at once and a late third: one call of the provider.
    const before = invocationsOf(sample()).length;
    const worker = syncAt(at(T, 40_000), invokerSync, held);
    const results = await Promise.all([worker.runMessage({ json: message, messageId: "m1" }), worker.runMessage({ json: message, messageId: "m1" })]);
    expect(results.flat().sort()).toEqual(["stale", "synced"]);
    expect(await worker.runMessage({ json: message, messageId: "m2" })).toEqual(["stale"]);
    const calls = invocationsOf(sample()).slice(before);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.json).toEqual(
      expect.objectContaining({
        parameters: { location: "Porto" },
        user: { id: install.providerUserId },
        context: expect.objectContaining({ source: "sync", installId: install.installId }),
      }),
    );

    // The state is cached, the call is in the provider's history (source sync), and the next sync is one interval after the fetch.
    const state = (await adminDb().collection("capabilityStates").doc(weather).get()).data()!;
    expect(JSON.parse(state.dataJson)).toEqual(expect.objectContaining({ location: "Porto" }));
    const history = await adminDb().collection("invocations").where("bindingId", "==", weather).get();
    expect(history.docs.map((d) => d.data())).toEqual([expect.objectContaining({ source: "sync", status: "ok", kind: "invoke", packageId })]);
    const synced = await bindingDoc(weather);
    const next = T.getTime() + 40_000 + 1800 * 1000;
    expect({ next: millis(synced.nextSyncAt), last: millis(synced.lastSyncAt), failures: synced.consecutiveFailures }).toEqual({
      next,
      last: T.getTime() + 40_000,
      failures: 0,
    });
    expect((await syncAt(new Date(next - 1), invokerSync, held).dispatchDue(new Date(next - 1))).due).toBe(0);
    expect((await syncAt(new Date(next), invokerSync, held).dispatchDue(new Date(next))).dispatched).toBe(1);
  });

  it("backs off when the provider fails, records the failure in its history, and resets on success", async () => {
    const T = new Date("1975-03-01T10:00:00Z");
    const { weather } = await installAt(T, { weather_forecast: { location: "Faro" } });
    const held = new HoldingPublisher();
    let now = T;
    const cycle = async () => {
      await syncAt(now, invokerSync, held).dispatchDue(now);
      const results = await syncAt(now, invokerSync, held).runMessage({ json: messagesOf(held).at(-1), messageId: `m-${now.getTime()}` });
      const doc = await bindingDoc(weather);
      return {
        results,
        failures: doc.consecutiveFailures as number,
        delay: millis(doc.nextSyncAt)! - now.getTime(),
        next: new Date(millis(doc.nextSyncAt)!),
      };
    };
    sample().setFailure("error_500");
    try {
      // 1 minute, then 2, then 4.
      for (const [failures, minutes] of [
        [1, 1],
        [2, 2],
        [3, 4],
      ] as const) {
        const c = await cycle();
        expect(c).toEqual(expect.objectContaining({ results: ["failed"], failures, delay: minutes * MINUTE }));
        now = c.next;
      }
    } finally {
      sample().setFailure("none");
    }
    const success = await cycle();
    expect(success).toEqual(expect.objectContaining({ results: ["synced"], failures: 0, delay: 1800 * 1000 }));
    const history = await adminDb().collection("invocations").where("bindingId", "==", weather).get();
    const records = history.docs.map((d) => d.data()).sort((x, y) => x.at.toMillis() - y.at.toMillis());
    expect(records.map((r) => [r.source, r.status, r.errorClass, r.httpStatus])).toEqual([
      ["sync", "error", "http_5xx", 500],
      ["sync", "error", "http_5xx", 500],
      ["sync", "error", "http_5xx", 500],
      ["sync", "ok", null, 200],
    ]);
  });

  it("backs off by the same rule when the engine did not call the provider (our failure), and resets on success", async () => {
    const T = new Date("1972-03-01T10:00:00Z");
    const { weather } = await installAt(T);
    const held = new HoldingPublisher();
    let now = T;
    const cycle = async (engine: SyncEngine) => {
      await syncAt(now, engine, held).dispatchDue(now);
      const results = await syncAt(now, engine, held).runMessage({ json: messagesOf(held).at(-1), messageId: `m-${now.getTime()}` });
      const doc = await bindingDoc(weather);
      return {
        results,
        failures: doc.consecutiveFailures as number,
        delay: millis(doc.nextSyncAt)! - now.getTime(),
        next: new Date(millis(doc.nextSyncAt)!),
      };
    };
    const throwing = new RecordingEngine(() => {
      throw new Error("engine bug");
    });
    for (const [failures, minutes] of [
      [1, 1],
      [2, 2],
    ] as const) {
      const c = await cycle(throwing);
      expect(c).toEqual(expect.objectContaining({ results: ["failed"], failures, delay: minutes * MINUTE }));
      now = c.next;
    }
    expect(await cycle(new RecordingEngine())).toEqual(expect.objectContaining({ results: ["synced"], failures: 0, delay: 1800 * 1000 }));
    expect(millis((await bindingDoc(weather)).lastSyncAt)).toBe(now.getTime());
  });

  it("dispatches again after a lost message or a crashed worker, and a late worker changes nothing", async () => {
    const T = new Date("1973-03-01T10:00:00Z");
    const { weather } = await installAt(T);
    const held = new HoldingPublisher();
    const engine = new RecordingEngine();

    // The first message is lost: nothing happens until its lease ends.
    await syncAt(T, engine, held).dispatchDue(T);
    const lost = messagesOf(held).at(-1)!;
    expect((await syncAt(at(T, DISPATCH_LEASE_MS - 1), engine, held).dispatchDue(at(T, DISPATCH_LEASE_MS - 1))).due).toBe(0);
    const redispatchAt = at(T, DISPATCH_LEASE_MS);
    expect((await syncAt(redispatchAt, engine, held).dispatchDue(redispatchAt)).dispatched).toBe(1);
    const second = messagesOf(held).at(-1)!;
    expect(second.bindings[0]!.lease).not.toBe(lost.bindings[0]!.lease);
    expect(await syncAt(redispatchAt, engine, held).runMessage({ json: lost, messageId: "lost" })).toEqual(["stale"]);
    expect(engine.calls).toHaveLength(0);

    // A worker takes the binding and hangs (it crashed, as far as anyone can tell).
    let release!: (ok: boolean) => void;
    const hanging = new RecordingEngine(() => new Promise<boolean>((resolve) => (release = resolve)));
    const stuck = syncAt(redispatchAt, hanging, held).runMessage({ json: second, messageId: "second" });
    await eventually(async () => millis((await bindingDoc(weather)).nextSyncAt) === redispatchAt.getTime() + SYNC_RUN_LEASE_MS);
    // When its run lease ends, the binding is due again and another worker syncs it.
    const retakeAt = at(redispatchAt, SYNC_RUN_LEASE_MS);
    expect((await syncAt(retakeAt, engine, held).dispatchDue(retakeAt)).dispatched).toBe(1);
    expect(await syncAt(retakeAt, engine, held).runMessage({ json: messagesOf(held).at(-1), messageId: "third" })).toEqual(["synced"]);
    const afterRetake = await bindingDoc(weather);
    // The first worker finally answers (a failure): it no longer holds the binding, so nothing changes.
    release(false);
    expect(await stuck).toEqual(["failed"]);
    const final = await bindingDoc(weather);
    expect({ next: millis(final.nextSyncAt), last: millis(final.lastSyncAt), failures: final.consecutiveFailures }).toEqual({
      next: millis(afterRetake.nextSyncAt),
      last: retakeAt.getTime(),
      failures: 0,
    });
  });

  it("stops syncing a binding when its package is uninstalled, even mid-sync", async () => {
    const T = new Date("1974-03-01T10:00:00Z");
    const held = new HoldingPublisher();
    const first = await installAt(T);
    const service = new CatalogService(fixedClock(T));
    const uninstall = async (installId: string) => {
      const snap = await adminDb().collection("installs").where("installId", "==", installId).get();
      await service.uninstall({ kind: "user", uid: snap.docs[0]!.get("userId"), email: null, emailVerified: true, claims: {} }, packageId);
    };
    await uninstall(first.install.installId);
    expect((await syncAt(at(T, MINUTE), new RecordingEngine(), held).dispatchDue(at(T, MINUTE))).due).toBe(0);

    // Uninstalled while the provider is being called: the worker's reschedule leaves it removed.
    const second = await installAt(T);
    const engine = new RecordingEngine(async () => {
      await uninstall(second.install.installId);
      return true;
    });
    await syncAt(T, engine, held).dispatchDue(T);
    expect(await syncAt(T, engine, held).runMessage({ json: messagesOf(held).at(-1), messageId: "mid" })).toEqual(["synced"]);
    expect(await bindingDoc(second.weather)).toEqual(expect.objectContaining({ status: "removed", nextSyncAt: null, lastSyncAt: null }));
  });

  it("spreads 10,000 bindings due in the same minute over the following minutes, at most SYNC_RATE_PER_APP a minute per provider app", async () => {
    const T = new Date("1980-03-01T10:00:00Z");
    const busyApp = newId("app");
    const quietApp = newId("app");
    const writer = adminDb().bulkWriter();
    const appOf = new Map<string, string>();
    const seed = (appId: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const doc: BindingDoc = {
          installId: newId("inst"),
          userId: `spread-${i}`,
          providerUserId: `usr_spread${i}`,
          accountId: "spread-account",
          appId,
          packageId: "pkg_spread",
          versionId: "ver_spread",
          capabilityId: "weather_forecast",
          capabilityKey: "pkg_spread/weather_forecast",
          capabilityRef: "spread.weather_forecast",
          parameters: {},
          refreshIntervalSeconds: 1800,
          status: "active",
          // All due within the same minute.
          nextSyncAt: at(T, (i % 60) * 1000),
          lastSyncAt: null,
          consecutiveFailures: 0,
          createdAt: T,
          updatedAt: T,
        };
        const id = newId("bnd");
        appOf.set(id, appId);
        void writer.create(adminDb().collection("capabilityBindings").doc(id), doc);
      }
    };
    seed(busyApp, 10_000);
    seed(quietApp, 30);
    await writer.close();

    const held = new HoldingPublisher();
    const engine = new RecordingEngine();
    const dispatchedBy = new Map<string, number>();
    const perMinute: { busy: number; quiet: number }[] = [];
    for (let minute = 1; minute <= 25 && dispatchedBy.size < 10_030; minute++) {
      const now = at(T, minute * MINUTE);
      const before = messagesOf(held).length;
      const report = await syncAt(now, engine, held, { random: Math.random }).dispatchDue(now);
      const messages = messagesOf(held).slice(before);
      if (minute === 1) {
        // One run reads at most MAX_DUE_PER_RUN due bindings; the 30 left are read by the next run.
        expect(report).toEqual({
          due: MAX_DUE_PER_RUN,
          dispatched: SYNC_RATE_PER_APP + 30,
          deferred: MAX_DUE_PER_RUN - SYNC_RATE_PER_APP - 30,
          messages: 30 + 2,
        });
        // The busy app's 30 messages start 2 s apart, over the minute.
        expect(messages.filter((m) => appOf.get(m.bindings[0]!.id) === busyApp).map((m) => m.delayMs)).toEqual(
          Array.from({ length: 30 }, (_, k) => k * 2000),
        );
      }
      const count = { busy: 0, quiet: 0 };
      // Stand-in for the workers (tested above): each dispatched binding is synced and next due in half an hour.
      const synced = adminDb().bulkWriter();
      for (const b of messages.flatMap((m) => m.bindings)) {
        dispatchedBy.set(b.id, (dispatchedBy.get(b.id) ?? 0) + 1);
        count[appOf.get(b.id) === busyApp ? "busy" : "quiet"]++;
        void synced.update(adminDb().collection("capabilityBindings").doc(b.id), { nextSyncAt: at(now, 30 * MINUTE), lastSyncAt: now });
      }
      await synced.close();
      perMinute.push(count);
    }
    // Every binding dispatched exactly once, the quiet app in the first minute, the busy one at the rate.
    expect(dispatchedBy.size).toBe(10_030);
    expect([...dispatchedBy.values()].every((n) => n === 1)).toBe(true);
    expect(perMinute[0]).toEqual({ busy: SYNC_RATE_PER_APP, quiet: 30 });
    expect(perMinute.every((m) => m.busy <= SYNC_RATE_PER_APP)).toBe(true);
    expect(perMinute.reduce((sum, m) => sum + m.busy, 0)).toBe(10_000);
    // The backlog drains at the rate: ceil(10,000 / 600) minutes, give or take a binding deferred to a minute's edge.
    expect(perMinute.length).toBeLessThanOrEqual(Math.ceil(10_000 / SYNC_RATE_PER_APP) + 2);
    expect(perMinute.filter((m) => m.busy === SYNC_RATE_PER_APP).length).toBeGreaterThanOrEqual(Math.floor(10_000 / SYNC_RATE_PER_APP) - 3);
  }, 300_000);

  it("rejects malformed messages", async () => {
    const sync = syncAt(new Date(), new RecordingEngine(), new HoldingPublisher());
    expect(await sync.runMessage({ json: { bindings: [] }, messageId: "bad-1" })).toBe("invalid");
    expect(await sync.runMessage({ json: null, messageId: "bad-2" })).toBe("invalid");
  });
});

describe("data sync through the deployed functions", () => {
  it("runs the scheduler with the schedule's time, and the Pub/Sub worker in the emulator calls the provider", async () => {
    const { catalogSyncScheduler, catalogCounterFolder } = await import("../../src/index");
    const T = new Date("1985-03-01T10:00:00Z");
    const { weather } = await installAt(T, { weather_forecast: { location: "Bergen" } });
    // firebase-functions-test's wrap() does not model v2 schedules; run() is the handler itself.
    await catalogSyncScheduler.run({ scheduleTime: at(T, MINUTE).toISOString(), jobName: "catalogSyncScheduler" });
    // The worker (a function of the emulator, on the real clock) took the claim, called the provider and scheduled the next sync.
    const done = await eventually(async () => {
      const doc = await bindingDoc(weather);
      return doc.lastSyncAt ? doc : undefined;
    });
    expect(done.consecutiveFailures).toBe(0);
    expect(millis(done.nextSyncAt)! - millis(done.lastSyncAt)!).toBe(1800 * 1000);
    expect(invocationsOf(sample()).filter((c) => c.json.parameters?.location === "Bergen")).toHaveLength(1);
    await adminDb().collection("capabilityBindings").doc(weather).update({ status: "removed", nextSyncAt: null });
    await catalogCounterFolder.run({ scheduleTime: new Date().toISOString(), jobName: "catalogCounterFolder" });
  });
});
