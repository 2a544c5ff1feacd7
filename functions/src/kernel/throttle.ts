import { type Timestamp } from "firebase-admin/firestore";
import { type Clock } from "./clock";
import { sha256Hex } from "./crypto";
import { ApiError } from "./errors";
import { db } from "./firebase";

export interface ThrottlePolicy {
  /** Names the counter family, e.g. "login". */
  scope: string;
  /** Failures allowed within `windowMs` before the subject is blocked. */
  maxFailures: number;
  windowMs: number;
  /** How long a block lasts. */
  blockMs: number;
}

/**
 * Counts failures per subject (an e-mail, a client_id) in Firestore, so the limit holds across
 * function instances. Subjects are stored hashed: the collection never holds e-mail addresses.
 */
export class FailureThrottle {
  constructor(
    private readonly policy: ThrottlePolicy,
    private readonly clock: Clock,
  ) {}

  private ref(subject: string) {
    return db()
      .collection("throttles")
      .doc(`${this.policy.scope}:${sha256Hex(subject.toLowerCase())}`);
  }

  private blocked(retryAfterMs: number): ApiError {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return new ApiError("RATE_LIMITED", `Too many failed attempts; retry in ${seconds} seconds`, {
      headers: { "Retry-After": String(seconds) },
    });
  }

  /** Throws RATE_LIMITED while the subject is blocked. */
  async check(subject: string): Promise<void> {
    const snap = await this.ref(subject).get();
    const blockedUntil = snap.get("blockedUntil") as Timestamp | undefined;
    const now = this.clock.now().getTime();
    if (blockedUntil && blockedUntil.toMillis() > now) throw this.blocked(blockedUntil.toMillis() - now);
  }

  /** Records one failure; returns the error to answer with if this failure starts a block. */
  async fail(subject: string): Promise<ApiError | null> {
    const ref = this.ref(subject);
    const now = this.clock.now();
    return db().runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      const windowStart = (snap.get("windowStart") as Timestamp | undefined)?.toMillis() ?? 0;
      const fresh = now.getTime() - windowStart > this.policy.windowMs;
      const count = (fresh ? 0 : ((snap.get("count") as number | undefined) ?? 0)) + 1;
      const update: Record<string, unknown> = {
        count,
        windowStart: fresh ? now : new Date(windowStart),
        // Lets a Firestore TTL policy on `expiresAt` delete stale counters.
        expiresAt: new Date(now.getTime() + this.policy.windowMs + this.policy.blockMs),
      };
      let error: ApiError | null = null;
      if (count >= this.policy.maxFailures) {
        update.blockedUntil = new Date(now.getTime() + this.policy.blockMs);
        error = this.blocked(this.policy.blockMs);
      }
      tx.set(ref, update, { merge: true });
      return error;
    });
  }

  async reset(subject: string): Promise<void> {
    await this.ref(subject).delete();
  }
}
