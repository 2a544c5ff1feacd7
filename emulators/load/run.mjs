// `npm run load`: a realistic mix of the API's traffic from accounts and end users this script
// creates itself, at 50 and at 200 concurrent clients (autocannon, loopback only, every phase bounded
// in requests and in time), with faults injected while it runs, then a reconciliation of what was
// sent against what the platform recorded. Run by emulators/load.sh inside the emulator suite.
//   node emulators/load/run.mjs [--quick] [--no-faults] [--soak MINUTES]
// --soak N: N phases of 200 clients for 60 s each, one after another, no faults: whether the stack's
// memory stays bounded as it runs on (reported after each minute, the emulators' Java apart).
// Env: AIFFINITY_BASE_URL (the API; default the Hosting emulator of firebase.json),
//      AIFFINITY_POOL_STATUS (the serving pool's status URL, for the instance-kill fault).
import { createRequire } from "node:module";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { fork } from "node:child_process";
import autocannon from "autocannon";
import { startLocalScheduler } from "../local-scheduler.mjs";
import { apiClient, publishPackage, signIn as signInAs, signUpProvider } from "../local-client.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(join(root, "functions/package.json"));
const { DEFAULTS: SAMPLE } = require(join(root, "emulators/sample-provider/index.js"));
const { initializeApp } = require("firebase-admin/app");
const { getFirestore } = require("firebase-admin/firestore");
const { getAuth } = require("firebase-admin/auth");
const { PubSub } = require("@google-cloud/pubsub");

const args = process.argv.slice(2);
const QUICK = args.includes("--quick");
const soakAt = args.indexOf("--soak");
const SOAK_MINUTES = soakAt >= 0 ? Number(args[soakAt + 1]) : 0;
if (soakAt >= 0 && !(Number.isInteger(SOAK_MINUTES) && SOAK_MINUTES >= 1 && SOAK_MINUTES <= 120)) throw new Error("--soak takes whole minutes, 1 to 120");
const FAULTS = !args.includes("--no-faults") && !SOAK_MINUTES;
const config = JSON.parse(readFileSync(process.env.AIFFINITY_FIREBASE_CONFIG ?? join(root, "firebase.json"), "utf8"));
const BASE = process.env.AIFFINITY_BASE_URL ?? `http://${config.emulators.hosting.host}:${config.emulators.hosting.port}`;
const PROJECT = process.env.GCLOUD_PROJECT ?? "demo-aiffinity";
// The serving pool's router answers its status on the base URL (emulators/serving/router.mjs).
const POOL_STATUS = process.env.AIFFINITY_POOL_STATUS ?? (process.env.AIFFINITY_FUNCTIONS_URL ? `${process.env.AIFFINITY_FUNCTIONS_URL}/__serving/status` : "");
if (!/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(BASE)) throw new Error(`Load goes to loopback only, not ${BASE}`);

/**
 * The sizes of a run: clean phases of `seconds` at each number of clients (the figures the targets
 * are read from), then one phase of `faultClients` with every fault injected; each phase is also
 * capped in requests.
 */
const SIZES = QUICK
  ? { phases: [10, 40], faultClients: 20, seconds: 10, faultSeconds: 20, maxRequestsPerPhase: 20_000, providers: 2, users: 60, receiverDownMs: 10_000, providerDownMs: 3_000, drainMs: 150_000 }
  : { phases: [50, 200], faultClients: 50, seconds: 60, faultSeconds: 70, maxRequestsPerPhase: 200_000, providers: 3, users: 400, receiverDownMs: 60_000, providerDownMs: 10_000, drainMs: 300_000 };
const PLAN = SOAK_MINUTES ? { ...SIZES, phases: Array(SOAK_MINUTES).fill(200), seconds: 60 } : SIZES;

const adminApp = initializeApp({ projectId: PROJECT });
const db = getFirestore(adminApp);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(`[load ${new Date().toISOString().slice(11, 19)}]`, ...a);

const call = apiClient(BASE);
const signIn = (email, password) => signInAs(config, email, password);

const tag = randomBytes(3).toString("hex");
const PASSWORD = "load-test-password-42";

// ---------- peers: the provider runtime and the webhook receiver, restartable on their ports ----------

/**
 * A sample provider in a process of its own (emulators/load/peer.cjs) that can be killed and
 * restarted on the same port; what it logged is collected before it goes, so counts survive restarts.
 */
