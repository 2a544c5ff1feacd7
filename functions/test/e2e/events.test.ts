import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { adminDb } from "../helpers/admin";
import { BASE_URL } from "../helpers/env";
import { api, expectStatus } from "../helpers/http";
import { eventually, useSampleProvider } from "../helpers/packages";
import { type CapabilityUnderTest, publishedPackage, recordGeneratedInvocations } from "../helpers/quality";
import { FUNCTIONS_ROOT } from "../helpers/secrets";
import { oauthProvider, registerRuntimeApp } from "../helpers/stories";

/**
 * The event functions in the serving pool (emulators/serving/events.mjs,
 * docs/architecture.md#serving-locally): Functions Framework instances with the cloudevent
 * signature, fed from Pub/Sub subscriptions of their own and from the Firestore emulator's trigger
 * events, with retries for retry: true functions; the functions emulator does not run. These tests
 * need the pool serving them; with AIFFINITY_SERVING=emulator (the plain emulators) they are skipped.
 */
const REPO = join(FUNCTIONS_ROOT, "..");
const firebaseJson = JSON.parse(readFileSync(process.env.AIFFINITY_FIREBASE_CONFIG ?? join(REPO, "firebase.json"), "utf8"));
const describeEvents = process.env.AIFFINITY_SERVING === "emulator" ? describe.skip : describe;

// AIFFINITY_EVENTS_HUB is set by emulators/env.sh when the pool serves the event functions. It cannot
// where the Firestore emulator is not started through our launcher (a Firestore jar firebase-tools
// downloaded, not the gcloud one these machines have): the suite says so instead of passing quietly.
beforeAll(() => {
  if (process.env.AIFFINITY_SERVING !== "emulator" && !process.env.AIFFINITY_EVENTS_HUB) {
    throw new Error("The serving pool serves no event functions here (no Firestore launcher: see use_gcloud_emulators in emulators/env.sh)");
  }
});

interface InstanceStatus {
  slot: number;
  state: string;
  pid: number | null;
  inFlight: number;
  served: number;
  restarts: number;
}
interface EventFunctionStatus {
  trigger: { kind: "pubsub"; topic: string; subscription: string } | { kind: "firestore"; eventType: string; document: string };
  retry: boolean;
  concurrency: number;
  received: number;
  delivered: number;
  retried: number;
  failed: number;
  dropped: number;
  inFlight: number;
  backlog: number;
  waitingRetry: number;
  instances: InstanceStatus[];
}
interface EventsStatus {
  instancesPerFunction: number;
  maxAttempts: number;
  totals: Record<string, number>;
  functions: Record<string, EventFunctionStatus>;
}

const events = async (): Promise<EventsStatus> => {
  const res = await api.get("/__serving/status", { baseUrl: BASE_URL });
  expectStatus(200, res);
  expect(res.body.events).not.toBeNull();
  return res.body.events as EventsStatus;
};
const eventFunction = async (name: string) => (await events()).functions[name]!;

interface Endpoint {
  eventTrigger?: { eventType: string; eventFilters?: Record<string, string>; eventFilterPathPatterns?: Record<string, string>; retry?: boolean };
}

