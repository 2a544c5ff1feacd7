import { capabilitiesBenchmark } from "./capabilities";
import { Benchmark, runBenchmarks } from "./harness";
import { packagesBenchmark } from "./packages";
import { rateLimitBenchmark } from "./rateLimit";

/** Every benchmark of `npm run bench`; each issue adds its module here. */
const benchmarks: Benchmark[] = [rateLimitBenchmark, packagesBenchmark, capabilitiesBenchmark];

runBenchmarks(benchmarks, process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});
