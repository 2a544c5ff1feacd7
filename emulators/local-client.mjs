// What the local scripts (seed.mjs for `npm start`, load/run.mjs for `npm run load`) do as a client
// of the API: call it, sign users in on the Auth emulator, take a provider through sign-up and
// e-mail verification, and take a package version through validation, review and listing.

/** `call(method, path, body?, token?, {raw, ok, headers})`: the envelope's `data`, or the raw answer. */
export function apiClient(base) {
  return async function call(method, path, body, token, { raw = false, ok = true, headers = {} } = {}) {
    const all = { "content-type": "application/json", ...headers };
    if (token) all.authorization = `Bearer ${token}`;
    const res = await fetch(base + path, {
      method,
      headers: all,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const json = await res.json().catch(() => ({}));
    if (ok && !res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
    return raw ? { status: res.status, json } : json.data;
  };
}

/** Signs a Firebase user in on the Auth emulator (what an Aiffinity client app does): its ID token. */
export async function signIn(config, email, password) {
  const { host, port } = config.emulators.auth;
  const res = await fetch(`http://${host}:${port}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=demo-api-key`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password, returnSecureToken: true }),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`Sign-in of ${email} failed: ${JSON.stringify(json)}`);
  return json.idToken;
}

/**
 * Signs a provider up, verifies its e-mail with the token of the verification mail (locally the
 * outbox is the `mail` collection) and logs in: `{ login, accountId }`.
 */
export async function signUpProvider(call, db, { company_name, email, password }) {
  const account = await call("POST", "/v1/providers/account", { company_name, email, password });
  let mail;
  for (let t = 0; t < 50 && !mail; t++) {
    mail = (await db.collection("mail").where("to", "==", email).get()).docs[0];
    if (!mail) await new Promise((r) => setTimeout(r, 100));
  }
  if (!mail) throw new Error(`No verification mail for ${email} within 5 s`);
  const token = /(vt_[0-9A-Za-z]+)/.exec(mail.get("message.text"))?.[1];
  if (!token) throw new Error(`The verification mail to ${email} carries no token`);
  await call("POST", "/v1/providers/account/verify", { token });
  const login = await call("POST", "/v1/providers/account/login", { email, password });
  return { login, accountId: account.id };
}

/**
 * Creates a package and takes its first version through the pipeline: validated against its runtime
 * (`?wait=true`), submitted, and listed (data_only packages are approved by the policy checks).
 * Answers the package.
 */
export async function publishPackage(call, token, body, { waitMs = 30_000 } = {}) {
  const pkg = await call("POST", "/v1/providers/packages/manage", body, token);
  const path = `/v1/providers/packages/manage/${pkg.id}/versions/${pkg.versions[0].id}`;
  const run = await call("POST", `${path}/validate?wait=true`, undefined, token);
  if (run.status !== "passed") throw new Error(`Package ${body.slug} failed validation: ${JSON.stringify(run.findings)}`);
  await call("POST", `${path}/submit`, undefined, token);
  for (const until = Date.now() + waitMs; Date.now() < until; ) {
    const version = await call("GET", path, undefined, token);
    if (version.state === "published") return pkg;
    if (version.state === "rejected") throw new Error(`Package ${body.slug} was rejected: ${JSON.stringify(version.review)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Package ${body.slug} was not listed within ${waitMs / 1000} s`);
}
