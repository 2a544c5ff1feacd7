#!/usr/bin/env node
// Serves the functions as Cloud Functions 2nd gen serves them: a pool of Functions Framework
// processes (a fixed number of instances per function, each with the function's request
// concurrency); the HTTP functions behind a router on the API's base URL, the event functions
// (Pub/Sub, Firestore) fed by a dispatcher (events.mjs) when AIFFINITY_EVENTS_HUB is set
// (docs/architecture.md#serving-locally).
// Run inside `firebase emulators:exec` (emulators/env.sh run_suite does it):
//
//   AIFFINITY_SERVING_COMMAND="<shell command>" node emulators/serving/serve.mjs
//       starts the pool, runs the command with it, stops the pool and exits with the command's code
//   node emulators/serving/serve.mjs --ipc [--port 0] [--functions a,b] [--instances 1]
//       [--concurrency 1] [--queue 1] [--queue-timeout 5] [--max-timeout 2] [--hosting-timeout 3]
//       [--port-base N] [--no-hosting]
//       a pool for a test: tells its parent {port} over IPC, stops when the parent disconnects
//
// Environment: AIFFINITY_FIREBASE_CONFIG (its Hosting address is the router's), AIFFINITY_HOSTING_UPSTREAM
// (host:port of the Hosting emulator, moved aside), AIFFINITY_SERVING_INSTANCES (per function,
// default 2), AIFFINITY_SERVING_QUEUE (waiting requests per function, default 1000),
// AIFFINITY_SERVING_QUEUE_TIMEOUT (seconds a request may wait, default 30),
// AIFFINITY_SERVING_TIMEOUT_SECONDS (caps every function's own timeoutSeconds, for tests; unset: the
// functions' own), AIFFINITY_SERVING_LOG (a file for the instances' logs; default stderr);
// AIFFINITY_EVENTS_HUB (host:port the Firestore
// emulator sends trigger events to, set by env.sh with the Firestore launcher; unset: the pool serves
// no event functions and leaves them to the functions emulator), AIFFINITY_SERVING_EVENT_INSTANCES
// (per event function, default 1), AIFFINITY_EVENTS_MAX_ATTEMPTS (deliveries of one event to a
// retry: true function, default 5), AIFFINITY_EVENTS_BACKOFF_MS (first retry's delay, doubling up to
// 30 s; default 1000), AIFFINITY_EVENTS_BACKLOG (Firestore events waiting per function, default 20000).
// Pools started with --ipc (tests) never serve event functions: they would compete for the subscriptions.
import { spawn } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { EventDispatcher } from "./events.mjs";
import { eventFunctions, httpFunctions, loadManifest } from "./functions.mjs";
import { hostingRules } from "./hosting.mjs";
import { Pool } from "./pool.mjs";
import { createRouter } from "./router.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const FUNCTIONS_DIR = join(ROOT, "functions");
// Instance ports: from the functions emulator's port + 10 (5011 by default), moving with
// AIFFINITY_PORT_OFFSET; up to 38 of them stay clear of every other port of an offset suite.
const PORT_BASE_OFFSET = 10;
const MAX_DEFAULT_SLOTS = 38;

const { values: args } = parseArgs({
  options: {
    ipc: { type: "boolean", default: false },
    port: { type: "string" },
    functions: { type: "string" },
    instances: { type: "string" },
    concurrency: { type: "string" },
    queue: { type: "string" },
    "queue-timeout": { type: "string" },
    "max-timeout": { type: "string" },
    "hosting-timeout": { type: "string" },
    "port-base": { type: "string" },
    "no-hosting": { type: "boolean", default: false },
  },
});

