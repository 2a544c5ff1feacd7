#!/usr/bin/env bash
# `npm run bench`: builds, starts the emulator suite and runs the benchmarks (functions/bench)
# against it. Arguments select benchmarks by name. Results go to functions/bench-results.json.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# The meter makes every answer carry its Firestore reads and writes (X-Firestore-Ops). The floor
# function (functions/src/surfaces/benchFloor) is local only: the functions emulator exports it, and
# the flag makes the serving pool serve it too.
export AIFFINITY_BENCH_FLOOR=1 FIRESTORE_METER=1
prepare
(cd "$ROOT/functions" && npx tsc -p tsconfig.bench.json)
cd "$ROOT"
run_suite "node functions/.bench-out/bench/run.js ${*:-}"
