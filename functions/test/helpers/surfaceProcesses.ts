import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FUNCTIONS_ROOT, localSecrets } from "./secrets";

/** The demo project's parameters (functions/.env.demo-aiffinity), as the emulator gives them to functions. */
export function demoParams(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(FUNCTIONS_ROOT, ".env.demo-aiffinity"), "utf8").split("\n")) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) out[match[1]!] = match[2]!;
  }
  return out;
}

export interface SurfaceProcess {
  url: string;
  child: ChildProcess;
}

/** Forks `count` processes, each serving the surface from lib/ with the emulators' env and secrets. */
export async function startSurfaceProcesses(
  count: number,
  options: { surface?: string; limits?: boolean; fixedNow?: Date; meter?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<SurfaceProcess[]> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...demoParams(),
    ...localSecrets(),
    SURFACE: options.surface ?? "runtime",
    LIMITS: options.limits === false ? "off" : "on",
    ...options.env,
  };
  if (options.fixedNow) env.FIXED_NOW = options.fixedNow.toISOString();
  if (options.meter) env.FIRESTORE_METER = "1";
  else delete env.FIRESTORE_METER;
  return Promise.all(
    Array.from({ length: count }, () => {
      const child = fork(join(FUNCTIONS_ROOT, "test/helpers/surfaceProcess.js"), [], { env, stdio: ["ignore", "ignore", "inherit", "ipc"] });
      return new Promise<SurfaceProcess>((resolve, reject) => {
        child.once("message", (m: { port: number }) => resolve({ url: `http://127.0.0.1:${m.port}`, child }));
        child.once("exit", (code) => reject(new Error(`surface process exited with ${code}`)));
      });
    }),
  );
}

export function stopSurfaceProcesses(processes: SurfaceProcess[]) {
  for (const p of processes) p.child.disconnect();
}

/**
 * Runs `burst` until every response it returns counted in one rate-limit window (same
 * `X-RateLimit-Reset`). Windows are wall-clock minutes; a burst that straddles a boundary is run
 * again at once (the next window has just begun) instead of waiting for room before it.
 */
export async function inOneWindow<T>(burst: () => Promise<{ responses: { headers: Headers }[]; result: T }>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const { responses, result } = await burst();
    const resets = new Set(responses.map((r) => r.headers.get("x-ratelimit-reset")));
    if (resets.size === 1 && !resets.has(null)) return result;
    if (attempt >= attempts) throw new Error(`Every burst straddled a rate-limit window (resets ${[...resets].join(", ")})`);
  }
}

/** Runs `task(0..count-1)` with at most `concurrency` in flight (concurrent clients). */
export async function inParallel<T>(count: number, concurrency: number, task: (i: number, worker: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i, worker);
      }
    }),
  );
  return results;
}
