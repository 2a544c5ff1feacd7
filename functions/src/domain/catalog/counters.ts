import { randomInt } from "node:crypto";
import { AggregateField, FieldValue, type Transaction } from "firebase-admin/firestore";
import { z } from "zod";
import { typedCollection, untyped, zDate } from "../../kernel/firestore";

/**
 * Install and rating counters (docs/catalog.md#counters). One counter per package, split over
 * COUNTER_SHARDS documents `catalogCounterShards/{packageId}_{n}`: an install (or a rating) adds
 * to one shard chosen at random, with an atomic increment in the transaction that creates the
 * install, without reading the shard. Increments never conflict, so no update is lost however
 * many users install at once, and the load on any one document stays around
 * (rate / COUNTER_SHARDS) writes per second. The exact total is a `sum()` aggregation over the
 * shards (one query, billed as one read per 1,000 shards). The listing's `installCount` and rating
 * fields are sort keys, folded from the shards every minute (jobs.ts `foldCounters`).
 */
export const COUNTER_SHARDS = 16;
const SHARDS = "catalogCounterShards";

export const CounterShardDoc = z.object({
  packageId: z.string(),
  shard: z.number().int(),
  installs: z.number().int(),
  ratings: z.number().int(),
  ratingSum: z.number(),
  /** Changed since it was last folded into the listing. */
  dirty: z.boolean(),
  updatedAt: zDate,
});
export type CounterShardDoc = z.infer<typeof CounterShardDoc>;
export const counterShards = () => typedCollection(SHARDS, CounterShardDoc);

export interface CounterDelta {
  installs?: number;
  ratings?: number;
  ratingSum?: number;
}

/** Adds `delta` to one shard of the package's counter, in the caller's transaction (no read, no contention). */
export function bumpCounters(tx: Transaction, packageId: string, delta: CounterDelta, now: Date, shard = randomInt(COUNTER_SHARDS)): void {
  tx.set(
    untyped(counterShards().doc(`${packageId}_${shard}`)),
    {
      packageId,
      shard,
      installs: FieldValue.increment(delta.installs ?? 0),
      ratings: FieldValue.increment(delta.ratings ?? 0),
      ratingSum: FieldValue.increment(delta.ratingSum ?? 0),
      dirty: true,
      updatedAt: now,
    },
    { merge: true },
  );
}

export interface CounterTotals {
  installs: number;
  ratings: number;
  ratingSum: number;
  /** When the totals were read (the aggregation's read time). */
  readAt: Date;
}

/** The exact totals of each package's counter (zeros for packages never counted), one aggregation each, in parallel. */
export async function countersOf(packageIds: string[]): Promise<Map<string, CounterTotals>> {
  const ids = [...new Set(packageIds)];
  const totals = await Promise.all(
    ids.map(async (id) => {
      const snap = await counterShards()
        .where("packageId", "==", id)
        .aggregate({ installs: AggregateField.sum("installs"), ratings: AggregateField.sum("ratings"), ratingSum: AggregateField.sum("ratingSum") })
        .get();
      const data = snap.data();
      return [
        id,
        { installs: data.installs ?? 0, ratings: data.ratings ?? 0, ratingSum: data.ratingSum ?? 0, readAt: snap.readTime.toDate() },
      ] as const;
    }),
  );
  return new Map(totals);
}

/** The `rating` sort key: a Bayesian average (RATING_PRIOR_WEIGHT ratings of RATING_PRIOR_MEAN assumed), 0 when unrated. */
const RATING_PRIOR_MEAN = 3;
const RATING_PRIOR_WEIGHT = 5;
export const ratingScore = (t: Pick<CounterTotals, "ratings" | "ratingSum">) =>
  t.ratings > 0 ? (RATING_PRIOR_WEIGHT * RATING_PRIOR_MEAN + t.ratingSum) / (RATING_PRIOR_WEIGHT + t.ratings) : 0;
export const ratingAverage = (t: Pick<CounterTotals, "ratings" | "ratingSum">) => (t.ratings > 0 ? t.ratingSum / t.ratings : null);
