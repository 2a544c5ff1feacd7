import type { Request, Response } from "express";
import type { Principal } from "../auth/principal";
import { type Clock, MINUTE, systemClock } from "../clock";
import { anonymousRateLimit } from "../config";
import { sha256Hex } from "../crypto";
import { ApiError } from "../errors";
import { db } from "../firebase";
import { incrementAndRead } from "../coalesce";
import type { AnyRoute } from "./route";
import { clientIp } from "./clientIp";
import type { RequestHook } from "./surface";
import { log } from "../logger";
import { PLAN_LIMITS, rateLimitOf } from "../plans";

/**
 * The plan rate limit, global across function instances (algorithm: docs/rate-limits.md).
 *
 * Fixed one-minute windows. Each (key, window) has a quota split over N shard documents in
 * `rateLimits`; an instance leases a batch of tokens from a shard (an atomic increment, then a
 * read of the total) and spends them locally. A lease only uses the part of its increment that the
 * total it read proves to be within the quota (see `granted`), so the sum of admitted requests
 * never exceeds the limit, however many instances there are: no overshoot by construction. Tokens
 * leased but unspent when the window ends, and increments that lost a race at the quota's edge,
 * are lost (a bounded under-admission, kept small by leasing at most 1% of the limit, less as a
 * shard runs low). Batches keep Firestore off the hot path and shards keep each document near one
 * write per second even at 10,000 requests per minute.
 */
const WINDOW_MS = MINUTE;

/** Shards per window: one per 600 requests/minute, so each takes ≤ ~1 lease/s at full load. */
export const shardCount = (limit: number) => Math.min(16, Math.max(1, Math.ceil(limit / 600)));
/** Largest batch one lease takes: 1% of the limit (free tier: 1, i.e. every request is counted in Firestore). */
export const maxLease = (limit: number) => Math.max(1, Math.floor(limit / 100));
export const shardQuota = (limit: number, shards: number, index: number) => Math.floor(limit / shards) + (index < limit % shards ? 1 : 0);

export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Requests left in this window, as far as this instance knows (exact with one shard and batches of one). */
  remaining: number;
  /** End of the window (epoch ms). */
  resetAtMs: number;
}

/** Where the shard counters live; Firestore in production, replaceable in unit tests. */
export interface QuotaStore {
  /**
   * Atomically adds `want` (negative: a refund) to the shard's counter and reads the total back. No
   * transaction: the increment never contends, which matters on a busy key (transactions on one
   * document serialise).
   */
  add(docId: string, want: number, expiresAt: Date): Promise<number>;
}

const firestoreQuotaStore: QuotaStore = {
  async add(docId, want, expiresAt) {
    // One commit, no read: the increment's result comes back in the commit's transform results.
    // expiresAt lets a TTL policy delete old windows.
    return incrementAndRead(db().collection("rateLimits").doc(docId), "allocated", want, { expiresAt });
  },
};

/**
 * The tokens a lease of `want` may use, given the shard's total `after` it (its own increment
 * included). It assumes every other increment it can see came first, so the grants of all leases
 * together never exceed the quota: for the lease that read last among any granted set, `after`
 * includes every other member's increment.
 */
export const granted = (quota: number, want: number, after: number) => Math.max(0, Math.min(want, quota - (after - want)));

interface KeyState {
  windowStart: number;
  limit: number;
  tokens: number;
  allocatedSeen: number[];
  exhausted: Set<number>;
  inflight: Promise<void> | null;
}

export class RateLimiter {
  private readonly states = new Map<string, KeyState>();

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly store: QuotaStore = firestoreQuotaStore,
    private readonly pause: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  async take(key: string, limit: number): Promise<RateDecision> {
    // The request counts in the window it arrived in, even when a lease it waits for ends after
    // that window: re-reading the clock here would lease again in the next window for one request.
    const state = this.state(key, limit, this.clock.now().getTime());
    const decision = (allowed: boolean): RateDecision => ({
      allowed,
      limit,
      remaining: Math.max(0, limit - state.allocatedSeen.reduce((a, b) => a + b, 0) + state.tokens),
      resetAtMs: state.windowStart + WINDOW_MS,
    });
    for (;;) {
      if (state.tokens > 0) {
        state.tokens--;
        return decision(true);
      }
      if (state.exhausted.size === state.allocatedSeen.length) return decision(false);
      // One lease at a time per key and instance; concurrent requests wait for it and retry.
      if (!state.inflight) state.inflight = this.lease(key, state).finally(() => (state.inflight = null));
      await state.inflight;
    }
  }

  private state(key: string, limit: number, now: number): KeyState {
    const windowStart = Math.floor(now / WINDOW_MS) * WINDOW_MS;
    let state = this.states.get(key);
    if (!state || state.windowStart !== windowStart || state.limit !== limit) {
      if (this.states.size > 10_000) this.prune(windowStart);
      state = { windowStart, limit, tokens: 0, allocatedSeen: new Array(shardCount(limit)).fill(0), exhausted: new Set(), inflight: null };
      this.states.set(key, state);
    }
    return state;
  }

  private prune(currentWindow: number) {
    for (const [key, state] of this.states) if (state.windowStart < currentWindow && !state.inflight) this.states.delete(key);
  }

