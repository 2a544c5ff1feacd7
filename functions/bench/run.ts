import { capabilitiesBenchmark } from "./capabilities";
import { catalogBenchmark } from "./catalog";
import { firestoreCostBenchmark } from "./firestoreCost";
import { floorBenchmark } from "./floor";
import { type Benchmark, runBenchmarks } from "./harness";
import { packagesBenchmark } from "./packages";
import { qualityBenchmark } from "./quality";
import { rateLimitBenchmark } from "./rateLimit";
import { tokenBenchmark } from "./token";

/** Every benchmark of `npm run bench`; each issue adds its module here. */
const benchmarks: Benchmark[] = [
  floorBenchmark,
  rateLimitBenchmark,
  packagesBenchmark,
  capabilitiesBenchmark,
  qualityBenchmark,
  catalogBenchmark,
  tokenBenchmark,
  firestoreCostBenchmark,
];

runBenchmarks(benchmarks, process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});
