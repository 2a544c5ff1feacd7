import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { exportJWK, type JWK } from "jose";
import { z } from "zod";

/** One entry of the TOKEN_SIGNING_KEYS secret. */
const SigningKeyEntry = z.object({
  kid: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  /** PKCS#8 PEM of an RSA key (2048 bits or more). */
  pem: z.string().min(100),
  /** Set when the key stops signing; it still verifies tokens it issued until they expire. */
  retiredAt: z.iso.datetime().optional(),
});
type SigningKeyEntry = z.infer<typeof SigningKeyEntry>;

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JWK;
  retiredAt: Date | null;
}

export class SigningKeyConfigError extends Error {
  constructor(message: string) {
    super(`TOKEN_SIGNING_KEYS: ${message}`);
    this.name = "SigningKeyConfigError";
  }
}

/**
 * The access-token keys. The first key that is not retired signs; every key verifies, a retired
 * one only while tokens it signed before retiring can still be unexpired (retiredAt + token TTL).
 * Rotation therefore never invalidates a token early (procedure in docs/deploy.md).
 */
export class SigningKeySet {
  private constructor(
    readonly keys: SigningKey[],
    private readonly tokenTtlMs: number,
  ) {}

  static async parse(secret: string, tokenTtlMs: number): Promise<SigningKeySet> {
    let raw: unknown;
    try {
      raw = JSON.parse(secret);
    } catch {
      throw new SigningKeyConfigError("not valid JSON (expected an array of {kid, pem})");
    }
    const parsed = z.array(SigningKeyEntry).min(1).safeParse(raw);
    if (!parsed.success) throw new SigningKeyConfigError(`invalid: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
    const kids = new Set<string>();
    const keys: SigningKey[] = [];
    for (const entry of parsed.data) {
      if (kids.has(entry.kid)) throw new SigningKeyConfigError(`duplicate kid ${entry.kid}`);
      kids.add(entry.kid);
      let privateKey: KeyObject;
      try {
        privateKey = createPrivateKey(entry.pem);
      } catch {
        throw new SigningKeyConfigError(`key ${entry.kid} is not a readable PEM private key`);
      }
      if (privateKey.asymmetricKeyType !== "rsa" || (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
        throw new SigningKeyConfigError(`key ${entry.kid} must be an RSA key of at least 2048 bits`);
      }
      const publicKey = createPublicKey(privateKey);
      const publicJwk = { ...(await exportJWK(publicKey)), kid: entry.kid, alg: "RS256", use: "sig" };
      keys.push({ kid: entry.kid, privateKey, publicKey, publicJwk, retiredAt: entry.retiredAt ? new Date(entry.retiredAt) : null });
    }
    if (!keys.some((k) => k.retiredAt === null)) throw new SigningKeyConfigError("no active key (every key is retired)");
    return new SigningKeySet(keys, tokenTtlMs);
  }

  /** The key new tokens are signed with. */
  get signer(): SigningKey {
    return this.keys.find((k) => k.retiredAt === null)!;
  }

  /** Whether a token signed by `key` and issued at `issuedAt` may still be accepted at `now`. */
  accepts(key: SigningKey, issuedAt: Date, now: Date): boolean {
    if (!key.retiredAt) return true;
    // A retired key signed nothing after retiring, and what it signed before expires within the TTL.
    return issuedAt.getTime() <= key.retiredAt.getTime() && now.getTime() < key.retiredAt.getTime() + this.tokenTtlMs;
  }

  find(kid: string): SigningKey | undefined {
    return this.keys.find((k) => k.kid === kid);
  }

  /** The JWKS: every key that can still verify a live token at `now`. */
  jwks(now: Date): { keys: JWK[] } {
    return {
      keys: this.keys.filter((k) => !k.retiredAt || now.getTime() < k.retiredAt.getTime() + this.tokenTtlMs).map((k) => k.publicJwk),
    };
  }
}
