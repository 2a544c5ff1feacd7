import { randomBytes } from "node:crypto";
import { adminAuth, adminDb } from "./admin";
import { AUTH_EMULATOR } from "./env";
import { api, expectStatus } from "./http";

export const uniqueEmail = (tag = "dev") => `${tag}-${randomBytes(6).toString("hex")}@example.com`;
export const PASSWORD = "correct-horse-42";

export interface Mail {
  to: string;
  message: { subject: string; text: string; html: string };
  category: string;
}

/** The newest mails to `to` in the outbox, newest first. */
export async function mailsTo(to: string): Promise<Mail[]> {
  const snap = await adminDb().collection("mail").where("to", "==", to).get();
  return snap.docs
    .map((d) => ({ data: d.data() as Mail, at: d.get("createdAt").toMillis() as number }))
    .sort((a, b) => b.at - a.at)
    .map((m) => m.data);
}

export function tokenFromMail(mail: Mail): string {
  const match = /(vt_[0-9A-Za-z]+)/.exec(mail.message.text);
  if (!match) throw new Error(`No verification token in mail: ${mail.message.text}`);
  return match[1]!;
}

export async function signUp(email = uniqueEmail(), company = "Acme Weather Ltd", password = PASSWORD) {
  const res = await api.post("/v1/providers/account", { company_name: company, email, password });
  expectStatus(201, res);
  return { email, password, account: res.body.data };
}

export async function login(email: string, password = PASSWORD): Promise<string> {
  const res = await api.post("/v1/providers/account/login", { email, password });
  expectStatus(200, res);
  return res.body.data.id_token;
}

/** A developer who signed up, verified the e-mail and logged in: the usual starting point. */
export async function verifiedProvider(company = "Acme Weather Ltd") {
  const { email, password, account } = await signUp(uniqueEmail(), company);
  const [mail] = await mailsTo(email);
  expectStatus(200, await api.post("/v1/providers/account/verify", { token: tokenFromMail(mail!) }));
  const token = await login(email, password);
  return { email, password, accountId: account.id as string, token };
}

export async function createApp(token: string, body: Record<string, unknown> = { name: "Acme Weather" }) {
  const res = await api.post("/v1/providers/apps", body, { token });
  expectStatus(201, res);
  return res.body.data as { id: string; client_id: string; client_secret: string; name: string };
}

/** Signs in at the Auth emulator directly (users without a developer account, reviewers). */
export async function signInDirect(email: string, password = PASSWORD): Promise<string> {
  const res = await fetch(`${AUTH_EMULATOR}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=demo-api-key`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password, returnSecureToken: true }),
  });
  const body = (await res.json()) as { idToken: string };
  return body.idToken;
}

/** An Aiffinity reviewer: a Firebase user with the custom claim `reviewer: true`, signed in after the claim was set. */
export async function reviewer(): Promise<{ uid: string; token: string }> {
  const email = uniqueEmail("reviewer");
  const { uid } = await adminAuth().createUser({ email, password: PASSWORD, emailVerified: true });
  await adminAuth().setCustomUserClaims(uid, { reviewer: true });
  return { uid, token: await signInDirect(email) };
}

/** POST /v1/providers/auth/token with JSON client credentials; returns the access token. */
export async function accessToken(clientId: string, clientSecret: string): Promise<string> {
  const res = await api.post("/v1/providers/auth/token", { grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret });
  expectStatus(200, res);
  return res.body.access_token as string;
}

/**
 * A verified provider with one app and an OAuth access token for it: where runtime stories start.
 * The account is on the pro plan unless told otherwise, so stories that make many calls are not
 * cut by the free tier's 100 requests a minute (the rate limit tests choose their plan).
 */
export async function oauthProvider(company = "Acme Weather Ltd", plan: "free" | "pro" | "enterprise" = "pro") {
  const provider = await verifiedProvider(company);
  if (plan !== "free") await adminDb().collection("accounts").doc(provider.accountId).update({ planTier: plan });
  const app = await createApp(provider.token);
  const access = await accessToken(app.client_id, app.client_secret);
  return { ...provider, app, access };
}

/** Registers a runtime app for `appId` at `endpointUrl`; returns it. */
export async function registerRuntimeApp(access: string, appId: string, endpointUrl: string, extra: Record<string, unknown> = {}) {
  const res = await api.post("/v1/providers/runtime/apps", { appId, endpointUrl, ...extra }, { token: access });
  expectStatus(201, res);
  return res.body.data as { id: string; appId: string; endpointUrl: string; displayName: string; status: string };
}
