import { AiffinityError, type Data } from "@aiffinity/sdk";
import { CliError, type Context, EXIT } from "../context.js";
import { table } from "../output.js";

/** signup, verify, login, logout, whoami; apps create|list|get|delete|rotate-secret. */

export async function signup(ctx: Context, options: { email?: string; company?: string; password?: string; verifyPrompt?: boolean }) {
  const company = options.company ?? (await ctx.ask({ flag: "--company", message: "Company name" }));
  const email = options.email ?? (await ctx.ask({ flag: "--email", message: "E-mail address" }));
  const password = options.password ?? ctx.env.AIFFINITY_PASSWORD ?? (await ctx.ask({ flag: "--password (or AIFFINITY_PASSWORD)", message: "Password (10+ characters, a letter and a digit or symbol)", secret: true }));
  const client = ctx.anonymous();
  const account = await ctx.out.step("Creating the account", () => client.post("/v1/providers/account", { body: { company_name: company, email, password } }), (a) => a.id);
  const session = await client.login(email, password);
  ctx.saveSession(email, session);
  let verified = false;
  if (ctx.canPrompt && options.verifyPrompt !== false) {
    const token = await ctx.ask({ flag: "--no-verify-prompt", message: `Paste the verification token e-mailed to ${email} (vt_...), or press Enter to verify later` }).catch(() => "");
    if (token) {
      await client.post("/v1/providers/account/verify", { body: { token } });
      verified = true;
    }
  }
  ctx.out.result({ account: { ...account, status: verified ? "active" : account.status }, baseUrl: ctx.baseUrl, signedIn: true, verified }, () => {
    ctx.out.line(`Created ${account.company_name} (${account.email}), signed in to ${ctx.baseUrl}.`);
    ctx.out.line(verified ? "E-mail verified: the account is active." : "Next: `aiffinity verify <token>` with the token from the verification e-mail.");
  });
}

export async function verify(ctx: Context, token: string | undefined) {
  const value = token ?? (await ctx.ask({ flag: "<token>", message: "Verification token from the e-mail (vt_...)" }));
  const account = await ctx.out.step("Verifying the e-mail address", () => ctx.anonymous().post("/v1/providers/account/verify", { body: { token: value } }), (a) => a.status);
  ctx.out.result({ account }, () => ctx.out.line(`${account.email} is verified: the account is ${account.status}.`));
}

export async function login(ctx: Context, options: { email?: string; password?: string }) {
  const email = options.email ?? ctx.env.AIFFINITY_EMAIL ?? (await ctx.ask({ flag: "--email", message: "E-mail address" }));
  const password = options.password ?? ctx.env.AIFFINITY_PASSWORD ?? (await ctx.ask({ flag: "--password (or AIFFINITY_PASSWORD)", message: "Password", secret: true }));
  const client = ctx.anonymous();
  const session = await client.login(email, password).catch((error) => {
    if (error instanceof AiffinityError && error.status === 401) throw new CliError(`Sign-in failed: ${error.message}`, EXIT.auth);
    throw error;
  });
  ctx.saveSession(email, session);
  ctx.out.result({ email, accountId: session.accountId, baseUrl: ctx.baseUrl }, () => ctx.out.line(`Signed in as ${email} on ${ctx.baseUrl}. Credentials: ${ctx.store.file}`));
}

export async function logout(ctx: Context) {
  const had = Boolean(ctx.store.profile(ctx.baseUrl).session);
  ctx.store.forget(ctx.baseUrl);
  ctx.out.result({ baseUrl: ctx.baseUrl, signedOut: had }, () => ctx.out.line(had ? `Signed out of ${ctx.baseUrl}; its stored app credentials are forgotten too.` : `Not signed in to ${ctx.baseUrl}.`));
}

