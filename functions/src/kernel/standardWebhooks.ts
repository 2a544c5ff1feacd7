import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Signing per the Standard Webhooks specification (standardwebhooks.com): the secret is
 * `whsec_<base64 of 24–64 random bytes>`; the signature is `v1,<base64 HMAC-SHA256 of
 * "<id>.<timestamp>.<body>">`, several space-separated while two secrets are valid (rotation).
 * Used for webhook deliveries and for every request the platform sends to a provider runtime.
 */
const SECRET_PREFIX = "whsec_";
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

export const newSigningSecret = (bytes = 32) => `${SECRET_PREFIX}${randomBytes(bytes).toString("base64")}`;

/** The key bytes of a `whsec_` secret, or null when it is not one (wrong prefix, encoding or length). */
export function signingKeyBytes(secret: string): Buffer | null {
  if (!secret.startsWith(SECRET_PREFIX)) return null;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return null;
  const bytes = Buffer.from(encoded, "base64");
  if (bytes.toString("base64").replace(/=+$/, "") !== encoded.replace(/=+$/, "")) return null;
  return bytes.length >= MIN_SECRET_BYTES && bytes.length <= MAX_SECRET_BYTES ? bytes : null;
}

export function signature(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = signingKeyBytes(secret);
  if (!key) throw new Error("Not a whsec_ signing secret");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestampSeconds}.${body}`, "utf8").digest("base64")}`;
}

export interface SignedHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/** The three headers, signed with every given secret (newest first). */
export function signedHeaders(secrets: string[], id: string, timestampSeconds: number, body: string): SignedHeaders {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": secrets.map((s) => signature(s, id, timestampSeconds, body)).join(" "),
  };
}

/** Receiver-side check (tests, docs): some signature matches and the timestamp is within `toleranceSeconds`. */
export function verifySignature(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signature(secret, headers.id, timestamp, body));
  return headers.signature.split(" ").some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
