/**
 * The catalog's search terms (docs/catalog.md#search): the normalised terms (whole words and
 * their prefixes) of a listing's name, provider, capability names and description, each stored
 * once on the listing as a key `<tier>:<term>` in `searchKeys`, where the relevance tier (1, 2 or
 * 3) says how telling the best occurrence of the term is; and the parsing and scoring of queries.
 * Pure: the catalog's read model (surfaces/catalog/listingIndex.ts) indexes the keys in memory.
 */

/** Shortest prefix indexed: one-letter prefixes would match most of the catalog. */
const MIN_PREFIX = 2;
/** Prefixes are indexed up to this length; longer query words must match a whole word. */
const MAX_PREFIX = 20;
/** Words are cut at this length, in listings and queries alike. */
const MAX_WORD = 40;
/** At most this many terms per listing (a bound on the document and its index entries). */
export const MAX_TERMS = 200;
/** Description words considered (in order of appearance), before the term budget applies. */
const MAX_DESCRIPTION_WORDS = 150;
/** A query uses at most this many words (the first ones). */
const MAX_QUERY_WORDS = 8;

/** Letters NFKD does not decompose into a base letter and marks. */
const FOLDED: Record<string, string> = { ß: "ss", æ: "ae", œ: "oe", ø: "o", đ: "d", ð: "d", ł: "l", þ: "th", ı: "i", ħ: "h", ŧ: "t", ŀ: "l" };

/** Case- and accent-insensitive form: NFKD, combining marks removed, lowercase, a few letters folded. */
export function normalize(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .replace(/[ßæœøđðłþıħŧŀ]/g, (c) => FOLDED[c]!)
    .replace(/['’ʼ]/g, ""); // "don't" → "dont": apostrophes join, other punctuation separates
}

const cut = (word: string, max: number) => {
  const chars = Array.from(word);
  return chars.length > max ? chars.slice(0, max).join("") : word;
};

/** The normalised words of `text`: runs of letters and digits, in any script. */
export function words(text: string): string[] {
  return normalize(text)
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .map((w) => cut(w, MAX_WORD));
}

/** Common words that carry no meaning in a description (names keep them: "The Guardian"). */
const STOP_WORDS = new Set(
  "a an and are as at be but by can de der die for from has have in into is it its la le of on or our that the their this to us we with you your".split(
    " ",
  ),
);

/** Where a term occurs, from most to least telling. */
type SearchField = "name" | "capability" | "provider" | "description";
const FIELD_WEIGHT: Record<SearchField, number> = { name: 4, capability: 2, provider: 2, description: 1 };

/** A term's weight: its best occurrence, whole words counting twice as much as prefixes. */
const occurrenceWeight = (field: SearchField, whole: boolean) => FIELD_WEIGHT[field] * (whole ? 1 : 0.5);

/**
 * Relevance tiers: 1 = a whole word of the name; 2 = a prefix of a name word, or a whole word of
 * the provider or a capability name; 3 = everything else (prefixes of those, description words).
 */
const tierOfWeight = (weight: number): 1 | 2 | 3 => (weight >= 4 ? 1 : weight >= 2 ? 2 : 3);

export interface SearchSource {
  name: string;
  providerName: string;
  capabilityNames: string[];
  description: string;
}

export type SearchTier = 1 | 2 | 3;
const TIERS: readonly SearchTier[] = [1, 2, 3];

/** The key of `term` in tier `tier`. */
const tierKey = (tier: SearchTier, term: string) => `${tier}:${term}`;
/** The keys `term` may be stored under (a listing holds exactly one of them, or none). */
export const termKeys = (term: string) => TIERS.map((t) => tierKey(t, term));

export interface SearchIndex {
  /** `<tier>:<term>` for every term of the listing: what `?q` filters and ranks on. */
  searchKeys: string[];
}

/** The terms a listing is found by, weighted, bounded to MAX_TERMS (the weakest are dropped). */
export function buildSearchIndex(source: SearchSource): SearchIndex {
  const best = new Map<string, { weight: number; order: number }>();
  let order = 0;
  const add = (term: string, weight: number) => {
    const seen = best.get(term);
    if (!seen) best.set(term, { weight, order: order++ });
    else if (weight > seen.weight) seen.weight = weight;
  };
  const addWords = (text: string, field: SearchField, limit = Infinity, skipStopWords = false) => {
    let taken = 0;
    for (const word of words(text)) {
      if (taken >= limit) break;
      if (skipStopWords && STOP_WORDS.has(word)) continue;
      taken++;
      add(word, occurrenceWeight(field, true));
      const chars = Array.from(word);
      for (let n = MIN_PREFIX; n < Math.min(chars.length, MAX_PREFIX + 1); n++) add(chars.slice(0, n).join(""), occurrenceWeight(field, false));
    }
  };
  addWords(source.name, "name");
  for (const capability of source.capabilityNames) addWords(capability, "capability");
  addWords(source.providerName, "provider");
  addWords(source.description, "description", MAX_DESCRIPTION_WORDS, true);

  const kept = [...best.entries()].sort((a, b) => b[1].weight - a[1].weight || a[1].order - b[1].order).slice(0, MAX_TERMS);
  return { searchKeys: kept.map(([term, { weight }]) => tierKey(tierOfWeight(weight), term)) };
}

/** The tier a listing holds `term` in, or null when it does not hold it. */
export function tierOf(searchKeys: readonly string[], term: string): SearchTier | null {
  for (const tier of TIERS) if (searchKeys.includes(tierKey(tier, term))) return tier;
  return null;
}

/**
 * The terms of a query, each of which a listing must contain: its words (cut like the index's),
 * without duplicates, without words another query word starts with ("wea weather" needs only
 * "weather"), and without stop words unless nothing else is left. A word longer than MAX_PREFIX
 * can only match a whole word.
 */
export function queryTerms(q: string): string[] {
  const all = [...new Set(words(q))].slice(0, MAX_QUERY_WORDS);
  const meaningful = all.filter((w) => !STOP_WORDS.has(w));
  const chosen = meaningful.length ? meaningful : all;
  return chosen.filter((w) => !chosen.some((other) => other !== w && other.startsWith(w)));
}

/** A listing's relevance for several terms: the sum of each term's tier score (tier 1: 3, tier 2: 2, tier 3: 1, absent: 0). */
export function relevanceScore(searchKeys: readonly string[], terms: string[]): number {
  return terms.reduce((score, term) => {
    const tier = tierOf(searchKeys, term);
    return score + (tier === null ? 0 : 4 - tier);
  }, 0);
}
