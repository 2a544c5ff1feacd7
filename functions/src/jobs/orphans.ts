import { db } from "../kernel/firebase";
import { log } from "../kernel/logger";
import { removeListing } from "../domain/catalog/listing";
import { packages } from "../domain/packages/package";

/**
 * Removes from the catalog every package orphaned for 30 days or more as of `now` (schedule
 * `orphanSweeper`). Idempotent: a removed package no longer matches the query. Works in pages so a
 * large backlog finishes.
 */
export async function sweepOrphanedPackages(now: Date, pageSize = 200): Promise<number> {
  let removed = 0;
  for (;;) {
    const due = await packages().where("catalogRemovalDueAt", "<=", now).orderBy("catalogRemovalDueAt").limit(pageSize).get();
    if (due.empty) break;
    const batch = db().batch();
    for (const doc of due.docs) {
      batch.update(doc.ref, { catalogRemovalDueAt: null, catalogRemovedAt: now, updatedAt: now });
      removeListing(batch, doc.id);
    }
    await batch.commit();
    removed += due.size;
    if (due.size < pageSize) break;
  }
  log.orphanSweep(removed, now.toISOString());
  return removed;
}