async function restartablePeer(name) {
  const peer = { name, port: 0, url: "", child: null, invokes: 0, loadInvokes: 0, webhooks: [], secrets: [], down: false };
  let asked = 0;
  const ask = (message) =>
    new Promise((resolve, reject) => {
      const child = peer.child;
      const id = ++asked;
      const onMessage = (m) => {
        if (m.id !== id) return;
        child.off("message", onMessage);
        child.off("exit", onExit);
        if (m.error) reject(new Error(`${name}: ${m.error}`));
        else resolve(m);
      };
      const onExit = (code, signal) => {
        child.off("message", onMessage);
        reject(new Error(`${name} exited (${signal ?? code}) before answering`));
      };
      child.on("message", onMessage);
      child.once("exit", onExit);
      child.send({ id, ...message });
    });
  const add = (logged) => {
    peer.invokes += logged.invokes;
    peer.loadInvokes += logged.loadInvokes;
    peer.webhooks.push(...logged.webhooks);
  };
  peer.start = async () => {
    peer.child = fork(join(root, "emulators/load/peer.cjs"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const { url } = await ask({ start: { port: peer.port, secrets: peer.secrets } });
    peer.url = url;
    peer.port = Number(new URL(url).port);
    peer.down = false;
  };
  /** Drops its connections, counts what it logged until then, and kills the process. */
  peer.stop = async () => {
    const child = peer.child;
    peer.down = true;
    add(await ask({ stop: true }));
    peer.child = null;
    child.kill("SIGKILL");
  };
  peer.setSigningSecrets = async () => void (await ask({ secrets: peer.secrets }));
  peer.collect = async () => {
    if (peer.child) add(await ask({ collect: true }));
  };
  await peer.start();
  return peer;
}

// ---------- setup: providers with a listed package, end users, installs ----------

async function provider(i, runtime, receiver) {
  const email = `load-${tag}-p${i}@example.com`;
  const { login, accountId } = await signUpProvider(call, db, { company_name: `Load ${tag} Provider ${i}`, email, password: PASSWORD });
  const account = db.collection("accounts").doc(accountId);
  // A limit the load cannot reach, so what is measured is the platform, not 429s (the limiter still runs).
  await account.update({ customRateLimitPerMinute: 1_000_000 });
  const app = await call("POST", "/v1/providers/apps", { name: `Load ${i}` }, login.id_token);
  // Console writes edit another app: a developer editing an app does not rewrite the one serving traffic.
  const consoleApp = await call("POST", "/v1/providers/apps", { name: `Load ${i} settings` }, login.id_token);
  const token = async () =>
    (await call("POST", "/v1/providers/auth/token", { grant_type: "client_credentials", client_id: app.client_id, client_secret: app.client_secret }, undefined, { raw: true })).json
      .access_token;
  const access = await token();
  const runtimeApp = await call("POST", "/v1/providers/runtime/apps", { appId: app.id, endpointUrl: runtime.url, displayName: `Load runtime ${i}` }, access);
  const base = `/v1/providers/runtime/apps/${runtimeApp.id}`;
  await call("PUT", `${base}/auth-profile`, { type: "api_key", headerName: SAMPLE.apiKeyHeader, value: SAMPLE.apiKey }, access);
  const profile = await call(
    "PUT",
    `${base}/webhook-profile`,
    { url: `${receiver.url}/webhooks`, events: ["install.created"], retryPolicy: { maxAttempts: 12, initialDelaySeconds: 5, maxDelaySeconds: 60 } },
    access,
  );
  receiver.secrets.push(profile.signingSecret);
  await receiver.setSigningSecrets();
  const slug = `load-${tag}-${i}`;
  const pkg = await publishPackage(
    call,
    login.id_token,
    {
      appId: app.id,
      name: `Load Weather ${tag} ${i}`,
      slug,
      riskTier: "data_only",
      category: "weather",
      description: "Forecasts for the load test, refreshed every half hour, for every location.",
      capabilities: [
        {
          id: "weather_forecast",
          name: "Weather forecast",
          description: "Daily highs, lows and conditions.",
          inputSchema: { type: "object", properties: { location: { type: "string", minLength: 1 }, days: { type: "integer", minimum: 1, maximum: 7 } }, required: ["location"] },
          outputSchema: { type: "object", required: ["location", "days"], properties: { location: { type: "string" }, days: { type: "array", items: { type: "object" } } } },
          refreshIntervalSeconds: 1800,
          deadlineMs: 3000,
          sampleInput: { location: "Berlin", days: 3 },
          dataCategories: ["public"],
        },
      ],
    },
  );
  return { i, accountId, idToken: login.id_token, app, consoleApp, access, token, packageId: pkg.id, ref: `${slug}.weather_forecast` };
}

async function endUsers(count) {
  const auth = getAuth(adminApp);
  const users = [];
  for (let i = 0; i < count; i += 20) {
    users.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(20, count - i) }, async (_, j) => {
          const email = `load-${tag}-u${i + j}@example.com`;
          const { uid } = await auth.createUser({ email, password: PASSWORD, emailVerified: true });
          return { uid, email, token: await signIn(email, PASSWORD) };
        }),
      )),
    );
  }
  return users;
}

