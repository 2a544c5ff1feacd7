import { randomUUID } from "node:crypto";
import { adminDb } from "../helpers/admin";
import { installBinding } from "../helpers/bindings";
import { capabilityPath, type PublishedCapability, publishedTasks } from "../helpers/capabilities";
import { api, expectError, expectStatus } from "../helpers/http";
import { useSampleProvider } from "../helpers/packages";
import { inParallel } from "../helpers/surfaceProcesses";
import { reviewer } from "../helpers/stories";

const sample = useSampleProvider();
const USER = { id: "usr_action_test" };
const ACTION_PATH = "/capabilities/task_list/actions/create_task";

describe("capabilities: actions and idempotency", () => {
  let t: PublishedCapability;
  const action = (body: unknown, key?: string) =>
    api.post(capabilityPath(t.ref, "action"), body, { token: t.access, ...(key === undefined ? {} : { headers: { "idempotency-key": key } }) });
  const actionCalls = () => sample().requests.filter((r) => r.path === ACTION_PATH);

  beforeAll(async () => {
    t = await publishedTasks(sample(), (await reviewer()).token);
  }, 180_000);
  beforeEach(() => sample().reset());

  it("runs a declared action for a capability instance's user and marks its state stale", async () => {
    const binding = await installBinding(t);
    const before = await api.post(capabilityPath(t.ref, "invoke"), { bindingId: binding.id }, { token: t.access });
    expectStatus(200, before);
    expect(before.body.data.data).toEqual({ tasks: [] });

    const res = await action({ action: "create_task", input: { title: "Buy milk" }, bindingId: binding.id });
    expectStatus(200, res);
    expect(res.body.data).toEqual({
      capability: t.ref,
      action: "create_task",
      bindingId: binding.id,
      versionId: t.versionId,
      invocationId: expect.stringMatching(/^inv_/),
      httpStatus: 201,
      result: { task: expect.objectContaining({ title: "Buy milk", done: false }) },
      latencyMs: expect.any(Number),
    });
    expect(res.headers.get("idempotent-replayed")).toBeNull();
    const [call] = actionCalls();
    expect(JSON.parse(call!.body)).toEqual({
      requestId: res.headers.get("x-request-id"),
      capability: "task_list",
      action: "create_task",
      input: { title: "Buy milk" },
      user: { id: binding.providerUserId },
      context: { surface: "widget", source: "api", installId: binding.installId },
    });
    const record = (await adminDb().collection("invocations").doc(res.body.data.invocationId).get()).data()!;
    expect(record).toEqual(expect.objectContaining({ kind: "action", action: "create_task", bindingId: binding.id, status: "ok", httpStatus: 201 }));

    // The user's tasks changed at the provider: the cached list is stale, the next invoke fetches the new one.
    const state = await api.get(`${capabilityPath(t.ref, "state")}?bindingId=${binding.id}`, { token: t.access });
    expect(state.body.data).toEqual(expect.objectContaining({ status: "stale", invalidatedAt: expect.any(String), data: { tasks: [] } }));
    const events = (await adminDb().collection("capabilityEvents").where("bindingId", "==", binding.id).get()).docs.map((d) => d.get("type"));
    expect(events.sort()).toEqual(["state.invalidated", "state.updated"]);
    const after = await api.post(capabilityPath(t.ref, "invoke"), { bindingId: binding.id }, { token: t.access });
    expect(after.body.data.origin).toBe("provider");
    expect(after.body.data.data.tasks).toEqual([expect.objectContaining({ title: "Buy milk" })]);
  });

  it("runs provider-initiated actions for a mock user", async () => {
    const res = await action({ action: "create_task", input: { title: "Water plants" }, user: USER });
    expectStatus(200, res);
    expect(res.body.data.bindingId).toBeNull();
    expect(JSON.parse(actionCalls()[0]!.body).user).toEqual(USER);
  });

  it("refuses actions the descriptor does not declare and input its schema rejects, without calling the runtime", async () => {
    const undeclared = await action({ action: "delete_everything", input: {}, user: USER });
    expect(expectError(undeclared, 400, "VALIDATION_ERROR").message).toBe("action: Not declared by this capability (declared: create_task)");
    const invalid = await action({ action: "create_task", input: { title: "" }, user: USER });
    expect(expectError(invalid, 400, "VALIDATION_ERROR").message).toMatch(/^input\.title: must NOT have fewer than 1 characters/);
    const extra = await action({ action: "create_task", input: { title: "x", priority: 1 }, user: USER });
    expectError(extra, 400, "VALIDATION_ERROR");
    expect(actionCalls()).toHaveLength(0);
    const badKey = await action({ action: "create_task", input: { title: "x" }, user: USER }, "key with spaces");
    expect(expectError(badKey, 400, "VALIDATION_ERROR").message).toMatch(/^header\.idempotency-key: /);
  });

  it("runs a retried action once: the first response is replayed for the same Idempotency-Key", async () => {
    const key = randomUUID();
    const body = { action: "create_task", input: { title: "Call mum" }, user: USER };
    const first = await action(body, key);
    expectStatus(200, first);
    const retry = await action({ user: USER, input: { title: "Call mum" }, action: "create_task" }, key); // same request, other key order
    expectStatus(200, retry);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(retry.body.data).toEqual(first.body.data);
    expect(retry.headers.get("x-request-id")).not.toBe(first.headers.get("x-request-id"));
    expect(actionCalls()).toHaveLength(1);
    const records = (
      await adminDb().collection("invocations").where("capabilityKey", "==", `${t.packageId}/task_list`).where("kind", "==", "action").get()
    ).docs;
    expect(records.filter((d) => d.id === first.body.data.invocationId)).toHaveLength(1);

    // The key is stored hashed, scoped to the app, with a 24-hour expiry.
    const stored = (await adminDb().collection("idempotencyKeys").where("scope", "==", t.app.id).get()).docs.map((d) => ({
      id: d.id,
      ...d.data(),
    })) as any[];
    const mine = stored.find((d) => d.response && JSON.parse(d.response.bodyJson).invocationId === first.body.data.invocationId)!;
    expect(mine.id).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(mine)).not.toContain(key);
    expect(mine.expiresAt.toMillis() - mine.createdAt.toMillis()).toBe(24 * 3600_000);

    // A new key is a new request.
    expectStatus(200, await action(body, randomUUID()));
    expect(actionCalls()).toHaveLength(2);
  });

  it("answers 422 IDEMPOTENCY_KEY_REUSED for the same key with a different request", async () => {
    const key = randomUUID();
    expectStatus(200, await action({ action: "create_task", input: { title: "One" }, user: USER }, key));
    const reused = await action({ action: "create_task", input: { title: "Two" }, user: USER }, key);
    expect(expectError(reused, 422, "IDEMPOTENCY_KEY_REUSED").message).toMatch(/different request/);
    expect(actionCalls()).toHaveLength(1);
  });

  it("runs concurrent requests with the same key once, and all get its response", async () => {
    const key = randomUUID();
    sample().setFailure("slow", 1000);
    const results = await inParallel(5, 5, () => action({ action: "create_task", input: { title: "Concurrent" }, user: USER }, key));
    sample().setFailure("none");
    for (const r of results) expectStatus(200, r);
    expect(actionCalls()).toHaveLength(1);
    expect(new Set(results.map((r) => r.body.data.invocationId)).size).toBe(1);
    expect(results.filter((r) => r.headers.get("idempotent-replayed") === "true")).toHaveLength(4);
  });

  it("replays a provider failure for its key, but keeps a key whose request never reached the runtime", async () => {
    const failedKey = randomUUID();
    sample().setFailure("error_500");
    const failed = await action({ action: "create_task", input: { title: "Flaky" }, user: USER }, failedKey);
    sample().setFailure("none");
    expectError(failed, 502, "PROVIDER_ERROR");
    const replayed = await action({ action: "create_task", input: { title: "Flaky" }, user: USER }, failedKey);
    expect(expectError(replayed, 502, "PROVIDER_ERROR").message).toBe(failed.body.error.message);
    expect(replayed.headers.get("idempotent-replayed")).toBe("true");
    expect(actionCalls()).toHaveLength(1);

    const pausedKey = randomUUID();
    const RT = `/v1/providers/runtime/apps/${t.runtimeAppId}`;
    expectStatus(200, await api.patch(RT, { status: "paused" }, { token: t.access }));
    try {
      expectError(await action({ action: "create_task", input: { title: "Later" }, user: USER }, pausedKey), 409, "RUNTIME_NOT_AVAILABLE");
    } finally {
      expectStatus(200, await api.patch(RT, { status: "active" }, { token: t.access }));
    }
    const ran = await action({ action: "create_task", input: { title: "Later" }, user: USER }, pausedKey);
    expectStatus(200, ran);
    expect(ran.headers.get("idempotent-replayed")).toBeNull();
    expect(actionCalls()).toHaveLength(2);
  });

  it("answers the runtime's own refusal of an action as PROVIDER_ERROR", async () => {
    // The sample runtime checks the title itself (422 for a blank one); a schema that allowed it would let it through.
    const res = await action({ action: "create_task", input: { title: "   " }, user: USER });
    const error = expectError(res, 502, "PROVIDER_ERROR");
    expect(error.message).toMatch(/HTTP 422 \(http_4xx; invocation inv_/);
  });
});
