import { Benchmark, runBenchmarks } from "./harness";

/** Every benchmark of `npm run bench`; each issue adds its module here. */
const benchmarks: Benchmark[] = [];

runBenchmarks(benchmarks, process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});