// ---------- the mix ----------

const pick = (items) => items[Math.floor(Math.random() * items.length)];
const WORDS = ["weather", "forecast", "wea", "load", "daily", "highs", "conditions", "forcast", "location"];

/** Whether an answer is in the API's envelope (the token endpoint's: the OAuth format). */
function inEnvelope(route, status, body) {
  let json;
  try {
    json = JSON.parse(body);
  } catch {
    return false;
  }
  if (route.oauth) return status < 300 ? typeof json.access_token === "string" : typeof json.error === "string";
  if (status < 300) return json !== null && "data" in json;
  const e = json?.error;
  return Boolean(e && typeof e.code === "string" && typeof e.message === "string" && typeof e.requestId === "string");
}

function routes(world) {
  const { providers, users, bindings } = world;
  const user = () => pick(users);
  const userHeaders = () => ({ authorization: `Bearer ${user().token}` });
  const prov = () => pick(providers);
  const json = { "content-type": "application/json" };
  return [
    { name: "browse", weight: 14, request: () => ({ method: "GET", path: `/v1/space/marketplace?sort=${pick(["popular", "recent", "rating"])}`, headers: userHeaders() }) },
    { name: "search", weight: 14, request: () => ({ method: "GET", path: `/v1/space/marketplace?q=${pick(WORDS)}`, headers: userHeaders() }) },
    { name: "installs list", weight: 6, request: () => ({ method: "GET", path: "/v1/space/installs", headers: userHeaders() }) },
    {
      name: "install",
      weight: 10,
      request: () => {
        const u = user();
        const p = prov();
        return {
          method: "POST",
          path: `/v1/space/marketplace/${p.packageId}/install`,
          headers: { ...json, authorization: `Bearer ${u.token}` },
          body: JSON.stringify({ parameters: { weather_forecast: { location: "Lisbon", days: 2 } } }),
          note: { install: `${u.uid} ${p.packageId}` },
        };
      },
    },
    {
      name: "invoke",
      weight: 14,
      request: () => {
        const p = prov();
        return {
          method: "POST",
          path: `/v1/providers/capabilities/${p.ref}/invoke`,
          headers: { ...json, authorization: `Bearer ${p.access}` },
          body: JSON.stringify({ user: { id: `usr_load${Math.floor(Math.random() * 1000)}` }, parameters: { location: "Berlin", days: 3 } }),
        };
      },
    },
    {
      name: "state",
      weight: 10,
      request: () => {
        const b = pick(bindings);
        return { method: "GET", path: `/v1/providers/capabilities/${b.ref}/state?bindingId=${b.id}`, headers: { authorization: `Bearer ${b.access}` } };
      },
    },
    {
      name: "history",
      weight: 6,
      request: () => {
        const p = prov();
        return { method: "GET", path: `/v1/providers/capabilities/${p.ref}/history?limit=20`, headers: { authorization: `Bearer ${p.access}` } };
      },
    },
    {
      name: "token",
      weight: 6,
      oauth: true,
      request: () => {
        const p = prov();
        return {
          method: "POST",
          path: "/v1/providers/auth/token",
          headers: json,
          body: JSON.stringify({ grant_type: "client_credentials", client_id: p.app.client_id, client_secret: p.app.client_secret }),
        };
      },
    },
    { name: "console read", weight: 8, request: () => ({ method: "GET", path: "/v1/providers/apps", headers: { authorization: `Bearer ${prov().idToken}` } }) },
    {
      name: "console write",
      weight: 4,
      request: () => {
        const p = prov();
        return {
          method: "PATCH",
          path: `/v1/providers/apps/${p.consoleApp.id}`,
          headers: { ...json, authorization: `Bearer ${p.idToken}` },
          body: JSON.stringify({ description: `Load ${Math.random().toString(36).slice(2)}` }),
        };
      },
    },
  ];
}

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] : NaN);

/**
 * One phase: every route is an autocannon instance with its share of the clients, all at once,
 * bounded by `seconds` and by `maxRequests` in all. Per route: throughput, p50/p95/p99, statuses,
 * answers outside the envelope, errors and timeouts (dropped connections).
 */
