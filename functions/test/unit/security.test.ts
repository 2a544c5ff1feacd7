import { type Clock, MINUTE } from "../../src/kernel/clock";
import { emulatorAllowances } from "../../src/kernel/config";
import { ApiError } from "../../src/kernel/errors";
import { clientAddress } from "../../src/kernel/http/clientIp";
import { type QuotaStore, RateLimiter } from "../../src/kernel/http/rateLimit";
import { failureDelayMs, FailureThrottle, type ThrottlePolicy, type ThrottleStore } from "../../src/kernel/throttle";
import { inputProblems, MAX_JSON_DEPTH, textProblem } from "../../src/kernel/validation";
import { sourceNetwork } from "../../src/domain/events/security";

/** Yields to other tasks a random few ms, so concurrent operations interleave as they would on Firestore. */
const tick = () => new Promise((r) => setTimeout(r, Math.random() * 3));

/** Firestore's increment-then-read and create-only semantics, in memory, with random interleaving. */
function memoryThrottleStore(): ThrottleStore & { fields: Map<string, number>; locks: Map<string, number> } {
  const fields = new Map<string, number>();
  const locks = new Map<string, number>();
  return {
    fields,
    locks,
    async add(docId, field, delta) {
      await tick();
      const key = `${docId}.${field}`;
      fields.set(key, (fields.get(key) ?? 0) + delta);
      await tick();
      return fields.get(key)!;
    },
    async createOnce(docId, data) {
      await tick();
      if (locks.has(docId)) return false;
      locks.set(docId, data.lockedUntil.getTime());
      return true;
    },
    async lockedUntil(docIds) {
      await tick();
      const found = docIds.map((id) => locks.get(id) ?? 0);
      return Math.max(0, ...found) || null;
    },
  };
}

