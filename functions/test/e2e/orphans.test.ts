import functionsTest from "firebase-functions-test";
import { adminDb } from "../helpers/admin";
import { PROJECT_ID } from "../helpers/env";
import { api, expectStatus } from "../helpers/http";
import { createApp, verifiedProvider } from "../helpers/stories";

const testEnv = functionsTest({ projectId: PROJECT_ID });
afterAll(() => testEnv.cleanup());

const DAY = 86_400_000;

/** A listed package under `appId`, written directly until the packages API seeds it. */
async function seedListedPackage(accountId: string, appId: string, id: string) {
  const now = new Date();
  await adminDb().collection("packages").doc(id).set({ accountId, appId, name: id, slug: id, status: "published", orphanedAt: null, catalogRemovalDueAt: null, createdAt: now, updatedAt: now });
  await adminDb().collection("catalogListings").doc(id).set({ packageId: id, name: id, orphaned: false, installable: true, updatedAt: now });
}

describe("orphaned packages", () => {
  it("are flagged when their app is deleted and leave the catalog after 30 days", async () => {
    const { orphanSweep } = await import("../../src/index");
    // firebase-functions-test's wrap() does not model v2 schedules; run() is the handler itself.
    const sweep = (event: { scheduleTime: string }) => orphanSweep.run({ ...event, jobName: "orphanSweep" });

    const { token, accountId } = await verifiedProvider();
    const app = await createApp(token);
    const keep = await createApp(token, { name: "Other app" });
    const suffix = app.id.slice(4, 14).toLowerCase();
    const orphan = `pkg_orphan_${suffix}`;
    const unaffected = `pkg_kept_${suffix}`;
    await seedListedPackage(accountId, app.id, orphan);
    await seedListedPackage(accountId, keep.id, unaffected);

    const before = Date.now();
    expectStatus(200, await api.delete(`/v1/providers/apps/${app.id}`, { token }));
    const pkg = await adminDb().collection("packages").doc(orphan).get();
    const orphanedAt = pkg.get("orphanedAt").toMillis() as number;
    expect(orphanedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(pkg.get("catalogRemovalDueAt").toMillis()).toBe(orphanedAt + 30 * DAY);
    expect((await adminDb().collection("catalogListings").doc(orphan).get()).data()).toEqual(expect.objectContaining({ orphaned: true, installable: false }));

    // Day 29: still listed.
    await sweep({ scheduleTime: new Date(orphanedAt + 29 * DAY).toISOString() });
    expect((await adminDb().collection("catalogListings").doc(orphan).get()).exists).toBe(true);

    // Day 30: removed from the catalog; the package itself remains for its owner.
    await sweep({ scheduleTime: new Date(orphanedAt + 30 * DAY).toISOString() });
    expect((await adminDb().collection("catalogListings").doc(orphan).get()).exists).toBe(false);
    const removed = await adminDb().collection("packages").doc(orphan).get();
    expect(removed.get("catalogRemovedAt").toMillis()).toBe(orphanedAt + 30 * DAY);
    expect(removed.get("catalogRemovalDueAt")).toBeNull();

    // The other app's package is untouched, and a second sweep changes nothing.
    await sweep({ scheduleTime: new Date(orphanedAt + 31 * DAY).toISOString() });
    expect((await adminDb().collection("catalogListings").doc(unaffected).get()).get("orphaned")).toBe(false);
    expect((await adminDb().collection("packages").doc(orphan).get()).get("catalogRemovedAt").toMillis()).toBe(orphanedAt + 30 * DAY);
  });
});
