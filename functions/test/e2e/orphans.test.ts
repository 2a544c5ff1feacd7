import functionsTest from "firebase-functions-test";
import { adminDb } from "../helpers/admin";
import { PROJECT_ID } from "../helpers/env";
import { api, expectError, expectStatus } from "../helpers/http";
import { listedPackage, MANAGE, packageProvider, registerSampleRuntime, useSampleProvider, versionPath } from "../helpers/packages";
import { createApp } from "../helpers/stories";

const testEnv = functionsTest({ projectId: PROJECT_ID });
const sample = useSampleProvider();
afterAll(() => testEnv.cleanup());

const DAY = 86_400_000;

const listing = async (id: string) => (await adminDb().collection("catalogListings").doc(id).get()).data();

describe("orphaned packages", () => {
  it("are flagged when their app is deleted and leave the catalog after 30 days", async () => {
    const { orphanSweeper } = await import("../../src/index");
    // firebase-functions-test's wrap() does not model v2 schedules; run() is the handler itself.
    const sweep = (event: { scheduleTime: string }) => orphanSweeper.run({ ...event, jobName: "orphanSweeper" });

    const { token, app } = await packageProvider(sample());
    const keep = await createApp(token, { name: "Other app" });
    await registerSampleRuntime(keep, sample());
    const orphan = await listedPackage(token, app.id);
    const unaffected = await listedPackage(token, keep.id);
    expect(await listing(orphan)).toEqual(expect.objectContaining({ orphaned: false, installable: true }));

    const before = Date.now();
    expectStatus(200, await api.delete(`/v1/providers/apps/${app.id}`, { token }));
    const pkg = await adminDb().collection("packages").doc(orphan).get();
    const orphanedAt = pkg.get("orphanedAt").toMillis() as number;
    expect(orphanedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(pkg.get("catalogRemovalDueAt").toMillis()).toBe(orphanedAt + 30 * DAY);
    expect(await listing(orphan)).toEqual(expect.objectContaining({ orphaned: true, installable: false }));
    const seen = (await api.get(`${MANAGE}/${orphan}`, { token })).body.data;
    expect(seen).toEqual(
      expect.objectContaining({ orphaned: true, catalogRemovalDueAt: new Date(orphanedAt + 30 * DAY).toISOString(), status: "published" }),
    );
    // An orphan takes no new versions through the pipeline until it is moved to an app.
    expectError(await api.post(`${versionPath(orphan, seen.versions[0].id)}/validate`, undefined, { token }), 409, "CONFLICT");

    // Day 29: still listed.
    await sweep({ scheduleTime: new Date(orphanedAt + 29 * DAY).toISOString() });
    expect(await listing(orphan)).toBeDefined();

    // Day 30: removed from the catalog; the package itself remains for its owner.
    await sweep({ scheduleTime: new Date(orphanedAt + 30 * DAY).toISOString() });
    expect(await listing(orphan)).toBeUndefined();
    const removed = await adminDb().collection("packages").doc(orphan).get();
    expect(removed.get("catalogRemovedAt").toMillis()).toBe(orphanedAt + 30 * DAY);
    expect(removed.get("catalogRemovalDueAt")).toBeNull();
    expectStatus(200, await api.get(`${MANAGE}/${orphan}`, { token }));

    // The other app's package is untouched, and a second sweep changes nothing.
    await sweep({ scheduleTime: new Date(orphanedAt + 31 * DAY).toISOString() });
    expect((await listing(unaffected))!.orphaned).toBe(false);
    expect((await adminDb().collection("packages").doc(orphan).get()).get("catalogRemovedAt").toMillis()).toBe(orphanedAt + 30 * DAY);
  });

  it("can be moved to another app before removal, which makes them installable again", async () => {
    const { token, app } = await packageProvider(sample());
    const home = await createApp(token, { name: "New home" });
    const id = await listedPackage(token, app.id);
    expectStatus(200, await api.delete(`/v1/providers/apps/${app.id}`, { token }));
    expect(await listing(id)).toEqual(expect.objectContaining({ orphaned: true, installable: false }));

    const moved = await api.patch(`${MANAGE}/${id}`, { appId: home.id }, { token });
    expectStatus(200, moved);
    expect(moved.body.data).toEqual(expect.objectContaining({ appId: home.id, orphaned: false, catalogRemovalDueAt: null }));
    expect(await listing(id)).toEqual(expect.objectContaining({ appId: home.id, orphaned: false, installable: true }));
    expect((await adminDb().collection("packages").doc(id).get()).get("catalogRemovalDueAt")).toBeNull();
  });
});
