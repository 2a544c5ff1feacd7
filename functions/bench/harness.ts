import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { installBinding } from "../test/helpers/bindings";
import { capabilityPath, publishedWeather } from "../test/helpers/capabilities";
import { startSampleProvider } from "../test/helpers/sampleProvider";

/**
 * Benchmarks run against the emulator suite (`npm run bench` starts it) and report ratios against
 * a baseline measured in the same run, never absolute thresholds: machines differ, ratios less so.
 */
export interface BenchResult {
  name: string;
  /** e.g. { p50: 12.3, p95: 40.1 } in ms, or counts. */
  metrics: Record<string, number>;
  /** What the numbers mean, baseline included. */
  note?: string;
}

export interface Benchmark {
  name: string;
  run(): Promise<BenchResult[]>;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export const summarize = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
};

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux); NaN where there is none. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return NaN;
  }
}

/** The emulators' Java processes (Firestore, Pub/Sub): the CPU a Firestore call costs the machine beyond its caller's. */
export function javaPids(): number[] {
  if (process.platform !== "linux") return [];
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]!.endsWith("java");
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

/**
 * Starts counting the CPU of named processes (pids; a list is summed): the function it answers gives
 * each one's CPU ms since, divided by `per` (requests or calls).
 */
export function cpuSince<K extends string>(processes: Record<K, number | number[]>): (per: number) => Record<K, number> {
  const read = () =>
    Object.fromEntries(
      Object.entries<number | number[]>(processes).map(([name, pids]) => [
        name,
        ([] as number[]).concat(pids).reduce((sum, pid) => sum + cpuMs(pid), 0),
      ]),
    ) as Record<K, number>;
  const before = read();
  return (per) => {
    const after = read();
    return Object.fromEntries(Object.keys(after).map((name) => [name, (after[name as K] - before[name as K]) / per])) as Record<K, number>;
  };
}

export const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/** The mock user and parameters of the invoke benchmarks. */
export const INVOKE_USER = { id: "usr_bench" };
export const INVOKE_PARAMETERS = { location: "Berlin", days: 3 };

/**
 * The fixture of the invoke benchmarks (capabilities, floor): the sample runtime, a new provider's
 * published weather capability, one user's binding of it, and a direct call of the runtime with the
 * body the platform sends it (the provider-call baseline). `close()` stops the runtime.
 */
export async function invokeFixture(company: string) {
  const runtime = await startSampleProvider();
  try {
    const capability = await publishedWeather(runtime, {}, company);
    const binding = await installBinding(capability, INVOKE_PARAMETERS);
    const directBody = JSON.stringify({
      requestId: "req_bench",
      capability: "weather_forecast",
      parameters: INVOKE_PARAMETERS,
      user: INVOKE_USER,
      context: { surface: "api" },
    });
    return {
      capability,
      binding,
      invokePath: capabilityPath(capability.ref, "invoke"),
      statePath: `${capabilityPath(capability.ref, "state")}?bindingId=${binding.id}`,
      callRuntimeDirectly: () =>
        fetch(`${runtime.url}/capabilities/weather_forecast/invoke`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json", [runtime.config.apiKeyHeader]: runtime.config.apiKey },
          body: directBody,
        }).then(async (r) => ({ status: r.status, body: await r.text() })),
      close: () => runtime.close(),
    };
  } catch (error) {
    await runtime.close();
    throw error;
  }
}

/**
 * Times `calls` interleaved (one of each in turn, so all see the same machine load): `warmUp`
 * rounds, then `samples` timed rounds. Any answer other than 200 fails the benchmark.
 */
export async function sampleInterleaved<N extends string>(
  calls: Record<N, () => Promise<{ status: number }>>,
  samples: number,
  warmUp: number,
): Promise<Record<N, number[]>> {
  const names = Object.keys(calls) as N[];
  const time = async (name: N) => {
    const started = performance.now();
    const { status } = await calls[name]();
    const ms = performance.now() - started;
    if (status !== 200) throw new Error(`${name}: unexpected status ${status}`);
    return ms;
  };
  for (let i = 0; i < warmUp; i++) for (const name of names) await time(name);
  const timed = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<N, number[]>;
  for (let i = 0; i < samples; i++) for (const name of names) timed[name].push(await time(name));
  return timed;
}

/** Runs every benchmark named on the command line (all when none), prints and saves the results. */
export async function runBenchmarks(all: Benchmark[], only: string[]) {
  const selected = only.length ? all.filter((b) => only.includes(b.name)) : all;
  const results: BenchResult[] = [];
  for (const bench of selected) {
    console.log(`\n▶ ${bench.name}`);
    const out = await bench.run();
    for (const r of out) {
      console.log(
        `  ${r.name}: ${Object.entries(r.metrics)
          .map(([k, v]) => `${k}=${round(v)}`)
          .join("  ")}${r.note ? `\n    ${r.note}` : ""}`,
      );
    }
    results.push(...out);
  }
  const file = join(__dirname, "../../bench-results.json");
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), results }, null, 2));
  console.log(`\nResults written to ${file}`);
}
