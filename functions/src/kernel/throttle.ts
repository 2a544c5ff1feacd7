import { type Timestamp } from "firebase-admin/firestore";
import { type Clock } from "./clock";
import { sha256Hex } from "./crypto";
import { ApiError } from "./errors";
import { db } from "./firebase";
import { getAllCoalesced, incrementAndRead } from "./coalesce";

export interface ThrottlePolicy {
  /** Names the counter family, e.g. "login". */
  scope: string;
  /** Guesses allowed per subject and source within one window; beyond it the source is locked out until the window ends. */
  maxAttempts: number;
  /** Fixed windows aligned to the clock. */
  windowMs: number;
  /** How long a source stays locked out once it has used its allowance (at most windowMs). */
  blockMs: number;
  /**
   * Progressive delay before answering a failure: the n-th failure of a (subject, source) in a
   * window waits min(maxDelayMs, baseDelayMs·2^(n−2)) (none for the first). 0 turns it off.
   */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /**
   * Every reserved guess is settled (refunded or failed): then this instance's guesses of one key
   * beyond the allowance wait for room locally. Not for throttles that count every request and never
   * refund (their reservations are never given back).
   */
  settlesEveryGuess?: boolean;
}

/** Where the counters live: Firestore in production, replaceable in unit tests. */
export interface ThrottleStore {
  /** Atomically adds `delta` to `field` of the document and reads the field back (no transaction). */
  add(docId: string, field: "attempts" | "failures", delta: number, expiresAt: Date): Promise<number>;
  /** Creates the document if it does not exist yet; true for the one caller that created it. */
  createOnce(docId: string, data: { lockedUntil: Date; expiresAt: Date }): Promise<boolean>;
  /** The latest `lockedUntil` (epoch ms) among these lock documents, or null. */
  lockedUntil(docIds: string[]): Promise<number | null>;
}

const ALREADY_EXISTS = 6;

const firestoreThrottleStore: ThrottleStore = {
  add(docId, field, delta, expiresAt) {
    // An increment never conflicts (no transaction on a hot document), and its result (every
    // increment made before it, ours included) comes back in the same commit. expiresAt feeds the
    // TTL policy.
    return incrementAndRead(db().collection("throttles").doc(docId), field, delta, { expiresAt });
  },
  async createOnce(docId, data) {
    try {
      await db().collection("throttles").doc(docId).create(data);
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === ALREADY_EXISTS) return false;
      throw error;
    }
  },
  async lockedUntil(docIds) {
    const snaps = await getAllCoalesced(...docIds.map((id) => db().collection("throttles").doc(id)));
    const until = snaps.map((s) => (s.get("lockedUntil") as Timestamp | undefined)?.toMillis() ?? 0);
    const latest = Math.max(0, ...until);
    return latest > 0 ? latest : null;
  },
};

/** Whether reservation number `n` (the counter read after its own increment) is within the allowance. */
const withinAllowance = (maxAttempts: number, n: number) => n <= maxAttempts;
/** Longest wait for room among this instance's own guesses of one key before asking Firestore anyway. */
const LOCAL_WAIT_MS = 2000;
/** Tries of a reservation found over the allowance (waits of 25 ms doubling to 400 ms: ~0.8 s in all). */
const CONTENDED_RETRIES = 5;

/** The progressive delay after the n-th failure in a window (ms). */
export const failureDelayMs = (policy: ThrottlePolicy, n: number) =>
  n < 2 || !policy.baseDelayMs ? 0 : Math.min(policy.maxDelayMs ?? policy.baseDelayMs, policy.baseDelayMs * 2 ** (n - 2));

interface FailureOutcome {
  /** Failures of this (subject, source) in the window, this one included. */
  failures: number;
  /** True for exactly one failure per (subject, source, window): the one that used up the allowance. */
  lockoutStarted: boolean;
  /** Set when this failure used up the allowance: the source is locked out until then. */
  lockedUntil: Date | null;
  /** The RATE_LIMITED error to answer with when the source is now locked out. */
  error: ApiError | null;
}

