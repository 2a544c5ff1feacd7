import { ratingScore } from "../../src/domain/catalog/counters";
import { type CatalogListingDoc, listingFlags, searchFieldsOf } from "../../src/domain/catalog/listing";
import { editDistance, ListingIndex } from "../../src/surfaces/catalog/listingIndex";
import { buildSearchIndex, MAX_TERMS, normalize, queryTerms, relevanceScore, tierOf, words } from "../../src/domain/catalog/search";

describe("catalog search: normalisation and tokens", () => {
  it("ignores case and accents, and folds letters NFKD cannot split", () => {
    expect(normalize("Crème Brûlée ÇA")).toBe("creme brulee ca");
    expect(words("Straße Øresund Łódź Æther ﬁnance")).toEqual(["strasse", "oresund", "lodz", "aether", "finance"]);
    expect(words("Don't-stop: Météo_FRANCE 24/7")).toEqual(["dont", "stop", "meteo", "france", "24", "7"]);
    expect(words("Погода Москва")).toEqual(["погода", "москва"]);
  });

  it("indexes whole words and their prefixes, tiered by field and by whole word versus prefix", () => {
    const { searchKeys } = buildSearchIndex({
      name: "Météo Plus",
      providerName: "Sunny Data Ltd",
      capabilityNames: ["Hourly forecast"],
      description: "Forecasts for the Alps and the sea.",
    });
    const tiers = (...terms: string[]) => terms.map((t) => tierOf(searchKeys, t));
    expect(tiers("meteo", "plus")).toEqual([1, 1]);
    expect(tiers("me", "met", "mete", "pl", "plu", "sunny", "hourly", "forecast")).toEqual([2, 2, 2, 2, 2, 2, 2, 2]);
    expect(tiers("su", "hou", "fore", "forecasts", "alps", "sea")).toEqual([3, 3, 3, 3, 3, 3]);
    // One key per term: a term keeps its best occurrence ("forecast" is a capability word, and a prefix of the description's "forecasts").
    const terms = searchKeys.map((k) => k.slice(2));
    expect(new Set(terms).size).toBe(terms.length);
    expect(searchKeys).toContain("2:forecast");
    expect(searchKeys.every((k) => /^[123]:/.test(k))).toBe(true);
    // Stop words of the description are not indexed; one-letter prefixes are not either.
    expect(tiers("the", "m")).toEqual([null, null]);
  });

  it("bounds the terms of a listing, dropping the weakest first", () => {
    const description = Array.from({ length: 160 }, (_, i) => `word${i}suffixlong`).join(" ");
    const { searchKeys } = buildSearchIndex({ name: "Acme Weather", providerName: "Acme", capabilityNames: ["Forecast"], description });
    expect(searchKeys).toHaveLength(MAX_TERMS);
    expect(searchKeys).toEqual(
      expect.arrayContaining(["1:acme", "1:weather", "2:we", "2:forecast", "3:word0suffixlong", "3:word149suffixlong", "3:word0suffix"]),
    );
    // Description words after the first 150 are not read; prefixes (half weight) go before whole words.
    expect(tierOf(searchKeys, "word150suffixlong")).toBeNull();
    expect(tierOf(searchKeys, "word149suffix")).toBeNull();
  });

  it("parses queries into terms every match must contain", () => {
    expect(queryTerms("  Weather  BERLIN ")).toEqual(["weather", "berlin"]);
    expect(queryTerms("wea weather")).toEqual(["weather"]);
    expect(queryTerms("the weather")).toEqual(["weather"]);
    expect(queryTerms("the")).toEqual(["the"]);
    expect(queryTerms("météo")).toEqual(["meteo"]);
    expect(queryTerms("!!! ---")).toEqual([]);
    expect(queryTerms("one two three four five six seven eight nine ten")).toHaveLength(8);
  });

  it("scores several words by their tiers", () => {
    const { searchKeys } = buildSearchIndex({
      name: "Task list",
      providerName: "Acme",
      capabilityNames: ["Tasks"],
      description: "Your to-do list, synced.",
    });
    expect(relevanceScore(searchKeys, ["task", "list"])).toBe(6);
    expect(relevanceScore(searchKeys, ["tas", "synced"])).toBe(3);
    expect(relevanceScore(searchKeys, ["task", "absent"])).toBe(3);
  });
});

describe("catalog listing flags", () => {
  it("hides deprecated and revoked packages, and refuses installs of orphans", () => {
    expect(listingFlags({ deprecated: false, orphaned: false, certificationTier: "certified" })).toEqual({
      visible: true,
      hiddenReason: null,
      installable: true,
    });
    expect(listingFlags({ deprecated: false, orphaned: true, certificationTier: "warning" })).toEqual({
      visible: true,
      hiddenReason: null,
      installable: false,
    });
    expect(listingFlags({ deprecated: true, orphaned: false, certificationTier: "certified" })).toEqual({
      visible: false,
      hiddenReason: "deprecated",
      installable: false,
    });
    expect(listingFlags({ deprecated: false, orphaned: false, certificationTier: "revoked" })).toEqual({
      visible: false,
      hiddenReason: "certification_revoked",
      installable: false,
    });
  });

  it("ranks ratings by a Bayesian average, unrated last", () => {
    expect(ratingScore({ ratings: 0, ratingSum: 0 })).toBe(0);
    expect(ratingScore({ ratings: 1, ratingSum: 5 })).toBeLessThan(ratingScore({ ratings: 50, ratingSum: 225 })); // one 5 < fifty averaging 4.5
    expect(ratingScore({ ratings: 1, ratingSum: 1 })).toBeGreaterThan(0);
  });
});

