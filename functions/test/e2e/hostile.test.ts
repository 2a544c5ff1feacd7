import { createHash, randomInt } from "node:crypto";
import { getApps, initializeApp } from "firebase-admin/app";
import { getFirestore } from "firebase-admin/firestore";
import { adminAuth, adminDb } from "../helpers/admin";
import { api, type ApiResponse, expectError, expectStatus, request } from "../helpers/http";
import { accessToken, createApp, mailsTo, oauthProvider, PASSWORD, signInDirect, signUp, uniqueEmail, verifiedProvider } from "../helpers/stories";
import { inOneWindow, type SurfaceProcess, startSurfaceProcesses, stopSurfaceProcesses } from "../helpers/surfaceProcesses";

/**
 * Issue 12's attacks, replayed over real HTTP through the base URL: parallel guessing, lockout as
 * a weapon, spoofed X-Forwarded-For, invalid Unicode, and bursts at the quota's edge. Locally
 * TRUSTED_PROXY_HOPS is 1: the serving router appends the address that connected to it, as Hosting
 * does in production (docs/security.md#client-ip), so each source is a distinct loopback address
 * the test connects from. Under the plain emulators (AIFFINITY_SERVING=emulator), which append
 * nothing, the test plays that proxy and appends the source itself.
 */
const LOGIN = "/v1/providers/account/login";
const TOKEN = "/v1/providers/auth/token";
const WINDOW_MS = 15 * 60_000;

