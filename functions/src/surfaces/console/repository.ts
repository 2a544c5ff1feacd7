import type { Transaction } from "firebase-admin/firestore";
import { newestFirstPage, typedCollection } from "../../kernel/firestore";
import { Account, AccountDoc, App, AppDoc, VerificationTokenDoc } from "./schemas";

export const accounts = () => typedCollection("accounts", AccountDoc);
export const apps = () => typedCollection("apps", AppDoc);
export const verificationTokens = () => typedCollection("verificationTokens", VerificationTokenDoc);

export async function findAccount(id: string): Promise<Account | null> {
  const snap = await accounts().doc(id).get();
  return snap.exists ? { id, ...snap.data()! } : null;
}

export async function findAccountByEmail(email: string): Promise<Account | null> {
  const snap = await accounts().where("email", "==", email).limit(1).get();
  const doc = snap.docs[0];
  return doc ? { id: doc.id, ...doc.data() } : null;
}

/** The app if it exists and belongs to `accountId`; others' apps are indistinguishable from missing ones. */
export async function findOwnedApp(accountId: string, appId: string, tx?: Transaction): Promise<App | null> {
  const ref = apps().doc(appId);
  const snap = tx ? await tx.get(ref) : await ref.get();
  const data = snap.data();
  return data && data.accountId === accountId ? { id: snap.id, ...data } : null;
}

export async function findAppByClientId(clientId: string): Promise<App | null> {
  const snap = await apps().where("clientId", "==", clientId).limit(1).get();
  const doc = snap.docs[0];
  return doc ? { id: doc.id, ...doc.data() } : null;
}

export const listAppsOfAccount = (accountId: string, limit: number, offset: number) =>
  newestFirstPage(apps().where("accountId", "==", accountId), limit, offset);
