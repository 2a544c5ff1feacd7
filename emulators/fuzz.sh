#!/usr/bin/env bash
# `npm run fuzz`: builds, starts the emulator suite and runs the OpenAPI-driven fuzzer
# (functions/fuzz, docs/fuzz.md) against the API on the base URL. Arguments go to the fuzzer:
#   npm run fuzz -- --seed 7 --count 2000       another seed, fewer requests
#   npm run fuzz -- --seed 7 --index 1234       one request of a run again (reproduce a finding)
# The report is printed and written to functions/fuzz-report.json; it exits 1 on any finding.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
prepare
(cd "$ROOT/functions" && node -e "require('fs').rmSync('.fuzz-out', { recursive: true, force: true })" && npx tsc -p tsconfig.fuzz.json)
cd "$ROOT"
args=""
for a in "$@"; do args+=" $(printf '%q' "$a")"; done
script="node functions/.fuzz-out/fuzz/run.js$args"
# The serving pool's instances log to a file, as in npm test (the API's error logs are expected here).
export AIFFINITY_SERVING_LOG="${AIFFINITY_SERVING_LOG:-$ROOT/serving-debug.log}"
# Through the production-shaped serving, as npm test and npm start (emulators/serving).
run_suite "$script"
