#!/usr/bin/env bash
# `npm run bench`: builds, starts the emulator suite and runs the benchmarks (functions/bench)
# against it. Arguments select benchmarks by name. Results go to functions/bench-results.json.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# The meter makes every answer carry its Firestore reads and writes (X-Firestore-Ops).
export AIFFINITY_BENCH_FLOOR=1 FIRESTORE_METER=1
# The floor function (functions/src/surfaces/benchFloor) is exported only with AIFFINITY_BENCH_FLOOR=1
# on the emulators. The functions emulator discovers functions with the .env files only, and only the
# emulators read functions/.env.local (firebase deploy never does): the flag goes there for this run.
ENV_LOCAL="$ROOT/functions/.env.local"
ENV_LOCAL_BACKUP="$CACHE/env.local.backup"
rm -f "$ENV_LOCAL_BACKUP"
[ -f "$ENV_LOCAL" ] && cp "$ENV_LOCAL" "$ENV_LOCAL_BACKUP"
restore_env_local() {
  if [ -f "$ENV_LOCAL_BACKUP" ]; then mv "$ENV_LOCAL_BACKUP" "$ENV_LOCAL"; else rm -f "$ENV_LOCAL"; fi
}
trap restore_env_local EXIT
{ [ -f "$ENV_LOCAL_BACKUP" ] && { grep -v "^AIFFINITY_BENCH_FLOOR=" "$ENV_LOCAL_BACKUP" || true; }; echo "AIFFINITY_BENCH_FLOOR=1"; } > "$ENV_LOCAL"
prepare
(cd "$ROOT/functions" && npx tsc -p tsconfig.bench.json)
cd "$ROOT"
firebase_cli emulators:exec --only auth,firestore,pubsub,functions,hosting \
  "node functions/.bench-out/bench/run.js ${*:-}"