  /**
   * Leases a batch from a random shard with quota left; marks shards found full. The part of an
   * increment that was not granted (it lost a race at the quota's edge) is refunded at once, and the
   * lease tries again a few times: losers' refunds free the room they took, so a burst at the edge
   * still gets the whole quota instead of stopping short of it.
   */
  private async lease(key: string, state: KeyState): Promise<void> {
    const shards = state.allocatedSeen.length;
    const candidates = [...Array(shards).keys()].filter((i) => !state.exhausted.has(i));
    shuffle(candidates);
    const prefix = sha256Hex(key).slice(0, 32);
    const windowId = Math.floor(state.windowStart / 1000);
    const expiresAt = new Date(state.windowStart + WINDOW_MS + 60 * MINUTE);
    const ceiling = maxLease(state.limit);
    for (const index of candidates) {
      const quota = shardQuota(state.limit, shards, index);
      const docId = `${prefix}-${windowId}-${state.limit}-${shards}x${index}`;
      for (let attempt = 0; ; attempt++) {
        // Lease less as the shard runs low, so tokens stranded in other instances stay few.
        const want = Math.min(ceiling, Math.max(1, Math.floor((quota - state.allocatedSeen[index]!) / 4)));
        const after = await this.store.add(docId, want, expiresAt);
        const got = granted(quota, want, after);
        if (got < want) await this.store.add(docId, got - want, expiresAt);
        state.allocatedSeen[index] = Math.min(after - want + got, quota);
        if (got > 0) {
          state.tokens += got;
          return;
        }
        // Nothing granted: the shard is full, or every increment at the edge read the others' (now refunded).
        if (attempt >= EDGE_RETRIES) {
          state.exhausted.add(index);
          break;
        }
        await this.pause(EDGE_PAUSE_MS * (attempt + 1) * (0.5 + Math.random()));
      }
    }
  }
}

/** Retries of a lease that got nothing, and the base of their randomised pause (spreads racing instances apart). */
const EDGE_RETRIES = 4;
const EDGE_PAUSE_MS = 10;

function shuffle<T>(items: T[]) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

/** Catalog end users (Firebase users without a developer account) get the free tier's limit. */
const END_USER_RATE_LIMIT = PLAN_LIMITS.free;
/** Package reviewers (Aiffinity staff): counted per reviewer, at the pro plan's limit. */
const REVIEWER_RATE_LIMIT = PLAN_LIMITS.pro;

/**
 * Whom a request counts against: the app for OAuth clients, the account for console users, the
 * user for end users and reviewers, and the client IP for requests without credentials.
 */
function rateLimitSubject(principal: Principal, req: Request): { key: string; limit: number; policy: string } {
  switch (principal.kind) {
    case "app":
      return { key: `app:${principal.appId}`, limit: rateLimitOf(principal.account), policy: principal.account.planTier };
    case "provider":
      return { key: `account:${principal.account.id}`, limit: rateLimitOf(principal.account), policy: principal.account.planTier };
    case "user":
      return { key: `user:${principal.uid}`, limit: END_USER_RATE_LIMIT, policy: "end_user" };
    case "reviewer":
      return { key: `reviewer:${principal.user.uid}`, limit: REVIEWER_RATE_LIMIT, policy: "reviewer" };
    case "anonymous":
      return { key: `ip:${clientIp(req)}`, limit: anonymousRateLimit.value(), policy: "anonymous" };
  }
}

/** X-RateLimit-* as in the API reference, plus the IETF RateLimit-Policy / RateLimit fields. */
function setRateLimitHeaders(res: Response, decision: RateDecision, policy: string, nowMs: number) {
  const resetSeconds = Math.max(0, Math.ceil((decision.resetAtMs - nowMs) / 1000));
  res.setHeader("X-RateLimit-Limit", String(decision.limit));
  res.setHeader("X-RateLimit-Remaining", String(decision.remaining));
  res.setHeader("X-RateLimit-Reset", String(Math.floor(decision.resetAtMs / 1000)));
  res.setHeader("RateLimit-Policy", `"${policy}";q=${decision.limit};w=${WINDOW_MS / 1000}`);
  res.setHeader("RateLimit", `"${policy}";r=${decision.remaining};t=${resetSeconds}`);
}

/** The request hook every surface runs (registered in src/index.ts). */
export function rateLimitHook(limiter = new RateLimiter(), clock: Clock = systemClock): RequestHook {
  return async (req: Request, res: Response, _route: AnyRoute | null, principal: Principal) => {
    const subject = rateLimitSubject(principal, req);
    let decision: RateDecision;
    try {
      decision = await limiter.take(subject.key, subject.limit);
    } catch (error) {
      // Without the counter we cannot tell; refusing is safer than letting a limit lapse.
      log.rateLimiterUnavailable(subject.policy, error);
      throw new ApiError("SERVICE_UNAVAILABLE", "Rate limiting is temporarily unavailable; retry shortly", { headers: { "Retry-After": "1" } });
    }
    const now = clock.now().getTime();
    setRateLimitHeaders(res, decision, subject.policy, now);
    if (!decision.allowed) {
      const retryAfter = Math.max(1, Math.ceil((decision.resetAtMs - now) / 1000));
      throw new ApiError("RATE_LIMITED", `Rate limit of ${decision.limit} requests per minute exceeded; retry in ${retryAfter} seconds`, {
        headers: { "Retry-After": String(retryAfter) },
      });
    }
  };
}