/** The catalog's read model, fed with listing changes as the Firestore listener would deliver them. */
describe("the catalog's in-memory read model", () => {
  const base = {
    accountId: "acc",
    appId: "app",
    slug: "s",
    description: "",
    category: "weather",
    images: { icon: null, screenshots: [] },
    privacyPolicyUrl: null,
    supportUrl: null,
    currentVersionId: "ver",
    currentVersion: "1.0.0",
    riskTier: "data_only",
    capabilities: [] as CatalogListingDoc["capabilities"],
    dataCategories: [],
    ratingAverage: null,
    ratingCount: 0,
    countersReadAt: null,
    versionPublishedAt: new Date(0),
    updatedAt: new Date(0),
    orphaned: false,
    installable: true,
    deprecated: false,
    successorPackageId: null,
    certificationTier: "certified" as const,
    visible: true,
    hiddenReason: null,
  };
  const listing = (packageId: string, name: string, more: Partial<CatalogListingDoc> = {}): CatalogListingDoc => {
    const l = { ...base, packageId, name, providerName: "Acme", installCount: 0, ratingScore: 0, publishedAt: new Date(0), searchKeys: [], ...more };
    return { ...l, ...searchFieldsOf(l) };
  };
  type Change = { type: "added" | "modified" | "removed"; listing: CatalogListingDoc };
  let deliver: (changes: Change[]) => void = () => undefined;
  const source = () =>
    ({
      onSnapshot(next: (s: unknown) => void) {
        deliver = (changes) =>
          next({ docChanges: () => changes.map((c) => ({ type: c.type, doc: { id: c.listing.packageId, data: () => c.listing } })) });
        deliver([]);
        return () => undefined;
      },
    }) as never;
  const page = (
    index: ListingIndex,
    q: string,
    more: { sort?: "popular" | "recent" | "rating" | "relevance"; category?: string; limit?: number; offset?: number } = {},
  ) =>
    index
      .page({
        terms: q ? queryTerms(q) : [],
        category: more.category,
        sort: more.sort ?? (q ? "relevance" : "popular"),
        limit: more.limit ?? 20,
        offset: more.offset ?? 0,
      })
      .then((h) => ({ ids: h.listings.map((l) => l.packageId), total: h.total }));

  it("ranks by tier then popularity, filters by category, pages, and follows every change", async () => {
    const index = new ListingIndex(source);
    await page(index, ""); // the first snapshot
    deliver([
      { type: "added", listing: listing("p1", "Weather Now", { installCount: 10 }) },
      { type: "added", listing: listing("p2", "Weatherly", { installCount: 500 }) },
      { type: "added", listing: listing("p3", "Rain Radar", { installCount: 900, description: "Weather maps for your region." }) },
      { type: "added", listing: listing("p4", "Tasks", { installCount: 50, category: "productivity" }) },
    ]);
    expect(await page(index, "weather")).toEqual({ ids: ["p1", "p2", "p3"], total: 3 }); // whole name word, name prefix, description
    expect(await page(index, "wea", { sort: "popular" })).toEqual({ ids: ["p3", "p2", "p1"], total: 3 });
    expect(await page(index, "", { category: "productivity" })).toEqual({ ids: ["p4"], total: 1 });
    expect(await page(index, "", { limit: 2, offset: 1 })).toEqual({ ids: ["p2", "p4"], total: 4 });
    expect(await page(index, "rain weather")).toEqual({ ids: ["p3"], total: 1 });

    deliver([
      { type: "modified", listing: listing("p1", "Sunny Now", { installCount: 10 }) },
      { type: "removed", listing: listing("p2", "Weatherly") },
    ]);
    expect(await page(index, "weather")).toEqual({ ids: ["p3"], total: 1 });
    expect(await page(index, "sunny")).toEqual({ ids: ["p1"], total: 1 });
  });

  it("reads a word that matches nothing as the nearest word of the catalog", async () => {
    const index = new ListingIndex(source);
    await page(index, "");
    deliver([
      { type: "added", listing: listing("p1", "Forecast Pro", { installCount: 3 }) },
      { type: "added", listing: listing("p2", "Marathon Trainer") },
    ]);
    expect((await page(index, "forcast")).ids).toEqual(["p1"]);
    expect((await page(index, "marahton trainer")).ids).toEqual(["p2"]);
    expect((await page(index, "zzzz")).total).toBe(0);
    expect(editDistance("forcast", "forecast", 1)).toBe(1);
    expect(editDistance("marahton", "marathon", 2)).toBe(1); // a swap is one edit
    expect(editDistance("abc", "xyz", 1)).toBe(2); // cut off above the bound
  });
});
