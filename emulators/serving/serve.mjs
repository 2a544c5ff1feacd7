#!/usr/bin/env node
// Serves the HTTP functions as Cloud Functions 2nd gen serves them: a pool of Functions Framework
// processes (a fixed number of instances per function, each with the function's request
// concurrency) behind a router on the API's base URL (docs/architecture.md#serving-locally).
// Run inside `firebase emulators:exec` (emulators/env.sh run_suite does it):
//
//   AIFFINITY_SERVING_COMMAND="<shell command>" node emulators/serving/serve.mjs
//       starts the pool, runs the command with it, stops the pool and exits with the command's code
//   node emulators/serving/serve.mjs --ipc [--port 0] [--functions a,b] [--instances 1]
//       [--concurrency 1] [--queue 1] [--queue-timeout 5] [--max-timeout 2] [--port-base N] [--no-hosting]
//       a pool for a test: tells its parent {port} over IPC, stops when the parent disconnects
//
// Environment: AIFFINITY_FIREBASE_CONFIG (its Hosting address is the router's), AIFFINITY_HOSTING_UPSTREAM
// (host:port of the Hosting emulator, moved aside), AIFFINITY_SERVING_INSTANCES (per function,
// default 2), AIFFINITY_SERVING_QUEUE (waiting requests per function, default 1000),
// AIFFINITY_SERVING_QUEUE_TIMEOUT (seconds a request may wait, default 30),
// AIFFINITY_SERVING_TIMEOUT_SECONDS (caps every function's own timeoutSeconds, for tests; unset: the
// functions' own), AIFFINITY_SERVING_LOG (a file for the instances' logs; default stderr).
import { spawn } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { httpFunctions, loadManifest } from "./functions.mjs";
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

  let functions = httpFunctions(loadManifest(FUNCTIONS_DIR, projectId));
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
  if (!explicitBase && functions.length * instances > MAX_DEFAULT_SLOTS) {
    throw new Error(`${functions.length} functions × ${instances} instances need more than the ${MAX_DEFAULT_SLOTS} ports set aside for instances`);
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

  const upstream = args["no-hosting"] ? null : process.env.AIFFINITY_HOSTING_UPSTREAM;
  const hostingUpstream = upstream ? { host: upstream.split(":")[0], port: Number(upstream.split(":")[1]) } : null;
  const router = createRouter({ pool, hosting, projectId, hostingUpstream, log });

  let stopping = null;
  const stop = () =>
    (stopping ??= (async () => {
      router.closeAllConnections?.();
      await new Promise((resolveClose) => router.close(() => resolveClose()));
      await pool.stop();
      logFile?.end();
    })());

  say(`starting ${functions.length} functions × ${instances} instances (Functions Framework ${pool.cli.version}, ports ${portBase}–${portBase + functions.length * instances - 1})`);
  try {
    await pool.start();
  } catch (error) {
    await pool.stop();
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
      `everything else via ${hostingUpstream ? `Hosting at ${upstream}` : "nothing (404)"}; status at ${origin}/__serving/status`,
  );

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
