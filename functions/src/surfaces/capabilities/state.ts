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
export const FAILURE_BACKOFF_BASE_SECONDS = 60;

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
