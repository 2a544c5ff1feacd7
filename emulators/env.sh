# Sourced by the emulator scripts: installs what is missing and points firebase-tools at the
# emulator binaries it can use on this machine. Safe to source more than once.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/emulators/.cache"
export AIFFINITY_PROJECT="${AIFFINITY_PROJECT:-demo-aiffinity}"
mkdir -p "$CACHE"

log() { printf '\033[1;34m[aiffinity]\033[0m %s\n' "$*" >&2; }

# npm ci only when the lockfile changed since the last install (npm writes node_modules/.package-lock.json).
ensure_deps() {
  local dir="$1"
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "installing dependencies in ${dir#$ROOT/} (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# firebase-tools cannot download its Java emulators without network. Where the gcloud CLI has the
# Firestore and Pub/Sub emulator components, run those instead; elsewhere firebase-tools downloads
# its own as usual. A variable already set by the caller wins.
use_gcloud_emulators() {
  command -v gcloud >/dev/null 2>&1 || return 0
  local sdk
  sdk="$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null || true)"
  [ -n "$sdk" ] || return 0
  local fs_jar="$sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
  local ps_bin="$sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator"
  if [ -z "${FIRESTORE_EMULATOR_BINARY_PATH:-}" ] && [ -f "$fs_jar" ]; then
    # The gcloud jar has no Main-Class; a launcher jar starts it (firebase-tools runs `java -jar`): one
    # class of ours (emulators/firestore-launcher) that also tells the emulator where to send trigger
    # events when AIFFINITY_FIRESTORE_FUNCTIONS_EMULATOR is set (the serving pool's events hub).
    local launcher="$CACHE/firestore-launcher.jar" manifest="$CACHE/firestore-manifest.txt"
    local source="$ROOT/emulators/firestore-launcher/FirestoreLauncher.java"
    local want="Main-Class: aiffinity.FirestoreLauncher
Class-Path: file:$fs_jar
X-Aiffinity-Source: $(sha256sum "$source" | cut -c1-16)"
    if [ ! -f "$launcher" ] || [ "$(cat "$manifest" 2>/dev/null)" != "$want" ]; then
      rm -rf "$CACHE/firestore-launcher-classes"
      javac --release 17 -d "$CACHE/firestore-launcher-classes" "$source"
      printf '%s\n' "$want" > "$manifest"
      (cd "$CACHE" && jar cfm firestore-launcher.jar firestore-manifest.txt -C firestore-launcher-classes .)
      log "built $launcher for $fs_jar"
    fi
    export FIRESTORE_EMULATOR_BINARY_PATH="$launcher"
  fi
  if [ -z "${PUBSUB_EMULATOR_BINARY_PATH:-}" ] && [ -x "$ps_bin" ]; then
    export PUBSUB_EMULATOR_BINARY_PATH="$ps_bin"
  fi
}

# Secrets the functions read through defineSecret. The emulator reads them from
# functions/.secret.local; generate them once per checkout (never committed).
ensure_local_secrets() {
  node "$ROOT/emulators/local-secrets.mjs" "$ROOT/functions/.secret.local"
}

prepare() {
  ensure_deps "$ROOT"
  ensure_deps "$ROOT/functions"
  use_gcloud_emulators
  ensure_local_secrets
  log "building functions"
  (cd "$ROOT/functions" && npm run --silent build)
  # The SDK's types are generated from the functions' OpenAPI document, so this comes second.
  log "building the SDK, the CLI and the provider SDK"
  (cd "$ROOT" && npm run --silent build:tooling)
  # The developer console (console/, served by Hosting from console/dist) is built on the SDK.
  node "$ROOT/console/scripts/build-if-stale.mjs"
}

# After the port offset is known: tells the console served locally where the Auth emulator is.
write_console_config() {
  node "$ROOT/console/scripts/local-config.mjs" "$AIFFINITY_FIREBASE_CONFIG" "$AIFFINITY_PROJECT"
}

# AIFFINITY_PORT_OFFSET=N runs a second suite beside the first (another checkout, a benchmark):
# every emulator port moves by N, through a generated copy of firebase.json next to the original.
export AIFFINITY_FIREBASE_CONFIG="$ROOT/firebase.json"
if [ "${AIFFINITY_PORT_OFFSET:-0}" != "0" ]; then
  AIFFINITY_FIREBASE_CONFIG="$ROOT/.firebase.ports-$AIFFINITY_PORT_OFFSET.json"
  node -e '
    const fs = require("fs"); const [src, dst, offset] = process.argv.slice(1);
    const config = JSON.parse(fs.readFileSync(src, "utf8"));
    for (const [name, e] of Object.entries(config.emulators)) if (e && typeof e.port === "number") e.port += Number(offset);
    // Some base ports are a multiple of 100 apart (hub 4400 / logging 4500, auth 9099 / eventarc 9299 /
    // tasks 9499), so suites offset by 100s would collide on them, with each other and with a suite on
    // the default ports (offset 400 put auth on the default tasks port): move those off the X00 grid.
    const o = Number(offset), e = config.emulators;
    e.auth.port = 9109 + o;
    e.hub.port = 4410 + o;
    e.logging = { ...(e.logging ?? {}), host: "127.0.0.1", port: 4450 + o };
    e.eventarc = { ...(e.eventarc ?? {}), host: "127.0.0.1", port: 9149 + o };
    e.tasks = { ...(e.tasks ?? {}), host: "127.0.0.1", port: 9159 + o };
    e.firestore.websocketPort = 8150 + o;
    fs.writeFileSync(dst, JSON.stringify(config, null, 2));
  ' "$ROOT/firebase.json" "$AIFFINITY_FIREBASE_CONFIG" "$AIFFINITY_PORT_OFFSET"
fi

firebase_cli() { "$ROOT/node_modules/.bin/firebase" --project "$AIFFINITY_PROJECT" --config "$AIFFINITY_FIREBASE_CONFIG" "$@"; }

# Runs `firebase emulators:exec` with $1 (a shell command) as its script. By default the functions
# are served as production serves them (emulators/serving: Functions Framework instances; the HTTP
# ones behind a router on the Hosting address, the event ones fed from Pub/Sub and the Firestore
# emulator; docs/architecture.md#serving-locally) and the functions emulator does not run; the
# schedules run in the command's process (local-scheduler.mjs). AIFFINITY_SERVING=emulator serves
# everything through the plain Hosting and Functions emulators instead.
run_suite() {
  local script="$1"
  # The emulators' JVMs size their heap to a quarter of the machine (6 GiB here) and grow toward it
  # under load although what they hold stays small (the Firestore emulator's live heap after a full
  # collection: 145 MiB after 9 minutes at 200 clients; docs/performance.md#soak). A cap keeps the
  # stack's memory bounded. JDK_JAVA_OPTIONS reaches only the `java` launcher, not javac or jcmd.
  export JDK_JAVA_OPTIONS="-Xmx${AIFFINITY_EMULATOR_HEAP:-1g}${JDK_JAVA_OPTIONS:+ $JDK_JAVA_OPTIONS}"
  case "${AIFFINITY_SERVING:-pool}" in
    emulator)
      unset AIFFINITY_EVENTS_HUB AIFFINITY_FIRESTORE_FUNCTIONS_EMULATOR
      firebase_cli emulators:exec --only auth,firestore,pubsub,functions,hosting "$script"
      ;;
    pool)
      # The router takes Hosting's address; the Hosting emulator moves to its port + 60 (a copy of the
      # config for the Firebase CLI) and serves the console and static files behind it.
      local cli_config="$ROOT/.firebase.serving-${AIFFINITY_PORT_OFFSET:-0}.json"
      AIFFINITY_HOSTING_UPSTREAM="$(node -e '
        const fs = require("fs"); const [src, dst] = process.argv.slice(1);
        const config = JSON.parse(fs.readFileSync(src, "utf8"));
        config.emulators.hosting.port += 60;
        fs.writeFileSync(dst, JSON.stringify(config, null, 2));
        process.stdout.write(`${config.emulators.hosting.host}:${config.emulators.hosting.port}`);
      ' "$AIFFINITY_FIREBASE_CONFIG" "$cli_config")"
      export AIFFINITY_HOSTING_UPSTREAM
      # The event functions' hub takes the functions emulator's address, which the Firestore emulator
      # is told through our launcher. Without the launcher (a Firestore jar firebase-tools downloaded)
      # the emulator cannot be told, and the functions emulator keeps the event functions.
      local only="auth,firestore,pubsub,hosting"
      if [ "${FIRESTORE_EMULATOR_BINARY_PATH:-}" = "$CACHE/firestore-launcher.jar" ]; then
        AIFFINITY_EVENTS_HUB="$(node -e '
          const f = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).emulators.functions;
          process.stdout.write(`${f.host ?? "127.0.0.1"}:${f.port}`);
        ' "$cli_config")"
        export AIFFINITY_EVENTS_HUB AIFFINITY_FIRESTORE_FUNCTIONS_EMULATOR="$AIFFINITY_EVENTS_HUB"
      else
        log "no Firestore launcher: the event functions stay in the functions emulator"
        unset AIFFINITY_EVENTS_HUB AIFFINITY_FIRESTORE_FUNCTIONS_EMULATOR
        only="auth,firestore,pubsub,functions,hosting"
      fi
      AIFFINITY_SERVING_COMMAND="$script" "$ROOT/node_modules/.bin/firebase" --project "$AIFFINITY_PROJECT" --config "$cli_config" \
        emulators:exec --only "$only" "node emulators/serving/serve.mjs"
      ;;
    *)
      log "AIFFINITY_SERVING is '${AIFFINITY_SERVING}': use pool (the default) or emulator"
      return 2
      ;;
  esac
}
