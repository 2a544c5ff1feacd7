import type { Transaction } from "firebase-admin/firestore";
import { newestFirstPage, typedCollection } from "../../kernel/firestore";
import { RuntimeApp, RuntimeAppDoc, WebhookDelivery, WebhookDeliveryDoc } from "./schemas";

export const runtimeApps = () => typedCollection("runtimeApps", RuntimeAppDoc);
export const webhookDeliveries = () => typedCollection("webhookDeliveries", WebhookDeliveryDoc);

export async function findRuntimeApp(id: string, tx?: Transaction): Promise<RuntimeApp | null> {
  const ref = runtimeApps().doc(id);
  const snap = tx ? await tx.get(ref) : await ref.get();
  const data = snap.data();
  return data ? { id: snap.id, ...data } : null;
}

/** The runtime app if it belongs to `accountId`; another account's look exactly like missing ones. */
export async function findOwnedRuntimeApp(accountId: string, id: string, tx?: Transaction): Promise<RuntimeApp | null> {
  const app = await findRuntimeApp(id, tx);
  return app && app.accountId === accountId ? app : null;
}

export async function findRuntimeAppsOfApp(appId: string, tx?: Transaction): Promise<RuntimeApp[]> {
  const query = runtimeApps().where("appId", "==", appId).limit(1);
  const snap = tx ? await tx.get(query) : await query.get();
  return snap.docs.map((d) => ({ id: d.id, ...d.data() }));
}

export async function runtimeAppsOfAccount(accountId: string): Promise<RuntimeApp[]> {
  const snap = await runtimeApps().where("accountId", "==", accountId).get();
  return snap.docs.map((d) => ({ id: d.id, ...d.data() }));
}

export const listRuntimeAppsOfAccount = (accountId: string, limit: number, offset: number) =>
  newestFirstPage(runtimeApps().where("accountId", "==", accountId), limit, offset);

export async function findDelivery(id: string, tx?: Transaction): Promise<WebhookDelivery | null> {
  const ref = webhookDeliveries().doc(id);
  const snap = tx ? await tx.get(ref) : await ref.get();
  const data = snap.data();
  return data ? { id: snap.id, ...data } : null;
}

export function listDeliveries(runtimeAppId: string, status: string | undefined, limit: number, offset: number) {
  const base = webhookDeliveries().where("runtimeAppId", "==", runtimeAppId);
  return newestFirstPage(status ? base.where("status", "==", status) : base, limit, offset);
}

/** Deliveries whose next attempt is due by `now` (the retry pump's query; a single-field index). */
export async function dueDeliveries(now: Date, limit: number): Promise<WebhookDelivery[]> {
  const snap = await webhookDeliveries().where("nextAttemptAt", "<=", now).orderBy("nextAttemptAt").limit(limit).get();
  return snap.docs.map((d) => ({ id: d.id, ...d.data() }));
}