/** One reserved guess: report how it went, exactly once. */
export interface Guess {
  /** The guess was right (or could not be checked): its reservation is refunded, so it never uses up the allowance. */
  refund(): Promise<void>;
  /** The guess was wrong: counted, then delayed progressively. */
  failed(): Promise<FailureOutcome>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Limits guesses (passwords, client secrets) per subject AND source (client IP), across function
 * instances, with no transaction: a guess first reserves an attempt with an atomic increment and
 * reads the counter back; only reservations that read at most `maxAttempts` are evaluated, so
 * however many requests race, at most `maxAttempts` are ever checked per window (for any set of
 * admitted reservations, the one that read last saw all the others' increments). A right guess
 * refunds its reservation, and one found over the allowance gives it back and retries briefly
 * (guesses still being checked settle fast; failures never do). The failure that uses up the allowance locks the source out for
 * `blockMs` (a create-only lock document, so exactly one request learns that it started the
 * lockout and the owner is told once). Keying by source means an attacker elsewhere cannot lock
 * the owner out. Subjects and sources are stored hashed.
 */
export class FailureThrottle {
  /** Locks this instance already knows about (doc key → until): refused without touching Firestore. */
  private readonly knownLocks = new Map<string, number>();
  /** Guesses per key this instance has reserved and not yet settled, and the requests waiting for room. */
  private readonly local = new Map<string, { held: number; waiting: (() => void)[] }>();

  constructor(
    private readonly policy: ThrottlePolicy,
    private readonly clock: Clock,
    private readonly store: ThrottleStore = firestoreThrottleStore,
    private readonly wait: (ms: number) => Promise<void> = sleep,
  ) {
    if (policy.blockMs > policy.windowMs) throw new Error("A throttle's blockMs must not exceed its windowMs");
  }

  private key(subject: string, source: string) {
    return `${this.policy.scope}:${sha256Hex(`${subject.toLowerCase()}\n${source}`)}`;
  }

  private windowIndex(now: number) {
    return Math.floor(now / this.policy.windowMs);
  }

  /** The counter document of (subject, source) in the window of `now`: `{scope}:{hash}:{window}`. */
  docId(subject: string, source: string, now = this.clock.now().getTime()): string {
    return `${this.key(subject, source)}:${this.windowIndex(now)}`;
  }

  private refused(untilMs: number, now: number): ApiError {
    const seconds = Math.max(1, Math.ceil((untilMs - now) / 1000));
    return new ApiError("RATE_LIMITED", `Too many failed attempts from your address; retry in ${seconds} seconds`, {
      headers: { "Retry-After": String(seconds) },
    });
  }

  /**
   * Reserves one guess for `subject` from `source`. Throws RATE_LIMITED (with Retry-After) while
   * the source is locked out or has used its allowance in this window: the guess is then not
   * evaluated at all.
   */
  async reserve(subject: string, source: string): Promise<Guess> {
    const now = this.clock.now().getTime();
    const key = this.key(subject, source);
    const window = this.windowIndex(now);
    const docId = `${key}:${window}`;
    const expiresAt = new Date((window + 2) * this.policy.windowMs);
    this.refuseIfKnownLocked(key, now);
    if (this.knownLocks.size > 10_000) for (const [k, until] of this.knownLocks) if (until <= now) this.knownLocks.delete(k);
    // Beyond the allowance, this instance's own guesses wait here for one of them to settle instead
    // of reserving in Firestore only to find the counter full and retry (a client's burst).
    const release = this.policy.settlesEveryGuess ? await this.localRoom(key) : () => {};
    try {
      this.refuseIfKnownLocked(key, now); // a guess settled while this one waited may have locked the source
      return await this.reserveIn(key, docId, window, expiresAt, now, release);
    } catch (error) {
      release();
      throw error;
    }
  }

  private refuseIfKnownLocked(key: string, now: number) {
    const until = this.knownLocks.get(key);
    if (until !== undefined && until > now) throw this.refused(until, now);
  }

  /**
   * Waits until this instance holds fewer than maxAttempts unsettled guesses of `key`; answers how to
   * give the room back. Waits at most LOCAL_WAIT_MS, then goes on without room (Firestore still decides).
   */
  private async localRoom(key: string): Promise<() => void> {
    let entry = this.local.get(key);
    if (!entry) this.local.set(key, (entry = { held: 0, waiting: [] }));
    const room = entry;
    const giveUpAt = Date.now() + LOCAL_WAIT_MS;
    while (room.held >= this.policy.maxAttempts) {
      const left = giveUpAt - Date.now();
      if (left <= 0) return () => {};
      let wake: () => void = () => {};
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        room.waiting.push(wake);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      const stillQueued = room.waiting.indexOf(wake);
      if (stillQueued >= 0) room.waiting.splice(stillQueued, 1);
    }
    room.held++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      room.held--;
      const next = room.waiting.shift();
      if (next) next();
      else if (room.held === 0 && this.local.get(key) === room) this.local.delete(key);
    };
  }

  private async reserveIn(key: string, docId: string, window: number, expiresAt: Date, now: number, release: () => void): Promise<Guess> {
    // The lock check and the reservation go together (one round trip). A reservation over the
    // allowance is given back and tried again shortly: the counter holds failures and guesses still
    // being checked, and the latter settle in a round trip or two (a client's burst of right
    // guesses above the allowance waits instead of being refused). Only failures stay counted, so
    // at most maxAttempts wrong guesses are ever checked. A lock started late in the previous window
    // outlives it (blockMs ≤ windowMs: two to look at).
    for (let retry = 0; ; retry++) {
      const [locked, n] = await Promise.all([
        this.store.lockedUntil([`${docId}:lock`, `${key}:${window - 1}:lock`]),
        this.store.add(docId, "attempts", 1, expiresAt),
      ]);
      const admitted = !(locked !== null && locked > now) && withinAllowance(this.policy.maxAttempts, n);
      if (admitted) break;
      await this.store.add(docId, "attempts", -1, expiresAt);
      if (locked !== null && locked > now) {
        this.knownLocks.set(key, locked);
        throw this.refused(locked, now);
      }
      // Still over after the retries: the allowance went on failures (a lock is being set) or the
      // burst is larger than the allowance: say the longer of the two waits.
      if (retry >= CONTENDED_RETRIES) throw this.refused(now + this.policy.blockMs, now);
      await this.wait(Math.min(400, 25 * 2 ** retry) + Math.floor(Math.random() * 25));
    }
    let settled = false;
    const settle = () => {
      if (settled) throw new Error("A guess is settled once");
      settled = true;
    };
    return {
      refund: async () => {
        settle();
        try {
          await this.store.add(docId, "attempts", -1, expiresAt);
        } finally {
          release();
        }
      },
      failed: async () => {
        settle();
        let failures: number;
        let lockoutStarted = false;
        let lockedUntil: Date | null = null;
        try {
          failures = await this.store.add(docId, "failures", 1, expiresAt);
          if (failures >= this.policy.maxAttempts) {
            lockedUntil = new Date(now + this.policy.blockMs);
            this.knownLocks.set(key, lockedUntil.getTime());
            lockoutStarted = await this.store.createOnce(`${docId}:lock`, {
              lockedUntil,
              expiresAt: new Date(lockedUntil.getTime() + this.policy.windowMs),
            });
          }
        } finally {
          release();
        }
        const delay = failureDelayMs(this.policy, failures);
        if (delay > 0) await this.wait(delay);
        return { failures, lockoutStarted, lockedUntil, error: lockedUntil ? this.refused(lockedUntil.getTime(), now) : null };
      },
    };
  }
}
