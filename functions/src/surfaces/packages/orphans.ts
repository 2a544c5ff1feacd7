import type { Transaction } from "firebase-admin/firestore";
import { DAY } from "../../kernel/clock";
import { db } from "../../kernel/firebase";
import { log } from "../../kernel/logger";
import { catalogListings, markListingOrphaned, removeListing } from "../catalog/listings";

/**
 * Packages outlive the app they were published under: deleting an app orphans them, and they
 * leave the catalog 30 days later (the provider can still read them, and re-home them meanwhile).
 */
export const ORPHAN_GRACE_MS = 30 * DAY;

/**
 * Marks the app's packages orphaned, inside the caller's transaction (which deletes the app).
 * Reads happen first, as Firestore transactions require; returns the number orphaned.
 */
export async function orphanPackagesOfApp(tx: Transaction, appId: string, now: Date): Promise<() => number> {
  const packages = (await tx.get(db().collection("packages").where("appId", "==", appId))).docs.filter((d) => !d.get("orphanedAt"));
  const listings = packages.length ? await tx.getAll(...packages.map((d) => catalogListings().doc(d.id))) : [];
  return () => {
    for (const doc of packages) {
      tx.update(doc.ref, { orphanedAt: now, catalogRemovalDueAt: new Date(now.getTime() + ORPHAN_GRACE_MS), updatedAt: now });
    }
    // Listed packages stay visible (flagged) until removal, but take no new installs.
    for (const listing of listings) {
      const data = listing.data();
      if (data) markListingOrphaned(tx, data, now);
    }
    return packages.length;
  };
}

/**
 * Removes from the catalog every package orphaned for 30 days or more as of `now`. Idempotent:
 * a removed package no longer matches the query. Works in pages so a large backlog finishes.
 */
export async function sweepOrphanedPackages(now: Date, pageSize = 200): Promise<number> {
  let removed = 0;
  for (;;) {
    const due = await db()
      .collection("packages")
      .where("catalogRemovalDueAt", "<=", now)
      .orderBy("catalogRemovalDueAt")
      .limit(pageSize)
      .get();
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
