import { ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { REPO_ROOT } from "../../sdk/test/support/stack";

/** Runs the built `aiffinity` command as a user would, in a child process, and captures what it says. */

export const CLI = join(REPO_ROOT, "cli/bin/aiffinity.js");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (commands run with --json), else undefined. */
  json: any;
}

/** The environment of a fresh machine: only what a person would have, plus a config directory of its own. */
export function cleanEnv(configDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("AIFFINITY_") && !k.startsWith("npm_")) env[k] = v;
  return { ...env, AIFFINITY_CONFIG_DIR: configDir, NO_COLOR: "1", ...extra };
}

export function aiffinity(args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      let json: unknown;
      try {
        json = stdout.trim() ? JSON.parse(stdout) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? -1, stdout, stderr, json });
    });
  });
}

/** Starts a command and resolves once its stdout matches `ready`; `done` resolves like aiffinity(). */
export function aiffinityUntil(args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv; ready: RegExp; timeoutMs?: number }): Promise<{ done: Promise<CliRun> }> {
  return new Promise((resolveReady, rejectReady) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let ready = false;
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    const done = new Promise<CliRun>((resolveDone) => {
      child.on("close", (code) => {
        clearTimeout(timer);
        if (!ready) rejectReady(new Error(`aiffinity ${args.join(" ")} exited (${code}) before printing ${options.ready}:\n${stdout}\n${stderr}`));
        resolveDone({ code: code ?? -1, stdout, stderr, json: undefined });
      });
    });
    child.stdout.on("data", (c) => {
      stdout += c;
      if (!ready && options.ready.test(stdout)) {
        ready = true;
        resolveReady({ done });
      }
    });
    child.stderr.on("data", (c) => (stderr += c));
  });
}

/** Fails with everything the command printed, so a wrong exit code explains itself. */
export function expectExit(run: CliRun, code: number) {
  if (run.code !== code) throw new Error(`Expected exit ${code}, got ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts a long-running command (`npm start` of a runtime) and waits for a line of its output. */
export function startProcess(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; ready: RegExp; timeoutMs?: number }): Promise<{ child: ChildProcess; output: () => string; stop: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let output = "";
    const stop = () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once("exit", () => done());
        process.kill(-child.pid!, "SIGTERM"); // the process group: npm and the node it started
      });
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${command} ${args.join(" ")} did not print ${options.ready} within ${options.timeoutMs ?? 30_000} ms:\n${output}`));
    }, options.timeoutMs ?? 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (options.ready.test(output)) {
        clearTimeout(timer);
        resolve({ child, output: () => output, stop });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (!options.ready.test(output)) reject(new Error(`${command} exited (${code}) before it was ready:\n${output}`));
    });
  });
}
