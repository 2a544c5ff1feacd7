import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The local secrets the functions emulator runs with (functions/.secret.local, written by
 * emulators/local-secrets.mjs), so tests can forge tokens the way an attacker with a key could,
 * and so in-process function tests see the same secrets as the emulator.
 */
/** functions/, whether this file runs from test/helpers (jest) or .bench-out/ or .fuzz-out/test/helpers (npm run bench, npm run fuzz). */
export const FUNCTIONS_ROOT = join(__dirname, /\.(bench|fuzz)-out/.test(__dirname) ? "../../.." : "../..");

export function localSecrets(): Record<string, string> {
  const text = readFileSync(join(FUNCTIONS_ROOT, ".secret.local"), "utf8");
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq < 1) continue;
    const raw = line.slice(eq + 1).trim();
    // Values are either bare or double-quoted with JSON's escapes (what local-secrets.mjs writes).
    out[line.slice(0, eq)] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
  }
  return out;
}

export interface LocalSigningKey {
  kid: string;
  pem: string;
  retiredAt?: string;
}

export const localSigningKeys = (): LocalSigningKey[] => JSON.parse(localSecrets().TOKEN_SIGNING_KEYS!);

/** Makes defineSecret().value() work in this process as it does in the emulator. */
export function loadLocalSecretsIntoEnv() {
  for (const [name, value] of Object.entries(localSecrets())) process.env[name] ??= value;
}
