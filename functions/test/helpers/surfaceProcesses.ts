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
export async function startSurfaceProcesses(count: number, options: { surface?: string; limits?: boolean } = {}): Promise<SurfaceProcess[]> {
  const env = {
    ...process.env,
    ...demoParams(),
    ...localSecrets(),
    SURFACE: options.surface ?? "runtime",
    LIMITS: options.limits === false ? "off" : "on",
  };
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

/** Waits, if needed, until at least `seconds` remain in the current one-minute rate-limit window. */
export async function windowWithRoom(seconds: number) {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < seconds * 1000) await new Promise((r) => setTimeout(r, left + 250));
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
