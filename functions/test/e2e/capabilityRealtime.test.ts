import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { adminDb } from "../helpers/admin";
import { type InstalledBinding, installBinding, uninstallBinding } from "../helpers/bindings";
import { capabilityPath, type PublishedCapability, publishedWeather } from "../helpers/capabilities";
import { BASE_URL, functionUrl } from "../helpers/env";
import { api, expectError, expectStatus } from "../helpers/http";
import { eventually, useSampleProvider } from "../helpers/packages";
import { loadLocalSecretsIntoEnv } from "../helpers/secrets";
import { openStream, type SseStream } from "../helpers/sse";
import { demoParams } from "../helpers/surfaceProcesses";

const sample = useSampleProvider();
const REFRESH = 1800;

/** Where production streaming clients connect (Hosting buffers streams), and the Hosting rewrite (streams on the emulator). */
const DIRECT = functionUrl("capabilitiesApi");

describe("capabilities: realtime state changes (Server-Sent Events)", () => {
  let w: PublishedCapability;
  let binding: InstalledBinding;
  const streams: SseStream[] = [];
  const open = async (base: string, query: string, lastEventId?: string) => {
    const stream = await openStream(`${base}${capabilityPath(w.ref, "realtime")}${query}`, {
      token: w.access,
      ...(lastEventId === undefined ? {} : { lastEventId }),
    });
    streams.push(stream);
    return stream;
  };
  const refresh = async (b: InstalledBinding) => {
    const res = await api.post(capabilityPath(w.ref, "invoke"), { bindingId: b.id, refresh: true }, { token: w.access });
    expectStatus(200, res);
    return res.body.data as { invocationId: string; fetchedAt: string };
  };
  /** The binding's events as stored, in commit order. */
  const storedEvents = async (bindingId: string) =>
    (await adminDb().collection("capabilityEvents").where("bindingId", "==", bindingId).get()).docs
      .map((d) => ({ id: d.id, at: d.get("at") as FirebaseFirestore.Timestamp, type: d.get("type") as string }))
      .sort((a, b) => a.at.toMillis() - b.at.toMillis() || a.at.nanoseconds - b.at.nanoseconds || (a.id < b.id ? -1 : 1));

  beforeAll(async () => {
    w = await publishedWeather(sample(), { refreshIntervalSeconds: REFRESH });
    binding = await installBinding(w, { location: "Vienna" });
  }, 180_000);
  afterAll(() => streams.forEach((s) => s.close()));

  it("delivers a state change within a second of the write, on the function's direct URL", async () => {
    const stream = await open(DIRECT, `?bindingId=${binding.id}`);
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const ready = await stream.next((e) => e.event === "ready");
    expect(ready.data).toEqual({ capability: w.ref, bindingId: binding.id, state: null });
    expect(ready.id).toBe("0"); // no event yet: a reconnect starts from the beginning
    expect(stream.retry).toBe(3000);

    const invoked = await refresh(binding);
    const written = performance.now(); // the change was committed before the invoke answered
    const change = await stream.next((e) => e.event === "state.updated");
    expect(change.receivedAt - written).toBeLessThan(1000);
    expect(change.data).toEqual({
      capability: w.ref,
      bindingId: binding.id,
      type: "state.updated",
      at: expect.any(String),
      state: {
        data: expect.objectContaining({ location: "Vienna" }),
        versionId: w.versionId,
        invocationId: invoked.invocationId,
        fetchedAt: invoked.fetchedAt,
        expiresAt: new Date(new Date(invoked.fetchedAt).getTime() + REFRESH * 1000).toISOString(),
        ttlSeconds: REFRESH,
      },
    });
    const [stored] = (await storedEvents(binding.id)).slice(-1);
    expect(change.id).toBe(`${stored!.at.seconds}.${String(stored!.at.nanoseconds).padStart(9, "0")}-${stored!.id}`);
    stream.close();
  });

  it("resumes after a disconnect with Last-Event-ID: exactly the missed events, in order, then live ones (through Hosting)", async () => {
    const first = await open(BASE_URL, `?bindingId=${binding.id}`);
    const ready = await first.next((e) => e.event === "ready");
    // The current state comes with the ready event, and its id is the latest event's.
    expect(ready.data.state).toEqual(expect.objectContaining({ data: expect.objectContaining({ location: "Vienna" }), status: "fresh" }));
    const latest = (await storedEvents(binding.id)).at(-1)!;
    expect(ready.id).toMatch(new RegExp(`-${latest.id}$`));
    await refresh(binding);
    const seen = await first.next((e) => e.event === "state.updated");
    first.close();

    // Two changes while disconnected.
    const missed = [await refresh(binding), await refresh(binding)];
    const resumed = await open(BASE_URL, `?bindingId=${binding.id}`, seen.id);
    expect(resumed.status).toBe(200);
    const a = await resumed.next((e) => e.event === "state.updated");
    const b = await resumed.next((e) => e.event === "state.updated" && e.id !== a.id);
    expect([a.data.state.invocationId, b.data.state.invocationId]).toEqual(missed.map((m) => m.invocationId));
    const stored = await storedEvents(binding.id);
    const after = stored.slice(stored.findIndex((e) => seen.id!.endsWith(e.id)) + 1);
    expect([a.id, b.id]).toEqual(after.map((e) => `${e.at.seconds}.${String(e.at.nanoseconds).padStart(9, "0")}-${e.id}`));

    // Nothing else was replayed (no ready event on a resume, no duplicate), and the stream goes on live.
    const live = await refresh(binding);
    const c = await resumed.next((e) => e.event === "state.updated" && e.id !== a.id && e.id !== b.id);
    expect(c.data.state.invocationId).toBe(live.invocationId);
    expect(resumed.events.map((e) => e.event)).toEqual(["state.updated", "state.updated", "state.updated"]);
    expect(new Set(resumed.events.map((e) => e.id)).size).toBe(3);
    resumed.close();
  });

  it("streams every instance of the capability without bindingId; an uninstall's deletion is an event too", async () => {
    const other = await installBinding(w, { location: "Graz" });
    const stream = await open(DIRECT, "");
    const ready = await stream.next((e) => e.event === "ready");
    expect(ready.data).toEqual({ capability: w.ref, bindingId: null, state: null });
    await refresh(binding);
    await refresh(other);
    const first = await stream.next((e) => e.event === "state.updated");
    const second = await stream.next((e) => e.event === "state.updated" && e.id !== first.id);
    expect([first.data.bindingId, second.data.bindingId]).toEqual([binding.id, other.id]);

    // The user uninstalls: the state is deleted in the uninstall's transaction, and streams see it.
    await uninstallBinding(other);
    const deleted = await stream.next((e) => e.event === "state.deleted");
    expect(deleted.data).toEqual({ capability: w.ref, bindingId: other.id, type: "state.deleted", at: expect.any(String), state: null });
    expect((await adminDb().collection("capabilityStates").doc(other.id).get()).exists).toBe(false);
    stream.close();
  });

  it("sends heartbeat comments while nothing changes", async () => {
    const stream = await open(DIRECT, `?bindingId=${binding.id}`);
    await stream.next((e) => e.event === "ready");
    const heartbeat = await stream.comment((c) => c.startsWith("heartbeat"), 20_000);
    expect(heartbeat).toMatch(/^heartbeat \d{4}-\d\d-\d\dT/);
    stream.close();
  }, 30_000);

  it("refuses a malformed Last-Event-ID, unknown bindings, other providers and missing tokens before streaming", async () => {
    const bad = await open(DIRECT, `?bindingId=${binding.id}`, "not-an-id");
    expect(bad.status).toBe(400);
    expect(bad.errorBody.error).toEqual(expect.objectContaining({ code: "VALIDATION_ERROR", message: expect.stringMatching(/^Last-Event-ID: /) }));
    const unknown = await open(DIRECT, "?bindingId=bnd_doesNotExist000000000");
    expect(unknown.status).toBe(404);
    const other = await publishedWeather(sample(), {}, "Rival Weather Ltd");
    const theirs = await openStream(`${DIRECT}${capabilityPath(other.ref, "realtime")}`, { token: w.access });
    expect(theirs.status).toBe(404);
    expect(theirs.errorBody.error.code).toBe("NOT_FOUND");
    const anonymous = await openStream(`${DIRECT}${capabilityPath(w.ref, "realtime")}`);
    expect(anonymous.status).toBe(401);
    expectError(await api.get(`${capabilityPath(w.ref, "realtime")}?bindingId=${"x".repeat(200)}`, { token: w.access }), 400, "VALIDATION_ERROR");
  }, 180_000);
});

