import { createHmac, hkdfSync } from "node:crypto";
import { z } from "zod";
import { secrets } from "../../kernel/config";
import { typedCollection, zDate } from "../../kernel/firestore";

/**
 * The shared model of capabilities at run time: how a capability is named, the per-user bindings
 * that installs create, and the record of every invocation. The capabilities engine (invoke, state,
 * actions, history, realtime), the catalog (installs, data sync) and quality monitoring
 * (rollups, baselines, alerts) all build on these definitions.
 */

// ---------- Naming ----------

/**
 * A capability is one descriptor of a package. Internally it is keyed by package id; publicly, in `/v1/providers/capabilities/:id/...`, by `<slug>.<capabilityId>`
 * (slugs are unique, immutable and contain no dot), e.g. `demo-weather.hourly_forecast`.
 */
export const capabilityKey = (packageId: string, capabilityId: string) => `${packageId}/${capabilityId}`;
export const capabilityRef = (slug: string, capabilityId: string) => `${slug}.${capabilityId}`;

export function parseCapabilityRef(ref: string): { slug: string; capabilityId: string } | null {
  const dot = ref.indexOf(".");
  if (dot <= 0 || dot === ref.length - 1) return null;
  return { slug: ref.slice(0, dot), capabilityId: ref.slice(dot + 1) };
}

export const CapabilityRefParam = z
  .string()
  .max(200)
  .regex(/^[a-z0-9][a-z0-9-]*\.[a-z][a-z0-9_.-]*$/)
  .meta({ description: "`<package slug>.<capability id>`", example: "demo-weather.hourly_forecast" });

/**
 * The id providers see for a user: stable per (provider account, user), unlinkable across
 * providers, and never the Firebase uid (HMAC under a key derived from DATA_ENCRYPTION_KEY).
 */
export function providerUserId(accountId: string, uid: string, keyMaterial: string = secrets.dataEncryptionKey.value()): string {
  const key = Buffer.from(hkdfSync("sha256", Buffer.from(keyMaterial, "base64"), Buffer.alloc(0), "aiffinity/provider-user-id/v1", 32));
  return `usr_${createHmac("sha256", key).update(`${accountId}:${uid}`).digest("base64url").slice(0, 27)}`;
}

// ---------- Bindings ----------

export const BINDING_STATUSES = ["active", "removed"] as const;

/**
 * capabilityBindings/{bindingId}: one per installed capability per user (a "capability instance").
 * Created and removed by installs (catalog surface) in the install's transaction; read and updated
 * by the engine (state, sync bookkeeping).
 */
export const BindingDoc = z.object({
  installId: z.string(),
  /** Firebase uid of the end user; never sent to providers (see providerUserId). */
  userId: z.string(),
  providerUserId: z.string(),
  accountId: z.string(),
  appId: z.string(),
  packageId: z.string(),
  /** The package version whose descriptor was current at install (or last upgrade). */
  versionId: z.string(),
  capabilityId: z.string(),
  capabilityKey: z.string(),
  capabilityRef: z.string(),
  /** Invocation parameters chosen for this instance (validated against the input schema). */
  parameters: z.record(z.string(), z.unknown()),
  /** From the descriptor; 0 means on demand only (never synced on a schedule). */
  refreshIntervalSeconds: z.number().int().min(0),
  status: z.enum(BINDING_STATUSES),
  /** When the scheduler should refresh it next; null when not scheduled (on demand, removed). */
  nextSyncAt: zDate.nullable(),
  lastSyncAt: zDate.nullable(),
  /** Failed syncs in a row, for backoff; reset by a success. */
  consecutiveFailures: z.number().int().min(0),
  createdAt: zDate,
  updatedAt: zDate,
});
export type BindingDoc = z.infer<typeof BindingDoc>;
export type Binding = BindingDoc & { id: string };

export const capabilityBindings = () => typedCollection("capabilityBindings", BindingDoc);

// ---------- Invocation records ----------

/** Why an invocation failed; each maps to a documented API error (docs/errors.md). */
export const INVOCATION_ERROR_CLASSES = [
  "timeout", // no complete answer within the deadline
  "connection_refused",
  "network", // DNS, TLS, reset...
  "url_rejected", // the endpoint is not an allowed target (SSRF rules)
  "auth_failed", // the provider's token URL failed us, or it answered 401/403
  "http_4xx",
  "http_5xx",
  "bad_body", // not JSON, or not the contract's shape
  "output_invalid", // JSON, but not valid against the capability's output schema
  "too_large",
  "runtime_paused", // the runtime app is paused or not registered
] as const;
export type InvocationErrorClass = (typeof INVOCATION_ERROR_CLASSES)[number];

/** Error classes that count against availability (the provider was not there to answer). */
export const UNAVAILABLE_ERROR_CLASSES: readonly InvocationErrorClass[] = ["timeout", "connection_refused", "network", "http_5xx"];

/**
 * invocations/{id}: one per call the platform made to a provider runtime on behalf of a binding or
 * of the provider itself (sandbox runs are not recorded here). Never secrets or personal data:
 * sizes, timings and classes only. Quality monitoring aggregates these into rollups.
 */
export const InvocationDoc = z.object({
  capabilityKey: z.string(),
  capabilityRef: z.string(),
  packageId: z.string(),
  capabilityId: z.string(),
  versionId: z.string(),
  accountId: z.string(),
  appId: z.string(),
  bindingId: z.string().nullable(),
  kind: z.enum(["invoke", "action"]),
  action: z.string().nullable(),
  /** Who asked: the provider through the API, the scheduler, or a user from an Aiffinity client. */
  source: z.enum(["api", "sync", "user"]),
  status: z.enum(["ok", "error"]),
  httpStatus: z.number().int().nullable(),
  errorClass: z.enum(INVOCATION_ERROR_CLASSES).nullable(),
  /** A short, generic description of the failure (no payloads, no personal data). */
  errorMessage: z.string().nullable(),
  latencyMs: z.number().min(0),
  requestBytes: z.number().int().min(0),
  responseBytes: z.number().int().min(0),
  /** When the invocation finished. */
  at: zDate,
});
export type InvocationDoc = z.infer<typeof InvocationDoc>;

export const invocations = () => typedCollection("invocations", InvocationDoc);