/** A fresh loopback address per call (Linux routes all of 127.0.0.0/8 to lo), so runs never share a bucket. */
const newSource = () => `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
const proxyless = process.env.AIFFINITY_SERVING === "emulator";
/** Request options that send from `source`, with `spoofed` as what the client itself puts in X-Forwarded-For. */
const from = (source: string, spoofed?: string): { localAddress?: string; headers: Record<string, string> } =>
  proxyless
    ? { headers: { "x-forwarded-for": spoofed ? `${spoofed}, ${source}` : source } }
    : { localAddress: source, headers: spoofed ? { "x-forwarded-for": spoofed } : {} };

/**
 * Waits out the end of a throttle window when less than `margin` of it is left, so a burst and the
 * read of its counter fall in one window (counters are per window: a burst across an edge splits).
 */
async function awayFromWindowEdge(margin = 60_000) {
  const left = WINDOW_MS - (Date.now() % WINDOW_MS);
  if (left < margin) await new Promise((r) => setTimeout(r, left + 1_000));
}

/** The throttle's counter document of (subject, source) in the current window (kernel/throttle.ts). */
async function throttleDoc(scope: string, subject: string, source: string) {
  const hash = createHash("sha256").update(`${subject.toLowerCase()}\n${source}`).digest("hex");
  const window = Math.floor(Date.now() / WINDOW_MS);
  const [counter, lock] = await Promise.all([
    adminDb().collection("throttles").doc(`${scope}:${hash}:${window}`).get(),
    adminDb().collection("throttles").doc(`${scope}:${hash}:${window}:lock`).get(),
  ]);
  return {
    failures: (counter.get("failures") as number | undefined) ?? 0,
    attempts: (counter.get("attempts") as number | undefined) ?? 0,
    locked: lock.exists,
  };
}

/**
 * How X-RateLimit-Remaining moved between consecutive answers of each serving instance. Each
 * instance spends tokens it leased from the shared bucket and counts down its own view of it
 * (kernel/http/rateLimit.ts), so requests of one bucket step down by exactly 1 per instance.
 */
function remainingStepsPerInstance(responses: ApiResponse[]): number[] {
  const last = new Map<string, number>();
  const steps: number[] = [];
  for (const r of responses) {
    const instance = r.headers.get("x-serving-instance") ?? "the emulator";
    const remaining = Number(r.headers.get("x-ratelimit-remaining"));
    const before = last.get(instance);
    if (before !== undefined) steps.push(before - remaining);
    last.set(instance, remaining);
  }
  return steps;
}

const statusCounts = (responses: ApiResponse[]) => {
  const counts: Record<number, number> = {};
  for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
};

describe("guessing in parallel (issue 12, items 1 and 2)", () => {
  // The 40 parallel requests go to two processes serving the surface (two function instances) on
  // the same emulators: the functions emulator starts one worker per concurrent request, and 40
  // cold workers at once time out on a 2-core machine (firebase-tools #5503) before our code runs.
  let instances: SurfaceProcess[] = [];
  afterEach(() => {
    stopSurfaceProcesses(instances);
    instances = [];
  });
  const twoInstances = async (surface: "console" | "runtime") => {
    instances = await startSurfaceProcesses(2, { surface });
    return (i: number) => instances[i % 2]!.url;
  };

  it("40 parallel logins, 39 wrong then the right one: no 500, at most 5 evaluated, every failure counted; the owner elsewhere still logs in", async () => {
    const { email } = await signUp();
    const attacker = newSource();
    const instance = await twoInstances("console");
    await awayFromWindowEdge();
    const passwords = [...Array.from({ length: 39 }, (_, i) => `wrong-password-${i}`), PASSWORD];
    const responses = await Promise.all(
      passwords.map((password, i) => api.post(LOGIN, { email, password }, { ...from(attacker), baseUrl: instance(i) })),
    );
    const counts = statusCounts(responses);
    expect(
      Object.keys(counts)
        .map(Number)
        .every((s) => [200, 401, 429].includes(s)),
    ).toBe(true);
    for (const r of responses.filter((r) => r.status === 429)) expectError(r, 429, "RATE_LIMITED");
    const right = responses[39]!;
    const { failures, attempts, locked } = await throttleDoc("login", email, attacker);
    // Every wrong guess that was checked is counted: the 401s, and the one that started the lockout (answered 429).
    expect(failures).toBe((counts[401] ?? 0) + (locked ? 1 : 0));
    // At most the allowance of wrong guesses was checked (a right one is refunded, so it never takes a wrong one's place).
    expect(failures).toBeLessThanOrEqual(5);
    // Until a lockout is known every attempt is counted: 40 reservations, less the right one's refund if it was checked.
    // Only failures keep their reservations: refused guesses gave theirs back, a right one refunded it.
    expect(attempts).toBe(failures);
    // The right password only gets through if it was among the guesses within the allowance.
    if (right.status !== 200) expectError(right, 429, "RATE_LIMITED");

    // The owner, somewhere else, is not locked out; the attacker's address has used its allowance.
    expectStatus(200, await api.post(LOGIN, { email, password: PASSWORD }, { ...from(newSource()) }));
    expectError(await api.post(LOGIN, { email, password: PASSWORD }, { ...from(attacker) }), 429, "RATE_LIMITED");
  }, 120_000);

  it("locks out only the guessing address, for 15 minutes, and tells the owner by event and mail", async () => {
    const provider = await verifiedProvider();
    const attacker = newSource();
    const attempt = (password: string, source: string) => api.post(LOGIN, { email: provider.email, password }, { ...from(source) });
    for (let i = 0; i < 4; i++) expectError(await attempt(`wrong-password-${i}`, attacker), 401, "INVALID_CREDENTIALS");
    const fifth = await attempt("wrong-password-4", attacker);
    expectError(fifth, 429, "RATE_LIMITED");
    expect(Number(fifth.headers.get("retry-after"))).toBeGreaterThan(890);
    expectError(await attempt(PASSWORD, attacker), 429, "RATE_LIMITED");
    // The same address behind a different spoofed prefix is still the same address.
    expectError(await api.post(LOGIN, { email: provider.email, password: PASSWORD }, { ...from(attacker, "203.0.113.1") }), 429, "RATE_LIMITED");
    expectStatus(200, await attempt(PASSWORD, newSource()));

    const mails = (await mailsTo(provider.email)).filter((m) => m.category === "security_lockout");
    expect(mails).toHaveLength(1);
    const network = attacker.split(".").slice(0, 3).join(".") + ".0/24";
    expect(mails[0]!.message.text).toContain(network);
    const events = await adminDb()
      .collection("providerEvents")
      .where("accountId", "==", provider.accountId)
      .where("type", "==", "security.lockout")
      .get();
    expect(events.docs.map((d) => d.get("data"))).toEqual([
      { scope: "login", clientId: null, sourceNetwork: network, failures: 5, lockedUntil: expect.any(String) },
    ]);
  }, 60_000);

  it("40 parallel wrong client secrets: no 500, at most 10 evaluated and counted exactly; the owner elsewhere still gets tokens", async () => {
    const provider = await verifiedProvider();
    const app = await createApp(provider.token);
    const attacker = newSource();
    const instance = await twoInstances("runtime");
    await awayFromWindowEdge();
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        api.post(
          TOKEN,
          { grant_type: "client_credentials", client_id: app.client_id, client_secret: `secret_guess${i}` },
          { ...from(attacker), baseUrl: instance(i) },
        ),
      ),
    );
    const counts = statusCounts(responses);
    expect(
      Object.keys(counts)
        .map(Number)
        .every((s) => s === 401 || s === 429),
    ).toBe(true);
    for (const r of responses) expect(r.body.error).toBe(r.status === 401 ? "invalid_client" : "temporarily_unavailable");
    const { failures, attempts, locked } = await throttleDoc("oauth-token", app.client_id, attacker);
    expect(failures).toBe((counts[401] ?? 0) + (locked ? 1 : 0));
    expect(failures).toBeLessThanOrEqual(10);
    expect(attempts).toBe(failures);

    const owner = await api.post(
      TOKEN,
      { grant_type: "client_credentials", client_id: app.client_id, client_secret: app.client_secret },
      { ...from(newSource()) },
    );
    expectStatus(200, owner);
    const fromAttacker = await api.post(
      TOKEN,
      { grant_type: "client_credentials", client_id: app.client_id, client_secret: app.client_secret },
      { ...from(attacker) },
    );
    // The wrong guesses used the address's allowance: even the right secret is refused there now.
    expect(fromAttacker.status).toBe(429);
  }, 120_000);

  it("gives a burst of 24 parallel right secrets from one address (more than the allowance of 10) a token each", async () => {
    const provider = await verifiedProvider();
    const app = await createApp(provider.token);
    const source = newSource();
    const instance = await twoInstances("runtime");
    await awayFromWindowEdge();
    const responses = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        api.post(
          TOKEN,
          { grant_type: "client_credentials", client_id: app.client_id, client_secret: app.client_secret },
          { ...from(source), baseUrl: instance(i) },
        ),
      ),
    );
    expect(statusCounts(responses)).toEqual({ 200: 24 });
    // Nothing is left reserved: right guesses refund, and waiting ones gave back what they took.
    expect(await throttleDoc("oauth-token", app.client_id, source)).toEqual({ failures: 0, attempts: 0, locked: false });
  }, 120_000);
});

describe("client IP (item 3)", () => {
  it("gives 20 requests with 20 different spoofed X-Forwarded-For prefixes one anonymous bucket", async () => {
    const source = newSource();
    const remaining = await inOneWindow(async () => {
      const responses: ApiResponse[] = [];
      for (let i = 0; i < 20; i++) responses.push(await api.get("/v1/openapi.json", { ...from(source, `203.0.113.${i + 1}`) }));
      for (const r of responses) expectStatus(200, r);
      return { responses, result: responses };
    });
    // One bucket: each request took one more from it (20 fresh buckets would each answer limit - 1).
    const steps = remainingStepsPerInstance(remaining);
    expect(steps.length).toBeGreaterThanOrEqual(18);
    expect(steps).toEqual(Array(steps.length).fill(1));
    expect(Number(remaining[0]!.headers.get("x-ratelimit-remaining"))).toBe(
      Number((await api.get("/v1/openapi.json", { ...from(newSource()) })).headers.get("x-ratelimit-limit")) - 1,
    );
  }, 60_000);
});

describe("invalid Unicode, NUL and deep nesting (item 4)", () => {
  const loneSurrogate = '{"name":"\\ud800"}';

  it("answers a lone surrogate 400 VALIDATION_ERROR naming the field on every surface", async () => {
    const { token, access } = await oauthProvider();
    const cases: [string, string, string, string][] = [
      ["POST", "/v1/providers/apps", loneSurrogate, "name"],
      ["PATCH", "/v1/providers/account", '{"company_name":"Acme \\udfff"}', "company_name"],
      ["PATCH", "/v1/providers/account", '{"notification_preferences":{"\\ud800":true}}', "notification_preferences.\ufffd"],
    ];
    for (const [method, path, raw, field] of cases) {
      const res = await request(method, path, { token, raw, headers: { "content-type": "application/json" } });
      const error = expectError(res, 400, "VALIDATION_ERROR");
      expect(error.details).toEqual([expect.objectContaining({ field, message: expect.stringMatching(/lone UTF-16 surrogate/) })]);
    }
    const runtime = await request("PATCH", "/v1/providers/runtime/apps/rt_00000000000000000000", {
      token: access,
      raw: '{"displayName":"x\\ud800y"}',
      headers: { "content-type": "application/json" },
    });
    expect(expectError(runtime, 400, "VALIDATION_ERROR").details).toEqual([expect.objectContaining({ field: "displayName" })]);
    // NUL in a query parameter and in a path parameter.
    expect(expectError(await api.get("/v1/providers/apps?offset=%00", { token }), 400, "VALIDATION_ERROR").details).toEqual([
      expect.objectContaining({ field: "query.offset", message: expect.stringMatching(/NUL/) }),
    ]);
    expect(expectError(await api.get("/v1/providers/apps/app_%00", { token }), 400, "VALIDATION_ERROR").details).toEqual([
      expect.objectContaining({ field: "path.id" }),
    ]);
    // Nothing was created.
    expect((await api.get("/v1/providers/apps", { token })).body.data).toHaveLength(1);
  }, 60_000);

  it("answers raw invalid UTF-8 and deep nesting 400 in the envelope, and valid text still works", async () => {
    const { token } = await verifiedProvider();
    const invalid = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xed, 0xa0, 0x80, 0xff]), Buffer.from('"}')]);
    expectError(
      await request("POST", "/v1/providers/apps", { token, raw: invalid, headers: { "content-type": "application/json" } }),
      400,
      "INVALID_JSON",
    );
    const deep = `{"name":"x","description":${"[".repeat(5000)}${"]".repeat(5000)}}`;
    const tooDeep = expectError(
      await request("POST", "/v1/providers/apps", { token, raw: deep, headers: { "content-type": "application/json" } }),
      400,
      "VALIDATION_ERROR",
    );
    expect(tooDeep.message).toMatch(/Nested more than 32 levels/);
    const ok = await api.post("/v1/providers/apps", { name: "Wetter 😀 ünïcödé" }, { token });
    expectStatus(201, ok);
    expect(ok.body.data.name).toBe("Wetter 😀 ünïcödé");
  }, 60_000);
});

describe("rate-limit headers on every response (item 9)", () => {
  const expectHeaders = (res: ApiResponse, policy: string) => {
    expect(res.headers.get("x-ratelimit-limit")).toMatch(/^\d+$/);
    expect(res.headers.get("x-ratelimit-remaining")).toMatch(/^\d+$/);
    expect(res.headers.get("x-ratelimit-reset")).toMatch(/^\d+$/);
    expect(res.headers.get("ratelimit-policy")).toMatch(new RegExp(`^"${policy}";q=\\d+;w=60$`));
  };

  it("on 404, 405, 403 and CORS preflight answers", async () => {
    const source = newSource();
    const notFound = await api.get("/v1/providers/nothing", { ...from(source) });
    expectError(notFound, 404, "NOT_FOUND");
    expectHeaders(notFound, "anonymous");
    const wrongMethod = await api.put("/v1/providers/apps", {}, { ...from(source) });
    expectError(wrongMethod, 405, "METHOD_NOT_ALLOWED");
    expectHeaders(wrongMethod, "anonymous");
    const sender = from(source);
    const preflight = await request("OPTIONS", "/v1/providers/apps", {
      ...sender,
      headers: {
        ...sender.headers,
        origin: "https://console.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization",
      },
    });
    expectStatus(204, preflight);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-headers")).toBe("authorization");
    expectHeaders(preflight, "anonymous");
    // They all counted in the address's bucket.
    const steps = remainingStepsPerInstance([notFound, wrongMethod, preflight]);
    expect(steps.length).toBeGreaterThanOrEqual(1);
    expect(steps).toEqual(Array(steps.length).fill(1));

    // A Firebase user without a developer account: 403 on the console API.
    const email = uniqueEmail("enduser");
    await adminAuth().createUser({ email, password: PASSWORD });
    const forbidden = await api.get("/v1/providers/account", { token: await signInDirect(email) });
    expectError(forbidden, 403, "FORBIDDEN");
    expectHeaders(forbidden, "anonymous");
  }, 60_000);

  it("gives a free app bursting 10 requests at a time its full 100 a minute", async () => {
    const { token } = await oauthProvider("Burst Co", "free");
    const statuses = await inOneWindow(async () => {
      const app = await createApp(token, { name: "Burst" });
      const access = await accessToken(app.client_id, app.client_secret);
      const responses: ApiResponse[] = [];
      for (let burst = 0; burst < 11; burst++) {
        responses.push(...(await Promise.all(Array.from({ length: 10 }, () => api.get("/v1/providers/runtime/apps", { token: access })))));
      }
      return { responses, result: responses.map((r) => r.status) };
    });
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
  }, 180_000);
});

describe("rotating a client secret with revoke_tokens (item 10)", () => {
  it("revokes the app's outstanding access tokens at once; the new secret's tokens work", async () => {
    const { token, app, access } = await oauthProvider();
    const console = await api.post(`/v1/providers/apps/${app.id}/access-token`, undefined, { token });
    expectStatus(200, console);
    const PROTECTED = "/v1/providers/runtime/apps";
    expectStatus(200, await api.get(PROTECTED, { token: access }));

    const rotated = await api.post(`/v1/providers/apps/${app.id}/rotate-secret`, { revoke_tokens: true }, { token });
    expectStatus(200, rotated);
    for (const old of [access, console.body.data.access_token as string]) {
      const refused = await api.get(PROTECTED, { token: old });
      expect(expectError(refused, 401, "UNAUTHENTICATED").message).toMatch(/revoked.*rotated with revoke_tokens/);
      expect(refused.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
    }
    const fresh = await accessToken(app.client_id, rotated.body.data.client_secret);
    expectStatus(200, await api.get(PROTECTED, { token: fresh }));

    // A rotation without it keeps tokens valid; a wrong type is refused.
    expectStatus(200, await api.post(`/v1/providers/apps/${app.id}/rotate-secret`, { revoke_tokens: false }, { token }));
    expectStatus(200, await api.get(PROTECTED, { token: fresh }));
    expectError(await api.post(`/v1/providers/apps/${app.id}/rotate-secret`, { revoke_tokens: "yes" }, { token }), 400, "VALIDATION_ERROR");
  }, 60_000);
});

describe("emulator-only allowances need a demo-* project (item 8)", () => {
  /** A runtime surface process on the emulators, for project `project`, holding a copy of the provider's account and app. */
  async function runtimeFor(project: string, provider: Awaited<ReturnType<typeof oauthProvider>>) {
    const target = getApps().find((a) => a.name === project) ?? initializeApp({ projectId: project }, project);
    const [account, app] = await Promise.all([
      adminDb().collection("accounts").doc(provider.accountId).get(),
      adminDb().collection("apps").doc(provider.app.id).get(),
    ]);
    await getFirestore(target).collection("accounts").doc(account.id).set(account.data()!);
    await getFirestore(target).collection("apps").doc(app.id).set(app.data()!);
    // The emulator variables stay set (FIRESTORE_EMULATOR_HOST, FUNCTIONS_EMULATOR); only the project differs.
    const env = { GCLOUD_PROJECT: project, FIREBASE_CONFIG: JSON.stringify({ projectId: project }), FUNCTIONS_EMULATOR: "true" };
    const [processOf] = await startSurfaceProcesses(1, { surface: "runtime", env });
    return processOf!;
  }

  it("refuses a loopback runtime endpoint on a non-demo project even with the emulator variables set", async () => {
    const provider = await oauthProvider();
    const prod = await runtimeFor("aiffinity-prod", provider);
    const demo = await runtimeFor("demo-aiffinity", provider);
    try {
      const register = async (baseUrl: string) => {
        const token = await api.post(
          TOKEN,
          { grant_type: "client_credentials", client_id: provider.app.client_id, client_secret: provider.app.client_secret },
          { baseUrl },
        );
        expectStatus(200, token);
        return api.post(
          "/v1/providers/runtime/apps",
          { appId: provider.app.id, endpointUrl: "http://127.0.0.1:8787" },
          { token: token.body.access_token, baseUrl },
        );
      };
      const refused = expectError(await register(prod.url), 400, "VALIDATION_ERROR");
      expect(refused.message).toMatch(/endpointUrl: .*https/);
      expectStatus(201, await register(demo.url));
    } finally {
      stopSurfaceProcesses([prod, demo]);
    }
  }, 60_000);
});
