// A fixed number of instances per function, each one Functions Framework process serving one
// function (HTTP, or cloudevent for the event functions), as Cloud Run runs a 2nd gen function. The pool caps each instance's in-flight requests at
// the function's concurrency and queues the rest (bounded, in arrival order); an instance that exits
// leaves the rotation at once and a new one is started in its slot.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { readFileSync } from "node:fs";
import { Agent } from "node:http";
import { connect } from "node:net";
import { instanceEnv, packageBin } from "./functions.mjs";

const PRELOAD = join(dirname(fileURLToPath(import.meta.url)), "instance.cjs");
const RESTART_BACKOFF_MS = [0, 500, 1000, 2000, 5000];
/** How long a suspected instance that still accepts connections waits before it rejoins the rotation. */
const EXIT_GRACE_MS = 250;

/** The Functions Framework CLI the functions declare (functions/package.json pins it). */
const frameworkCli = (functionsDir) => packageBin(functionsDir, "@google-cloud/functions-framework", "functions-framework");

/**
 * Keep-alive connections to an upstream. With a timeout set, Node closes an idle socket a second
 * before the server's advertised `Keep-Alive: timeout`, so a request never races the server's close.
 */
export const keepAliveAgent = () => new Agent({ keepAlive: true, timeout: 60_000 });

export class PoolError extends Error {
  constructor(message, retryAfterSeconds = 1) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A request that outlived its function's timeout (`timeoutSeconds`). */
export class RequestTimeout extends Error {}

class Instance {
  constructor(pool, fn, slot, port) {
    Object.assign(this, { pool, fn, slot, port });
    this.restarts = 0;
    this.served = 0;
    this.inFlight = new Set();
    this.state = "stopped";
    this.child = null;
    this.startedAt = null;
  }

  get name() {
    return `${this.fn.name}/${this.slot}`;
  }

  start() {
    const { pool, fn, port } = this;
    const env = instanceEnv({ functionsDir: pool.functionsDir, projectId: pool.projectId, fn, port });
    const args = ["--require", PRELOAD, pool.cli.path, `--source=${pool.functionsDir}`, `--target=${fn.name}`, `--port=${port}`, `--signature-type=${fn.signatureType ?? "http"}`];
    // Its own process group: Ctrl-C stops the pool through the router, which drains nothing half-way.
    const child = spawn(process.execPath, args, { cwd: pool.functionsDir, env, stdio: ["ignore", "pipe", "pipe", "ipc"], detached: true });
    this.child = child;
    this.state = "starting";
    this.agent = keepAliveAgent();
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => pool.log(`[${this.name}] ${line}`));
    }
    child.on("message", (message) => {
      if (message?.listening && this.child === child) {
        this.state = "live";
        this.startedAt = Date.now();
        pool.onLive(this);
      }
    });
    child.on("exit", (code, signal) => this.onExit(child, code, signal));
  }

  onExit(child, code, signal) {
    if (this.child !== child) return;
    // "checking": taken out of rotation on a broken connection, but it had listened.
    const wasLive = this.state === "live" || this.state === "checking";
    this.state = "dead";
    this.child = null;
    // Connections to a dead process fail on their own; destroying them now answers in-flight requests at once.
    this.agent.destroy();
    const orphaned = [...this.inFlight];
    this.inFlight.clear();
    for (const request of orphaned) request.fail(new PoolError(`The instance serving this request stopped (${signal ?? `exit ${code}`}); retry.`));
    if (this.pool.stopping) return;
    this.pool.log(`[${this.name}] exited (${signal ?? `code ${code}`})${wasLive ? "" : " before listening"}; starting a new instance`);
    this.restarts++;
    this.crashLoop = wasLive ? 0 : (this.crashLoop ?? 0) + 1;
    const delay = RESTART_BACKOFF_MS[Math.min(this.crashLoop, RESTART_BACKOFF_MS.length - 1)];
    this.restartTimer = setTimeout(() => this.start(), delay);
  }

  /**
   * A connection to this instance failed. The kernel tells the pool that the process died only after
   * its sockets are reset, so the instance leaves the rotation now; it comes back if it still accepts
   * connections, and is killed (then replaced) if it neither accepts nor exits.
   */
  suspect() {
    if (this.state !== "live") return;
    this.state = "checking";
    const child = this.child;
    const probe = connect({ host: "127.0.0.1", port: this.port });
    probe.setTimeout(2000);
    const settle = (alive) => {
      probe.destroy();
      if (this.child !== child || this.state !== "checking") return;
      if (alive) {
        this.state = "live";
        this.pool.onLive(this);
      } else {
        this.pool.log(`[${this.name}] not accepting connections; replacing it`);
        child.kill("SIGKILL");
      }
    };
    // A connect only proves the kernel still holds the listening socket: a SIGKILLed process resets
    // its connections before that socket goes, and its exit reaches us moments later. Waiting a
    // little before putting it back lets the exit win (a test once saw one more request sent to it).
    probe.once("connect", () => setTimeout(() => settle(true), EXIT_GRACE_MS));
    probe.once("error", () => setTimeout(() => settle(false), 2000));
    probe.once("timeout", () => settle(false));
  }

  stop() {
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child) return Promise.resolve();
    return new Promise((resolveStop) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolveStop();
      });
      child.kill("SIGTERM");
    });
  }

  status() {
    let rssBytes = null;
    try {
      // /proc/<pid>/statm: size and resident pages.
      if (this.child) rssBytes = Number(readFileSync(`/proc/${this.child.pid}/statm`, "utf8").split(" ")[1]) * 4096;
    } catch {
      rssBytes = null;
    }
    return {
      slot: this.slot,
      state: this.state,
      pid: this.child?.pid ?? null,
      port: this.port,
      inFlight: this.inFlight.size,
      requests: [...this.inFlight].map((r) => ({ method: r.method, path: r.path, sinceMs: Date.now() - r.since })),
      served: this.served,
      restarts: this.restarts,
      rssBytes,
    };
  }
}

