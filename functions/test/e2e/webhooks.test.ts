import functionsTest from "firebase-functions-test";
import { createHmac } from "node:crypto";
import { adminDb } from "../helpers/admin";
import { PROJECT_ID } from "../helpers/env";
import { api, expectError, expectStatus } from "../helpers/http";
import { eventually, type ReceivedWebhook, type SampleProvider, startSampleProvider } from "../helpers/sampleProvider";
import { loadLocalSecretsIntoEnv } from "../helpers/secrets";
import { mailsTo, oauthProvider, registerRuntimeApp } from "../helpers/stories";

const RT = "/v1/providers/runtime/apps";
const testEnv = functionsTest({ projectId: PROJECT_ID });
// The deliverer, run in this process, opens the signing secrets with the emulator's key.
loadLocalSecretsIntoEnv();
afterAll(() => testEnv.cleanup());

/** The receiver's own check, written from the Standard Webhooks spec (not the platform's code). */
function signaturesOf(hook: ReceivedWebhook, secret: string): { valid: boolean; count: number } {
  const id = hook.headers["webhook-id"]!;
  const timestamp = hook.headers["webhook-timestamp"]!;
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const expected = `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${hook.body}`).digest("base64")}`;
  const given = hook.headers["webhook-signature"]!.split(" ");
  return { valid: given.includes(expected) && Math.abs(Date.now() / 1000 - Number(timestamp)) < 300, count: given.length };
}

/** Records an event in the outbox, as a surface does with recordProviderEvent in its transaction. */
async function recordEvent(accountId: string, appId: string | null, type: string, data: Record<string, unknown> = {}) {
  const ref = adminDb()
    .collection("providerEvents")
    .doc(`evt_test${Math.random().toString(36).slice(2, 18)}`);
  await ref.create({ accountId, appId, type, data, occurredAt: new Date() });
  return ref.id;
}

describe("webhooks", () => {
  let provider: SampleProvider;
  beforeAll(async () => {
    provider = await startSampleProvider();
  });
  afterAll(() => provider.close());

  /** A runtime app whose webhooks go to a fresh path of the sample provider. */
  async function setUp(profile: Record<string, unknown> = {}) {
    const owner = await oauthProvider();
    const rt = await registerRuntimeApp(owner.access, owner.app.id, provider.url);
    const res = await api.put(
      `${RT}/${rt.id}/webhook-profile`,
      {
        url: `${provider.url}/webhooks`,
        events: ["webhook.test", "package.version.published"],
        retryPolicy: { maxAttempts: 3, initialDelaySeconds: 1, maxDelaySeconds: 2 },
        ...profile,
      },
      { token: owner.access },
    );
    expectStatus(200, res);
    const secret = res.body.data.signingSecret as string;
    provider.setSigningSecrets([secret]);
    provider.reset();
    return { owner, rt, secret, profile: res.body.data };
  }
  const received = (deliveryId: string) => provider.webhooks.filter((w) => w.headers["webhook-id"] === deliveryId);
  const deliveries = async (access: string, rtId: string, query = "") => {
    const res = await api.get(`${RT}/${rtId}/webhook-profile/deliveries${query}`, { token: access });
    expectStatus(200, res);
    return res.body;
  };

  it("creates the signing secret with the first profile and sends a signed test delivery", async () => {
    const { owner, rt, secret, profile } = await setUp();
    expect(profile).toEqual({
      url: `${provider.url}/webhooks`,
      events: ["webhook.test", "package.version.published"],
      retryPolicy: { maxAttempts: 3, initialDelaySeconds: 1, maxDelaySeconds: 2 },
      status: "enabled",
      disabledAt: null,
      disabledReason: null,
      updatedAt: expect.any(String),
      signingSecret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    expect(Buffer.from(secret.slice(6), "base64")).toHaveLength(32);
    const again = await api.put(`${RT}/${rt.id}/webhook-profile`, { url: `${provider.url}/webhooks`, events: ["*"] }, { token: owner.access });
    expect(again.body.data.signingSecret).toBeUndefined();
    expect(again.body.data.retryPolicy).toEqual({ maxAttempts: 8, initialDelaySeconds: 30, maxDelaySeconds: 36000 });

    const test = await api.post(`${RT}/${rt.id}/webhook-profile/test`, undefined, { token: owner.access });
    expectStatus(202, test);
    expect(test.body.data).toEqual({ deliveryId: expect.stringMatching(/^msg_/), eventId: expect.stringMatching(/^evt_/), status: "pending" });
    const [hook] = await eventually(
      () => received(test.body.data.deliveryId).length === 1 && received(test.body.data.deliveryId),
      20_000,
      "the test delivery",
    );
    expect(hook!.headers["content-type"]).toBe("application/json");
    expect(hook!.headers["webhook-timestamp"]).toMatch(/^\d{10}$/);
    expect(signaturesOf(hook!, secret)).toEqual({ valid: true, count: 1 });
    expect(hook!.signatureValid).toBe(true);
    expect(hook!.json).toEqual({
      id: test.body.data.eventId,
      type: "webhook.test",
      occurredAt: expect.stringMatching(/Z$/),
      appId: owner.app.id,
      data: { runtimeAppId: rt.id, message: expect.any(String) },
    });

    const log = await eventually(
      async () => {
        const body = await deliveries(owner.access, rt.id);
        return body.data[0]?.status === "succeeded" && body;
      },
      10_000,
      "the delivery to be recorded",
    );
    expect(log.data[0]).toEqual({
      id: test.body.data.deliveryId,
      eventId: test.body.data.eventId,
      type: "webhook.test",
      url: `${provider.url}/webhooks`,
      status: "succeeded",
      attemptCount: 1,
      maxAttempts: 8,
      nextAttemptAt: null,
      attempts: [{ attempt: 1, startedAt: expect.any(String), durationMs: expect.any(Number), statusCode: 204, outcome: "succeeded", error: null }],
      createdAt: expect.any(String),
      completedAt: expect.any(String),
    });
    expect(log.data[0].body).toBeUndefined();
  });

  it("retries failures with backoff under the same id, re-signed each attempt, and logs every attempt", async () => {
    const { owner, rt, secret } = await setUp();
    provider.setWebhookResponses([500, 503, 200]);
    const eventId = await recordEvent(owner.accountId, owner.app.id, "package.version.published", { packageId: "pkg_1", version: "1.2.0" });
    const hooks = await eventually(() => provider.webhooks.length >= 3 && provider.webhooks, 30_000, "three attempts");
    expect(new Set(hooks.map((h) => h.headers["webhook-id"])).size).toBe(1);
    for (const hook of hooks) expect(signaturesOf(hook, secret).valid).toBe(true);
    expect(hooks[2]!.headers["webhook-timestamp"]).not.toBe(hooks[0]!.headers["webhook-timestamp"]); // re-signed, not replayed
    expect(hooks.map((h) => h.body)).toEqual([hooks[0]!.body, hooks[0]!.body, hooks[0]!.body]);
    expect(hooks[0]!.json).toEqual({
      id: eventId,
      type: "package.version.published",
      occurredAt: expect.any(String),
      appId: owner.app.id,
      data: { packageId: "pkg_1", version: "1.2.0" },
    });
    // Backoff: 1 s then 2 s, each with jitter in [50%, 100%].
    const at = hooks.map((h) => new Date(h.at).getTime());
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(450);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(950);

    const log = await eventually(
      async () => {
        const body = await deliveries(owner.access, rt.id);
        return body.data[0]?.status === "succeeded" && body;
      },
      10_000,
      "the final attempt to be recorded",
    );
    expect(log.data[0].attempts.map((a: { statusCode: number; outcome: string }) => [a.statusCode, a.outcome])).toEqual([
      [500, "http_error"],
      [503, "http_error"],
      [200, "succeeded"],
    ]);
    // A delivery that succeeded is final (no next attempt), so nothing more can be sent for it.
    expect(log.data[0].nextAttemptAt).toBeNull();
    expect(provider.webhooks).toHaveLength(3);
  });

  it("gives up after the policy's attempts, delivers only subscribed events, and filters the log", async () => {
    const { owner, rt } = await setUp();
    provider.setWebhookResponses([502]);
    await recordEvent(owner.accountId, owner.app.id, "install.created", { installId: "inst_1" }); // not subscribed
    await recordEvent(owner.accountId, "app_someOtherApp000000", "package.version.published"); // another app's event
    await recordEvent(owner.accountId, owner.app.id, "package.version.published", { packageId: "pkg_2" });
    const failed = await eventually(
      async () => {
        const body = await deliveries(owner.access, rt.id, "?status=failed");
        return body.data.length === 1 && body.data[0];
      },
      30_000,
      "the delivery to fail",
    );
    expect(failed.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(["http_error", "http_error", "http_error"]);
    expect(provider.webhooks.map((h) => h.json.type)).toEqual([
      "package.version.published",
      "package.version.published",
      "package.version.published",
    ]);
    const all = await deliveries(owner.access, rt.id);
    expect(all.meta.pagination.total).toBe(1);
    expect((await deliveries(owner.access, rt.id, "?status=succeeded")).data).toEqual([]);
  });

  it("disables the endpoint on 410 Gone and e-mails the developer", async () => {
    const { owner, rt } = await setUp();
    provider.setWebhookResponses([410]);
    await recordEvent(owner.accountId, null, "package.version.published"); // account-wide events reach every subscribed runtime
    await eventually(
      async () => (await api.get(`${RT}/${rt.id}`, { token: owner.access })).body.data.webhookProfile.status === "disabled",
      20_000,
      "the endpoint to be disabled",
    );
    const app = (await api.get(`${RT}/${rt.id}`, { token: owner.access })).body.data;
    expect(app.webhookProfile).toEqual(
      expect.objectContaining({ status: "disabled", disabledAt: expect.any(String), disabledReason: expect.stringContaining("410") }),
    );
    const log = await deliveries(owner.access, rt.id);
    expect(log.data[0]).toEqual(expect.objectContaining({ status: "failed", attemptCount: 1 }));
    expect(log.data[0].attempts[0]).toEqual(expect.objectContaining({ statusCode: 410, outcome: "gone" }));
    const [mail] = await mailsTo(owner.email);
    expect(mail).toEqual(expect.objectContaining({ category: "webhook_disabled" }));
    expect(mail!.message.text).toContain(`${provider.url}/webhooks`);

    // Nothing more is sent: a new event makes no delivery (the dispatcher, run here), and a test
    // delivery is refused until the profile is put again.
    const { dispatchProviderEvent } = await import("../../src/jobs/webhooks");
    const later = { accountId: owner.accountId, appId: owner.app.id, type: "package.version.published" as const, data: {}, occurredAt: new Date() };
    expect(await dispatchProviderEvent(`evt_whileDisabled${Date.now()}`, later)).toEqual([]);
    expectError(await api.post(`${RT}/${rt.id}/webhook-profile/test`, undefined, { token: owner.access }), 409, "CONFLICT");
    expect(provider.webhooks).toHaveLength(1);
    expect((await deliveries(owner.access, rt.id)).meta.pagination.total).toBe(1);

    provider.setWebhookResponses([204]);
    const reenabled = await api.put(`${RT}/${rt.id}/webhook-profile`, { url: `${provider.url}/webhooks`, events: ["*"] }, { token: owner.access });
    expect(reenabled.body.data).toEqual(expect.objectContaining({ status: "enabled", disabledAt: null, disabledReason: null }));
    const test = await api.post(`${RT}/${rt.id}/webhook-profile/test`, undefined, { token: owner.access });
    expectStatus(202, test);
    await eventually(() => received(test.body.data.deliveryId).length === 1, 20_000, "delivery after re-enabling");
  });

  it("sends once however often Pub/Sub delivers the message, and dispatches an event once", async () => {
    const { owner, rt } = await setUp();
    provider.setFailure("none");
    const test = await api.post(`${RT}/${rt.id}/webhook-profile/test`, undefined, { token: owner.access });
    expectStatus(202, test);
    // The same message three more times, at once, to the deployed deliverer (run here, so the test
    // knows when each has finished), besides the one the API published through Pub/Sub.
    const { webhookDeliverer } = await import("../../src/index");
    const json = { deliveryId: test.body.data.deliveryId, attempt: 1 };
    await Promise.all([1, 2, 3].map((n) => testEnv.wrap(webhookDeliverer)({ data: { message: { json, messageId: `dup-${n}` } } } as never)));
    await eventually(async () => (await deliveries(owner.access, rt.id)).data[0]?.status === "succeeded", 20_000, "the delivery");
    // Succeeded is final: any copy still on its way is refused by the delivery's state.
    expect(received(test.body.data.deliveryId)).toHaveLength(1);

    // The dispatcher run twice for one event (a repeated trigger) creates one delivery.
    const { dispatchProviderEvent } = await import("../../src/jobs/webhooks");
    const event = { accountId: owner.accountId, appId: owner.app.id, type: "package.version.published" as const, data: {}, occurredAt: new Date() };
    const first = await dispatchProviderEvent("evt_dispatchTwice0000000", event);
    const second = await dispatchProviderEvent("evt_dispatchTwice0000000", event);
    expect(first).toHaveLength(1);
    expect(second).toEqual([]);
    await eventually(() => received(first[0]!).length === 1, 20_000, "the dispatched delivery");
  });

  it("resumes a due retry from Firestore through the pump (as after a restart)", async () => {
    const { owner, rt } = await setUp({ retryPolicy: { maxAttempts: 3, initialDelaySeconds: 120, maxDelaySeconds: 120 } });
    provider.setWebhookResponses([500, 204]);
    const test = await api.post(`${RT}/${rt.id}/webhook-profile/test`, undefined, { token: owner.access });
    const id = test.body.data.deliveryId as string;
    const ref = adminDb().collection("webhookDeliveries").doc(id);
    await eventually(async () => (await ref.get()).get("status") === "retrying", 20_000, "the first attempt to fail");
    // The retry is 60–120 s away: the worker left it to the pump. Make it due, as time passing would.
    await ref.update({ nextAttemptAt: new Date(Date.now() - 1000) });
    const { webhookRetryPump } = await import("../../src/index");
    await webhookRetryPump.run({ scheduleTime: new Date().toISOString(), jobName: "webhookRetryPump" } as never);
    await eventually(() => received(id).length === 2, 20_000, "the retried attempt");
    const done = await eventually(async () => (await ref.get()).get("status") === "succeeded" && (await ref.get()).data(), 10_000, "success");
    expect(done.attempts).toHaveLength(2);
  });

  it("rotates the signing secret: both sign during the grace period", async () => {
    const { owner, rt, secret: oldSecret } = await setUp();
    const rotated = await api.put(`${RT}/${rt.id}/credential-secret`, { gracePeriodSeconds: 3600 }, { token: owner.access });
    expectStatus(200, rotated);
    const newSecret = rotated.body.data.secret as string;
    expect(rotated.body.data).toEqual({
      secret: expect.stringMatching(/^whsec_/),
      createdAt: expect.any(String),
      previousSecretExpiresAt: expect.any(String),
    });
    expect(new Date(rotated.body.data.previousSecretExpiresAt).getTime() - new Date(rotated.body.data.createdAt).getTime()).toBe(3600_000);
    expect(newSecret).not.toBe(oldSecret);
    const state = (await api.get(`${RT}/${rt.id}`, { token: owner.access })).body.data.credentialSecret;
    expect(state).toEqual({
      configured: true,
      createdAt: rotated.body.data.createdAt,
      previousSecretExpiresAt: rotated.body.data.previousSecretExpiresAt,
    });

    const test = await api.post(`${RT}/${rt.id}/webhook-profile/test`, undefined, { token: owner.access });
    const [hook] = await eventually(
      () => received(test.body.data.deliveryId).length === 1 && received(test.body.data.deliveryId),
      20_000,
      "signed delivery",
    );
    expect(signaturesOf(hook!, newSecret)).toEqual({ valid: true, count: 2 });
    expect(signaturesOf(hook!, oldSecret)).toEqual({ valid: true, count: 2 });

    // Your own secret, with no grace period: only it signs.
    const own = `whsec_${Buffer.alloc(48, 7).toString("base64")}`;
    const set = await api.put(`${RT}/${rt.id}/credential-secret`, { secret: own, gracePeriodSeconds: 0 }, { token: owner.access });
    expect(set.body.data).toEqual(expect.objectContaining({ secret: own, previousSecretExpiresAt: null }));
    const test2 = await api.post(`${RT}/${rt.id}/webhook-profile/test`, undefined, { token: owner.access });
    const [hook2] = await eventually(
      () => received(test2.body.data.deliveryId).length === 1 && received(test2.body.data.deliveryId),
      20_000,
      "signed delivery",
    );
    expect(signaturesOf(hook2!, own)).toEqual({ valid: true, count: 1 });
    expect(signaturesOf(hook2!, newSecret).valid).toBe(false);
  });

  it("refuses a test delivery without a webhook profile", async () => {
    const owner = await oauthProvider();
    const rt = await registerRuntimeApp(owner.access, owner.app.id, provider.url);
    expectError(await api.post(`${RT}/${rt.id}/webhook-profile/test`, undefined, { token: owner.access }), 409, "CONFLICT");
    expect((await deliveries(owner.access, rt.id)).data).toEqual([]);
  });
});
