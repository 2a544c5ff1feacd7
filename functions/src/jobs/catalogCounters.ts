import type { DocumentSnapshot } from "firebase-admin/firestore";
import { mapLimit } from "../kernel/concurrency";
import { db } from "../kernel/firebase";
import { lostRace } from "../kernel/firestore";
import { log } from "../kernel/logger";
import { type CounterShardDoc, counterShards, countersOf, ratingAverage, ratingScore } from "../domain/catalog/counters";
import { catalogListings } from "../domain/catalog/listing";

const FOLD_PAGE = 500;

/**
 * Folds the install and rating counters into the listings' sort keys (`installCount`,
 * `ratingCount`, `ratingAverage`, `ratingScore`), for the packages whose counters changed (shards
 * marked `dirty`). Runs every minute; the totals are exact sums, so a fold can run any number of
 * times. A shard is marked clean only if it did not change after it was read; a listing only takes
 * totals read later than the ones it holds (overlapping runs cannot go back in time).
 */
export async function foldCounters(now: Date): Promise<number> {
  let folded = 0;
  for (;;) {
    const dirty = await counterShards().where("dirty", "==", true).limit(FOLD_PAGE).get();
    if (dirty.empty) break;
    const byPackage = new Map<string, DocumentSnapshot<CounterShardDoc>[]>();
    for (const snap of dirty.docs) {
      const id = snap.data().packageId;
      byPackage.set(id, [...(byPackage.get(id) ?? []), snap]);
    }
    const totals = await countersOf([...byPackage.keys()]);
    await mapLimit([...byPackage.entries()], 10, async ([packageId, shards]) => {
      const t = totals.get(packageId)!;
      const ref = catalogListings().doc(packageId);
      await db().runTransaction(async (tx) => {
        const listing = (await tx.get(ref)).data();
        if (!listing || (listing.countersReadAt && listing.countersReadAt >= t.readAt)) return;
        tx.update(ref, {
          installCount: t.installs,
          ratingCount: t.ratings,
          ratingAverage: ratingAverage(t),
          ratingScore: ratingScore(t),
          countersReadAt: t.readAt,
        });
      });
      for (const shard of shards) {
        await shard.ref.update({ dirty: false }, { lastUpdateTime: shard.updateTime! }).catch((error: unknown) => {
          if (!lostRace(error)) throw error;
        });
      }
    });
    folded += byPackage.size;
    if (dirty.size < FOLD_PAGE) break;
  }
  log.countersFolded(folded, now.toISOString());
  return folded;
}
