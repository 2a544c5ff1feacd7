import { z } from "zod";
import { type DocumentSource, readDocument, typedCollection, zDate } from "../../kernel/firestore";
import { INVOCATION_ERROR_CLASSES } from "./invocation";

/** An in-flight refresh of one binding: the lease that coalesces concurrent invokes across instances. */
const RefreshLease = z.object({ leaseId: z.string(), leaseUntil: zDate, startedAt: zDate });

/** How the last refresh attempt ended; waiters that joined its lease answer with it. */
const LastAttempt = z.object({
  leaseId: z.string().nullable(),
  invocationId: z.string(),
  status: z.enum(["ok", "error"]),
  errorClass: z.enum(INVOCATION_ERROR_CLASSES).nullable(),
  errorMessage: z.string().nullable(),
  httpStatus: z.number().int().nullable(),
  at: zDate,
});
export type LastAttempt = z.infer<typeof LastAttempt>;

/**
 * capabilityStates/{bindingId}: the cached state of one capability instance: the data of the last
 * successful invocation (as JSON text: provider data can nest arrays Firestore cannot hold), its
 * effective TTL, the in-flight refresh and the last attempt. Written by the engine only.
 */
export const CapabilityStateDoc = z.object({
  bindingId: z.string(),
  capabilityKey: z.string(),
  capabilityRef: z.string(),
  accountId: z.string(),
  appId: z.string(),
  /** Version of the descriptor the data was validated against. */
  versionId: z.string(),
  dataJson: z.string().nullable(),
  /** Effective TTL of the data (docs/capabilities.md#state-and-ttl). */
  ttlSeconds: z.number().int().min(0),
  fetchedAt: zDate.nullable(),
  invocationId: z.string().nullable(),
  latencyMs: z.number().min(0).nullable(),
  /** Set by a successful action on the instance: the data is stale until the next refresh. */
  invalidatedAt: zDate.nullable(),
  refresh: RefreshLease.nullable(),
  lastAttempt: LastAttempt.nullable(),
  updatedAt: zDate,
});
export type CapabilityStateDoc = z.infer<typeof CapabilityStateDoc>;

export const capabilityStates = () => typedCollection("capabilityStates", CapabilityStateDoc);

export async function findState(bindingId: string, from?: DocumentSource): Promise<CapabilityStateDoc | null> {
  const snap = await readDocument(capabilityStates().doc(bindingId), from);
  return snap.data() ?? null;
}

/**
 * The TTL rules of cached capability state (docs/capabilities.md#state-and-ttl), as pure functions of
 * the stored state and a time, so they are tested with a controllable clock.
 */

/** On-demand capabilities (refresh interval 0) may still be cached this long if the provider says so. */
export const MAX_ON_DEMAND_TTL_SECONDS = 86_400;

/**
 * The effective TTL of fresh data: the provider's `ttlSeconds`, bounded by the descriptor's refresh
 * interval (installed widgets refresh at least that often); the refresh interval itself when the
 * provider does not say. On-demand capabilities keep the provider's TTL (at most 24 h), or none.
 */
export function effectiveTtlSeconds(providerTtlSeconds: number | undefined, refreshIntervalSeconds: number): number {
  const provider = providerTtlSeconds === undefined ? undefined : Math.max(0, Math.floor(providerTtlSeconds));
  if (refreshIntervalSeconds > 0) return provider === undefined ? refreshIntervalSeconds : Math.min(provider, refreshIntervalSeconds);
  return provider === undefined ? 0 : Math.min(provider, MAX_ON_DEMAND_TTL_SECONDS);
}

export interface CachedData {
  fetchedAt: Date | null;
  ttlSeconds: number;
  invalidatedAt: Date | null;
}

export interface Freshness {
  status: "fresh" | "stale" | "empty";
  expiresAt: Date | null;
  remainingSeconds: number;
}

/** Fresh while `now` is before fetchedAt + TTL and no action invalidated the data since. */
export function freshnessAt(state: CachedData | null, now: Date): Freshness {
  if (!state || !state.fetchedAt) return { status: "empty", expiresAt: null, remainingSeconds: 0 };
  const expiresAt = new Date(state.fetchedAt.getTime() + state.ttlSeconds * 1000);
  const invalidated = state.invalidatedAt !== null && state.invalidatedAt.getTime() >= state.fetchedAt.getTime();
  const remainingMs = expiresAt.getTime() - now.getTime();
  if (invalidated || remainingMs <= 0) return { status: "stale", expiresAt, remainingSeconds: 0 };
  return { status: "fresh", expiresAt, remainingSeconds: Math.ceil(remainingMs / 1000) };
}

/** First retry after a failed refresh; doubled per consecutive failure, never beyond the refresh interval. */
const FAILURE_BACKOFF_BASE_SECONDS = 60;

/**
 * When the scheduler should refresh a binding next (null: not scheduled, on-demand capabilities).
 * After a success, one refresh interval after the data was fetched; after failures, an exponential
 * backoff bounded by the refresh interval.
 */
export function nextSyncAt(args: { now: Date; refreshIntervalSeconds: number; consecutiveFailures: number; fetchedAt: Date | null }): Date | null {
  const { now, refreshIntervalSeconds, consecutiveFailures } = args;
  if (refreshIntervalSeconds <= 0) return null;
  if (consecutiveFailures === 0) {
    const from = args.fetchedAt ?? now;
    return new Date(from.getTime() + refreshIntervalSeconds * 1000);
  }
  const backoff = Math.min(refreshIntervalSeconds, FAILURE_BACKOFF_BASE_SECONDS * 2 ** Math.min(consecutiveFailures - 1, 20));
  return new Date(now.getTime() + backoff * 1000);
}
