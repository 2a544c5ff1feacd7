import { randomUUID } from "node:crypto";
import { adminDb } from "../helpers/admin";
import { endUser, MARKETPLACE } from "../helpers/catalog";
import { api, expectError, expectStatus } from "../helpers/http";
import { listedPackage, MANAGE, packageBody, packageProvider, useSampleProvider } from "../helpers/packages";
import { verifiedProvider } from "../helpers/stories";

const sample = useSampleProvider();
const APPS = "/v1/providers/apps";

/**
 * `Idempotency-Key` on the POSTs that create something (docs/errors.md#idempotent-requests): a
 * lost response and a retry never create a second resource; the retry gets the first answer.
 */
describe("idempotent creates", () => {
  let dev: Awaited<ReturnType<typeof verifiedProvider>>;
  const appNamed = async (name: string) => {
    const res = await api.get(`${APPS}?limit=100`, { token: dev.token });
    expectStatus(200, res);
    return (res.body.data as { id: string; name: string }[]).filter((a) => a.name === name);
  };

  beforeAll(async () => {
    dev = await verifiedProvider("Careful Retries Ltd");
  });

  it("creates one app for two requests with one key, and replays the first answer, secret included", async () => {
    const key = randomUUID();
    const name = `Retried ${key.slice(0, 8)}`;
    const first = await api.post(APPS, { name }, { token: dev.token, headers: { "idempotency-key": key } });
    expectStatus(201, first);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    expect(first.body.data.client_secret).toEqual(expect.any(String));

    const retry = await api.post(APPS, { name }, { token: dev.token, headers: { "idempotency-key": key } });
    expectStatus(201, retry);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(retry.body.data).toEqual(first.body.data);
    expect(retry.headers.get("location")).toBe(first.headers.get("location"));
    expect(retry.body.meta.requestId).toBe(retry.headers.get("x-request-id"));
    expect(await appNamed(name)).toHaveLength(1);

    // The stored answer is sealed: the secret is nowhere in the idempotency records in clear.
    const records = await adminDb().collection("idempotencyKeys").where("operation", "==", "createApp").get();
    expect(records.size).toBeGreaterThan(0);
    for (const doc of records.docs) expect(JSON.stringify(doc.data())).not.toContain(first.body.data.client_secret);
  });

  it("runs concurrent requests with one key once", async () => {
    const key = randomUUID();
    const name = `Concurrent ${key.slice(0, 8)}`;
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => api.post(APPS, { name }, { token: dev.token, headers: { "idempotency-key": key } })),
    );
    for (const res of answers) expectStatus(201, res);
    expect(new Set(answers.map((r) => r.body.data.id)).size).toBe(1);
    expect(answers.filter((r) => r.headers.get("idempotent-replayed") === "true")).toHaveLength(4);
    expect(await appNamed(name)).toHaveLength(1);
  });

  it("refuses the key with another body (422 IDEMPOTENCY_KEY_REUSED), and keys are per account", async () => {
    const key = randomUUID();
    expectStatus(201, await api.post(APPS, { name: `First ${key.slice(0, 8)}` }, { token: dev.token, headers: { "idempotency-key": key } }));
    const other = await api.post(APPS, { name: `Second ${key.slice(0, 8)}` }, { token: dev.token, headers: { "idempotency-key": key } });
    expectError(other, 422, "IDEMPOTENCY_KEY_REUSED");
    expect(await appNamed(`Second ${key.slice(0, 8)}`)).toHaveLength(0);
    // Another account's identical key is its own.
    const stranger = await verifiedProvider("Another Account Ltd");
    const theirs = await api.post(APPS, { name: `Second ${key.slice(0, 8)}` }, { token: stranger.token, headers: { "idempotency-key": key } });
    expectStatus(201, theirs);
    expect(theirs.headers.get("idempotent-replayed")).toBeNull();
    expectError(await api.post(APPS, { name: "Bad key" }, { token: dev.token, headers: { "idempotency-key": "" } }), 400, "VALIDATION_ERROR");
  });

  it("creates one package for two requests with one key (the retry is not a slug conflict)", async () => {
    const provider = await packageProvider(null, "Careful Packages Ltd");
    const body = packageBody(provider.app.id);
    const key = randomUUID();
    const first = await api.post(MANAGE, body, { token: provider.token, headers: { "idempotency-key": key } });
    expectStatus(201, first);
    const retry = await api.post(MANAGE, body, { token: provider.token, headers: { "idempotency-key": key } });
    expectStatus(201, retry);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(retry.body.data.id).toBe(first.body.data.id);
    // Without the key the same body is a second create: the slug is taken.
    expectError(await api.post(MANAGE, body, { token: provider.token }), 409, "CONFLICT");
    expectError(
      await api.post(MANAGE, { ...body, name: "Another name" }, { token: provider.token, headers: { "idempotency-key": key } }),
      422,
      "IDEMPOTENCY_KEY_REUSED",
    );
    // Stored refusals replay too: a key whose first request was refused answers the same refusal.
    const taken = randomUUID();
    const refused = await api.post(MANAGE, body, { token: provider.token, headers: { "idempotency-key": taken } });
    expectError(refused, 409, "CONFLICT");
    const again = await api.post(MANAGE, body, { token: provider.token, headers: { "idempotency-key": taken } });
    expectError(again, 409, "CONFLICT");
    expect(again.headers.get("idempotent-replayed")).toBe("true");
  }, 60_000);

  it("replays an install for the same key", async () => {
    const provider = await packageProvider(sample(), "Careful Installs Ltd");
    const packageId = await listedPackage(provider.token, provider.app.id);
    const user = await endUser();
    const key = randomUUID();
    const first = await api.post(`${MARKETPLACE}/${packageId}/install`, {}, { token: user.token, headers: { "idempotency-key": key } });
    expectStatus(201, first);
    const retry = await api.post(`${MARKETPLACE}/${packageId}/install`, {}, { token: user.token, headers: { "idempotency-key": key } });
    expectStatus(201, retry);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(retry.body.data).toEqual(first.body.data);
    const installs = await adminDb().collection("installs").where("packageId", "==", packageId).get();
    expect(installs.size).toBe(1);
  }, 120_000);

  it("documents the header on every create in the OpenAPI document", async () => {
    const doc = (await api.get("/v1/openapi.json")).body;
    const creates: [string, string][] = [
      ["/v1/providers/apps", "post"],
      ["/v1/providers/apps/{id}/rotate-secret", "post"],
      ["/v1/providers/packages/manage", "post"],
      ["/v1/providers/packages/manage/{id}/versions", "post"],
      ["/v1/providers/runtime/apps", "post"],
      ["/v1/space/marketplace/{id}/install", "post"],
      ["/v1/space/marketplace/{id}/ratings", "post"],
      ["/v1/providers/capabilities/sandbox/scenarios", "post"],
    ];
    for (const [path, method] of creates) {
      const op = doc.paths[path]?.[method];
      expect(op).toBeDefined();
      expect(op.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toContain("header:idempotency-key");
      expect(Object.keys(op.responses)).toContain("422");
      const success = Object.entries(op.responses).find(([status]) => status.startsWith("2"))![1] as { headers: Record<string, unknown> };
      expect(Object.keys(success.headers)).toContain("Idempotent-Replayed");
    }
    const patch = doc.paths["/v1/providers/packages/manage/{id}"].patch;
    expect(patch.parameters.map((p: { name: string }) => p.name)).toContain("if-match");
    expect(Object.keys(patch.responses)).toEqual(expect.arrayContaining(["409", "412"]));
    expect(Object.keys(doc.paths["/v1/providers/packages/manage/{id}"].get.responses["200"].headers)).toContain("ETag");
  });
});