async function phase(world, clients, seconds, maxRequests, during = async () => {}) {
  const mix = routes(world);
  const totalWeight = mix.reduce((a, r) => a + r.weight, 0);
  const stats = new Map();
  const instances = mix.map((route) => {
    const connections = Math.max(1, Math.round((clients * route.weight) / totalWeight));
    const cap = Math.max(connections, Math.floor((maxRequests * route.weight) / totalWeight));
    let instance;
    const s = { route: route.name, connections, sent: 0, latencies: [], statuses: {}, outsideEnvelope: 0, samples: [] };
    stats.set(route.name, s);
    const requests = [
      {
        setupRequest: (req, context) => {
          const r = route.request();
          s.sent++;
          context.note = r.note;
          context.started = performance.now();
          return { ...req, method: r.method, path: r.path, headers: r.headers, body: r.body };
        },
        onResponse: (status, body, context) => {
          s.latencies.push(performance.now() - context.started);
          s.statuses[status] = (s.statuses[status] ?? 0) + 1;
          world.statusTotals[status] = (world.statusTotals[status] ?? 0) + 1;
          if (!inEnvelope(route, status, body)) {
            s.outsideEnvelope++;
            if (s.samples.length < 3) s.samples.push(`${status} ${String(body).slice(0, 160)}`);
          }
          if (route.name === "install" && (status === 200 || status === 201)) world.installed.add(context.note.install);
          if (route.name === "invoke") world.invokes[status] = (world.invokes[status] ?? 0) + 1;
          if (s.latencies.length >= cap) instance?.stop(); // bounded in requests as well as in time
        },
      },
    ];
    return new Promise((resolve, reject) => {
      instance = autocannon(
        {
          url: BASE,
          connections,
          duration: seconds,
          timeout: 30,
          requests,
          idReplacement: false,
        },
        (error, result) => (error ? reject(error) : resolve({ route: route.name, result })),
      );
      instance.on("error", () => undefined);
    });
  });
  const started = performance.now();
  const [results] = await Promise.all([Promise.all(instances), during()]);
  // Requests whose outcome the client cannot know: in flight when the phase ended, or answered 5xx
  // (an instance killed after its transaction committed answers 503 through the router).
  for (const route of ["install", "invoke"]) {
    const s = stats.get(route);
    const fiveHundreds = Object.entries(s.statuses).reduce((a, [k, v]) => a + (Number(k) >= 500 ? v : 0), 0);
    world.unanswered[route] += s.sent - s.latencies.length + fiveHundreds;
  }
  const elapsed = (performance.now() - started) / 1000;
  const rows = results.map(({ route, result }) => {
    const s = stats.get(route);
    const sorted = s.latencies.sort((a, b) => a - b);
    return {
      route,
      clients: s.connections,
      requests: sorted.length,
      // Requests still in flight when the phase ended: the server may have done them, unseen.
      unanswered: s.sent - sorted.length,
      rps: Math.round((sorted.length / elapsed) * 10) / 10,
      p50: Math.round(percentile(sorted, 50)),
      p95: Math.round(percentile(sorted, 95)),
      p99: Math.round(percentile(sorted, 99)),
      statuses: s.statuses,
      outsideEnvelope: s.outsideEnvelope,
      errors: result.errors,
      timeouts: result.timeouts,
      samples: s.samples,
    };
  });
  return { clients, seconds: Math.round(elapsed), rows };
}

function printPhase(p) {
  const total = p.rows.reduce((a, r) => a + r.requests, 0);
  log(`— ${p.clients} clients, ${p.seconds} s: ${total} answers, ${Math.round(total / p.seconds)} req/s`);
  console.log("  route            clients  answers   req/s    p50    p95    p99  statuses                     outside-envelope errors timeouts unanswered");
  for (const r of p.rows) {
    const statuses = Object.entries(r.statuses)
      .map(([k, v]) => `${k}:${v}`)
      .join(" ");
    console.log(
      `  ${r.route.padEnd(16)} ${String(r.clients).padStart(7)} ${String(r.requests).padStart(8)} ${String(r.rps).padStart(7)} ${String(r.p50).padStart(6)} ${String(r.p95).padStart(6)} ${String(r.p99).padStart(6)}  ${statuses.padEnd(28)} ${String(r.outsideEnvelope).padStart(6)} ${String(r.errors).padStart(6)} ${String(r.timeouts).padStart(8)} ${String(r.unanswered).padStart(10)}`,
    );
    for (const s of r.samples) console.log(`      outside the envelope: ${s}`);
  }
}

// ---------- faults ----------

async function poolStatus() {
  if (!POOL_STATUS) return null;
  const res = await fetch(POOL_STATUS).catch(() => null);
  return res?.ok ? res.json() : null;
}

/** The pool's instances, flattened: {fn, slot, pid, state, inFlight, restarts}. */
const instancesOf = (status) =>
  Object.entries(status?.functions ?? {}).flatMap(([fn, f]) => (f.instances ?? []).map((i) => ({ fn, ...i })));

