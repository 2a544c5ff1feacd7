// What the serving pool knows about the functions (HTTP and event-triggered): read from the built functions (lib/) with
// firebase-functions' own discovery, the one `firebase deploy` and the functions emulator run, and
// the environment an instance gets (what the functions emulator gives a function, production-shaped).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

// firebase-tools' defaults (deploy/functions/backend.js, prepare.js resolveCpuAndConcurrency):
// 256 MiB, 1 vCPU up to 2 GiB on 2nd gen, and concurrency 80 from 1 vCPU up (else 1).
const DEFAULT_MEMORY_MB = 256;
const DEFAULT_CONCURRENCY = 80;
const GEN2_CPU = { 128: 1, 256: 1, 512: 1, 1024: 1, 2048: 1, 4096: 2, 8192: 2, 16384: 4, 32768: 8 };
const GEN1_CPU = { 128: 0.0833, 256: 0.1666, 512: 0.3333, 1024: 0.5833, 2048: 1, 4096: 2, 8192: 2, 16384: 4, 32768: 8 };

/**
 * A package's command as the functions resolve it (from functions/node_modules), with its version.
 * Walks up from its main module: these packages do not export their package.json.
 */
export function packageBin(functionsDir, name, command) {
  let dir = dirname(createRequire(join(functionsDir, "package.json")).resolve(name));
  for (;;) {
    const file = join(dir, "package.json");
    const pkg = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : null;
    if (pkg?.name === name) return { path: join(dir, pkg.bin[command]), version: pkg.version };
    if (dirname(dir) === dir) throw new Error(`${name} is not installed in ${functionsDir}`);
    dir = dirname(dir);
  }
}

/** Runs firebase-functions' discovery on functionsDir/lib and returns its manifest. */
export function loadManifest(functionsDir, projectId) {
  const dir = mkdtempSync(join(tmpdir(), "aiffinity-serving-"));
  const out = join(dir, "functions.json");
  try {
    const bin = packageBin(functionsDir, "firebase-functions", "firebase-functions").path;
    execFileSync(process.execPath, [bin, functionsDir], {
      cwd: functionsDir,
      env: { ...process.env, FUNCTIONS_MANIFEST_OUTPUT_PATH: out, GCLOUD_PROJECT: projectId },
      stdio: ["ignore", "ignore", "inherit"],
    });
    return JSON.parse(readFileSync(out, "utf8"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The request concurrency Cloud Run gets for an endpoint, resolved as `firebase deploy` resolves it. */
export function concurrencyOf(endpoint) {
  if (endpoint.concurrency) return endpoint.concurrency;
  const memory = endpoint.availableMemoryMb || DEFAULT_MEMORY_MB;
  const cpu = endpoint.cpu === "gcf_gen1" ? GEN1_CPU[memory] : (endpoint.cpu ?? GEN2_CPU[memory]);
  return cpu >= 1 ? DEFAULT_CONCURRENCY : 1;
}

/** The HTTP functions of a manifest: name, regions, concurrency, timeout and the secrets bound to it. */
export function httpFunctions(manifest) {
  return Object.entries(manifest.endpoints)
    .filter(([, e]) => e.httpsTrigger)
    .map(([name, e]) => ({
      name,
      regions: e.region ?? ["us-central1"],
      concurrency: concurrencyOf(e),
      timeoutSeconds: e.timeoutSeconds ?? 60,
      secrets: (e.secretEnvironmentVariables ?? []).map((s) => s.key),
    }));
}

/**
 * The event functions of a manifest (Pub/Sub and Firestore triggers), as Cloud Run services fed by
 * Eventarc: the trigger, its retry flag, the function's concurrency, timeout and secrets. A trigger of
 * another kind throws: nothing here would deliver its events.
 */
export function eventFunctions(manifest) {
  return Object.entries(manifest.endpoints)
    .filter(([, e]) => e.eventTrigger)
    .map(([name, e]) => {
      const t = e.eventTrigger;
      let trigger;
      if (t.eventType === "google.cloud.pubsub.topic.v1.messagePublished") {
        trigger = { kind: "pubsub", eventType: t.eventType, topic: t.eventFilters.topic };
      } else if (t.eventType.startsWith("google.cloud.firestore.document.v1.")) {
        const exact = t.eventFilters?.document;
        trigger = {
          kind: "firestore",
          eventType: t.eventType,
          database: t.eventFilters?.database ?? "(default)",
          namespace: t.eventFilters?.namespace ?? "(default)",
          document: exact ?? t.eventFilterPathPatterns?.document,
          matchType: exact ? "EXACT" : "PATH_PATTERN",
        };
      } else {
        throw new Error(`${name}: ${t.eventType} triggers are not served by the pool (AIFFINITY_SERVING=emulator runs them)`);
      }
      return {
        name,
        regions: e.region ?? ["us-central1"],
        concurrency: concurrencyOf(e),
        timeoutSeconds: e.timeoutSeconds ?? 60,
        secrets: (e.secretEnvironmentVariables ?? []).map((s) => s.key),
        retry: Boolean(t.retry),
        trigger,
        signatureType: "cloudevent",
      };
    });
}

// The functions emulator's own dotenv parser (functions/.env*, .secret.local), so values (quoted,
// escaped, multi-line) mean here what they mean there.
const { parseStrict } = createRequire(import.meta.url)("firebase-tools/lib/functions/env.js");

const readDotenv = (path) => (existsSync(path) ? parseStrict(readFileSync(path, "utf8")) : {});

/**
 * The environment of one instance of `fn`: what Cloud Run and the Functions Framework set, the
 * emulator hosts (inherited from emulators:exec), the project's parameters (functions/.env,
 * .env.<project>, .env.local, in that order, as the emulator loads them) and only the secrets bound
 * to the function, from functions/.secret.local.
 */
export function instanceEnv({ functionsDir, projectId, fn, port, base = process.env }) {
  const secrets = readDotenv(join(functionsDir, ".secret.local"));
  const missing = fn.secrets.filter((key) => secrets[key] === undefined);
  if (missing.length) throw new Error(`${fn.name} needs ${missing.join(", ")}, missing from functions/.secret.local`);
  return {
    ...base,
    ...readDotenv(join(functionsDir, ".env")),
    ...readDotenv(join(functionsDir, `.env.${projectId}`)),
    ...readDotenv(join(functionsDir, ".env.local")),
    ...Object.fromEntries(fn.secrets.map((key) => [key, secrets[key]])),
    NODE_ENV: "production",
    TZ: "UTC",
    GCLOUD_PROJECT: projectId,
    GOOGLE_CLOUD_PROJECT: projectId,
    GOOGLE_CLOUD_QUOTA_PROJECT: projectId,
    FIREBASE_CONFIG: JSON.stringify({ projectId, storageBucket: `${projectId}.appspot.com` }),
    K_SERVICE: fn.name.toLowerCase(),
    K_REVISION: "1",
    FUNCTION_TARGET: fn.name,
    FUNCTION_SIGNATURE_TYPE: fn.signatureType ?? "http",
    PORT: String(port),
  };
}
