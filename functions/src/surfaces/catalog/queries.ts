import type { Query } from "firebase-admin/firestore";
import { type CatalogListingDoc, catalogListings } from "../../domain/catalog/listing";
import { termKeys, tierKey, type SearchTier } from "../../domain/catalog/search";

/**
 * Every query the catalog makes of `catalogListings`, as data: which equality filters, which
 * `array-contains`, which order. The service builds its Firestore queries from these specs only,
 * and a unit test checks that every combination of q × category × sort has its composite index in
 * firestore.indexes.json (the emulator does not enforce indexes; production does).
 */
export type SortKey = "popular" | "recent" | "rating";
const SORT_FIELD: Record<SortKey, keyof CatalogListingDoc> = { popular: "installCount", recent: "publishedAt", rating: "ratingScore" };

export interface QuerySpec {
  equals: [field: string, value: string | boolean][];
  /** On `searchKeys`: one key (`array-contains`), or a term's keys in every tier (`array-contains-any`). */
  contains: { op: "array-contains" | "array-contains-any"; value: string | string[] } | null;
  /** Descending, then by document id descending (a stable order for offsets). Empty for counts. */
  orderBy: string[];
}

const filters = (category: string | undefined): QuerySpec["equals"] => [
  ["visible", true],
  ...(category ? [["category", category] as [string, string]] : []),
];

/** Browsing without `q`: the visible listings (of a category), by a sort key. */
export const browseSpec = (category: string | undefined, sort: SortKey): QuerySpec => ({
  equals: filters(category),
  contains: null,
  orderBy: [SORT_FIELD[sort]],
});

/** Listings holding `term` in any tier, by a sort key (explicit sorts, totals, and the candidates of several-word queries). */
export const termSpec = (term: string, category: string | undefined, sort: SortKey): QuerySpec => ({
  equals: filters(category),
  contains: { op: "array-contains-any", value: termKeys(term) },
  orderBy: [SORT_FIELD[sort]],
});

/** Listings holding `term` in relevance tier `tier`, most installed first (the same index as `termSpec(..., "popular")`). */
export const tierSpec = (tier: SearchTier, term: string, category: string | undefined): QuerySpec => ({
  equals: filters(category),
  contains: { op: "array-contains", value: tierKey(tier, term) },
  orderBy: [SORT_FIELD.popular],
});

/** The same filters without an order: what `count()` runs on. */
export const countOf = (spec: QuerySpec): QuerySpec => ({ ...spec, orderBy: [] });

export function toQuery(spec: QuerySpec): Query<CatalogListingDoc> {
  let query: Query<CatalogListingDoc> = catalogListings();
  for (const [field, value] of spec.equals) query = query.where(field, "==", value);
  if (spec.contains) query = query.where("searchKeys", spec.contains.op, spec.contains.value);
  for (const field of spec.orderBy) query = query.orderBy(field, "desc");
  if (spec.orderBy.length) query = query.orderBy("__name__", "desc");
  return query;
}
