import type { Transaction } from "firebase-admin/firestore";
import { typedCollection } from "../../kernel/firestore";
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

export async function listAppsOfAccount(accountId: string, limit: number, offset: number) {
  const base = apps().where("accountId", "==", accountId);
  const [page, count] = await Promise.all([
    base.orderBy("createdAt", "desc").orderBy("__name__", "desc").offset(offset).limit(limit).get(),
    base.count().get(),
  ]);
  return { items: page.docs.map((d): App => ({ id: d.id, ...d.data() })), total: count.data().count };
}