describe("capabilities: realtime streams end cleanly when the client goes away", () => {
  // The emulator's function proxy does not pass a client's disconnect on to the function (Cloud Run
  // does), so this serves the surface in the test process to watch the stream close and unsubscribe.
  let server: Server;
  let base: string;
  let w: PublishedCapability;
  let openStreamCount: () => number;

  beforeAll(async () => {
    Object.assign(process.env, { ...demoParams(), ...process.env });
    loadLocalSecretsIntoEnv();
    process.env.GCLOUD_PROJECT ??= "demo-aiffinity";
    const { createSurfaceApp } = await import("../../src/kernel/http/surface");
    const { capabilitiesSurface } = await import("../../src/surfaces/capabilities/routes");
    ({ openStreamCount } = await import("../../src/surfaces/capabilities/realtime"));
    server = createSurfaceApp(capabilitiesSurface(), { hooks: [] }).listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    w = await publishedWeather(sample(), {}, "Closing Time Ltd");
  }, 180_000);
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it("unsubscribes its listener when the client disconnects", async () => {
    const stream = await openStream(`${base}${capabilityPath(w.ref, "realtime")}`, { token: w.access });
    expect(stream.status).toBe(200);
    await stream.next((e) => e.event === "ready");
    expect(openStreamCount()).toBe(1);
    stream.close();
    await eventually(() => openStreamCount() === 0, 5_000, "the stream to close");
  });
});