/**
 * Waits (up to a minute) until the pool has no request in flight on an instance nor queued for one
 * (a request the clients gave up on may still wait for a slot), twice in a row half a second apart.
 */
async function quiet() {
  let calm = 0;
  for (const until = Date.now() + 60_000; Date.now() < until; await sleep(500)) {
    const status = await poolStatus();
    if (!status) return; // no serving pool: nothing to ask
    const inFlight = instancesOf(status).reduce((a, i) => a + (i.inFlight ?? 0), 0);
    const queued = Object.values(status.functions ?? {}).reduce((a, f) => a + (f.queued ?? 0), 0);
    calm = inFlight === 0 && queued === 0 ? calm + 1 : 0;
    if (calm === 2) return;
  }
  log("requests still in flight a minute after the load stopped; reconciling anyway");
}

/** SIGKILLs the busiest instance while requests are in flight; reports what the pool did and what clients saw. */
async function killInstance(world, report) {
  const status = await poolStatus();
  if (!status) {
    report.push({ fault: "instance SIGKILL", skipped: "no serving pool (AIFFINITY_SERVING=emulator?)" });
    return;
  }
  const before = instancesOf(status);
  const target = before.filter((i) => i.pid && i.state === "live" && i.fn !== "benchFloor").sort((a, b) => b.inFlight - a.inFlight)[0];
  if (!target) {
    report.push({ fault: "instance SIGKILL", skipped: "no ready instance" });
    return;
  }
  const statusesBefore = { ...world.statusTotals };
  process.kill(target.pid, "SIGKILL");
  const killedAt = Date.now();
  let replaced = null;
  for (let t = 0; t < 120 && !replaced; t++) {
    await sleep(250);
    const same = instancesOf(await poolStatus()).find((i) => i.fn === target.fn && i.slot === target.slot);
    if (same?.pid && same.pid !== target.pid && same.state === "live") replaced = { pid: same.pid, afterMs: Date.now() - killedAt, restarts: same.restarts };
  }
  await sleep(2000);
  const delta = Object.fromEntries(Object.entries(world.statusTotals).map(([k, v]) => [k, v - (statusesBefore[k] ?? 0)]).filter(([, v]) => v > 0));
  report.push({
    fault: "instance SIGKILL",
    function: target.fn,
    slot: target.slot,
    pid: target.pid,
    inFlightWhenKilled: target.inFlight,
    inFlightRequests: (target.requests ?? []).map((r) => `${r.method} ${r.path}`).slice(0, 10),
    replacedBy: replaced,
    statusesDuringTheNextSeconds: delta,
  });
}

async function providerDown(world, report) {
  const { runtime } = world;
  await runtime.stop();
  const at = Date.now();
  await sleep(PLAN.providerDownMs);
  await runtime.start();
  report.push({ fault: "provider killed and restarted", downMs: Date.now() - at, port: runtime.port });
}

async function receiverDown(world, report) {
  const { receiver } = world;
  await receiver.stop();
  const at = Date.now();
  await sleep(PLAN.receiverDownMs);
  await receiver.start();
  report.push({ fault: "webhook receiver down", downMs: Date.now() - at });
}

/** Publishes one webhook delivery message twice (Pub/Sub delivers at least once): the receiver must still see it once. */
async function duplicateMessages(world, report) {
  const deliveries = await db.collection("webhookDeliveries").where("accountId", "==", world.providers[0].accountId).limit(3).get();
  const pubsub = new PubSub({ projectId: PROJECT });
  const topic = pubsub.topic("webhook-deliveries");
  let published = 0;
  for (const d of deliveries.docs) {
    const attempt = Math.max(1, d.get("nextAttempt") ?? 1);
    const message = Buffer.from(JSON.stringify({ deliveryId: d.id, attempt }));
    await topic.publishMessage({ data: message });
    await topic.publishMessage({ data: message });
    published += 2;
  }
  await pubsub.close();
  report.push({ fault: "duplicated Pub/Sub messages", topic: "webhook-deliveries", deliveries: deliveries.size, published });
}

// ---------- reconciliation ----------

