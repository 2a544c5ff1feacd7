#!/usr/bin/env bash
# `npm run load`: builds, starts the emulator suite and runs the load and fault suite against it
# (emulators/load/run.mjs: a realistic mix at 50 and 200 concurrent clients, faults, reconciliation).
#   npm run load                 the full run (60 s at 50 clients, 60 s at 200, then 70 s at 50 with faults; about 12 minutes)
#   npm run load -- --quick      smaller numbers (10 s at 10 and at 40 clients, 20 s at 20 with faults), a quick check
#   npm run load -- --no-faults  the mix and the reconciliation only
#   npm run load -- --soak 20    200 clients for 20 × 60 s, no faults: the stack's memory after each minute
# Results: load-results.json at the repository root; docs/performance.md has the figures.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
prepare
write_console_config
cd "$ROOT"
# The HTTP functions are served by the serving pool (emulators/serving) unless AIFFINITY_SERVING=emulator.
run_suite "node emulators/load/run.mjs ${*:-}"