/**
 * One request's claim on an instance. `dispatch(instance)` is called once an instance has room;
 * `fail(error)` when the request cannot be served (queue full or timed out, instance died).
 */
export class PoolRequest {
  constructor({ method, path, dispatch, fail }) {
    Object.assign(this, { method, path, onDispatch: dispatch, onFail: fail });
    this.since = Date.now();
    this.instance = null;
    this.done = false;
  }

  fail(error) {
    if (this.done) return;
    this.done = true;
    this.onFail(error);
  }
}

export class Pool {
  /**
   * @param {object} options functionsDir, projectId, functions (from httpFunctions), instances per
   *   function, portBase (slot ports are portBase, portBase+1, ...), queue (max waiting requests per
   *   function), queueTimeoutMs, concurrency (an override of every function's, for tests),
   *   maxTimeoutSeconds (caps every function's timeoutSeconds, for tests), log
   */
  constructor(options) {
    Object.assign(this, options);
    this.cli = frameworkCli(this.functionsDir);
    this.stopping = false;
    this.byName = new Map();
    let port = this.portBase;
    for (const fn of this.functions) {
      const concurrency = this.concurrency ?? fn.concurrency;
      const timeoutSeconds = Math.min(fn.timeoutSeconds, this.maxTimeoutSeconds ?? Infinity);
      const instances = Array.from({ length: this.instances }, (_, slot) => new Instance(this, fn, slot, port++));
      this.byName.set(fn.name, { fn, concurrency, timeoutSeconds, instances, queue: [] });
    }
  }

  has(name) {
    return this.byName.has(name);
  }

  /** How long a request may run on an instance of the function, in seconds. */
  timeoutOf(name) {
    return this.byName.get(name).timeoutSeconds;
  }

  regionsOf(name) {
    return this.byName.get(name)?.fn.regions ?? [];
  }

  /** Starts every instance; resolves when all listen. */
  async start(timeoutMs = 120_000) {
    const all = [...this.byName.values()].flatMap((f) => f.instances);
    const live = new Promise((resolveLive) => {
      this.onAllLive = () => all.every((i) => i.state === "live") && resolveLive();
    });
    for (const instance of all) instance.start();
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`instances not listening after ${timeoutMs / 1000} s: ${all.filter((i) => i.state !== "live").map((i) => i.name).join(", ")}`)), timeoutMs);
    });
    try {
      await Promise.race([live, timeout]);
    } finally {
      clearTimeout(timer);
      this.onAllLive = null;
    }
  }

  onLive(instance) {
    this.onAllLive?.();
    this.drain(this.byName.get(instance.fn.name));
  }

  /** Sends the request to the least-loaded live instance with room, else queues it (bounded). */
  submit(name, request) {
    const f = this.byName.get(name);
    if (this.assign(f, request)) return;
    if (f.queue.length >= this.queue) {
      request.fail(new PoolError(`${name} is at capacity (${f.instances.length} instances × ${f.concurrency} concurrent requests, ${this.queue} queued); retry.`));
      return;
    }
    f.queue.push(request);
    request.timer = setTimeout(() => {
      const index = f.queue.indexOf(request);
      if (index >= 0) f.queue.splice(index, 1);
      request.fail(new PoolError(`${name} had no free instance for ${this.queueTimeoutMs / 1000} s; retry.`));
    }, this.queueTimeoutMs);
  }

  /** A request that ended: answered by its instance (`served`), failed, or its client left. */
  release(request, served = false) {
    request.done = true;
    clearTimeout(request.timer);
    clearTimeout(request.deadline);
    const instance = request.instance;
    if (!instance) {
      for (const f of this.byName.values()) {
        const index = f.queue.indexOf(request);
        if (index >= 0) f.queue.splice(index, 1);
      }
      return;
    }
    if (instance.inFlight.delete(request) && served) instance.served++;
    this.drain(this.byName.get(instance.fn.name));
  }

  hasRoom(f) {
    return f.instances.some((i) => i.state === "live" && i.inFlight.size < f.concurrency);
  }

  assign(f, request) {
    let best = null;
    for (const instance of f.instances) {
      if (instance.state !== "live" || instance.inFlight.size >= f.concurrency) continue;
      // Least loaded; on a tie the one that has served least, so both stay warm.
      if (!best || instance.inFlight.size < best.inFlight.size || (instance.inFlight.size === best.inFlight.size && instance.served < best.served)) best = instance;
    }
    if (!best) return false;
    request.instance = best;
    best.inFlight.add(request);
    request.onDispatch(best);
    return true;
  }

  drain(f) {
    while (f.queue.length && this.hasRoom(f)) {
      const request = f.queue.shift();
      if (request.done) continue;
      clearTimeout(request.timer);
      this.assign(f, request);
    }
  }

  status() {
    return {
      framework: { package: "@google-cloud/functions-framework", version: this.cli.version },
      instancesPerFunction: this.instances,
      queueLimit: this.queue,
      queueTimeoutSeconds: this.queueTimeoutMs / 1000,
      functions: Object.fromEntries(
        [...this.byName].map(([name, f]) => [name, { concurrency: f.concurrency, timeoutSeconds: f.timeoutSeconds, queued: f.queue.length, instances: f.instances.map((i) => i.status()) }]),
      ),
    };
  }

  async stop() {
    this.stopping = true;
    await Promise.all([...this.byName.values()].flatMap((f) => f.instances.map((i) => i.stop())));
  }
}
