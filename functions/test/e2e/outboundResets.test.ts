import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { adminDb } from "../helpers/admin";
import { capabilityPath, type PublishedCapability, publishedTasks } from "../helpers/capabilities";
import { api, expectError, expectStatus } from "../helpers/http";
import { useSampleProvider } from "../helpers/packages";
import { reviewer } from "../helpers/stories";

const sample = useSampleProvider();
const USER = { id: "usr_reset_test" };

/** A provider runtime that reads each request in full, then resets the connection: it got the request, the platform gets no answer. */
async function resettingRuntime() {
  const received: { path: string; key: string | undefined; body: string }[] = [];
  const server: Server = createServer((req: IncomingMessage) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      received.push({ path: req.url ?? "", key: req.headers["idempotency-key"] as string | undefined, body });
      req.socket.resetAndDestroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const close = () => new Promise<void>((r) => server.close(() => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, close };
}

/**
 * A reset connection is not retried blindly (docs/provider-runtime.md#idempotency-key): every call
 * carries an Idempotency-Key, an action that may have arrived is never sent again, and the history
 * says the outcome is unknown rather than "connection refused".
 */
describe("outbound calls: resets after the request was sent", () => {
  let t: PublishedCapability;
  const RT = () => `/v1/providers/runtime/apps/${t.runtimeAppId}`;
  const invocation = async (message: string) => {
    const id = /invocation (inv_[0-9A-Za-z]{20})\)$/.exec(message)![1]!;
    return (await adminDb().collection("invocations").doc(id).get()).data()!;
  };

  beforeAll(async () => {
    t = await publishedTasks(sample(), (await reviewer()).token, "Reset Tasks Ltd");
  }, 180_000);

  it("sends an Idempotency-Key with every action and invocation, derived from the caller's key for actions", async () => {
    sample().reset();
    const key = randomUUID();
    const res = await api.post(
      capabilityPath(t.ref, "action"),
      { action: "create_task", input: { title: "Keyed" }, user: USER },
      { token: t.access, headers: { "idempotency-key": key } },
    );
    expectStatus(200, res);
    expectStatus(200, await api.post(capabilityPath(t.ref, "invoke"), { user: USER, parameters: {} }, { token: t.access }));
    const calls = sample().requests.filter((r) => r.path.startsWith("/capabilities/"));
    expect(calls).toHaveLength(2);
    for (const call of calls) expect(call.headers["idempotency-key"]).toMatch(/^idk_[0-9A-Za-z]{20,40}$/);
    expect(calls[0]!.headers["idempotency-key"]).not.toContain(key);
    expect(calls[0]!.headers["idempotency-key"]).not.toBe(calls[1]!.headers["idempotency-key"]);
  });

  it("delivers an action once when the runtime resets the connection after reading it, and records an unknown outcome", async () => {
    const runtime = await resettingRuntime();
    expectStatus(200, await api.patch(RT(), { endpointUrl: runtime.url }, { token: t.access }));
    try {
      const key = randomUUID();
      const send = () =>
        api.post(
          capabilityPath(t.ref, "action"),
          { action: "create_task", input: { title: "Maybe twice" }, user: USER },
          { token: t.access, headers: { "idempotency-key": key } },
        );
      const error = expectError(await send(), 502, "PROVIDER_UNREACHABLE");
      expect(error.message).toMatch(/\(network; invocation inv_/);
      const actions = runtime.received.filter((r) => r.path === "/capabilities/task_list/actions/create_task");
      expect(actions).toHaveLength(1);
      expect(actions[0]!.key).toMatch(/^idk_/);
      const record = await invocation(error.message);
      expect(record).toEqual(expect.objectContaining({ kind: "action", status: "error", errorClass: "network" }));
      expect(record.errorMessage).toMatch(/outcome unknown/);
      expect(record.errorMessage).not.toMatch(/refused/i);

      // The caller's retry with the same key is answered from the stored outcome: still one delivery.
      expectError(await send(), 502, "PROVIDER_UNREACHABLE");
      expect(runtime.received.filter((r) => r.path === "/capabilities/task_list/actions/create_task")).toHaveLength(1);

      // An invocation is a read the key makes safe to resend: every delivery of it carries the same key.
      const invoke = await api.post(capabilityPath(t.ref, "invoke"), { user: USER, parameters: {} }, { token: t.access });
      const invokeError = expectError(invoke, 502, "PROVIDER_UNREACHABLE");
      const invokes = runtime.received.filter((r) => r.path === "/capabilities/task_list/invoke");
      expect(invokes.length).toBeGreaterThanOrEqual(1);
      expect(invokes.length).toBeLessThanOrEqual(2);
      expect(new Set(invokes.map((r) => r.key)).size).toBe(1);
      const invokeRecord = await invocation(invokeError.message);
      expect(invokeRecord).toEqual(expect.objectContaining({ kind: "invoke", status: "error", errorClass: "network" }));
      expect(invokeRecord.errorMessage).toMatch(/outcome unknown/);
    } finally {
      expectStatus(200, await api.patch(RT(), { endpointUrl: sample().url }, { token: t.access }));
      await runtime.close();
    }
  }, 60_000);
});
