/**
 * `npm run fuzz` (emulators/fuzz.sh runs this inside the emulator suite):
 *   --seed N          (default 20261202) the run's seed; request i is drawn from (seed, i)
 *   --count N         (default 10000) requests, round-robin over every operation
 *   --concurrency N   (default 4, at most 8) requests in flight
 *   --time-limit S    (default 1500) seconds before it stops starting requests
 *   --only a,b        operation ids; --index i,j  exactly those requests (reproduce a finding)
 *   --mutations a,b   only those mutations; --out FILE  the JSON report (default functions/fuzz-report.json)
 *   --trace FILE      every exchange's outcome as a JSON line
 * Exits 1 when any request got a 5xx of the API's own, an answer outside the envelope, a leak, an
 * authorisation failure or no answer; known issues (see oracle.ts) are reported without failing.
 */
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BASE_URL } from "../test/helpers/env";
import { MUTATIONS, type Mutation } from "./generate";
import { passed, runFuzz, summary } from "./runner";
import { fetchOpenApi } from "./spec";
import { createWorld } from "./world";

const DEFAULT_SEED = 20261202;

function parseArgs(argv: string[]) {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]!;
    if (!key.startsWith("--")) throw new Error(`Unexpected argument ${key}`);
    args.set(key.slice(2), argv[++i] ?? "");
  }
  const int = (name: string, fallback: number) => {
    const v = args.get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer`);
    return n;
  };
  const list = (name: string) => args.get(name)?.split(",").filter(Boolean);
  const mutations = list("mutations");
  for (const m of mutations ?? []) if (!MUTATIONS.includes(m as Mutation)) throw new Error(`No mutation ${m}; one of ${MUTATIONS.join(", ")}`);
  return {
    seed: int("seed", DEFAULT_SEED),
    count: int("count", 10_000),
    concurrency: int("concurrency", 4),
    timeLimitMs: int("time-limit", 1500) * 1000,
    operations: list("only"),
    indexes: list("index")?.map(Number),
    mutations: mutations as Mutation[] | undefined,
    out: args.get("out") ?? join(__dirname, "../../fuzz-report.json"),
    trace: args.get("trace"),
    baseUrl: args.get("base-url") ?? BASE_URL,
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string) => console.log(line);
  const doc = await fetchOpenApi(args.baseUrl);
  const world = await createWorld(log);
  try {
    const report = await runFuzz(doc, world, {
      baseUrl: args.baseUrl,
      seed: args.seed,
      count: Math.max(args.count, 1 + Math.max(-1, ...(args.indexes ?? []))),
      concurrency: args.concurrency,
      timeLimitMs: args.timeLimitMs,
      ...(args.operations ? { operations: args.operations } : {}),
      ...(args.indexes ? { indexes: args.indexes } : {}),
      ...(args.mutations ? { mutations: args.mutations } : {}),
      ...(args.trace ? { trace: (line: string) => appendFileSync(args.trace!, `${line}\n`) } : {}),
      log,
    });
    writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(summary(report));
    console.log(`report: ${args.out}`);
    if (!passed(report)) process.exitCode = 1;
  } finally {
    await world.close();
  }
}

main().then(
  () => process.exit(),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