describeEvents("serving pool: the event functions as Eventarc and Cloud Run run them", () => {
  const sample = useSampleProvider();
  let owner: Awaited<ReturnType<typeof publishedPackage>>;
  const oneCall = () => [{ at: new Date(), latencyMs: 120 }];

  beforeAll(async () => {
    // Validation (conformanceRunner) and the submission checks (submissionChecker) run in the pool.
    owner = await publishedPackage(sample(), "Event Serving Ltd");
  }, 120_000);

  it("runs every event function of src/index.ts in Functions Framework instances of its own, fed by its trigger; no functions emulator", async () => {
    const index = (await import("../../src/index")) as unknown as Record<string, { __endpoint?: Endpoint } | undefined>;
    const declared = Object.entries(index).filter(([, f]) => f?.__endpoint?.eventTrigger);
    expect(declared.length).toBeGreaterThanOrEqual(6);

    const s = await events();
    expect(Object.keys(s.functions).sort()).toEqual(declared.map(([name]) => name).sort());
    expect(s.maxAttempts).toBeGreaterThan(1);
    for (const [name, fn] of declared) {
      const trigger = fn!.__endpoint!.eventTrigger!;
      const served = s.functions[name]!;
      expect({ name, retry: served.retry, concurrency: served.concurrency }).toEqual({ name, retry: trigger.retry === true, concurrency: 80 });
      if (trigger.eventType === "google.cloud.pubsub.topic.v1.messagePublished") {
        expect(served.trigger).toEqual({ kind: "pubsub", topic: trigger.eventFilters!.topic, subscription: `aiffinity-serving-${name}` });
      } else {
        expect(served.trigger).toEqual({ kind: "firestore", eventType: trigger.eventType, document: trigger.eventFilterPathPatterns!.document });
      }
      expect(served.instances).toHaveLength(s.instancesPerFunction);
      for (const instance of served.instances) expect(instance).toEqual(expect.objectContaining({ state: "live", pid: expect.any(Number) }));
    }
    // The package of beforeAll went through both Pub/Sub triggers here.
    for (const name of ["conformanceRunner", "submissionChecker"]) expect(s.functions[name]!.delivered).toBeGreaterThanOrEqual(1);

    // The Firebase CLI's hub lists what it runs: the functions emulator is not among them.
    const hub = firebaseJson.emulators.hub;
    const running = (await (await fetch(`http://${hub.host}:${hub.port}/emulators`)).json()) as Record<string, unknown>;
    expect(Object.keys(running)).toEqual(expect.arrayContaining(["firestore", "pubsub", "auth"]));
    expect(Object.keys(running)).not.toContain("functions");
  });

  it("runs a Firestore trigger in its instance: a new invocation is added to its quality rollup", async () => {
    const before = await eventFunction("qualityRollupRecorder");
    // Resolves once the trigger marked the invocation processed (processedEvents/quality-rollup:<id>).
    const [id] = await recordGeneratedInvocations(owner.capability, oneCall(), 30_000);
    const after = await eventFunction("qualityRollupRecorder");
    expect(after.received).toBeGreaterThanOrEqual(before.received + 1);
    expect(after.delivered).toBeGreaterThanOrEqual(before.delivered + 1);
    const served = (f: EventFunctionStatus) => f.instances.reduce((sum, i) => sum + i.served, 0);
    expect(served(after)).toBeGreaterThanOrEqual(served(before) + 1);
    const processed = await adminDb().collection("processedEvents").doc(`quality-rollup:${id}`).get();
    expect(processed.exists).toBe(true);
  });

  it("dispatches a provider event (Firestore trigger) and delivers its webhook (Pub/Sub trigger), both in their instances", async () => {
    const provider = sample();
    const developer = await oauthProvider("Event Hooks Ltd");
    const rt = await registerRuntimeApp(developer.access, developer.app.id, provider.url);
    const profile = await api.put(
      `/v1/providers/runtime/apps/${rt.id}/webhook-profile`,
      { url: `${provider.url}/webhooks`, events: ["package.version.published"] },
      { token: developer.access },
    );
    expectStatus(200, profile);
    provider.setSigningSecrets([profile.body.data.signingSecret]);
    const before = await events();

    const ref = adminDb().collection("providerEvents").doc(`evt_serving${Date.now()}`);
    await ref.create({
      accountId: developer.accountId,
      appId: developer.app.id,
      type: "package.version.published",
      data: { probe: true },
      occurredAt: new Date(),
    });
    const hook = await eventually(
      () => provider.webhooks.find((w) => (w.json as { id?: string } | null)?.id === ref.id),
      30_000,
      "the webhook of the event",
    );
    expect(hook.signatureValid).toBe(true);

    // The provider has the webhook while the deliverer's answer is still on its way to the dispatcher:
    // its count follows a moment later.
    const counted = (after: EventsStatus) =>
      ["webhookDispatcher", "webhookDeliverer"].every((name) => after.functions[name]!.delivered >= before.functions[name]!.delivered + 1);
    await eventually(async () => counted(await events()), 10_000, "the dispatcher's and the deliverer's deliveries counted");
  });

  describe("an event instance killed while it handles an event", () => {
    let victimPid: number | null = null;
    afterEach(() => {
      // Never leave a stopped process behind, whatever failed.
      if (victimPid) {
        try {
          process.kill(victimPid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    });

    it("redelivers the event (retry: true) to its replacement, which handles it once", async () => {
      const before = await eventFunction("qualityRollupRecorder");
      const victim = before.instances[0]!;
      // Frozen, the instance accepts the delivery's connection and never answers: the event is in flight on it.
      victimPid = victim.pid;
      process.kill(victim.pid!, "SIGSTOP");
      const capability: CapabilityUnderTest = owner.capability;
      const recorded = recordGeneratedInvocations(capability, oneCall(), 60_000);
      await eventually(
        async () => (await eventFunction("qualityRollupRecorder")).inFlight >= 1 || undefined,
        20_000,
        "the event in flight on the frozen instance",
      );
      process.kill(victim.pid!, "SIGKILL");
      victimPid = null;

      // The trigger handled it after all: on the instance that replaced the killed one.
      const [id] = await recorded;
      const after = await eventually(
        async () => {
          const f = await eventFunction("qualityRollupRecorder");
          const slot = f.instances[victim.slot]!;
          // The handler's write can be seen before its 204 reaches the dispatcher: wait for the count too.
          return slot.state === "live" && slot.pid !== victim.pid && f.delivered >= before.delivered + 1 ? f : undefined;
        },
        30_000,
        "a new instance in the killed one's slot, and the redelivery counted",
      );
      expect(after.instances[victim.slot]!.restarts).toBe(victim.restarts + 1);
      expect(after.retried).toBeGreaterThanOrEqual(before.retried + 1);
      expect(after.delivered).toBeGreaterThanOrEqual(before.delivered + 1);
      expect(after.failed).toBe(before.failed);
      const processed = await adminDb().collection("processedEvents").doc(`quality-rollup:${id}`).get();
      expect(processed.exists).toBe(true);
    });
  });
});

/** What the dispatcher's own process (test/helpers/eventDispatcherProcess.mjs) tells the test, stamped there. */
interface Heard {
  at: number;
  ready?: true;
  log?: string;
  ack?: string;
  nack?: string;
  status?: EventsStatus;
}

describeEvents("the events dispatcher, when a function's instance keeps answering 500", () => {
  // A dispatcher and pool of their own: Functions Framework instances of functions that always throw,
  // fed Pub/Sub messages by the test, with production's backoff (1 s doubling, up to 30 s) scaled down.
  const MAX_ATTEMPTS = 4;
  const BACKOFF_MS = { first: 300, max: 600 };
  let dispatcher: ChildProcess;
  const heard: Heard[] = [];

  beforeAll(async () => {
    const options = { portBase: firebaseJson.emulators.functions.port + 44, maxAttempts: MAX_ATTEMPTS, backoffMs: BACKOFF_MS };
    dispatcher = fork(join(FUNCTIONS_ROOT, "test/helpers/eventDispatcherProcess.mjs"), [JSON.stringify(options)], {
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    dispatcher.on("message", (m: Heard) => heard.push(m));
    await new Promise<void>((resolve, reject) => {
      dispatcher.on("message", (m: Heard) => m.ready && resolve());
      dispatcher.once("exit", (code) => reject(new Error(`the dispatcher's process exited with ${code}`)));
    });
  }, 60_000);

  afterAll(async () => {
    if (!dispatcher || dispatcher.exitCode !== null) return;
    const exited = new Promise((resolve) => dispatcher.once("exit", resolve));
    dispatcher.disconnect();
    await exited;
  });

  const logged = (text: string) => heard.filter((m) => m.log?.includes(text));
  const settled = (id: string) => heard.filter((m) => m.ack === id || m.nack === id);
  const counters = async (name: string) => {
    const from = heard.length;
    dispatcher.send({ status: true });
    const { status } = await eventually(() => heard.slice(from).find((m) => m.status), 5_000, "the dispatcher's status");
    const { received, delivered, retried, failed, inFlight, backlog, waitingRetry } = status!.functions[name]!;
    return { received, delivered, retried, failed, inFlight, backlog, waitingRetry };
  };
  const publish = (name: string, id: string) => dispatcher.send({ publish: { function: name, id } });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("retries a retry: true function's event with a doubling, capped backoff, then gives it up once and acks its message", async () => {
    const id = `retried-${Date.now()}`;
    publish("retriedHandler", id);
    await eventually(() => settled(id).length > 0, 20_000, "the message acked");

    const handled = logged(`handling event ${id}`);
    expect(handled).toHaveLength(MAX_ATTEMPTS);
    // Each failed attempt is announced with its backoff, and the next reaches the function no sooner
    // (give or take 25 ms: a timer counts from the start of the event loop's turn, before the stamp).
    const retries = logged(`event ${id} attempt`);
    const waits = retries.map((m) => Number(/again in (\d+) ms$/.exec(m.log!)?.[1]));
    expect(waits).toEqual([300, 600, 600]);
    for (const [i, retry] of retries.entries()) expect(handled[i + 1]!.at - retry.at).toBeGreaterThanOrEqual(waits[i]! - 25);
    expect(retries[0]!.log).toContain(`attempt 1/${MAX_ATTEMPTS} failed (HTTP 500 (error)`);
    expect(logged(`giving up on event ${id}`).map((m) => m.log)).toEqual([
      expect.stringContaining(`giving up on event ${id} after ${MAX_ATTEMPTS} attempts (HTTP 500`),
    ]);

    // Given up for good: acked (never nacked, which would redeliver it at once) and not attempted again.
    await sleep(2 * BACKOFF_MS.max);
    expect(settled(id)).toEqual([expect.objectContaining({ ack: id })]);
    expect(logged(`handling event ${id}`)).toHaveLength(MAX_ATTEMPTS);
    expect(await counters("retriedHandler")).toEqual({
      received: 1,
      delivered: 0,
      retried: MAX_ATTEMPTS - 1,
      failed: 1,
      inFlight: 0,
      backlog: 0,
      waitingRetry: 0,
    });
  });

  it("does not retry a retry: false function's failed event: it fails once, logged, and its message is acked", async () => {
    const id = `unretried-${Date.now()}`;
    publish("unretriedHandler", id);
    await eventually(() => settled(id).length > 0, 10_000, "the message acked");

    expect(logged("[events] unretriedHandler:").map((m) => m.log)).toEqual([
      expect.stringContaining(`event ${id} failed (HTTP 500 (error) Internal Server Error); not retried (retry: false)`),
    ]);
    await sleep(2 * BACKOFF_MS.max);
    expect(settled(id)).toEqual([expect.objectContaining({ ack: id })]);
    expect(logged(`handling event ${id}`)).toHaveLength(1);
    expect(await counters("unretriedHandler")).toEqual({
      received: 1,
      delivered: 0,
      retried: 0,
      failed: 1,
      inFlight: 0,
      backlog: 0,
      waitingRetry: 0,
    });
  });
});
