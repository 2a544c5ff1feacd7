import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The running emulator stack, for the SDK, CLI and provider SDK tests: its URLs (npm test may shift
 * every port, and says which config it used) and what a person would do by hand there: read the
 * verification e-mail, sign in as an end user. Plain HTTP against the emulators' REST APIs.
 */

const ROOT = join(__dirname, "../../..");
const config = JSON.parse(
  readFileSync(
    process.env.AIFFINITY_FIREBASE_CONFIG ?? join(ROOT, "firebase.json"),
    "utf8",
  ),
);
const emulator = (name: string) =>
  config.emulators[name] as { host: string; port: number };

export const REPO_ROOT = ROOT;
export const PROJECT_ID = process.env.GCLOUD_PROJECT ?? "demo-aiffinity";
/** The production paths through the Hosting emulator's rewrites. */
export const BASE_URL = `http://${emulator("hosting").host}:${emulator("hosting").port}`;
/** The capabilities function's direct URL: where production streams realtime events (the serving pool's router serves it too). */
const FUNCTIONS_ORIGIN =
  process.env.AIFFINITY_FUNCTIONS_URL ??
  `http://${emulator("functions").host}:${emulator("functions").port}`;
export const CAPABILITIES_URL = `${FUNCTIONS_ORIGIN}/${PROJECT_ID}/us-central1/capabilitiesApi`;
const AUTH = `http://${process.env.FIREBASE_AUTH_EMULATOR_HOST ?? `${emulator("auth").host}:${emulator("auth").port}`}`;
const FIRESTORE = `http://${process.env.FIRESTORE_EMULATOR_HOST ?? `${emulator("firestore").host}:${emulator("firestore").port}`}`;

export const uniqueEmail = (tag = "dev") =>
  `${tag}-${randomBytes(6).toString("hex")}@example.com`;
export const uniqueSlug = (tag = "acme") =>
  `${tag}-${randomBytes(4).toString("hex")}`;
export const PASSWORD = "correct-horse-42";

/** The verification token of the newest e-mail to `to` (the outbox is the Firestore `mail` collection). */
export async function verificationToken(to: string): Promise<string> {
  const res = await fetch(
    `${FIRESTORE}/v1/projects/${PROJECT_ID}/databases/(default)/documents:runQuery`,
    {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: "Bearer owner",
      },
      body: JSON.stringify({
        structuredQuery: {
          from: [{ collectionId: "mail" }],
          where: {
            fieldFilter: {
              field: { fieldPath: "to" },
              op: "EQUAL",
              value: { stringValue: to },
            },
          },
        },
      }),
    },
  );
  const rows = (await res.json()) as {
    document?: {
      fields: {
        message: { mapValue: { fields: { text: { stringValue: string } } } };
      };
    };
  }[];
  for (const row of rows) {
    const token = /(vt_[0-9A-Za-z]+)/.exec(
      row.document?.fields.message.mapValue.fields.text.stringValue ?? "",
    )?.[1];
    if (token) return token;
  }
  throw new Error(`No verification e-mail to ${to}`);
}

/** An end user of the Aiffinity apps (a plain Firebase user) and a source of fresh ID tokens, as the Firebase JS SDK gives. */
export async function endUser(): Promise<{
  email: string;
  idToken: () => Promise<string>;
}> {
  const email = uniqueEmail("user");
  const call = async (path: string, body: unknown) => {
    const res = await fetch(
      `${AUTH}/identitytoolkit.googleapis.com/v1/${path}?key=demo-api-key`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      },
    );
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { idToken: string };
  };
  await call("accounts:signUp", {
    email,
    password: PASSWORD,
    returnSecureToken: true,
  });
  return {
    email,
    idToken: async () =>
      (
        await call("accounts:signInWithPassword", {
          email,
          password: PASSWORD,
          returnSecureToken: true,
        })
      ).idToken,
  };
}

/** Polls until `check` returns something, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false)
      return value as T;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
