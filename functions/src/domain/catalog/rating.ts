import type { Transaction } from "firebase-admin/firestore";
import { z } from "zod";
import { pageOf, typedCollection, zDate } from "../../kernel/firestore";

/** ratings/{packageId}_{uid}: one rating per user and package; rating again replaces it. */
export const RatingDoc = z.object({
  packageId: z.string(),
  userId: z.string(),
  stars: z.number().int().min(1).max(5),
  text: z.string().nullable(),
  createdAt: zDate,
  updatedAt: zDate,
});
export type RatingDoc = z.infer<typeof RatingDoc>;

export const ratings = () => typedCollection("ratings", RatingDoc);

export const ratingDocId = (packageId: string, uid: string) => `${packageId}_${uid}`;

export async function findRating(packageId: string, uid: string, tx?: Transaction): Promise<RatingDoc | null> {
  const ref = ratings().doc(ratingDocId(packageId, uid));
  return (tx ? await tx.get(ref) : await ref.get()).data() ?? null;
}

/** A package's ratings, most recently changed first. */
export const listRatingsOf = (packageId: string, limit: number, offset: number) =>
  pageOf(ratings().where("packageId", "==", packageId), "updatedAt", "desc", limit, offset);
