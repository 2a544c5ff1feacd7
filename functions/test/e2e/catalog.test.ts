import { weatherForecast } from "../helpers/descriptors";
import { api, expectError, expectStatus } from "../helpers/http";
import { allListings, endUser, idsOf, marketplace, MARKETPLACE, seedListing, uniqueWord } from "../helpers/catalog";
import {
  createPackage,
  listedPackage,
  MANAGE,
  packageProvider,
  registerSampleRuntime,
  useSampleProvider,
  validate,
  versionInState,
  versionPath,
} from "../helpers/packages";
import { createApp } from "../helpers/stories";
import { expiredIdToken } from "../helpers/tokens";

const sample = useSampleProvider();

/**
 * Browsing and searching: listings seeded with chosen sort keys (written with the same search
 * fields and flags a publish writes), each named with a word of this run only so that searches see
 * nothing else; and real packages taken through the packages pipeline, to see the catalog follow
 * publication, deprecation and app deletion at once.
 */
describe("catalog browse and search", () => {
  const tag = uniqueWord();
  let token: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    token = (await endUser()).token;
    // Sort keys far above anything the other tests produce, and publication dates in the future,
    // so that in whole-catalog browsing these come first whatever else is listed.
    const seeds = {
      A: {
        name: `${tag} Weather`,
        providerName: "Sunny Data",
        capabilityNames: ["Hourly forecast"],
        installCount: 50_000,
        publishedAt: new Date("2030-01-01"),
        ratingScore: 4.2,
      },
      B: {
        name: `${tag}météo Plus`,
        providerName: "Nuage SARL",
        capabilityNames: ["Daily outlook"],
        installCount: 10_000,
        publishedAt: new Date("2030-03-01"),
        ratingScore: 3.1,
      },
      C: {
        name: "Tasks Board",
        providerName: `${tag} Labs`,
        capabilityNames: [`${tag} list`],
        category: "productivity",
        installCount: 100_000,
        publishedAt: new Date("2030-02-01"),
        ratingScore: 0,
      },
      D: {
        name: "Notes",
        description: `Write notes about ${tag} and everything else you need to remember.`,
        category: "productivity",
        installCount: 5_000,
        publishedAt: new Date("2029-12-01"),
        ratingScore: 4.8,
      },
      F: {
        name: `${tag} Orphan Radar`,
        description: "Radar images and rain forecast maps for your region.",
        orphaned: true,
        installCount: 80_000,
        publishedAt: new Date("2029-11-01"),
        ratingScore: 2,
      },
      E: { name: `${tag} Old Weather`, deprecated: true, installCount: 900_000, publishedAt: new Date("2030-06-01"), ratingScore: 5 },
      G: {
        name: `${tag} Revoked Weather`,
        certificationTier: "revoked" as const,
        installCount: 900_000,
        publishedAt: new Date("2030-06-01"),
        ratingScore: 5,
      },
    };
    for (const [key, seed] of Object.entries(seeds)) ids[key] = await seedListing(seed);
  });
  const named = (...keys: string[]) => keys.map((k) => ids[k]);

  it("ranks one word by relevance: whole name words, then name prefixes and provider or capability words, then the rest; most installed first within each", async () => {
    const res = await marketplace(token, { q: tag });
    expect(idsOf(res)).toEqual(named("F", "A", "C", "B", "D"));
    expect(res.body.meta.pagination).toEqual({ total: 5, limit: 20, offset: 0, hasMore: false });
  });

  it("sorts search results by popularity, recency and rating", async () => {
    expect(idsOf(await marketplace(token, { q: tag, sort: "popular" }))).toEqual(named("C", "F", "A", "B", "D"));
    expect(idsOf(await marketplace(token, { q: tag, sort: "recent" }))).toEqual(named("B", "C", "A", "D", "F"));
    expect(idsOf(await marketplace(token, { q: tag, sort: "rating" }))).toEqual(named("D", "A", "B", "F", "C"));
  });

  it("filters by category, alone and with a search", async () => {
    expect(idsOf(await marketplace(token, { q: tag, category: "productivity" }))).toEqual(named("C", "D"));
    expect(idsOf(await marketplace(token, { q: tag, category: "weather", sort: "popular" }))).toEqual(named("F", "A", "B"));
    const productivity = await allListings(token, { category: "productivity" });
    expect(productivity.every((l) => l.category === "productivity")).toBe(true);
    expect(productivity.map((l) => l.id).filter((id) => Object.values(ids).includes(id))).toEqual(named("C", "D"));
  });

  it("pages through results, across relevance tiers, with totals", async () => {
    const first = await marketplace(token, { q: tag, limit: 2 });
    expect(idsOf(first)).toEqual(named("F", "A"));
    expect(first.body.meta.pagination).toEqual({ total: 5, limit: 2, offset: 0, hasMore: true });
    const second = await marketplace(token, { q: tag, limit: 2, offset: 2 });
    expect(idsOf(second)).toEqual(named("C", "B"));
    expect(second.body.meta.pagination).toEqual({ total: 5, limit: 2, offset: 2, hasMore: true });
    const last = await marketplace(token, { q: tag, limit: 2, offset: 4 });
    expect(idsOf(last)).toEqual(named("D"));
    expect(last.body.meta.pagination).toEqual({ total: 5, limit: 2, offset: 4, hasMore: false });
    expect(idsOf(await marketplace(token, { q: tag, limit: 3, offset: 1 }))).toEqual(named("A", "C", "B"));
    expect(idsOf(await marketplace(token, { q: tag, sort: "popular", limit: 2, offset: 3 }))).toEqual(named("B", "D"));
    const beyond = await marketplace(token, { q: tag, offset: 10 });
    expect(idsOf(beyond)).toEqual([]);
    expect(beyond.body.meta.pagination).toEqual({ total: 5, limit: 20, offset: 10, hasMore: false });
  });

  it("matches whatever the case and accents, and by word prefixes", async () => {
    expect(idsOf(await marketplace(token, { q: `${tag.toUpperCase()}MÉTÉ` }))).toEqual(named("B"));
    expect(idsOf(await marketplace(token, { q: `${tag}meteo` }))).toEqual(named("B"));
    expect(idsOf(await marketplace(token, { q: `${tag}Météo` }))).toEqual(named("B"));
    // A prefix of the word matches every listing holding a word that starts with it.
    expect(idsOf(await marketplace(token, { q: tag.slice(0, 6) })).sort()).toEqual(named("A", "B", "C", "D", "F").sort());
    // A word no listing holds matches nothing, unless it is a typo of one (docs/catalog.md#search).
    expect(idsOf(await marketplace(token, { q: `${tag}xyz` }))).toEqual([]);
    const at = [...tag].findIndex((c, i) => i > 0 && i + 1 < tag.length && c !== tag[i + 1]); // two neighbours that differ, swapped
    const swapped = tag.slice(0, at) + tag[at + 1] + tag[at] + tag.slice(at + 2);
    expect(idsOf(await marketplace(token, { q: `${swapped} weather` }))).toEqual(named("A"));
  });

  it("needs every word of a several-word query, in any field, and ranks by relevance", async () => {
    expect(idsOf(await marketplace(token, { q: `${tag} hourly` }))).toEqual(named("A"));
    expect(idsOf(await marketplace(token, { q: `SUNNY ${tag}` }))).toEqual(named("A"));
    expect(idsOf(await marketplace(token, { q: `${tag} nuage` }))).toEqual(named("B"));
    expect(idsOf(await marketplace(token, { q: `${tag} lis tas` }))).toEqual(named("C"));
    expect(idsOf(await marketplace(token, { q: `remember ${tag} notes` }))).toEqual(named("D"));
    expect(idsOf(await marketplace(token, { q: `${tag} nothingelse` }))).toEqual([]);
    // A's "forecast" is a capability word (tier 2), F's a description word (tier 3): A first, though F is more popular.
    expect(idsOf(await marketplace(token, { q: `${tag} forecast` }))).toEqual(named("A", "F"));
    expect(idsOf(await marketplace(token, { q: `${tag} forecast`, sort: "popular" }))).toEqual(named("F", "A"));
    const paged = await marketplace(token, { q: `${tag} forecast`, limit: 1, offset: 1 });
    expect(idsOf(paged)).toEqual(named("F"));
    expect(paged.body.meta.pagination).toEqual({ total: 2, limit: 1, offset: 1, hasMore: false });
    expect(idsOf(await marketplace(token, { q: `${tag} weather`, category: "productivity" }))).toEqual([]);
  });

  it("never shows deprecated or revoked packages; shows orphaned ones flagged, not installable", async () => {
    expect(idsOf(await marketplace(token, { q: `${tag} old` }))).toEqual([]);
    expect(idsOf(await marketplace(token, { q: `${tag} revoked` }))).toEqual([]);
    for (const key of ["E", "G"]) expectError(await api.get(`${MARKETPLACE}/${ids[key]}`, { token }), 404, "NOT_FOUND");
    const orphan = (await marketplace(token, { q: `${tag} orphan` })).body.data;
    expect(orphan).toEqual([expect.objectContaining({ id: ids.F, orphaned: true, installable: false, deprecated: false })]);
    const all = (await allListings(token)).map((l) => l.id);
    expect(all).not.toContain(ids.E);
    expect(all).not.toContain(ids.G);
  });

  it("browses the whole catalog by each sort", async () => {
    const mine = (list: { id: string }[]) => list.map((l) => l.id).filter((id) => Object.values(ids).includes(id));
    const popular = await marketplace(token, { limit: 100 });
    expect(mine(popular.body.data).slice(0, 4)).toEqual(named("C", "F", "A", "B"));
    expect(popular.body.data.slice(0, 4).map((l: { id: string }) => l.id)).toEqual(named("C", "F", "A", "B"));
    const recent = await marketplace(token, { sort: "recent", limit: 5 });
    expect(idsOf(recent)).toEqual(named("B", "C", "A", "D", "F"));
    const rating = await marketplace(token, { sort: "rating", limit: 100 });
    const rated = mine(rating.body.data);
    expect(rated.slice(0, 4)).toEqual(named("D", "A", "B", "F"));
    const total = popular.body.meta.pagination.total;
    expect(total).toBeGreaterThanOrEqual(5);
    expect((await marketplace(token, { sort: "recent", limit: 1 })).body.meta.pagination.total).toBe(total);
  });

  it("answers bad queries with 400 naming the parameter", async () => {
    const cases: [Record<string, string>, string][] = [
      [{ sort: "relevance" }, "query.sort"],
      [{ sort: "newest" }, "query.sort"],
      [{ category: "gardening" }, "query.category"],
      [{ q: "!!! ---" }, "query.q"],
      [{ q: "x".repeat(201) }, "query.q"],
      [{ limit: "0" }, "query.limit"],
      [{ limit: "101" }, "query.limit"],
      [{ offset: "-1" }, "query.offset"],
      [{ limit: "ten" }, "query.limit"],
    ];
    for (const [params, field] of cases) {
      const error = expectError(await marketplace(token, params), 400, "VALIDATION_ERROR");
      expect(error.message).toContain(field);
    }
    // An empty q is no search at all.
    expectStatus(200, await marketplace(token, { q: "", limit: 1 }));
  });

  it("needs a valid Firebase ID token", async () => {
    expectError(await api.get(MARKETPLACE), 401, "UNAUTHENTICATED");
    const expired = await api.get(MARKETPLACE, { token: expiredIdToken(token) });
    expectError(expired, 401, "UNAUTHENTICATED");
    expect(expired.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expectError(await api.get(`${MARKETPLACE}/${ids.A}`, { token: "not-a-token" }), 401, "UNAUTHENTICATED");
  });

  it("answers 404 for unknown and malformed package ids", async () => {
    expectError(await api.get(`${MARKETPLACE}/pkg_00000000000000000000`, { token }), 404, "NOT_FOUND");
    expectError(await api.get(`${MARKETPLACE}/not-an-id`, { token }), 404, "NOT_FOUND");
    expectError(await api.put(MARKETPLACE, {}, { token }), 405, "METHOD_NOT_ALLOWED");
  });
});

