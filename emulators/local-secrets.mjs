// Writes functions/.secret.local for the functions emulator: the values defineSecret() returns
// locally. Generated per checkout, kept across runs, never committed (see .gitignore).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { generateKeyPairSync, randomBytes } from "node:crypto";

const file = process.argv[2];
const existing = existsSync(file) ? readFileSync(file, "utf8") : "";
const have = new Set(existing.split("\n").map((l) => l.split("=")[0]).filter(Boolean));

const generators = {
  // 32-byte key for AES-256-GCM encryption of provider credentials at rest.
  DATA_ENCRYPTION_KEY: () => randomBytes(32).toString("base64"),
  // RS256 signing key for OAuth access tokens (PKCS#8 PEM, newlines escaped for the dotenv format).
  TOKEN_SIGNING_KEYS: () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    return JSON.stringify(JSON.stringify([{ kid: `local-${randomBytes(4).toString("hex")}`, pem }]));
  },
};

const lines = [];
for (const [name, make] of Object.entries(generators)) {
  if (!have.has(name)) lines.push(`${name}=${make()}`);
}
if (lines.length) writeFileSync(file, existing + (existing && !existing.endsWith("\n") ? "\n" : "") + lines.join("\n") + "\n", { mode: 0o600 });
