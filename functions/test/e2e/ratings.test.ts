import { mapLimit } from "../../src/kernel/concurrency";
import { foldCounters } from "../../src/jobs/catalogCounters";
import { adminDb } from "../helpers/admin";
import { endUser, idsOf, marketplace, MARKETPLACE, uniqueWord } from "../helpers/catalog";
import { api, expectError, expectStatus, request } from "../helpers/http";
import { listedPackage, MANAGE, packageProvider, useSampleProvider } from "../helpers/packages";
import { startSurfaceProcesses, stopSurfaceProcesses } from "../helpers/surfaceProcesses";
import { expiredIdToken } from "../helpers/tokens";

const sample = useSampleProvider();

const installAs = async (token: string, packageId: string) =>
  expectStatus(201, await api.post(`${MARKETPLACE}/${packageId}/install`, undefined, { token }));
const rate = (token: string, packageId: string, body: unknown) => api.post(`${MARKETPLACE}/${packageId}/ratings`, body, { token });

describe("ratings", () => {
  let provider: Awaited<ReturnType<typeof packageProvider>>;
  let packageId: string;
  beforeAll(async () => {
    provider = await packageProvider(sample(), "Rated Ltd");
    packageId = await listedPackage(provider.token, provider.app.id);
  });

  it("takes one rating per user from users who installed the package, with an exact average and count", async () => {
    const alice = await endUser();
    const bob = await endUser();
    const error = expectError(await rate(alice.token, packageId, { stars: 4 }), 403, "INSTALL_REQUIRED");
    expect(error.message).toContain("Install package");

    await installAs(alice.token, packageId);
    const first = await rate(alice.token, packageId, { stars: 4, text: "  Accurate and quick.  " });
    expectStatus(201, first);
    expect(first.body.data).toEqual({
      packageId,
      stars: 4,
      text: "Accurate and quick.",
      mine: true,
      createdAt: expect.any(String),
      updatedAt: first.body.data.createdAt,
      packageRating: { average: 4, count: 1 },
    });

    await installAs(bob.token, packageId);
    expect((await rate(bob.token, packageId, { stars: 1 })).body.data.packageRating).toEqual({ average: 2.5, count: 2 });

    // Rating again replaces the rating: the count stays, the average follows.
    const again = await rate(alice.token, packageId, { stars: 5, text: null });
    expectStatus(200, again);
    expect(again.body.data).toEqual(
      expect.objectContaining({ stars: 5, text: null, createdAt: first.body.data.createdAt, packageRating: { average: 3, count: 2 } }),
    );
    expect(new Date(again.body.data.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(first.body.data.createdAt).getTime());

    const listing = await api.get(`${MARKETPLACE}/${packageId}`, { token: bob.token });
    expect(listing.body.data.rating).toEqual({ average: 3, count: 2 });

    // The list shows ratings anonymously, most recently changed first.
    const list = await api.get(`${MARKETPLACE}/${packageId}/ratings`, { token: bob.token });
    expectStatus(200, list);
    expect(list.body.data).toEqual([
      expect.objectContaining({ stars: 5, text: null, mine: false }),
      expect.objectContaining({ stars: 1, text: null, mine: true }),
    ]);
    expect(JSON.stringify(list.body)).not.toContain(alice.uid);
    expect(list.body.meta.pagination).toEqual({ total: 2, limit: 20, offset: 0, hasMore: false });
    expect((await api.get(`${MARKETPLACE}/${packageId}/ratings?limit=1&offset=1`, { token: bob.token })).body.data).toEqual([
      expect.objectContaining({ stars: 1 }),
    ]);

    // After uninstalling, a rating stays but cannot be changed.
    expectStatus(200, await api.delete(`${MARKETPLACE}/${packageId}/install`, { token: bob.token }));
    expectError(await rate(bob.token, packageId, { stars: 5 }), 403, "INSTALL_REQUIRED");
    expect((await api.get(`${MARKETPLACE}/${packageId}`, { token: bob.token })).body.data.rating).toEqual({ average: 3, count: 2 });
  });

  it("counts concurrent ratings exactly", async () => {
    const other = await packageProvider(sample(), "Busy Ltd");
    const busy = await listedPackage(other.token, other.app.id);
    const users = await mapLimit(Array.from({ length: 20 }), 8, () => endUser());
    await mapLimit(users, 8, (u) => installAs(u.token, busy));
    // Four processes serving the catalog surface stand in for four function instances.
    const instances = await startSurfaceProcesses(4, { surface: "catalog" });
    try {
      const responses = await Promise.all(
        users.map((u, i) => api.post(`${MARKETPLACE}/${busy}/ratings`, { stars: (i % 5) + 1 }, { token: u.token, baseUrl: instances[i % 4]!.url })),
      );
      for (const r of responses) expectStatus(201, r);
    } finally {
      stopSurfaceProcesses(instances);
    }
    expect((await api.get(`${MARKETPLACE}/${busy}`, { token: users[0]!.token })).body.data.rating).toEqual({ average: 3, count: 20 });
  });

  it("sorts by rating once the ratings are folded into the listings, best rated first, unrated last", async () => {
    const word = uniqueWord();
    const other = await packageProvider(sample(), "Sorted Ltd");
    const good = await listedPackage(other.token, other.app.id, { name: `${word} Good` });
    const fair = await listedPackage(other.token, other.app.id, { name: `${word} Fair` });
    const unrated = await listedPackage(other.token, other.app.id, { name: `${word} Unrated` });
    for (const [pkg, stars] of [
      [good, 5],
      [good, 4],
      [fair, 3],
      [fair, 2],
    ] as const) {
      const u = await endUser();
      await installAs(u.token, pkg);
      expectStatus(201, await rate(u.token, pkg, { stars }));
    }
    const token = (await endUser()).token;
    await foldCounters(new Date());
    expect(idsOf(await marketplace(token, { q: word, sort: "rating" }))).toEqual([good, fair, unrated]);
    const listing = (await adminDb().collection("catalogListings").doc(good).get()).data()!;
    expect(listing).toEqual(expect.objectContaining({ ratingCount: 2, ratingAverage: 4.5, ratingScore: (5 * 3 + 9) / 7 }));
    // The provider reads the same exact install count.
    expect((await api.get(`${MANAGE}/${good}`, { token: other.token })).body.data.installCount).toBe(2);
  });

  it("hides ratings of packages not in the catalog", async () => {
    const other = await packageProvider(sample(), "Gone Ltd");
    const gone = await listedPackage(other.token, other.app.id);
    expectStatus(200, await api.post(`${MANAGE}/${gone}/deprecate`, { reason: "Gone" }, { token: other.token }));
    const user = await endUser();
    expectError(await rate(user.token, gone, { stars: 3 }), 404, "NOT_FOUND");
    expectError(await api.get(`${MARKETPLACE}/${gone}/ratings`, { token: user.token }), 404, "NOT_FOUND");
    expectError(await rate(user.token, "pkg_00000000000000000000", { stars: 3 }), 404, "NOT_FOUND");
  });

  describe("bad input", () => {
    let token: string;
    beforeAll(async () => {
      token = (await endUser()).token;
      await installAs(token, packageId);
    });
    const path = () => `${MARKETPLACE}/${packageId}/ratings`;

    it.each([
      ["stars 0", { stars: 0 }, "stars"],
      ["stars 6", { stars: 6 }, "stars"],
      ["fractional stars", { stars: 2.5 }, "stars"],
      ["stars as a string", { stars: "5" }, "stars"],
      ["no stars", {}, "stars"],
      ["an empty text", { stars: 3, text: "" }, "text"],
      ["a text of 2001 characters", { stars: 3, text: "x".repeat(2001) }, "text"],
      ["a number as text", { stars: 3, text: 7 }, "text"],
      ["an unknown field", { stars: 3, mood: "happy" }, "mood: Unknown field"],
    ])("answers %s with 400 naming the field", async (_label, body, field) => {
      const error = expectError(await rate(token, packageId, body), 400, "VALIDATION_ERROR");
      expect(error.message).toContain(field);
    });

    it("answers malformed JSON, a missing body, another media type and bad tokens", async () => {
      expectError(await request("POST", path(), { token, raw: '{"stars": ', headers: { "content-type": "application/json" } }), 400, "INVALID_JSON");
      expect(expectError(await request("POST", path(), { token }), 400, "VALIDATION_ERROR").message).toContain("body");
      expectError(
        await request("POST", path(), { token, raw: "stars=5", headers: { "content-type": "application/x-www-form-urlencoded" } }),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
      );
      expectError(await rate("", packageId, { stars: 5 }), 401, "UNAUTHENTICATED");
      expectError(await rate(expiredIdToken(token), packageId, { stars: 5 }), 401, "UNAUTHENTICATED");
      expectError(await api.get(path(), { token: expiredIdToken(token) }), 401, "UNAUTHENTICATED");
      expectError(await api.get(`${MARKETPLACE}/nope/ratings`, { token }), 404, "NOT_FOUND");
      // Nothing was recorded.
      expect((await adminDb().collection("ratings").where("packageId", "==", packageId).get()).docs.filter((d) => d.get("stars") === 0)).toEqual([]);
    });
  });
});
