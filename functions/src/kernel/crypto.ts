import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** `length` base62 characters from the CSPRNG, without modulo bias (~5.95 bits each). */
export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62[byte % 62]; // 248 = 4 * 62: reject the biased tail
      if (out.length === length) break;
    }
  }
  return out;
}

/** Opaque ids such as `app_3ZkQ...` (20 chars ≈ 119 bits: unguessable, so enumeration is futile). */
export const newId = (prefix: string, length = 20) => `${prefix}_${randomBase62(length)}`;

/** A secret with at least `bits` bits of entropy, e.g. `secret_...` (256 bits by default). */
export const newSecret = (prefix: string, bits = 256) => `${prefix}_${randomBase62(Math.ceil(bits / Math.log2(62)))}`;

/**
 * Secrets we issue are long random strings, so a fast hash is enough to store them: there is
 * nothing to brute-force (unlike passwords, which Firebase Auth stores with scrypt).
 */
export const hashSecret = (secret: string) => `sha256:${createHash("sha256").update(secret, "utf8").digest("hex")}`;

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret));
  const b = Buffer.from(storedHash);
  return a.length === b.length && timingSafeEqual(a, b);
}

export const sha256Hex = (value: string) => createHash("sha256").update(value, "utf8").digest("hex");

/** JSON with sorted keys (undefined members dropped), so equal content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}