async function reconcile(world) {
  const { providers, users, runtime, receiver } = world;
  const out = { installs: [], invocations: null, webhooks: null, ok: true };
  // Requests the clients gave up on at a phase's end are still being served: let them finish first,
  // or an install that commits after the fold below is in the counters but not in the listing.
  await quiet();
  // Fold the counters into the listings' sort keys (the scheduler does it every minute).
  const { foldCounters } = require(join(root, "functions/lib/jobs/catalogCounters.js"));
  // The local scheduler's fold may run at the same moment: two transactions on one listing, and the
  // emulator aborts one on its lock timeout (ABORTED). A fold may run any number of times: run it again.
  const foldOnce = async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await foldCounters(new Date());
      } catch (error) {
        if (error.code !== 10 || attempt >= 5) throw error;
        log(`counter fold aborted (${error.details}); again`);
        await sleep(1000 * attempt);
      }
    }
  };
  // A request whose client gave up is cut at the router, but its handler runs on: an install can
  // commit after the pool looks idle. The listing converges by design (an install marks its shard
  // dirty, the next fold takes it): fold until two folds 2 s apart find nothing dirty (at most 30 s).
  let folds = 0;
  for (let calm = 0, until = Date.now() + 30_000; calm < 2 && Date.now() < until; folds++) {
    calm = (await foldOnce()) === 0 ? calm + 1 : 0;
    if (calm < 2) await sleep(2000);
  }
  log(`counters folded into the listings (${folds} folds)`);
  const apiInstalls = new Map(providers.map((p) => [p.packageId, 0]));
  for (let i = 0; i < users.length; i += 20) {
    await Promise.all(
      users.slice(i, i + 20).map(async (u) => {
        const page = await call("GET", "/v1/space/installs?limit=100", undefined, await signIn(u.email, PASSWORD), { raw: true });
        for (const inst of page.json.data ?? []) if (apiInstalls.has(inst.packageId)) apiInstalls.set(inst.packageId, apiInstalls.get(inst.packageId) + 1);
      }),
    );
  }
  for (const p of providers) {
    const shards = await db.collection("catalogCounterShards").where("packageId", "==", p.packageId).get();
    const counters = shards.docs.reduce((a, d) => a + d.get("installs"), 0);
    const listingDoc = (await db.collection("catalogListings").doc(p.packageId).get()).get("installCount");
    const shown = (await call("GET", `/v1/space/marketplace/${p.packageId}`, undefined, users[0].token, { raw: true })).json.data?.installCount;
    const sent = [...world.installed].filter((k) => k.endsWith(` ${p.packageId}`)).length;
    const row = { packageId: p.packageId, answeredOk: sent, api: apiInstalls.get(p.packageId), counters, listing: listingDoc, shown };
    // The platform agrees with itself exactly; the client saw every install it was answered, and
    // at most the requests left unanswered when a phase ended (all packages together) more.
    row.reconciles =
      new Set([row.api, row.counters, row.listing, row.shown]).size === 1 && row.api >= row.answeredOk && row.api - row.answeredOk <= world.unanswered.install;
    out.ok &&= row.reconciles;
    out.installs.push(row);
  }
  await runtime.collect();
  let recordedOk = 0;
  let recordedError = 0;
  for (const p of providers) {
    const base = db.collection("invocations").where("capabilityRef", "==", p.ref).where("source", "==", "api").where("at", ">=", world.loadStart);
    recordedOk += (await base.where("status", "==", "ok").count().get()).data().count;
    recordedError += (await base.where("status", "==", "error").count().get()).data().count;
  }
  const answered = Object.values(world.invokes).reduce((a, b) => a + b, 0);
  const answered200 = world.invokes[200] ?? 0;
  out.invocations = {
    answered,
    answered200,
    answeredByStatus: world.invokes,
    unansweredAtPhaseEnds: world.unanswered.invoke,
    recordedOk,
    recordedError,
    receivedByProvider: runtime.loadInvokes,
  };
  // Every call the provider received is recorded, as ok or, when the platform gave up on it (its
  // deadline passed first), as an error; every 200 the client saw is a recorded ok, and the other
  // recorded oks were in flight when a phase ended or answered 5xx by a dying instance. Provider
  // failures (502/504) are recorded as errors.
  const inv = out.invocations;
  inv.reconciles =
    inv.receivedByProvider >= recordedOk &&
    inv.receivedByProvider <= recordedOk + recordedError + inv.unansweredAtPhaseEnds &&
    recordedOk >= answered200 &&
    recordedOk - answered200 <= inv.unansweredAtPhaseEnds &&
    recordedError >= (world.invokes[502] ?? 0) + (world.invokes[504] ?? 0);
  out.ok &&= out.invocations.reconciles;

  // Webhooks: every install.created event of the load's accounts delivered exactly once by id.
  const deadline = Date.now() + PLAN.drainMs;
  let events = 0;
  let delivered = new Map();
  for (;;) {
    await receiver.collect();
    events = 0;
    for (const p of providers) {
      events += (await db.collection("providerEvents").where("accountId", "==", p.accountId).where("type", "==", "install.created").count().get()).data().count;
    }
    delivered = new Map();
    for (const w of receiver.webhooks) if (w.signatureValid) delivered.set(w.headers["webhook-id"], (delivered.get(w.headers["webhook-id"]) ?? 0) + 1);
    if (delivered.size >= events || Date.now() > deadline) break;
    log(`webhooks: ${delivered.size}/${events} delivered; waiting for retries`);
    await sleep(10_000);
  }
  const duplicates = [...delivered.values()].filter((n) => n > 1).length;
  out.webhooks = { events, deliveredIds: delivered.size, receipts: receiver.webhooks.length, duplicateIds: duplicates };
  out.webhooks.reconciles = events === delivered.size && duplicates === 0;
  out.ok &&= out.webhooks.reconciles;
  return out;
}

