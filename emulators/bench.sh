#!/usr/bin/env bash
# `npm run bench`: builds, starts the emulator suite and runs the benchmarks (functions/bench)
# against it. Arguments select benchmarks by name. Results go to functions/bench-results.json.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
prepare
(cd "$ROOT/functions" && npx tsc -p tsconfig.bench.json)
cd "$ROOT"
run_suite "node functions/.bench-out/bench/run.js ${*:-}"
