import type { Transaction } from "firebase-admin/firestore";
import { z } from "zod";
import { newestFirstPage, typedCollection, zDate } from "../../kernel/firestore";

/** App ids as they appear in paths and bodies. */
export const AppId = z
  .string()
  .regex(/^app_[0-9A-Za-z]{20}$/)
  .meta({ example: "app_3ZkQ8bW1mN0pR5sT7vX9" });

/** apps/{appId}: a provider app, the OAuth client of the runtime and capabilities APIs. */
export const AppDoc = z.object({
  accountId: z.string(),
  name: z.string(),
  description: z.string(),
  clientId: z.string(),
  clientSecretHash: z.string(),
  redirectUris: z.array(z.string()),
  webhookUrl: z.string().nullable(),
  /** Access tokens carry the generation they were issued in; older ones are revoked (a rotation with revoke_tokens bumps it). */
  tokenGeneration: z.number().int().nonnegative().optional(),
  createdAt: zDate,
  updatedAt: zDate,
});
export type AppDoc = z.infer<typeof AppDoc>;
export type App = AppDoc & { id: string };

export const apps = () => typedCollection("apps", AppDoc);

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