describe("failure throttle (guesses per subject and source)", () => {
  const policy: ThrottlePolicy = { scope: "login", maxAttempts: 5, windowMs: 15 * MINUTE, blockMs: 15 * MINUTE, baseDelayMs: 125, maxDelayMs: 1000 };
  const at = (ms: number): Clock => ({ now: () => new Date(ms) });
  const T0 = Date.UTC(2026, 0, 1, 12, 1, 0);

  /** One login attempt: reserve, "check the password", settle. */
  async function attempt(throttle: FailureThrottle, source: string, right: boolean) {
    try {
      const guess = await throttle.reserve("victim@example.com", source);
      if (right) {
        await guess.refund();
        return "ok" as const;
      }
      const failure = await guess.failed();
      return failure.error ? ("locked" as const) : ("wrong" as const);
    } catch (error) {
      if (error instanceof ApiError && error.code === "RATE_LIMITED") return "refused" as const;
      throw error;
    }
  }

  it("evaluates at most maxAttempts of 40 parallel guesses from one source, counts every failure, and keeps other sources open", async () => {
    const store = memoryThrottleStore();
    const instances = Array.from({ length: 8 }, () => new FailureThrottle(policy, at(T0), store, async () => {}));
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => attempt(instances[i % 8]!, "198.51.100.7", i === 39)));
    const evaluated = outcomes.filter((o) => o !== "refused");
    expect(evaluated.length).toBeLessThanOrEqual(5);
    expect(outcomes.filter((o) => o === "wrong" || o === "locked").length).toBe(evaluated.filter((o) => o !== "ok").length);
    // Every evaluated failure is in the counter.
    const failures = [...store.fields].filter(([k]) => k.endsWith(".failures")).reduce((sum, [, v]) => sum + v, 0);
    expect(failures).toBe(outcomes.filter((o) => o === "wrong" || o === "locked").length);
    // Only failures keep their reservations (refused guesses gave theirs back, a right one refunded).
    const attempts = [...store.fields].filter(([k]) => k.endsWith(".attempts")).reduce((sum, [, v]) => sum + v, 0);
    expect(attempts).toBe(failures);
    // The owner elsewhere still gets in.
    expect(await attempt(new FailureThrottle(policy, at(T0), store, async () => {}), "203.0.113.9", true)).toBe("ok");
  });

  it("lets a burst of right guesses larger than the allowance wait for room instead of refusing it", async () => {
    const store = memoryThrottleStore();
    const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
    const instances = Array.from({ length: 4 }, () => new FailureThrottle(policy, at(T0), store, pause));
    const outcomes = await Promise.all(Array.from({ length: 16 }, (_, i) => attempt(instances[i % 4]!, "198.51.100.8", true)));
    expect(outcomes).toEqual(Array(16).fill("ok"));
    const attempts = [...store.fields].filter(([k]) => k.endsWith(".attempts")).reduce((sum, [, v]) => sum + v, 0);
    expect(attempts).toBe(0);
  });

  it("queues one instance's burst beyond the allowance locally when every guess settles: no reservation is found over and retried", async () => {
    const store = memoryThrottleStore();
    const reservations: number[] = [];
    const counting: ThrottleStore = {
      ...store,
      async add(docId, field, delta, expiresAt) {
        const n = await store.add(docId, field, delta, expiresAt);
        if (field === "attempts" && delta > 0) reservations.push(n);
        return n;
      },
    };
    const throttle = new FailureThrottle({ ...policy, settlesEveryGuess: true }, at(T0), counting, async () => {});
    const outcomes = await Promise.all(Array.from({ length: 16 }, () => attempt(throttle, "198.51.100.9", true)));
    expect(outcomes).toEqual(Array(16).fill("ok"));
    expect(reservations).toHaveLength(16);
    expect(Math.max(...reservations)).toBeLessThanOrEqual(policy.maxAttempts);
  });

  it("never holds back a throttle whose reservations are never settled (every request counts)", async () => {
    const store = memoryThrottleStore();
    const throttle = new FailureThrottle({ ...policy, scope: "resend" }, at(T0), store, async () => {});
    for (let i = 0; i < policy.maxAttempts; i++) await throttle.reserve("c@example.com", "*");
    const started = Date.now();
    await expect(throttle.reserve("c@example.com", "*")).rejects.toMatchObject({ code: "RATE_LIMITED" });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("locks the source out after the allowance, for blockMs, and tells exactly one failure that it started the lockout", async () => {
    const store = memoryThrottleStore();
    const throttle = new FailureThrottle(policy, at(T0), store, async () => {});
    const started: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const failure = await (await throttle.reserve("a@example.com", "192.0.2.1")).failed();
      started.push(failure.lockoutStarted);
      expect(failure.error === null).toBe(i < 4);
    }
    expect(started).toEqual([false, false, false, false, true]);
    // A fresh instance (no memory of the lock) refuses too, with Retry-After of the whole block.
    const later = new FailureThrottle(policy, at(T0 + 14 * MINUTE), store, async () => {});
    const refused = await later.reserve("a@example.com", "192.0.2.1").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).options.headers?.["Retry-After"]).toBe(String(60));
    // The lock outlives the window it started in; then it is over.
    await expect(
      new FailureThrottle(policy, at(T0 + 16 * MINUTE), store, async () => {}).reserve("a@example.com", "192.0.2.1"),
    ).resolves.toBeDefined();
  });

  it("refunds right guesses so they never use the allowance, and delays failures progressively", async () => {
    const store = memoryThrottleStore();
    const waits: number[] = [];
    const throttle = new FailureThrottle(policy, at(T0), store, async (ms) => void waits.push(ms));
    for (let i = 0; i < 20; i++) await (await throttle.reserve("b@example.com", "192.0.2.2")).refund();
    for (let i = 0; i < 4; i++) expect((await (await throttle.reserve("b@example.com", "192.0.2.2")).failed()).error).toBeNull();
    expect(waits).toEqual([125, 250, 500]);
    expect([1, 2, 3, 4, 5, 6, 9].map((n) => failureDelayMs(policy, n))).toEqual([0, 125, 250, 500, 1000, 1000, 1000]);
  });
});

describe("client IP (trusted proxy hops)", () => {
  it("takes the entry the trusted hops appended, whatever the client prepends", () => {
    // Hosting appends the client, Google's front end appends Hosting: 2 hops.
    expect(clientAddress("203.0.113.50, 35.191.0.1", "10.0.0.1", 2)).toBe("203.0.113.50");
    expect(clientAddress("1.2.3.4, 5.6.7.8, 203.0.113.50, 35.191.0.1", "10.0.0.1", 2)).toBe("203.0.113.50");
    expect(clientAddress(["9.9.9.9", "203.0.113.50, 35.191.0.1"], "10.0.0.1", 2)).toBe("203.0.113.50");
    // One hop (the emulators' setting): the last entry.
    for (let i = 0; i < 20; i++) expect(clientAddress(`198.18.0.${i}, 192.0.2.77`, undefined, 1)).toBe("192.0.2.77");
    // Fewer entries than hops (a proxy skipped): the left-most, which a trusted proxy wrote.
    expect(clientAddress("203.0.113.50", "10.0.0.1", 2)).toBe("203.0.113.50");
    // No hops, or no header: the socket's peer.
    expect(clientAddress("1.2.3.4", "::ffff:127.0.0.1", 0)).toBe("127.0.0.1");
    expect(clientAddress(undefined, undefined, 1)).toBe("unknown");
    expect(clientAddress("not-an-ip", undefined, 1)).toBe("invalid:not-an-ip");
    expect(clientAddress("2001:DB8::1", undefined, 1)).toBe("2001:db8::1");
  });

  it("names the owner's notice by network, never the whole address", () => {
    expect(sourceNetwork("203.0.113.50")).toBe("203.0.113.0/24");
    expect(sourceNetwork("2001:db8:1:2::5")).toBe("2001:db8:1::/48");
    expect(sourceNetwork("unknown")).toBe("unknown");
  });
});

