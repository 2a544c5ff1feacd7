#!/usr/bin/env bash
# `npm test`: installs what is missing, builds, starts the emulator suite once and runs every test
# (unit, end-to-end over HTTP, Firestore rules) against it.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
prepare
log "type-checking sources and tests"
(cd "$ROOT/functions" && npm run --silent typecheck)
(cd "$ROOT" && npm run --silent typecheck:tooling)
log "linting (ESLint with the layer boundaries, Prettier, knip)"
(cd "$ROOT/functions" && npm run --silent lint)
log "starting the emulator suite and running the tests"
cd "$ROOT"
firebase_cli emulators:exec --only auth,firestore,pubsub,functions,hosting \
  "cd functions && npx jest --ci ${*:-}"
