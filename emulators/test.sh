#!/usr/bin/env bash
# `npm test`: installs what is missing, builds, starts the emulator suite once and runs every test
# (unit, end-to-end over HTTP, Firestore rules, the tooling's, then the console's browser tests in
# headless Chromium) against it.
#   npm test -- <jest arguments>      only those jest tests (e.g. test/e2e/apps)
#   npm test -- browser [<files>]     only the browser tests
#   npm run screenshots               the browser tests, saving the main pages into docs/screenshots/
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

mode=all
if [ "${1:-}" = "browser" ]; then
  mode=browser
  shift
  if [ "${1:-}" = "--screenshots" ]; then
    export AIFFINITY_SCREENSHOTS=docs
    shift
  fi
elif [ $# -gt 0 ]; then
  mode=jest
fi

# The browser tests drive Debian's Chromium: browser downloads from other hosts are not reachable.
ensure_chromium() {
  export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
  [ -x "$CHROMIUM_PATH" ] && return 0
  log "Chromium is missing: installing Debian's chromium package for the browser tests (apt-get install chromium)"
  local sudo=""
  [ "$(id -u)" = "0" ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
  log "installed $("$CHROMIUM_PATH" --version 2>/dev/null || echo chromium)"
}

prepare
if [ "$mode" != "browser" ]; then
  log "type-checking sources and tests"
  (cd "$ROOT/functions" && npm run --silent typecheck)
  (cd "$ROOT" && npm run --silent typecheck:tooling)
  (cd "$ROOT/console" && npm run --silent typecheck)
  log "linting (ESLint with the layer boundaries, Prettier, knip)"
  (cd "$ROOT/functions" && npm run --silent lint)
fi
[ "$mode" = "jest" ] || ensure_chromium
write_console_config

jest="cd functions && npx jest --ci"
browser="cd console && npx playwright test"
case "$mode" in
  all) script="$jest && cd .. && $browser" ;;
  jest) script="$jest $*" ;;
  browser) script="$browser $*" ;;
esac
# The serving pool's instances log to a file here (npm start shows them in the terminal).
export AIFFINITY_SERVING_LOG="${AIFFINITY_SERVING_LOG:-$ROOT/serving-debug.log}"
log "starting the emulator suite and running the tests"
cd "$ROOT"
run_suite "$script"