describe("emulator allowances", () => {
  it("need the emulator variables and a demo-* project together", () => {
    expect(emulatorAllowances({ FUNCTIONS_EMULATOR: "true" }, "demo-aiffinity")).toBe(true);
    expect(emulatorAllowances({ FIRESTORE_EMULATOR_HOST: "127.0.0.1:8080" }, "demo-x")).toBe(true);
    expect(emulatorAllowances({ FUNCTIONS_EMULATOR: "true", FIRESTORE_EMULATOR_HOST: "127.0.0.1:8080" }, "aiffinity-prod")).toBe(false);
    expect(emulatorAllowances({ FUNCTIONS_EMULATOR: "true" }, undefined)).toBe(false);
    expect(emulatorAllowances({}, "demo-aiffinity")).toBe(false);
    expect(emulatorAllowances({ FUNCTIONS_EMULATOR: "false" }, "demo-aiffinity")).toBe(false);
  });
});

describe("request text and nesting (kernel input guard)", () => {
  it("refuses lone surrogates and NUL, and accepts every other string", () => {
    expect(textProblem("\ud800")).toMatch(/lone UTF-16 surrogate/);
    expect(textProblem("a\udc00b")).toMatch(/lone UTF-16 surrogate/);
    expect(textProblem("x\u0000")).toMatch(/NUL/);
    expect(textProblem("emoji 😀 ok, ünïcödé, \ufffd")).toBeNull();
  });

  it("names each offending field, keys included, and stops deep nesting", () => {
    const details = inputProblems({ name: "\ud800", tags: ["ok", "a\u0000"], nested: { ["k\udfff"]: 1 } }, "body");
    expect(details.map((d) => d.field).sort()).toEqual(["name", "nested.k\ufffd", "tags.1"]);
    expect(inputProblems({ q: "\u0000" }, "query")[0]!.field).toBe("query.q");
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(inputProblems({ a: deep }, "body")[0]).toMatchObject({ code: "too_deep" });
    let fine: unknown = "x";
    for (let i = 0; i < MAX_JSON_DEPTH - 1; i++) fine = { a: fine };
    expect(inputProblems(fine, "body")).toEqual([]);
  });
});

describe("rate limiter at the quota's edge", () => {
  it("gives a burst of 10 at a time the whole quota: increments that lose the race are refunded", async () => {
    for (let run = 0; run < 5; run++) {
      const counts = new Map<string, number>();
      const store: QuotaStore = {
        async add(docId, want) {
          await tick();
          counts.set(docId, (counts.get(docId) ?? 0) + want);
          await tick();
          return counts.get(docId)!;
        },
      };
      const clock = { now: () => new Date(Date.UTC(2026, 0, 1, 12, 0, 5)) };
      // One instance per concurrent request, as the functions emulator runs them.
      const instances = Array.from({ length: 10 }, () => new RateLimiter(clock, store, () => tick().then(() => undefined)));
      let allowed = 0;
      for (let burst = 0; burst < 13; burst++) {
        const results = await Promise.all(instances.map((limiter) => limiter.take("app:free", 100)));
        allowed += results.filter((r) => r.allowed).length;
      }
      expect(allowed).toBe(100);
    }
  });

  it("counts a request in the window it arrived in when its lease ends in the next one", async () => {
    let now = Date.UTC(2026, 0, 1, 12, 0, 59, 990);
    const adds: string[] = [];
    const store: QuotaStore = {
      async add(docId, want) {
        adds.push(docId);
        now += 20; // the commit lands after the minute turned
        return want;
      },
    };
    const limiter = new RateLimiter({ now: () => new Date(now) }, store);
    const decision = await limiter.take("app:free", 100);
    expect(decision.allowed).toBe(true);
    expect(adds).toHaveLength(1);
    expect(decision.resetAtMs).toBe(Date.UTC(2026, 0, 1, 12, 1, 0));
    // The next request belongs to the new window and leases there.
    await limiter.take("app:free", 100);
    expect(adds).toHaveLength(2);
    expect(adds[1]!.split("-")[1]).toBe(String(Date.UTC(2026, 0, 1, 12, 1, 0) / 1000));
  });
});
