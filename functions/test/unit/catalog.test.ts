import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ratingScore } from "../../src/domain/catalog/counters";
import { listingFlags } from "../../src/domain/catalog/listing";
import { browseSpec, countOf, type QuerySpec, type SortKey, termSpec, tierSpec } from "../../src/surfaces/catalog/queries";
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

/**
 * Firestore answers a query only from an index that has its equality and array-contains fields
 * (in any order) followed by its order fields; the emulator never checks. Every query the catalog
 * can make must find its composite index in firestore.indexes.json.
 */
describe("firestore.indexes.json serves every catalog query", () => {
  type Field = { fieldPath: string; order?: string; arrayConfig?: string };
  const declared = (
    JSON.parse(readFileSync(join(__dirname, "../../../firestore.indexes.json"), "utf8")).indexes as { collectionGroup: string; fields: Field[] }[]
  ).filter((i) => i.collectionGroup === "catalogListings");
  const key = (f: Field) => `${f.fieldPath}:${f.arrayConfig ?? f.order}`;

  function served(spec: QuerySpec): boolean {
    const filters = new Set([...spec.equals.map(([f]) => `${f}:ASCENDING`), ...(spec.contains ? ["searchKeys:CONTAINS"] : [])]);
    const orders = spec.orderBy.length ? [...spec.orderBy.map((f) => `${f}:DESCENDING`), "__name__:DESCENDING"] : [];
    return declared.some((index) => {
      const fields = index.fields.map(key);
      const head = new Set(fields.slice(0, filters.size));
      if (head.size !== filters.size || ![...filters].every((f) => head.has(f))) return false;
      const rest = fields.slice(filters.size);
      return spec.orderBy.length ? JSON.stringify(rest) === JSON.stringify(orders) : true;
    });
  }

  const sorts: SortKey[] = ["popular", "recent", "rating"];
  const cases: [string, QuerySpec][] = [];
  for (const category of [undefined, "weather"]) {
    for (const sort of sorts) {
      cases.push([`browse category=${category} sort=${sort}`, browseSpec(category, sort)]);
      cases.push([`q (one or more words) category=${category} sort=${sort}`, termSpec("wea", category, sort)]);
    }
    for (const tier of [1, 2, 3] as const) cases.push([`q relevance tier ${tier} category=${category}`, tierSpec(tier, "wea", category)]);
  }

  it.each(cases)("%s", (_name, spec) => {
    expect(served(spec)).toBe(true);
    expect(served(countOf(spec))).toBe(true);
  });

  it("would notice a missing index", () => {
    expect(served({ equals: [["visible", true]], contains: { op: "array-contains", value: "1:x" }, orderBy: ["updatedAt"] })).toBe(false);
    expect(
      served({
        equals: [
          ["visible", true],
          ["riskTier", "data_only"],
        ],
        contains: null,
        orderBy: ["installCount"],
      }),
    ).toBe(false);
  });
});
