import type { Transaction } from "firebase-admin/firestore";
import { DAY } from "../../kernel/clock";
import { packages } from "../packages/package";
import { catalogListings, markListingOrphaned } from "./listing";

/**
 * Packages outlive the app they were published under: deleting an app orphans them, and they
 * leave the catalog 30 days later (the provider can still read them, and re-home them meanwhile).
 */
const ORPHAN_GRACE_MS = 30 * DAY;

/**
 * Marks the app's packages orphaned, inside the caller's transaction (which deletes the app).
 * Reads happen first, as Firestore transactions require; returns the number orphaned.
 */
export async function orphanPackagesOfApp(tx: Transaction, appId: string, now: Date): Promise<() => number> {
  const owned = (await tx.get(packages().where("appId", "==", appId))).docs.filter((d) => !d.data().orphanedAt);
  const listings = owned.length ? await tx.getAll(...owned.map((d) => catalogListings().doc(d.id))) : [];
  return () => {
    for (const doc of owned) {
      tx.update(doc.ref, { orphanedAt: now, catalogRemovalDueAt: new Date(now.getTime() + ORPHAN_GRACE_MS), updatedAt: now });
    }
    // Listed packages stay visible (flagged) until removal, but take no new installs.
    for (const listing of listings) {
      const data = listing.data();
      if (data) markListingOrphaned(tx, data, now);
    }
    return owned.length;
  };
}
