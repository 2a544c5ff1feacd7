import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hashSecret, newId, newSecret, randomBase62, secretMatches } from "../../src/kernel/crypto";
import { ERROR_CATALOGUE } from "../../src/kernel/errors";
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