// ---------- main ----------

async function main() {
  const deadline = setTimeout(() => {
    console.error("[load] the run took longer than its bound; stopping");
    process.exit(2);
  }, (QUICK ? 15 : 30) * 60_000);
  deadline.unref();
  if (SOAK_MINUTES) log(`base URL ${BASE}; soak: 200 clients for ${SOAK_MINUTES} × 60 s, memory after each minute`);
  else log(`base URL ${BASE}; ${QUICK ? "quick" : "full"} run: ${PLAN.phases.join(" and ")} clients for ${PLAN.seconds} s each${FAULTS ? `, then ${PLAN.faultClients} clients for ${PLAN.faultSeconds} s with faults` : ""}`);
  const scheduled = startLocalScheduler(root, PROJECT);
  log(`local scheduler: ${scheduled.join(", ")}`);
  const runtime = await restartablePeer("provider runtime");
  const receiver = await restartablePeer("webhook receiver");
  log(`setup: ${PLAN.providers} providers with a listed package, ${PLAN.users} end users`);
  const providers = [];
  for (let i = 0; i < PLAN.providers; i++) providers.push(await provider(i, runtime, receiver));
  const users = await endUsers(PLAN.users);
  // A binding per provider for the state route (the first users install every package).
  const bindings = [];
  const installed = new Set();
  for (const p of providers) {
    for (const u of users.slice(0, 3)) {
      const inst = await call("POST", `/v1/space/marketplace/${p.packageId}/install`, { parameters: { weather_forecast: { location: "Porto" } } }, u.token);
      installed.add(`${u.uid} ${p.packageId}`);
      bindings.push({ id: inst.capabilities[0].bindingId, ref: p.ref, access: p.access });
    }
  }
  await runtime.collect();
  const world = { providers, users, bindings, runtime, receiver, installed, invokes: {}, statusTotals: {}, unanswered: { install: 0, invoke: 0 }, invokesBeforeLoad: runtime.invokes, loadStart: new Date() };
  const phases = [];
  const faults = [];
  const memory = startMemorySampler();
  for (const clients of PLAN.phases) {
    const p = await phase(world, clients, PLAN.seconds, PLAN.maxRequestsPerPhase);
    p.peakStackMiB = memory.takePhasePeak();
    const now = memory.last();
    p.endStackMiB = now.mib;
    p.endJavaMiB = now.javaMib;
    printPhase(p);
    if (SOAK_MINUTES) log(`minute ${phases.length + 1}: stack ${now.mib} MiB (the emulators' Java ${now.javaMib} MiB, the rest ${now.mib - now.javaMib} MiB), ${now.count} processes`);
    phases.push(p);
  }
  if (FAULTS) {
    // Every fault in one phase of its own, so the clean phases above are what the targets read.
    const s = PLAN.faultSeconds * 1000;
    const during = async () => {
      await Promise.all([
        receiverDown(world, faults),
        (async () => (await sleep(s * 0.1), duplicateMessages(world, faults)))(),
        (async () => {
          await sleep(s * 0.25);
          await killInstance(world, faults);
          await sleep(s * 0.2);
          await providerDown(world, faults);
        })(),
      ]);
    };
    const p = await phase(world, PLAN.faultClients, PLAN.faultSeconds, PLAN.maxRequestsPerPhase, during);
    p.faults = true;
    p.peakStackMiB = memory.takePhasePeak();
    printPhase(p);
    phases.push(p);
  }
  for (const f of faults) log("fault:", JSON.stringify(f));
  log("reconciling");
  const reconciliation = await reconcile(world);
  console.log(JSON.stringify(reconciliation, null, 2));
  const envelopeOk = phases.every((p) => p.rows.every((r) => r.outsideEnvelope === 0));
  const serverErrors = phases.reduce((a, p) => a + p.rows.reduce((b, r) => b + Object.entries(r.statuses).filter(([k]) => Number(k) >= 500).reduce((c, [, v]) => c + v, 0), 0), 0);
  const dropped = phases.reduce((a, p) => a + p.rows.reduce((b, r) => b + r.errors + r.timeouts, 0), 0);
  const stackMemory = memory.stop();
  // The event functions' deliveries (serving pool: emulators/serving/events.mjs), when it serves them.
  const events = (await poolStatus())?.events ?? null;
  // What the issue asks of the clean phases: no 5xx, nothing outside the envelope, nothing dropped.
  const clean = phases.filter((p) => !p.faults).map((p) => ({
    clients: p.clients,
    serverErrors: p.rows.reduce((b, r) => b + Object.entries(r.statuses).filter(([k]) => Number(k) >= 500).reduce((c, [, v]) => c + v, 0), 0),
    outsideEnvelope: p.rows.reduce((b, r) => b + r.outsideEnvelope, 0),
    dropped: p.rows.reduce((b, r) => b + r.errors + r.timeouts, 0),
    peakStackMiB: p.peakStackMiB,
  }));
  const summary = { quick: QUICK, baseUrl: BASE, at: new Date().toISOString(), phases, faults, reconciliation, envelopeOk, serverErrors, dropped, clean, stackMemory, events };
  writeFileSync(join(root, "load-results.json"), JSON.stringify(summary, null, 2));
  for (const c of clean) log(`clean phase, ${c.clients} clients: 5xx ${c.serverErrors}; outside the envelope ${c.outsideEnvelope}; dropped ${c.dropped}; stack memory peak ${c.peakStackMiB} MiB`);
  log(`stack memory (RSS of every process of the suite but this load generator): peak ${stackMemory.peakMiB} MiB, at the end ${stackMemory.lastMiB} MiB, ${stackMemory.processes} processes at the end`);
  if (events) {
    log(`events (pool): ${JSON.stringify(events.totals)}`);
    for (const [name, f] of Object.entries(events.functions)) log(`  ${name}: received ${f.received}, delivered ${f.delivered}, retried ${f.retried}, failed ${f.failed}, dropped ${f.dropped}`);
  }
  log(`all phases: answers outside the envelope: ${envelopeOk ? 0 : "some (see above)"}; 5xx: ${serverErrors}; dropped connections: ${dropped}; counts reconcile: ${reconciliation.ok}`);
  log(`results written to ${join(root, "load-results.json")}`);
  if (runtime.child) await runtime.stop();
  if (receiver.child) await receiver.stop();
  return envelopeOk && reconciliation.ok;
}

