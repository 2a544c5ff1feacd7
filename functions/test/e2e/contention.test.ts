import { randomUUID } from "node:crypto";
import { api, type ApiResponse, expectError, expectStatus } from "../helpers/http";
import { createPackage, MANAGE, packageProvider, useSampleProvider, versionPath } from "../helpers/packages";

const sample = useSampleProvider();

/** Every answer of a burst of writes to one resource: a success, or a quick 409 CONFLICT (never a 500 or a gateway timeout). */
function expectSucceededOrConflict(responses: ApiResponse[]) {
  for (const res of responses) {
    // A 409 is either the lease (another write in progress) or the state machine (e.g. "being validated").
    if (res.status === 409) expectError(res, 409, "CONFLICT");
    else expect([200, 201, 202]).toContain(res.status);
  }
  expect(responses.some((r) => r.status >= 200 && r.status < 300)).toBe(true);
}

/**
 * The functions emulator starts one worker per concurrent request, and a cold start of 20 at once on
 * a loaded 2-core machine fails in the emulator itself (a 504 before our code runs): ramp the
 * surface's workers up first with harmless reads, a few more at a time.
 */
async function warmUp(path: string, token: string, concurrency: number) {
  for (let n = 4; n <= concurrency; n += 4) {
    const reads = await Promise.all(Array.from({ length: n }, () => api.get(path, { token })));
    for (const read of reads) expectStatus(200, read);
  }
}

/**
 * Concurrent writes to one resource (docs/errors.md#concurrent-writes): a short lease per resource
 * makes the losers answer 409 CONFLICT at once (with Retry-After) instead of contending on a
 * Firestore transaction until it times out with a 500; `If-Match` refuses a stale edit with 412.
 */
describe("contention on one resource", () => {
  let dev: Awaited<ReturnType<typeof packageProvider>>;

  beforeAll(async () => {
    dev = await packageProvider(sample(), "Contended Data Ltd");
  }, 120_000);

  it("answers 20 parallel PATCH, validate and deprecate of one package with successes and quick 409s only", async () => {
    const { id, versionId } = await createPackage(dev.token, dev.app.id);
    const v = versionPath(id, versionId);
    await warmUp(v, dev.token, 20);
    const writes = Array.from({ length: 20 }, (_, i) => {
      if (i === 19) return () => api.post(`${MANAGE}/${id}/deprecate`, { reason: "Replaced by a better forecast" }, { token: dev.token });
      if (i % 2 === 0) return () => api.patch(v, { changelog: `Change ${i}` }, { token: dev.token });
      return () => api.post(`${v}/validate`, undefined, { token: dev.token });
    });
    const responses = await Promise.all(writes.map((w) => w()));
    expectSucceededOrConflict(responses);
    const busy = responses.filter((r) => r.status === 409 && /^Another change to .* is in progress|won the race/.test(r.body.error.message));
    for (const res of busy) expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    // The lease is released after each write: the package takes a write again at once.
    expectStatus(200, await api.get(`${MANAGE}/${id}`, { token: dev.token }));
    const after = await api.patch(`${MANAGE}/${id}`, { name: "Acme Weather Again" }, { token: dev.token });
    expectStatus(200, after);
  }, 120_000);

  it("answers parallel PATCH of one app and of one runtime app with successes and quick 409s only", async () => {
    const app = dev.app;
    const runtimePath = `/v1/providers/runtime/apps/${dev.runtime!.runtimeAppId}`;
    await warmUp(`/v1/providers/apps/${app.id}`, dev.token, 8);
    await warmUp(runtimePath, dev.runtime!.access, 8);
    const responses = await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => api.patch(`/v1/providers/apps/${app.id}`, { name: `Contended ${i}` }, { token: dev.token })),
      ...Array.from({ length: 6 }, (_, i) => api.patch(runtimePath, { displayName: `Runtime ${i}` }, { token: dev.runtime!.access })),
    ]);
    expectSucceededOrConflict(responses.slice(0, 6));
    expectSucceededOrConflict(responses.slice(6));
  }, 60_000);

  it("sends ETags and refuses a stale If-Match with 412 PRECONDITION_FAILED, on packages, versions, apps and runtime apps", async () => {
    const { id, versionId } = await createPackage(dev.token, dev.app.id);
    const cases: { path: string; token: string; change: (n: number) => Record<string, unknown> }[] = [
      { path: `${MANAGE}/${id}`, token: dev.token, change: (n) => ({ name: `Acme Weather ${n}` }) },
      { path: versionPath(id, versionId), token: dev.token, change: (n) => ({ changelog: `Edit ${n}` }) },
      { path: `/v1/providers/apps/${dev.app.id}`, token: dev.token, change: (n) => ({ name: `Etag App ${n}` }) },
      {
        path: `/v1/providers/runtime/apps/${dev.runtime!.runtimeAppId}`,
        token: dev.runtime!.access,
        change: (n) => ({ displayName: `Etag Runtime ${n}` }),
      },
    ];
    for (const { path, token, change } of cases) {
      const read = await api.get(path, { token });
      expectStatus(200, read);
      const etag = read.headers.get("etag");
      expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
      // The same representation, the same ETag.
      expect((await api.get(path, { token })).headers.get("etag")).toBe(etag);

      const fresh = await api.patch(path, change(1), { token, headers: { "if-match": etag! } });
      expectStatus(200, fresh);
      const next = fresh.headers.get("etag");
      expect(next).toMatch(/^"/);
      expect(next).not.toBe(etag);
      expect((await api.get(path, { token })).headers.get("etag")).toBe(next);

      // Someone else's edit came first: the old ETag is stale.
      expectError(await api.patch(path, change(2), { token, headers: { "if-match": etag! } }), 412, "PRECONDITION_FAILED");
      // Weak tags never match (If-Match uses the strong comparison).
      expectError(await api.patch(path, change(3), { token, headers: { "if-match": `W/${next}` } }), 412, "PRECONDITION_FAILED");
      expectStatus(200, await api.patch(path, change(4), { token, headers: { "if-match": `"nope", ${next}` } }));
      expectStatus(200, await api.patch(path, change(5), { token, headers: { "if-match": "*" } }));
      // Without If-Match the last writer wins, as before.
      expectStatus(200, await api.patch(path, change(6), { token }));
    }
  }, 120_000);

  it("checks If-Match on a runtime app's sub-resources against the runtime app's ETag", async () => {
    const path = `/v1/providers/runtime/apps/${dev.runtime!.runtimeAppId}`;
    const token = dev.runtime!.access;
    const etag = (await api.get(path, { token })).headers.get("etag")!;
    expectStatus(200, await api.patch(path, { displayName: `Moved ${randomUUID().slice(0, 8)}` }, { token }));
    const profile = { type: "api_key", headerName: sample().config.apiKeyHeader, value: sample().config.apiKey };
    expectError(await api.put(`${path}/auth-profile`, profile, { token, headers: { "if-match": etag } }), 412, "PRECONDITION_FAILED");
    const current = (await api.get(path, { token })).headers.get("etag")!;
    const put = await api.put(`${path}/auth-profile`, profile, { token, headers: { "if-match": current } });
    expectStatus(200, put);
    expect(put.headers.get("etag")).toBe((await api.get(path, { token })).headers.get("etag"));
  }, 60_000);
});
