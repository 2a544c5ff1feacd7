/**
 * The running stack, seen from the browser tests: the base URL (Hosting, moved by the port offset),
 * the emulators through the Admin SDK (the functions' own copy), the mail outbox, a sample provider
 * runtime in this process, and the functions' scheduled jobs run by hand (the emulator never fires
 * them).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const functionsRequire = createRequire(join(ROOT, "functions/package.json"));

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Without the background-networking flags Chromium keeps calling out to a network this machine does not have. */
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

function firebaseConfig() {
  return JSON.parse(readFileSync(process.env.AIFFINITY_FIREBASE_CONFIG ?? join(ROOT, "firebase.json"), "utf8")) as {
    emulators: Record<string, { host: string; port: number }>;
  };
}

export function baseUrl(): string {
  const { host, port } = firebaseConfig().emulators.hosting!;
  return `http://${host}:${port}`;
}

export const PROJECT = process.env.GCLOUD_PROJECT ?? process.env.AIFFINITY_PROJECT ?? "demo-aiffinity";
export const PASSWORD = "correct-horse-42";
export const uniqueEmail = (tag: string) => `${tag}-${randomBytes(5).toString("hex")}@example.com`;
export const uniqueSlug = (tag: string) => `${tag}-${randomBytes(4).toString("hex")}`;

type Admin = { db: import("firebase-admin/firestore").Firestore; auth: import("firebase-admin/auth").Auth };
let admin: Admin | undefined;

/** The Admin SDK on the emulators (emulators:exec sets FIRESTORE_EMULATOR_HOST and FIREBASE_AUTH_EMULATOR_HOST). */
export function adminSdk(): Admin {
  if (!process.env.FIRESTORE_EMULATOR_HOST) throw new Error("The browser tests need the emulator suite: run them with `npm test` (or `npm test -- browser`).");
  if (!admin) {
    const { initializeApp, getApps } = functionsRequire("firebase-admin/app") as typeof import("firebase-admin/app");
    const app = getApps().find((a) => a.name === "browser-tests") ?? initializeApp({ projectId: PROJECT }, "browser-tests");
    const { getFirestore } = functionsRequire("firebase-admin/firestore") as typeof import("firebase-admin/firestore");
    const { getAuth } = functionsRequire("firebase-admin/auth") as typeof import("firebase-admin/auth");
    admin = { db: getFirestore(app), auth: getAuth(app) };
  }
  return admin;
}

export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The e-mails sent to `to` (the Trigger Email extension's `mail` collection), oldest first. */
export async function mailsTo(to: string): Promise<{ subject: string; text: string }[]> {
  const snap = await adminSdk().db.collection("mail").where("to", "==", to).get();
  return snap.docs
    .map((d) => d.data())
    .sort((a, b) => (a.createdAt?.toMillis?.() ?? 0) - (b.createdAt?.toMillis?.() ?? 0))
    .map((d) => ({ subject: d.message.subject as string, text: d.message.text as string }));
}

/** The console link of the verification e-mail. */
export async function verificationLink(to: string): Promise<string> {
  const mail = await eventually(async () => (await mailsTo(to))[0], 30_000, `the verification e-mail to ${to}`);
  const link = /(https?:\/\/\S+\/verify-email\?token=\S+)/.exec(mail.text)?.[1];
  if (!link) throw new Error(`No console link in the verification e-mail: ${mail.text}`);
  return link;
}

export interface SampleProvider {
  url: string;
  close(): Promise<void>;
  state: { webhooks: unknown[] };
}

export const SAMPLE = createRequire(import.meta.url)(join(ROOT, "emulators/sample-provider/index.js")).DEFAULTS as { apiKeyHeader: string; apiKey: string };

export async function startSampleProvider(): Promise<SampleProvider> {
  const { createSampleProvider } = createRequire(import.meta.url)(join(ROOT, "emulators/sample-provider/index.js"));
  return createSampleProvider({ port: 0 });
}

// ---------- the API over HTTP (test setup that is not under test here) ----------

export async function call<T = any>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(baseUrl() + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json().catch(() => ({}))) as { data?: T };
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
  return json.data as T;
}