export async function whoami(ctx: Context) {
  const client = await ctx.console();
  const account = await client.get("/v1/providers/account");
  ctx.out.result({ account, baseUrl: ctx.baseUrl }, () => {
    ctx.out.line(`${account.company_name} <${account.email}>`);
    ctx.out.line(table([
      ["  account", account.id],
      ["  status", account.status],
      ["  plan", `${account.plan_tier} (${account.rate_limit_per_minute} requests/min)`],
      ["  API", ctx.baseUrl],
    ]));
  });
}

// ---------- Apps ----------

export async function appsCreate(ctx: Context, options: { name?: string; description?: string }) {
  const name = options.name ?? (await ctx.ask({ flag: "--name", message: "App name" }));
  const client = await ctx.console();
  const app = await client.post("/v1/providers/apps", { body: { name, ...(options.description ? { description: options.description } : {}) } });
  ctx.saveAppCredentials(app.id, { clientId: app.client_id, clientSecret: app.client_secret });
  ctx.out.result({ app }, () => {
    ctx.out.line(`Created app ${app.id} (${app.name}).`);
    ctx.out.line(`  client_id      ${app.client_id}`);
    ctx.out.line(`  client_secret  ${app.client_secret}   (shown once; saved in ${ctx.store.file})`);
  });
}

export async function appsList(ctx: Context) {
  const client = await ctx.console();
  const apps: Data<"/v1/providers/apps/{id}", "get">[] = [];
  for await (const app of client.paginate("/v1/providers/apps")) apps.push(app);
  ctx.out.result({ apps }, () => {
    if (!apps.length) return ctx.out.line("No apps yet: `aiffinity apps create --name <name>` (or `aiffinity publish`, which creates one).");
    ctx.out.line(table([["ID", "NAME", "CLIENT ID", "CREATED"], ...apps.map((a) => [a.id, a.name, a.client_id, a.created_at])]));
  });
}

export async function appsGet(ctx: Context, id: string) {
  const client = await ctx.console();
  const app = await client.get("/v1/providers/apps/{id}", { params: { path: { id } } });
  const stored = ctx.store.profile(ctx.baseUrl).apps?.[id];
  ctx.out.result({ app, credentialsStored: Boolean(stored && stored.clientId === app.client_id) }, () => {
    ctx.out.line(table(Object.entries(app).map(([k, v]) => [`  ${k}`, typeof v === "string" ? v : JSON.stringify(v)])));
    ctx.out.line(`  client secret  ${stored && stored.clientId === app.client_id ? `stored in ${ctx.store.file}` : "not stored here"}`);
  });
}

export async function appsDelete(ctx: Context, id: string, options: { yes?: boolean }) {
  const ok = await ctx.confirm(`Delete app ${id}? Its packages become orphaned and leave the catalog after 30 days.`, options.yes, false);
  if (!ok) throw new CliError(`Not deleted: pass --yes to delete ${id} without a prompt`, EXIT.usage);
  const client = await ctx.console();
  const deleted = await client.delete("/v1/providers/apps/{id}", { params: { path: { id } } });
  ctx.store.update(ctx.baseUrl, (p) => {
    const apps = { ...(p.apps ?? {}) };
    delete apps[id];
    return { ...p, apps };
  });
  ctx.out.result({ deleted }, () => ctx.out.line(`Deleted app ${id}.`));
}

export async function appsRotateSecret(ctx: Context, id: string, options: { yes?: boolean }) {
  const ok = await ctx.confirm(`Rotate the client secret of ${id}? The current secret stops working at once.`, options.yes, false);
  if (!ok) throw new CliError(`Not rotated: pass --yes to rotate without a prompt`, EXIT.usage);
  const client = await ctx.console();
  const app = await client.post("/v1/providers/apps/{id}/rotate-secret", { params: { path: { id } } });
  ctx.saveAppCredentials(app.id, { clientId: app.client_id, clientSecret: app.client_secret });
  ctx.out.result({ app }, () => {
    ctx.out.line(`New client secret for ${app.id}: ${app.client_secret}`);
    ctx.out.line(`(shown once; saved in ${ctx.store.file}; update AIFFINITY_CLIENT_SECRET where you use it)`);
  });
}
