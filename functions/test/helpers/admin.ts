import { getApps, initializeApp } from "firebase-admin/app";
import { getAuth } from "firebase-admin/auth";
import { getFirestore } from "firebase-admin/firestore";
import { PROJECT_ID } from "./env";

/** Admin SDK handles on the emulators, for reading what the API wrote (mail outbox, documents). */
const app = () => getApps()[0] ?? initializeApp({ projectId: PROJECT_ID });
export const adminDb = () => getFirestore(app());
export const adminAuth = () => getAuth(app());
