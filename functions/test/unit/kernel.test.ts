import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hashSecret, newId, newSecret, randomBase62, secretMatches } from "../../src/kernel/crypto";
import { ERROR_CATALOGUE } from "../../src/kernel/errors";
import { Coalescer, serialValues } from "../../src/kernel/coalesce";
import { contended } from "../../src/kernel/firestore";
import { Lru } from "../../src/kernel/lru";
import { passwordProblem } from "../../src/surfaces/console/password";

describe("docs/errors.md", () => {
  const doc = readFileSync(join(__dirname, "../../../docs/errors.md"), "utf8");
  it.each(Object.entries(ERROR_CATALOGUE))("documents %s with its status", (code, { status }) => {
    // Cells are compared trimmed: Prettier pads table columns.
    const row = doc
      .split("\n")
      .map((line) => line.split("|").map((cell) => cell.trim()))
      .find((cells) => cells[1] === `\`${code}\``);
    expect(row?.[2]).toBe(String(status));
  });
});

describe("crypto", () => {
  it("makes base62 strings of the requested length with no visible bias", () => {
    const sample = randomBase62(62_000);
    expect(sample).toMatch(/^[0-9A-Za-z]+$/);
    const counts = new Map<string, number>();
    for (const c of sample) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    for (const n of counts.values()) expect(n).toBeGreaterThan(700); // expected 1000 each
  });

  it("issues secrets of at least 160 bits and ids with prefixes", () => {
    const secret = newSecret("secret");
    expect(secret).toMatch(/^secret_[0-9A-Za-z]{43}$/); // 43 × log2(62) ≈ 256 bits
    expect(newId("app")).toMatch(/^app_[0-9A-Za-z]{20}$/);
    expect(newSecret("secret")).not.toBe(secret);
  });

  it("matches a secret only against its own hash", () => {
    const secret = newSecret("secret");
    const hash = hashSecret(secret);
    expect(hash).not.toContain(secret);
    expect(secretMatches(secret, hash)).toBe(true);
    expect(secretMatches(`${secret}x`, hash)).toBe(false);
    expect(secretMatches(secret, "sha256:00")).toBe(false);
  });
});

describe("password policy", () => {
  const ctx = { email: "lovelace@acme.example", companyName: "Acme Weather" };
  it.each([
    ["short1!", /at least 10/],
    ["abcdefghijkl", /letter and a digit or symbol/],
    ["1234567890123", /letter and a digit or symbol/],
    ["aaaaaaaaa1", /5 different/],
    ["Password123", /too common/],
    ["my-lovelace-1", /e-mail/],
    ["acmeweather99", /company/],
  ])("rejects %s", (password, reason) => {
    expect(passwordProblem(password, ctx)).toMatch(reason);
  });

  it("accepts a reasonable passphrase", () => {
    expect(passwordProblem("correct-horse-42", ctx)).toBeNull();
  });
});

describe("Lru", () => {
  it("evicts the least recently used entry once full", () => {
    const lru = new Lru<string, number>(2);
    lru.set("a", 1);
    lru.set("b", 2);
    expect(lru.get("a")).toBe(1); // a is now the most recently used
    lru.set("c", 3);
    expect(lru.get("b")).toBeUndefined();
    expect(lru.get("a")).toBe(1);
    expect(lru.get("c")).toBe(3);
    expect(lru.size).toBe(2);
  });

  it("replaces a key's value without growing", () => {
    const lru = new Lru<string, number>(2);
    lru.set("a", 1);
    lru.set("a", 2);
    lru.set("b", 3);
    expect([lru.get("a"), lru.get("b"), lru.size]).toEqual([2, 3, 2]);
  });

  it("refuses a capacity that is not a positive integer", () => {
    expect(() => new Lru(0)).toThrow(/positive integer/);
  });
});

