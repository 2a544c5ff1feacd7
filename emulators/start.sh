#!/usr/bin/env bash
# `npm start`: installs what is missing, builds, starts the whole API on the emulator suite with
# demo data, and prints the base URL and the demo credentials. Ctrl-C stops everything.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
prepare
write_console_config
cd "$ROOT"
log "starting the emulator suite (auth, firestore, pubsub, hosting) and the functions (docs/architecture.md#serving-locally)"
run_suite "node emulators/seed.mjs --hold"