/** A provider with a verified account, an app and a runtime on `sample`, set up through the API. */
export async function providerWithRuntime(sample: SampleProvider, company: string) {
  const email = uniqueEmail("provider");
  await call("POST", "/v1/providers/account", { company_name: company, email, password: PASSWORD });
  const token = new URL(await verificationLink(email)).searchParams.get("token")!;
  await call("POST", "/v1/providers/account/verify", { token });
  const login = await call("POST", "/v1/providers/account/login", { email, password: PASSWORD });
  const app = await call("POST", "/v1/providers/apps", { name: `${company} app` }, login.id_token);
  const { access_token: access } = await call("POST", `/v1/providers/apps/${app.id}/access-token`, undefined, login.id_token);
  const runtime = await call("POST", "/v1/providers/runtime/apps", { appId: app.id, endpointUrl: sample.url }, access);
  await call("PUT", `/v1/providers/runtime/apps/${runtime.id}/auth-profile`, { type: "api_key", headerName: SAMPLE.apiKeyHeader, value: SAMPLE.apiKey }, access);
  return { email, idToken: login.id_token as string, app, access: access as string };
}

/** A Firebase user with the custom claim reviewer: true. */
export async function createReviewer() {
  const email = uniqueEmail("reviewer");
  const { uid } = await adminSdk().auth.createUser({ email, password: PASSWORD, emailVerified: true });
  await adminSdk().auth.setCustomUserClaims(uid, { reviewer: true });
  return { email, uid };
}

// ---------- quality data: 30 days are not lived through in a test ----------

/** KEY=value lines, as in functions/.env.* and functions/.secret.local. */
function loadEnvFile(path: string) {
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) process.env[match[1]!] ??= match[2]!.startsWith('"') ? (JSON.parse(match[2]!) as string) : match[2]!;
  }
}

/**
 * Records `days` days of invocations of a published capability as the capabilities engine writes
 * them (latency rising a little each day, a few errors), waits for the quality trigger to count
 * them, and runs the quality evaluation job once, as its schedule would.
 */
export async function recordQualityHistory(c: { packageId: string; slug: string; capabilityId: string; versionId: string; accountId: string; appId: string }, days = 5) {
  const { db } = adminSdk();
  const hour = 3_600_000;
  const end = Math.floor(Date.now() / hour) * hour - 2 * hour;
  const ids: string[] = [];
  const batch = db.batch();
  for (let d = 0; d < days; d++) {
    for (let i = 0; i < 12; i++) {
      const at = new Date(end - (days - 1 - d) * 24 * hour - i * 1800_000);
      const failed = i === 5 && d % 2 === 0;
      const id = `inv_${randomBytes(10).toString("hex")}`;
      ids.push(id);
      batch.create(db.collection("invocations").doc(id), {
        capabilityKey: `${c.packageId}/${c.capabilityId}`,
        capabilityRef: `${c.slug}.${c.capabilityId}`,
        packageId: c.packageId,
        capabilityId: c.capabilityId,
        versionId: c.versionId,
        accountId: c.accountId,
        appId: c.appId,
        bindingId: null,
        kind: "invoke",
        action: null,
        source: "sync",
        status: failed ? "error" : "ok",
        httpStatus: failed ? 503 : 200,
        errorClass: failed ? "http_5xx" : null,
        errorMessage: failed ? "generated failure" : null,
        latencyMs: 80 + d * 15 + i * 9,
        requestBytes: 120,
        responseBytes: failed ? 0 : 800,
        at,
      });
    }
  }
  await batch.commit();
  await eventually(
    async () => (await db.getAll(...ids.map((id) => db.collection("processedEvents").doc(`quality-rollup:${id}`)))).every((s) => s.exists),
    120_000,
    "the quality trigger to count the invocations",
  );
  loadEnvFile(join(ROOT, `functions/.env.${PROJECT}`));
  loadEnvFile(join(ROOT, "functions/.secret.local"));
  const exported = functionsRequire(join(ROOT, "functions/lib/index.js")) as { qualityEvaluator: { run: (e: unknown) => Promise<unknown> } };
  await exported.qualityEvaluator.run({ scheduleTime: new Date().toISOString(), jobName: "qualityEvaluator" });
  return ids.length;
}

/** The password-reset codes the Auth emulator "sent" to `email` (its REST API for tests). */
export async function passwordResetCode(email: string): Promise<string> {
  const { host, port } = firebaseConfig().emulators.auth!;
  return eventually(
    async () => {
      const res = await fetch(`http://${host}:${port}/emulator/v1/projects/${PROJECT}/oobCodes`);
      const { oobCodes } = (await res.json()) as { oobCodes: { email: string; requestType: string; oobCode: string }[] };
      return oobCodes.filter((c) => c.email === email && c.requestType === "PASSWORD_RESET").pop()?.oobCode;
    },
    30_000,
    `a password reset code for ${email}`,
  );
}
