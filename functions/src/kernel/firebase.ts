import { getApps, initializeApp } from "firebase-admin/app";
import { getAuth } from "firebase-admin/auth";
import { getFirestore, type Firestore } from "firebase-admin/firestore";

/** Lazily initialised Admin SDK handles (cold starts only pay for what a function uses). */
const app = () => getApps()[0] ?? initializeApp();

let firestore: Firestore | undefined;
export function db(): Firestore {
  firestore ??= getFirestore(app());
  return firestore;
}

export const auth = () => getAuth(app());
