import type { Transaction } from "firebase-admin/firestore";
import { z } from "zod";
import { newestFirstPage, typedCollection, zDate } from "../../kernel/firestore";

/** A secret sealed with kernel/secretBox, and the hint shown instead of it. */
const SealedSecret = z.object({ sealed: z.string(), hint: z.string() });
type SealedSecret = z.infer<typeof SealedSecret>;

export const TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post"] as const;

export const AuthProfileDoc = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("oauth2"),
    tokenUrl: z.string(),
    clientId: z.string(),
    clientSecret: SealedSecret,
    scope: z.string().nullable(),
    tokenEndpointAuthMethod: z.enum(TOKEN_AUTH_METHODS),
    updatedAt: zDate,
  }),
  z.object({ type: z.literal("api_key"), headerName: z.string(), value: SealedSecret, updatedAt: zDate }),
  z.object({ type: z.literal("custom"), headers: z.record(z.string(), z.string()), secrets: z.record(z.string(), SealedSecret), updatedAt: zDate }),
]);
export type AuthProfileDoc = z.infer<typeof AuthProfileDoc>;

export const SURFACES = ["widget", "chat", "notification", "voice"] as const;

/** JSON Schemas are stored as JSON text: Firestore cannot hold every JSON shape (nested arrays, empty keys). */
const StoredCapability = z.object({
  name: z.string(),
  description: z.string(),
  inputSchema: z.string().nullable(),
  outputSchema: z.string(),
  refreshIntervalSeconds: z.number().int(),
  actions: z.array(z.object({ name: z.string(), description: z.string(), inputSchema: z.string(), outputSchema: z.string().nullable() })),
  surfaceGuidance: z.object({
    surfaces: z.array(z.enum(SURFACES)),
    summary: z.string().nullable(),
    priority: z.enum(["low", "normal", "high"]),
    notes: z.string().nullable(),
  }),
});

export const CapabilityTemplateDoc = z.object({ capabilities: z.array(StoredCapability), updatedAt: zDate });
export type CapabilityTemplateDoc = z.infer<typeof CapabilityTemplateDoc>;

export const RetryPolicy = z.object({ maxAttempts: z.number().int(), initialDelaySeconds: z.number().int(), maxDelaySeconds: z.number().int() });
export type RetryPolicy = z.infer<typeof RetryPolicy>;

export const WebhookProfileDoc = z.object({
  url: z.string(),
  /** Subscribed event types; `*` subscribes to all. */
  events: z.array(z.string()),
  retryPolicy: RetryPolicy,
  status: z.enum(["enabled", "disabled"]),
  disabledAt: zDate.nullable(),
  disabledReason: z.string().nullable(),
  updatedAt: zDate,
});
export type WebhookProfileDoc = z.infer<typeof WebhookProfileDoc>;

/** A webhook signing secret; a replaced one keeps signing until `expiresAt` (the grace period). */
export const SigningSecretDoc = z.object({ sealed: z.string(), createdAt: zDate, expiresAt: zDate.nullable() });
export type SigningSecretDoc = z.infer<typeof SigningSecretDoc>;

export const RUNTIME_APP_STATUSES = ["active", "paused"] as const;

/** runtimeApps/{id}: a provider's service endpoint bound to one console app, and how to reach it. */
export const RuntimeAppDoc = z.object({
  accountId: z.string(),
  appId: z.string(),
  displayName: z.string(),
  endpointUrl: z.string(),
  status: z.enum(RUNTIME_APP_STATUSES),
  authProfile: AuthProfileDoc.nullable(),
  capabilityTemplate: CapabilityTemplateDoc.nullable(),
  webhookProfile: WebhookProfileDoc.nullable(),
  /** Newest first. */
  signingSecrets: z.array(SigningSecretDoc),
  lastInvokedAt: zDate.nullable(),
  createdAt: zDate,
  updatedAt: zDate,
});
export type RuntimeAppDoc = z.infer<typeof RuntimeAppDoc>;
export type RuntimeApp = RuntimeAppDoc & { id: string };

/** Placeholders a custom auth profile's header template may use. */
export const TEMPLATE_PLACEHOLDER = /\{\{\s*([a-zA-Z][\w.]*)\s*\}\}/g;

export const runtimeApps = () => typedCollection("runtimeApps", RuntimeAppDoc);

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

/** The runtime app serving a console app (at most one), or null when none is registered. */
export async function runtimeAppOf(appId: string, tx?: Transaction): Promise<RuntimeApp | null> {
  const query = runtimeApps().where("appId", "==", appId).limit(1);
  const snap = tx ? await tx.get(query) : await query.get();
  const doc = snap.docs[0];
  return doc ? { id: doc.id, ...doc.data() } : null;
}

export async function runtimeAppsOfAccount(accountId: string): Promise<RuntimeApp[]> {
  const snap = await runtimeApps().where("accountId", "==", accountId).get();
  return snap.docs.map((d) => ({ id: d.id, ...d.data() }));
}

export const listRuntimeAppsOfAccount = (accountId: string, limit: number, offset: number) =>
  newestFirstPage(runtimeApps().where("accountId", "==", accountId), limit, offset);

/**
 * Deleting a console app removes its runtime app too, in the caller's transaction (reads first,
 * as Firestore requires; the returned function does the writes). Past deliveries stay in the log.
 */
export async function removeRuntimeAppsOfApp(tx: Transaction, appId: string): Promise<() => number> {
  const runtime = await runtimeAppOf(appId, tx);
  return () => {
    if (runtime) tx.delete(runtimeApps().doc(runtime.id));
    return runtime ? 1 : 0;
  };
}
