import type { Transaction } from "firebase-admin/firestore";
import { pageOf, typedCollection } from "../../kernel/firestore";
import { Binding, BindingDoc, capabilityBindings } from "../capabilities/model";
import { InstallDoc, RatingDoc } from "./schemas";

export const installs = () => typedCollection("installs", InstallDoc);
export const ratings = () => typedCollection("ratings", RatingDoc);

/** One install document per user and package (the user's uid never leaves the platform). */
export const installDocId = (packageId: string, uid: string) => `${packageId}_${uid}`;
export const ratingDocId = (packageId: string, uid: string) => `${packageId}_${uid}`;

const read = async <T>(ref: FirebaseFirestore.DocumentReference<T>, tx?: Transaction) => (tx ? tx.get(ref) : ref.get());

export async function findInstall(packageId: string, uid: string, tx?: Transaction): Promise<InstallDoc | null> {
  return (await read(installs().doc(installDocId(packageId, uid)), tx)).data() ?? null;
}

/** Which of `packageIds` the user has installed (active installs), in one batched read. */
export async function installedAmong(packageIds: string[], uid: string): Promise<Set<string>> {
  if (packageIds.length === 0) return new Set();
  const snaps = await installs().firestore.getAll(...packageIds.map((id) => installs().doc(installDocId(id, uid))));
  return new Set(snaps.map((s) => s.data()).filter((d): d is InstallDoc => d?.status === "active").map((d) => d.packageId));
}

/** The user's active installs, newest first. */
export const listActiveInstalls = (uid: string, limit: number, offset: number) =>
  pageOf(installs().where("userId", "==", uid).where("status", "==", "active"), "installedAt", "desc", limit, offset);

export async function findBindings(ids: string[], tx?: Transaction): Promise<Map<string, Binding>> {
  if (ids.length === 0) return new Map();
  const refs = ids.map((id) => capabilityBindings().doc(id));
  const snaps = tx ? await tx.getAll(...refs) : await capabilityBindings().firestore.getAll(...refs);
  const found = new Map<string, Binding>();
  for (const snap of snaps) {
    const data = snap.data() as BindingDoc | undefined;
    if (data) found.set(snap.id, { id: snap.id, ...data });
  }
  return found;
}

export async function findRating(packageId: string, uid: string, tx?: Transaction): Promise<RatingDoc | null> {
  return (await read(ratings().doc(ratingDocId(packageId, uid)), tx)).data() ?? null;
}

/** A package's ratings, most recently changed first. */
export const listRatingsOf = (packageId: string, limit: number, offset: number) => pageOf(ratings().where("packageId", "==", packageId), "updatedAt", "desc", limit, offset);