const positiveInt = (name, value, fallback) => {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, not ${value}`);
  return n;
};

const logFile = process.env.AIFFINITY_SERVING_LOG ? createWriteStream(process.env.AIFFINITY_SERVING_LOG) : null;
const log = (line) => (logFile ? logFile.write(`${line}\n`) : process.stderr.write(`${line}\n`));
const say = (line) => {
  process.stderr.write(`\u001b[1;34m[serving]\u001b[0m ${line}\n`);
  logFile?.write(`[serving] ${line}\n`);
};

async function main() {
  // Instances must reach the emulators, never a real project: run inside emulators:exec.
  const missing = ["FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"].filter((name) => !process.env[name]);
  if (missing.length) throw new Error(`${missing.join(", ")} not set: run inside firebase emulators:exec (npm start, npm test)`);
  const configPath = process.env.AIFFINITY_FIREBASE_CONFIG ?? join(ROOT, "firebase.json");
  const config = JSON.parse(readFileSync(configPath, "utf8"));
  const projectId = process.env.GCLOUD_PROJECT ?? process.env.AIFFINITY_PROJECT ?? "demo-aiffinity";
  const hosting = hostingRules(Array.isArray(config.hosting) ? config.hosting[0] : config.hosting, dirname(configPath));

  const manifest = loadManifest(FUNCTIONS_DIR, projectId);
  let functions = httpFunctions(manifest);
  const hub = args.ipc ? null : process.env.AIFFINITY_EVENTS_HUB || null;
  const events = hub ? eventFunctions(manifest) : [];
  const eventInstances = positiveInt("event instances", process.env.AIFFINITY_SERVING_EVENT_INSTANCES, 1);
  if (eventInstances < 1) throw new Error("at least one instance per event function");
  if (args.functions) {
    const wanted = args.functions.split(",");
    functions = functions.filter((f) => wanted.includes(f.name));
    if (functions.length !== wanted.length) throw new Error(`unknown HTTP function in --functions ${args.functions}`);
  }
  const unknown = hosting.functionRewrites.filter((r) => !functions.some((f) => f.name === r.function));
  if (!args.functions && unknown.length) throw new Error(`rewrites to functions that are not HTTP functions: ${unknown.map((r) => r.function).join(", ")}`);

  const instances = positiveInt("instances", args.instances ?? process.env.AIFFINITY_SERVING_INSTANCES, 2);
  if (instances < 1) throw new Error("at least one instance per function");
  const explicitBase = args["port-base"] !== undefined;
  const portBase = explicitBase ? positiveInt("port-base", args["port-base"]) : config.emulators.functions.port + PORT_BASE_OFFSET;
  const slots = functions.length * instances + events.length * eventInstances;
  if (!explicitBase && slots > MAX_DEFAULT_SLOTS) {
    throw new Error(`${slots} instances (${functions.length} HTTP functions × ${instances}, ${events.length} event functions × ${eventInstances}) need more than the ${MAX_DEFAULT_SLOTS} ports set aside for instances`);
  }
  const maxTimeoutSeconds = positiveInt("max timeout", args["max-timeout"] ?? process.env.AIFFINITY_SERVING_TIMEOUT_SECONDS, undefined);
  if (maxTimeoutSeconds === 0) throw new Error("max timeout must be at least 1 second");
  const pool = new Pool({
    functionsDir: FUNCTIONS_DIR,
    projectId,
    functions,
    instances,
    portBase,
    concurrency: args.concurrency === undefined ? undefined : positiveInt("concurrency", args.concurrency),
    queue: positiveInt("queue", args.queue ?? process.env.AIFFINITY_SERVING_QUEUE, 1000),
    queueTimeoutMs: 1000 * positiveInt("queue timeout", args["queue-timeout"] ?? process.env.AIFFINITY_SERVING_QUEUE_TIMEOUT, 30),
    maxTimeoutSeconds,
    log,
  });
  // The event functions' instances follow the HTTP ones' ports; the dispatcher bounds what is in
  // flight itself, so their queue only holds deliveries while an instance restarts.
  const eventPool = events.length
    ? new Pool({
        functionsDir: FUNCTIONS_DIR,
        projectId,
        functions: events,
        instances: eventInstances,
        portBase: portBase + functions.length * instances,
        queue: Number.MAX_SAFE_INTEGER,
        queueTimeoutMs: 60_000,
        log,
      })
    : null;
  const dispatcher = eventPool
    ? new EventDispatcher({
        pool: eventPool,
        functions: events,
        instances: eventInstances,
        projectId,
        functionsDir: FUNCTIONS_DIR,
        maxAttempts: positiveInt("AIFFINITY_EVENTS_MAX_ATTEMPTS", process.env.AIFFINITY_EVENTS_MAX_ATTEMPTS, 5) || 1,
        backoffMs: { first: positiveInt("AIFFINITY_EVENTS_BACKOFF_MS", process.env.AIFFINITY_EVENTS_BACKOFF_MS, 1000), max: 30_000 },
        backlog: positiveInt("AIFFINITY_EVENTS_BACKLOG", process.env.AIFFINITY_EVENTS_BACKLOG, 20_000),
        log,
      })
    : null;

  const upstream = args["no-hosting"] ? null : process.env.AIFFINITY_HOSTING_UPSTREAM;
  const hostingUpstream = upstream ? { host: upstream.split(":")[0], port: Number(upstream.split(":")[1]) } : null;
  // Firebase Hosting's limit on a rewritten request (60 s); a test may shorten it.
  const hostingTimeoutSeconds = positiveInt("hosting timeout", args["hosting-timeout"], 60);
  if (hostingTimeoutSeconds === 0) throw new Error("hosting timeout must be at least 1 second");
  const router = createRouter({ pool, events: dispatcher, hosting, projectId, hostingUpstream, log, hostingTimeoutSeconds });

  let stopping = null;
  const stop = () =>
    (stopping ??= (async () => {
      router.closeAllConnections?.();
      await new Promise((resolveClose) => router.close(() => resolveClose()));
      await dispatcher?.stop();
      await Promise.all([pool.stop(), eventPool?.stop()]);
      logFile?.end();
    })());

  say(`starting ${functions.length} functions × ${instances} instances (Functions Framework ${pool.cli.version}, ports ${portBase}–${portBase + functions.length * instances - 1})`);
  if (eventPool) {
    say(
      `starting ${events.length} event functions × ${eventInstances} instances (ports ${eventPool.portBase}–${eventPool.portBase + events.length * eventInstances - 1}); ` +
        `Firestore events at ${hub}, Pub/Sub through subscriptions of their own`,
    );
  }
  try {
    await Promise.all([pool.start(), eventPool?.start()]);
    if (dispatcher) {
      const [hubHost, hubPort] = hub.split(":");
      await dispatcher.start({ hubHost, hubPort: Number(hubPort), firestoreHost: process.env.FIRESTORE_EMULATOR_HOST });
    }
  } catch (error) {
    await dispatcher?.stop();
    await Promise.all([pool.stop(), eventPool?.stop()]);
    throw error;
  }
  const host = args.port !== undefined ? "127.0.0.1" : config.emulators.hosting.host;
  const port = args.port !== undefined ? positiveInt("port", args.port) : config.emulators.hosting.port;
  await new Promise((resolveListen, reject) => {
    router.once("error", reject);
    router.listen(port, host, resolveListen);
  });
  const origin = `http://${host}:${router.address().port}`;
  say(
    `${origin}: ${functions.map((f) => `${f.name} (${instances} × ${pool.concurrency ?? f.concurrency}, ${pool.timeoutOf(f.name)} s)`).join(", ")}; ` +
      `rewritten requests end at ${hostingTimeoutSeconds} s as on Hosting; ` +
      `everything else via ${hostingUpstream ? `Hosting at ${upstream}` : "nothing (404)"}; status at ${origin}/__serving/status`,
  );
  if (dispatcher) say(`events: ${events.map((f) => `${f.name} (${f.trigger.kind === "pubsub" ? `topic ${f.trigger.topic}` : f.trigger.document}; ${eventInstances} × ${f.concurrency}${f.retry ? ", retry" : ""})`).join(", ")}`);

  if (args.ipc) {
    process.send({ port: router.address().port, origin });
    process.on("disconnect", () => stop().then(() => process.exit(0)));
    return;
  }

  const command = process.env.AIFFINITY_SERVING_COMMAND;
  if (!command) throw new Error("AIFFINITY_SERVING_COMMAND is not set (the command to run with the pool)");
  const child = spawn("sh", ["-c", command], { stdio: "inherit", env: { ...process.env, AIFFINITY_FUNCTIONS_URL: origin } });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      // Ctrl-C reaches the command too (same process group); a signal sent to us alone is passed on.
      if (child.exitCode === null) child.kill(signal);
    });
  }
  child.on("exit", async (code, signal) => {
    await stop();
    process.exit(code ?? (signal ? 128 + ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal] ?? 0) : 1));
  });
}

main().catch((error) => {
  say(`failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
