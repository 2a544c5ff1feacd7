import { writeFileSync } from "node:fs";
import { join } from "node:path";

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

export const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

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