// ---------- memory: the resident set of the whole stack ----------

/** pid → { ppid, rssKiB, java } of every process, from /proc (Linux). */
function processTable() {
  const table = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      const rss = /VmRSS:\s+(\d+) kB/.exec(status);
      const name = /^Name:\s+(\S+)/m.exec(status);
      table.set(Number(entry), { ppid: Number(fields[1]), rssKiB: rss ? Number(rss[1]) : 0, java: name?.[1] === "java" });
    } catch {
      // the process ended between readdir and read
    }
  }
  return table;
}

/**
 * The suite's root is the Firebase CLI that started it (`emulators:exec`, an ancestor of this
 * script); its descendants are the emulators, the serving pool, trigger workers and peers. This
 * script (the load generator) is left out.
 */
function stackRss() {
  const table = processTable();
  let root = process.pid;
  for (let pid = process.ppid; pid > 1 && table.has(pid); pid = table.get(pid).ppid) {
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      break;
    }
    if (cmd.includes("emulators:exec")) root = pid;
  }
  const children = new Map();
  for (const [pid, p] of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  let kib = 0;
  let javaKib = 0;
  let count = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop();
    if (pid !== process.pid) {
      const rss = table.get(pid)?.rssKiB ?? 0;
      kib += rss;
      if (table.get(pid)?.java) javaKib += rss;
      count++;
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return { mib: Math.round(kib / 1024), javaMib: Math.round(javaKib / 1024), count };
}

/** Samples the stack every 2 s until stopped; peaks per phase and overall. */
function startMemorySampler() {
  let peak = 0;
  let phasePeak = 0;
  let last = { mib: 0, count: 0 };
  const sample = () => {
    last = stackRss();
    peak = Math.max(peak, last.mib);
    phasePeak = Math.max(phasePeak, last.mib);
  };
  sample();
  const timer = setInterval(sample, 2000);
  timer.unref();
  return {
    takePhasePeak() {
      sample();
      const p = phasePeak;
      phasePeak = last.mib;
      return p;
    },
    /** The latest sample (taken by takePhasePeak at a phase's end). */
    last: () => last,
    stop() {
      clearInterval(timer);
      sample();
      return { peakMiB: peak, lastMiB: last.mib, processes: last.count };
    },
  };
}

main()
  .then((ok) => process.exit(ok ? 0 : 1))
  .catch((error) => {
    console.error("[load] failed:", error);
    process.exit(1);
  });
