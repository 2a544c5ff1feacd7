import type { Query, QuerySnapshot } from "firebase-admin/firestore";
import { log } from "../../kernel/logger";
import { type CatalogListingDoc, catalogListings } from "../../domain/catalog/listing";
import { relevanceScore, termKeys, words } from "../../domain/catalog/search";

export type SortKey = "popular" | "recent" | "rating";

/** What a page of browse or search found: the listings of the page, in order, and how many match. */
export interface Hits {
  listings: CatalogListingDoc[];
  total: number;
}

/** How a listing's sort key reads, per sort. */
const SORT_VALUE: Record<SortKey, (l: CatalogListingDoc) => number> = {
  popular: (l) => l.installCount,
  recent: (l) => l.publishedAt.getTime(),
  rating: (l) => l.ratingScore,
};

/** Descending by the sort key, then by package id descending: the stable order pages are cut from. */
const bySort = (sort: SortKey) => (a: CatalogListingDoc, b: CatalogListingDoc) =>
  SORT_VALUE[sort](b) - SORT_VALUE[sort](a) || (a.packageId < b.packageId ? 1 : a.packageId > b.packageId ? -1 : 0);

/** Words a typo may be corrected to: at least this long, and at most this many edits away. */
const MIN_TYPO_WORD = 4;
const maxEdits = (word: string) => (word.length >= 8 ? 2 : 1);

/**
 * The catalog's read model: every visible listing of `catalogListings`, held in memory by each
 * instance and kept current by a Firestore listener, with an inverted index from search keys
 * (`<tier>:<term>`, domain/catalog/search.ts) to listings. Browse and search read it without
 * querying Firestore, so their cost follows the page asked for, not the size of the catalog
 * (docs/catalog.md#search). A new instance reads the visible listings once; after that only the
 * listings that change reach it.
 */
export class ListingIndex {
  private readonly listings = new Map<string, CatalogListingDoc>();
  private readonly postings = new Map<string, Set<string>>();
  /** Whole words of the listings, with how many listings hold each: the vocabulary typos are corrected to. */
  private readonly vocabulary = new Map<string, number>();
  private ready: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly source: () => Query<CatalogListingDoc> = () => catalogListings().where("visible", "==", true)) {}

  /** Resolves once the first snapshot is in (starting the listener on first use). */
  private loaded(): Promise<void> {
    this.ready ??= new Promise<void>((resolve, reject) => {
      let first = true;
      this.unsubscribe = this.source().onSnapshot(
        (snapshot) => {
          this.apply(snapshot);
          if (first) {
            first = false;
            resolve();
          }
        },
        (error) => {
          // The listener is gone: the next request starts a new one (and reads the listings again).
          log.catalogIndexFailed(error);
          this.reset();
          if (first) reject(error);
        },
      );
    });
    return this.ready;
  }

  private reset() {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.ready = null;
    this.listings.clear();
    this.postings.clear();
    this.vocabulary.clear();
  }

  /** Stops listening (tests, and instances that shut down). */
  close() {
    this.reset();
  }

  private apply(snapshot: QuerySnapshot<CatalogListingDoc>) {
    for (const change of snapshot.docChanges()) {
      const id = change.doc.id;
      this.remove(id);
      if (change.type === "removed") continue;
      let listing: CatalogListingDoc;
      try {
        listing = change.doc.data();
      } catch {
        continue; // a corrupt document is logged by the converter and left out of the catalog
      }
      this.listings.set(id, listing);
      for (const key of listing.searchKeys) this.postingsOf(key).add(id);
      for (const word of wholeWords(listing)) this.vocabulary.set(word, (this.vocabulary.get(word) ?? 0) + 1);
    }
  }

  private postingsOf(key: string) {
    let set = this.postings.get(key);
    if (!set) this.postings.set(key, (set = new Set()));
    return set;
  }

  private remove(id: string) {
    const old = this.listings.get(id);
    if (!old) return;
    this.listings.delete(id);
    for (const key of old.searchKeys) {
      const set = this.postings.get(key);
      set?.delete(id);
      if (set?.size === 0) this.postings.delete(key);
    }
    for (const word of wholeWords(old)) {
      const left = (this.vocabulary.get(word) ?? 1) - 1;
      if (left > 0) this.vocabulary.set(word, left);
      else this.vocabulary.delete(word);
    }
  }

  /** The ids holding `term` in any tier. */
  private holding(term: string): Set<string> {
    const out = new Set<string>();
    for (const key of termKeys(term)) for (const id of this.postings.get(key) ?? []) out.add(id);
    return out;
  }

  /** The closest word of the vocabulary to a term that matches nothing, or null (ties: the most used). */
  private corrected(term: string): string | null {
    if (term.length < MIN_TYPO_WORD) return null;
    let best: { word: string; edits: number; uses: number } | null = null;
    for (const [word, uses] of this.vocabulary) {
      if (Math.abs(word.length - term.length) > maxEdits(term)) continue;
      const edits = editDistance(term, word, maxEdits(term));
      if (edits > maxEdits(term)) continue;
      if (!best || edits < best.edits || (edits === best.edits && uses > best.uses)) best = { word, edits, uses };
    }
    return best?.word ?? null;
  }

  /**
   * A page of the visible listings (of a category), holding every term, in the requested order:
   * by relevance (the terms' tiers, then popularity) or by a sort key. A term that matches nothing
   * is read as the nearest word of the catalog (one edit, two for long words).
   */
  async page(args: { terms: string[]; category: string | undefined; sort: SortKey | "relevance"; limit: number; offset: number }): Promise<Hits> {
    await this.loaded();
    const { category, sort, limit, offset } = args;
    const terms = args.terms.map((t) => (this.holding(t).size > 0 ? t : (this.corrected(t) ?? t)));
    if (terms.some((t, i) => t !== args.terms[i])) log.catalogSearchCorrected(args.terms.length);

    let ids: Iterable<string>;
    if (terms.length === 0) ids = this.listings.keys();
    else {
      const sets = terms.map((t) => this.holding(t)).sort((a, b) => a.size - b.size);
      ids = [...sets[0]!].filter((id) => sets.every((s) => s.has(id)));
    }
    const matches: CatalogListingDoc[] = [];
    for (const id of ids) {
      const listing = this.listings.get(id);
      if (listing && (!category || listing.category === category)) matches.push(listing);
    }
    if (sort === "relevance") {
      const score = new Map(matches.map((l) => [l.packageId, relevanceScore(l.searchKeys, terms)]));
      const popular = bySort("popular");
      matches.sort((a, b) => score.get(b.packageId)! - score.get(a.packageId)! || popular(a, b));
    } else matches.sort(bySort(sort));
    return { listings: matches.slice(offset, offset + limit), total: matches.length };
  }
}

/** The whole words a listing is found by (not their prefixes). */
function wholeWords(l: CatalogListingDoc): Set<string> {
  return new Set(words([l.name, l.providerName, ...l.capabilities.map((c) => c.name), l.description].join(" ")));
}

/** Optimal string alignment distance (edits: insert, delete, substitute, swap two neighbours), cut off above `max`. */
export function editDistance(a: string, b: string, max: number): number {
  const [x, y] = [Array.from(a), Array.from(b)];
  let before: number[] = [];
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) value = Math.min(value, before[j - 2]! + 1);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > max) return max + 1;
    before = previous;
    previous = current;
  }
  return previous[y.length]!;
}
