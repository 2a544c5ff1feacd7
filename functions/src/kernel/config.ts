import { defineInt, defineSecret, defineString } from "firebase-functions/params";

export const projectId = () =>
  process.env.GCLOUD_PROJECT ?? process.env.GCP_PROJECT ?? JSON.parse(process.env.FIREBASE_CONFIG ?? "{}").projectId ?? "demo-aiffinity";

/**
 * Whether emulator-only allowances (loopback targets, local topics) apply: the emulator variables
 * AND a `demo-*` project id, together. Variables alone never suffice: a production .env carrying
 * one by mistake must not open loopback to providers' URLs (docs/security.md#emulator-allowances).
 * demo-* projects cannot exist in Google Cloud, so no deployed function runs with one.
 */
export function emulatorAllowances(env: NodeJS.ProcessEnv, project: string | undefined): boolean {
  const emulatorVariables = env.FUNCTIONS_EMULATOR === "true" || Boolean(env.FIRESTORE_EMULATOR_HOST);
  return emulatorVariables && typeof project === "string" && project.startsWith("demo-");
}

/** True inside the Firebase emulator suite of a demo project, where loopback URLs are allowed and keys are local. */
export const isEmulator = () => emulatorAllowances(process.env, explicitProjectId());

/** The project id the runtime was given, without a default (a missing id is not a demo project). */
const explicitProjectId = (): string | undefined =>
  process.env.GCLOUD_PROJECT ?? process.env.GCP_PROJECT ?? (JSON.parse(process.env.FIREBASE_CONFIG ?? "{}") as { projectId?: string }).projectId;

export const REGION = "us-central1";

/**
 * Deploy-time parameters. Values come from functions/.env.<project> (the demo project's are
 * committed; a real project's are written by `firebase deploy`'s prompt or by the deployer).
 */
export const params = {
  /** Web API key of the Firebase project, used to call the Identity Toolkit REST API for logins. */
  webApiKey: defineString("WEB_API_KEY", { description: "Firebase Web API key (Project settings → General)" }),
  /** Public base URL of the API, e.g. https://api.aiffinity.me (issuer of tokens, links in e-mails). */
  publicBaseUrl: defineString("PUBLIC_BASE_URL", { description: "Public base URL of the API, e.g. https://api.aiffinity.me" }),
  /** Developer console web app (served by Hosting at the API's origin), where the verification link in e-mails lands. */
  consoleUrl: defineString("CONSOLE_URL", {
    description: "Developer console URL (Hosting serves it at the API's origin), e.g. https://api.aiffinity.me",
  }),
};

/**
 * Secrets (Secret Manager in production, functions/.secret.local on the emulators). Each is bound
 * only to the functions that read it (see src/index.ts).
 */
export const secrets = {
  /**
   * RS256 keys signing OAuth access tokens: a JSON array of {kid, pem, retiredAt?}, the signing key
   * first. Retired keys only verify, until their last tokens expire (rotation: docs/deploy.md).
   */
  tokenSigningKeys: defineSecret("TOKEN_SIGNING_KEYS"),
  /** 32 random bytes, base64: the AES-256-GCM key encrypting provider credentials at rest. */
  dataEncryptionKey: defineSecret("DATA_ENCRYPTION_KEY"),
};

/** Requests per minute per client IP on routes without credentials (sign-up, login, token). */
export const anonymousRateLimit = defineInt("ANONYMOUS_RATE_LIMIT_PER_MINUTE", {
  default: 600,
  description: "Requests per minute per client IP on unauthenticated routes (sign-up, login, token endpoint)",
});

/**
 * How many proxies in front of the functions append to X-Forwarded-For (docs/security.md#client-ip):
 * in production 2 (Firebase Hosting appends the client's address, then Google's front end appends
 * Hosting's), so the client is the second entry from the right and anything left of it is whatever
 * the client sent. The emulators add none (functions/.env.demo-aiffinity).
 */
export const trustedProxyHops = defineInt("TRUSTED_PROXY_HOPS", {
  default: 2,
  description: "Proxies that append to X-Forwarded-For in front of the functions (Firebase Hosting + Google front end: 2)",
});
