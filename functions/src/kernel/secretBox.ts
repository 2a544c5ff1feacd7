import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { secrets } from "./config";

/**
 * AES-256-GCM for secrets we must be able to read back (provider credentials, webhook signing
 * secrets). Stored as `v1.<iv>.<tag>.<ciphertext>` (base64url); the version leaves room for a key
 * rotation scheme. The associated data binds a ciphertext to its place (e.g. the runtime app id), so
 * a value copied to another document does not decrypt.
 */
const VERSION = "v1";

class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretBoxError";
  }
}

function key(): Buffer {
  const raw = Buffer.from(secrets.dataEncryptionKey.value(), "base64");
  if (raw.length !== 32) throw new SecretBoxError("DATA_ENCRYPTION_KEY must be 32 bytes, base64-encoded");
  return raw;
}

export function seal(plaintext: string, associatedData: string, encryptionKey: Buffer = key()): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", encryptionKey, iv);
  cipher.setAAD(Buffer.from(associatedData, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return [VERSION, iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), ciphertext.toString("base64url")].join(".");
}

export function open(sealed: string, associatedData: string, encryptionKey: Buffer = key()): string {
  const [version, iv, tag, ciphertext] = sealed.split(".");
  if (version !== VERSION || !iv || !tag || ciphertext === undefined) throw new SecretBoxError("Unknown sealed secret format");
  try {
    const decipher = createDecipheriv("aes-256-gcm", encryptionKey, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(associatedData, "utf8"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    throw new SecretBoxError("Sealed secret does not decrypt with this key and context");
  }
}

/** What a client may see of a secret: its last four characters, only when it is long enough to spare them. */
export const secretHint = (secret: string) => (secret.length >= 16 ? `****${secret.slice(-4)}` : "****");