describe("the catalog follows the packages pipeline at once", () => {
  it("lists a package when it is published, updates it with each version and drops it when deprecated", async () => {
    const word = uniqueWord();
    const company = `${uniqueWord()} Data Ltd`;
    const { token: provider, app } = await packageProvider(sample(), company);
    const user = (await endUser()).token;
    const { id, versionId } = await createPackage(provider, app.id, { name: `${word} Forecasts` });

    // A draft never shows.
    expect(idsOf(await marketplace(user, { q: word }))).toEqual([]);
    expectError(await api.get(`${MARKETPLACE}/${id}`, { token: user }), 404, "NOT_FOUND");

    await validate(provider, id, versionId);
    expectStatus(202, await api.post(`${versionPath(id, versionId)}/submit`, undefined, { token: provider }));
    await versionInState(provider, id, versionId, "published");
    const found = await marketplace(user, { q: word });
    expect(idsOf(found)).toEqual([id]);
    const listing = found.body.data[0];
    expect(listing).toEqual({
      id,
      slug: expect.any(String),
      name: `${word} Forecasts`,
      description: expect.stringContaining("Seven-day forecasts"),
      category: "weather",
      images: { icon: "https://cdn.acme.example/icon.png", screenshots: ["https://cdn.acme.example/shot-1.png"] },
      providerName: company,
      currentVersion: { id: versionId, version: "1.0.0", publishedAt: expect.any(String) },
      riskTier: "data_only",
      capabilities: [
        {
          id: "weather_forecast",
          name: "Weather forecast",
          description: expect.any(String),
          refreshIntervalSeconds: 1800,
          dataCategories: ["public"],
          actions: [],
        },
      ],
      dataCategories: ["public"],
      installCount: 0,
      rating: { average: null, count: 0 },
      privacyPolicyUrl: "https://acme.example/privacy",
      dataRetentionPolicyUrl: "https://acme.example/privacy",
      supportUrl: "https://acme.example/support",
      publishedAt: listing.currentVersion.publishedAt,
      updatedAt: expect.any(String),
      installable: true,
      orphaned: false,
      deprecated: false,
      successorPackageId: null,
      certificationTier: "certified",
      installed: false,
    });
    const single = await api.get(`${MARKETPLACE}/${id}`, { token: user });
    expectStatus(200, single);
    expect(single.body.data).toEqual(listing);
    // Found by its provider's name and its capability names too.
    expect(idsOf(await marketplace(user, { q: `${company.split(" ")[0]} weather forecast` }))).toEqual([id]);

    // Version 1.1.0 with a new name: the catalog shows it as soon as it is listed.
    expectStatus(200, await api.patch(`${MANAGE}/${id}`, { name: `${word} Forecasts Pro` }, { token: provider }));
    const next = await api.post(`${MANAGE}/${id}/versions`, { capabilities: [weatherForecast({ name: "Rain radar" })] }, { token: provider });
    expectStatus(201, next);
    await validate(provider, id, next.body.data.id);
    expectStatus(202, await api.post(`${versionPath(id, next.body.data.id)}/submit`, undefined, { token: provider }));
    await versionInState(provider, id, next.body.data.id, "published");
    const updated = (await marketplace(user, { q: `${word} pro radar` })).body.data;
    expect(updated).toEqual([
      expect.objectContaining({
        id,
        name: `${word} Forecasts Pro`,
        currentVersion: expect.objectContaining({ version: "1.1.0" }),
        publishedAt: listing.publishedAt,
      }),
    ]);
    expect(idsOf(await marketplace(user, { q: `${word} weather` }))).toEqual([]);

    expectStatus(200, await api.post(`${MANAGE}/${id}/deprecate`, { reason: "Replaced" }, { token: provider }));
    expect(idsOf(await marketplace(user, { q: word }))).toEqual([]);
    expectError(await api.get(`${MARKETPLACE}/${id}`, { token: user }), 404, "NOT_FOUND");
  });

  it("flags a package whose app was deleted at once, still listed but not installable", async () => {
    const word = uniqueWord();
    const { token: provider } = await packageProvider(null);
    const app = await createApp(provider, { name: "Doomed app" });
    await registerSampleRuntime(app, sample());
    const id = await listedPackage(provider, app.id, { name: `${word} Radar` });
    const user = (await endUser()).token;
    expect((await marketplace(user, { q: word })).body.data).toEqual([expect.objectContaining({ id, installable: true, orphaned: false })]);

    expectStatus(200, await api.delete(`/v1/providers/apps/${app.id}`, { token: provider }));
    expect((await marketplace(user, { q: word })).body.data).toEqual([expect.objectContaining({ id, installable: false, orphaned: true })]);
    expectError(await api.post(`${MARKETPLACE}/${id}/install`, undefined, { token: user }), 409, "PACKAGE_NOT_INSTALLABLE");
  });
});
