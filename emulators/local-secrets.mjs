// Writes functions/.secret.local for the functions emulator: the values defineSecret() returns
// locally. Generated per checkout, kept across runs, never committed (see .gitignore).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { generateKeyPairSync, randomBytes } from "node:crypto";

const file = process.argv[2];
const existing = existsSync(file) ? readFileSync(file, "utf8") : "";
const lines = existing.split("\n").filter(Boolean);
const value = (name) => {
  const line = lines.find((l) => l.startsWith(`${name}=`));
  return line === undefined ? undefined : line.slice(name.length + 1);
};

const rsaKey = (kid, extra = {}) => {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { kid, pem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(), ...extra };
};
// The dotenv format of .secret.local: a double-quoted value with JSON's escapes (\n, \").
const dotenvJson = (data) => JSON.stringify(JSON.stringify(data));

/**
 * TOKEN_SIGNING_KEYS: the active RS256 key (kept across runs) and, after it, a key retired at the
 * start of this run, so the rotation path (a retired key still verifying its unexpired tokens) is
 * exercised locally. The retired key is renewed every run; it never signs.
 */
function tokenSigningKeys() {
  let active;
  try {
    active = JSON.parse(JSON.parse(value("TOKEN_SIGNING_KEYS"))).find((k) => !k.retiredAt);
  } catch {
    active = undefined;
  }
  active ??= rsaKey(`local-${randomBytes(4).toString("hex")}`);
  const retired = rsaKey(`local-retired-${randomBytes(4).toString("hex")}`, { retiredAt: new Date().toISOString() });
  return dotenvJson([active, retired]);
}

const values = {
  // 32-byte key for AES-256-GCM encryption of provider credentials at rest (kept across runs).
  DATA_ENCRYPTION_KEY: value("DATA_ENCRYPTION_KEY") ?? randomBytes(32).toString("base64"),
  TOKEN_SIGNING_KEYS: tokenSigningKeys(),
};

const others = lines.filter((l) => !Object.keys(values).some((name) => l.startsWith(`${name}=`)));
const out = [...others, ...Object.entries(values).map(([name, v]) => `${name}=${v}`)].join("\n") + "\n";
writeFileSync(file, out, { mode: 0o600 });
