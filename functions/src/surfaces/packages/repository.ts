import type { Transaction } from "firebase-admin/firestore";
import { pageOf, typedCollection } from "../../kernel/firestore";
import { Package, PackageDoc, PackageStatus, Review, ReviewDoc, ReviewStatus, SlugDoc, TransitionDoc, ValidationRun, ValidationRunDoc, Version, VersionDoc } from "./schemas";

export const packages = () => typedCollection("packages", PackageDoc);
export const packageSlugs = () => typedCollection("packageSlugs", SlugDoc);
export const versions = (packageId: string) => typedCollection(`packages/${packageId}/versions`, VersionDoc);
export const transitions = (packageId: string) => typedCollection(`packages/${packageId}/transitions`, TransitionDoc);
export const validationRuns = (packageId: string, versionId: string) =>
  typedCollection(`packages/${packageId}/versions/${versionId}/validationRuns`, ValidationRunDoc);
export const reviews = () => typedCollection("reviews", ReviewDoc);

const read = async <T>(ref: FirebaseFirestore.DocumentReference<T>, tx?: Transaction) => (tx ? tx.get(ref) : ref.get());

/** The package if it belongs to `accountId`; another account's package is indistinguishable from a missing one. */
export async function findOwnedPackage(accountId: string, packageId: string, tx?: Transaction): Promise<Package | null> {
  const snap = await read(packages().doc(packageId), tx);
  const data = snap.data();
  return data && data.accountId === accountId ? { id: snap.id, ...data } : null;
}

export async function findPackage(packageId: string, tx?: Transaction): Promise<Package | null> {
  const snap = await read(packages().doc(packageId), tx);
  const data = snap.data();
  return data ? { id: snap.id, ...data } : null;
}

export async function findVersion(packageId: string, versionId: string, tx?: Transaction): Promise<Version | null> {
  const snap = await read(versions(packageId).doc(versionId), tx);
  const data = snap.data();
  return data ? { id: snap.id, ...data } : null;
}

export async function findRun(packageId: string, versionId: string, runId: string, tx?: Transaction): Promise<ValidationRun | null> {
  const snap = await read(validationRuns(packageId, versionId).doc(runId), tx);
  const data = snap.data();
  return data ? { id: snap.id, ...data } : null;
}

export async function findReview(reviewId: string, tx?: Transaction): Promise<Review | null> {
  const snap = await read(reviews().doc(reviewId), tx);
  const data = snap.data();
  return data ? { id: snap.id, ...data } : null;
}

export async function listVersions(packageId: string, tx?: Transaction): Promise<Version[]> {
  const query = versions(packageId);
  const snap = tx ? await tx.get(query) : await query.get();
  return snap.docs.map((d) => ({ id: d.id, ...d.data() }));
}

export async function listTransitions(packageId: string): Promise<TransitionDoc[]> {
  return (await transitions(packageId).get()).docs.map((d) => d.data());
}

export function listPackagesOfAccount(accountId: string, status: PackageStatus | undefined, limit: number, offset: number) {
  let query = packages().where("accountId", "==", accountId);
  if (status) query = query.where("status", "==", status);
  return pageOf(query, "createdAt", "desc", limit, offset);
}

export const listRunsOfVersion = (packageId: string, versionId: string, limit: number, offset: number) =>
  pageOf(validationRuns(packageId, versionId), "requestedAt", "desc", limit, offset);

/** The review queue, oldest first. */
export const listReviews = (status: ReviewStatus, limit: number, offset: number) => pageOf(reviews().where("status", "==", status), "queuedAt", "asc", limit, offset);

/** Reviews still waiting (queued or claimed) that were queued before `queuedAt`. */
export async function countReviewsAhead(queuedAt: Date): Promise<number> {
  const snap = await reviews().where("status", "in", ["queued", "claimed"]).where("queuedAt", "<", queuedAt).count().get();
  return snap.data().count;
}