describe("Coalescer", () => {
  /** A send that waits until released, recording each batch. */
  function gatedSend() {
    const batches: number[][] = [];
    const gates: (() => void)[] = [];
    const send = (items: number[]) => {
      batches.push(items);
      return new Promise<number[]>((resolve) => gates.push(() => resolve(items.map((i) => i * 10))));
    };
    return { batches, send, release: () => gates.shift()!() };
  }
  const settle = () => new Promise((r) => setImmediate(r));

  it("sends at once when idle, and everything queued meanwhile as one send; answers each caller its own result", async () => {
    const gate = gatedSend();
    const c = new Coalescer(gate.send, 1);
    const first = c.run(1);
    const rest = [c.run(2), c.run(3), c.run(4)];
    expect(gate.batches).toEqual([[1]]);
    gate.release();
    expect(await first).toBe(10);
    await settle();
    expect(gate.batches).toEqual([[1], [2, 3, 4]]);
    gate.release();
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
  });

  it("keeps up to maxInFlight sends out and caps a batch at maxBatch", async () => {
    const gate = gatedSend();
    const c = new Coalescer(gate.send, 2, 2);
    const all = [1, 2, 3, 4, 5, 6].map((i) => c.run(i));
    expect(gate.batches).toEqual([[1], [2]]);
    gate.release();
    await settle();
    expect(gate.batches).toEqual([[1], [2], [3, 4]]);
    for (let i = 0; i < 3; i++) {
      gate.release();
      await settle();
    }
    expect(await Promise.all(all)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(gate.batches).toEqual([[1], [2], [3, 4], [5, 6]]);
  });

  it("rejects every caller of a failed send, and goes on with the next", async () => {
    let calls = 0;
    const c = new Coalescer(async (items: number[]) => {
      calls++;
      if (items.includes(2)) throw new Error("unavailable");
      return items;
    }, 1);
    const results = await Promise.allSettled([c.run(1), c.run(2), c.run(3), c.run(4)]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "rejected", "rejected"]);
    expect(await c.run(5)).toBe(5);
    expect(calls).toBe(3);
  });
});

describe("serialValues", () => {
  it("answers each increment the value it reads in one serial order of the commit", () => {
    const increments = [
      { key: "a", by: 1 },
      { key: "b", by: 1 },
      { key: "a", by: 1 },
      { key: "a", by: -1 },
    ];
    // a went 9 → 10 with the commit's net +1; b 4 → 5.
    expect(
      serialValues(
        increments,
        new Map([
          ["a", 10],
          ["b", 5],
        ]),
      ),
    ).toEqual([10, 5, 11, 10]);
  });
});

describe("contended: Firestore errors answered 409 with Retry-After instead of 500", () => {
  const grpcError = (code: number, message: string) => Object.assign(new Error(`${code} ${message}`), { code });

  it("takes ABORTED, the emulator's lock timeout and a transaction the server closed or let expire", () => {
    expect(contended(grpcError(10, "ABORTED: Too much contention on these documents."))).toBe(true);
    expect(contended(grpcError(10, "ABORTED: Transaction lock timeout."))).toBe(true);
    expect(contended(new Error("Transaction lock timeout."))).toBe(true);
    // The emulator's wording (seen under a 20-minute soak at 200 clients) and production's.
    expect(contended(grpcError(3, "INVALID_ARGUMENT: Transaction is invalid or closed."))).toBe(true);
    expect(contended(grpcError(3, "INVALID_ARGUMENT: The referenced transaction has expired or is no longer valid."))).toBe(true);
  });

  it("leaves every other error to be a 500: bad arguments, other codes, non-errors", () => {
    expect(contended(grpcError(3, "INVALID_ARGUMENT: Property name is invalid"))).toBe(false);
    expect(contended(grpcError(14, "UNAVAILABLE: No connection established"))).toBe(false);
    expect(contended(grpcError(9, "FAILED_PRECONDITION: The query requires an index"))).toBe(false);
    expect(contended({ code: 3, message: "Transaction is invalid or closed" })).toBe(false);
    expect(contended(null)).toBe(false);
  });
});
