#!/usr/bin/env bash
# The README's two commands from a fresh clone, where new users run them (issue 13, item 1):
#   npm ci && npm start   (until GET /health answers, then SIGTERM: exits 0 after draining)
#   npm ci && npm test    (a representative subset, see FRESH_CLONE_TESTS)
# each in a fresh 0700 directory under the user's 0700 home, for
#   - root (the embedded PostgreSQL then runs as user postgres, which cannot search the clone), and
#   - a non-root user (FRESH_CLONE_USER, created with its own 0700 home if missing; needs root),
# and `npm start` once more with DATA_DIR=$(mktemp -d) (a 0700 directory) for each.
# It clones the committed HEAD of this repository (uncommitted changes are not tested).
#
# Usage (as root): test/fresh-clone.sh
#   FRESH_CLONE_USER   non-root user to run as            (default tsclone)
#   FRESH_CLONE_TESTS  vitest filters for the in-clone npm test (default below; "all" = whole suite)
#   FRESH_CLONE_ONLY   root | user: run one of the two cases
# npm ci runs with --prefer-offline: root's npm cache (copied for the non-root user) serves the tarballs.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CLONE_USER=${FRESH_CLONE_USER:-tsclone}
TESTS=${FRESH_CLONE_TESTS:-server/adapters/embedded test/grpc-shutdown.test.ts test/first-start.test.ts test/test-servers.test.ts test/grpc-health-reflection.test.ts test/repository-files.test.ts server/config.test.ts}
ONLY=${FRESH_CLONE_ONLY:-}
START_TIMEOUT_S=${FRESH_CLONE_START_TIMEOUT_S:-180}

if [ "$(id -u)" != 0 ]; then
  echo "fresh-clone: run as root (it tests root, and creates the non-root user $CLONE_USER)" >&2
  exit 2
fi

WORK=$(mktemp -d /tmp/fresh-clone-XXXXXX)
chmod 755 "$WORK"
BUNDLE="$WORK/repo.bundle"
REV=$(git -C "$REPO" rev-parse HEAD)
git -C "$REPO" bundle create "$BUNDLE" HEAD 2>/dev/null
chmod 644 "$BUNDLE"
CLEANUP=()
cleanup() {
  for p in "${CLEANUP[@]}"; do rm -rf "$p"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n=== fresh-clone: %s\n' "$*"; }
fail() { printf 'fresh-clone: FAILED: %s\n' "$*" >&2; exit 1; }

# as USER CMD...: CMD as USER (empty = root) with that user's HOME, in the current directory.
as() {
  local user=$1; shift
  if [ -z "$user" ]; then "$@"; else
    local home; home=$(getent passwd "$user" | cut -d: -f6)
    runuser -u "$user" -- env -u npm_config_cache HOME="$home" USER="$user" LOGNAME="$user" "$@"
  fi
}

# Relocated clusters (as root) are named by a link from DATA_DIR/postgres/pgdata: remove them too.
forget_cluster() {
  local link="$1/postgres/pgdata"
  if [ -L "$link" ]; then CLEANUP+=("$(readlink "$link")"); fi
}

# start_and_stop USER DIR [ENV...]: npm start until /health answers 200, SIGTERM to its process
# group (as a terminal's Ctrl-C or a service manager would), then exit code 0 and a drained stop.
start_and_stop() {
  local user=$1 dir=$2; shift 2
  local log="$WORK/start-$RANDOM.log" pidfile="$WORK/start-$RANDOM.pgid"
  : > "$log"; : > "$pidfile"; chmod 666 "$log" "$pidfile"
  # setsid: npm start leads its own process group; the sh records that group's id, then becomes npm.
  (cd "$dir" && as "$user" setsid sh -c 'echo $$ > "$0"; exec "$@"' "$pidfile" \
    env GRPC_PORT=0 ADMIN_PORT=0 GRPC_HOST=127.0.0.1 "$@" npm start >"$log" 2>&1) &
  local runner=$!
  local port="" deadline=$((SECONDS + START_TIMEOUT_S))
  while [ -z "$port" ]; do
    if ! kill -0 "$runner" 2>/dev/null; then cat "$log"; fail "npm start exited before listening"; fi
    [ $SECONDS -lt $deadline ] || { cat "$log"; fail "npm start did not listen within ${START_TIMEOUT_S}s"; }
    port=$(sed -n 's|.*admin HTTP on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$log" | head -1)
    [ -n "$port" ] || sleep 0.5
  done
  local code
  code=$(curl -s -o "$WORK/health.json" -w '%{http_code}' --max-time 10 "http://127.0.0.1:$port/health" || true)
  echo "GET /health -> $code $(tr -d " \n" < "$WORK/health.json" 2>/dev/null | head -c 120)"
  [ "$code" = 200 ] || { cat "$log"; fail "/health answered $code"; }
  local pgid
  pgid=$(cat "$pidfile")
  [ -n "$pgid" ] || fail "no process group recorded for npm start"
  kill -TERM -- "-$pgid"
  local rc=0
  wait "$runner" || rc=$?
  deadline=$((SECONDS + 60))
  while pgrep -g "$pgid" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { pkill -KILL -g "$pgid" || true; fail "processes of npm start still running 60 s after SIGTERM"; }
    sleep 0.5
  done
  grep -E 'embedded-postgres: (user|initialised|created)|trading-service: (journal|stopped)|failed' "$log" | sed 's/^/  | /' || true
  grep -q 'trading-service: stopped (graceful)' "$log" || { cat "$log"; fail "no graceful stop after SIGTERM"; }
  if grep -qE "Unhandled 'error' event|EACCES|^ +at " "$log"; then cat "$log"; fail "unhandled error / stack trace in npm start output"; fi
  echo "npm start: listened, /health 200, SIGTERM -> stopped (graceful), npm exit $rc"
}

run_case() {
  local label=$1 user=$2
  local home
  if [ -n "$user" ]; then home=$(getent passwd "$user" | cut -d: -f6); else home=$HOME; fi
  [ "$(stat -c %a "$home")" = 700 ] || chmod 700 "$home"
  local dir
  dir=$(as "$user" mktemp -d "$home/fresh-clone.XXXXXX")
  CLEANUP+=("$dir")
  [ "$(stat -c %a "$dir")" = 700 ] || fail "$dir is not mode 0700"
  say "$label: git clone into $dir (mode 0700, home $home mode $(stat -c %a "$home"))"
  (cd "$dir" && as "$user" git clone -q "$BUNDLE" trading-service && cd trading-service && as "$user" git -c advice.detachedHead=false checkout -q --detach "$REV")
  local clone="$dir/trading-service"
  if [ -n "$user" ] && [ -d "$HOME/.npm/_cacache" ] && [ ! -d "$home/.npm/_cacache" ]; then
    mkdir -p "$home/.npm" && cp -a "$HOME/.npm/_cacache" "$home/.npm/" && chown -R "$user": "$home/.npm"
  fi
  say "$label: npm ci"
  (cd "$clone" && as "$user" npm ci --prefer-offline --no-audit --no-fund --loglevel=error)

  say "$label: npm start (default DATA_DIR=./data inside the 0700 clone)"
  start_and_stop "$user" "$clone"
  forget_cluster "$clone/data"
  say "$label: npm start again (same data: the cluster is found again)"
  start_and_stop "$user" "$clone"

  local data
  data=$(as "$user" mktemp -d)
  CLEANUP+=("$data")
  say "$label: npm start with DATA_DIR=$data (mode $(stat -c %a "$data"))"
  start_and_stop "$user" "$clone" DATA_DIR="$data"
  forget_cluster "$data"

  say "$label: npm test${TESTS:+ -- $TESTS}"
  if [ "$TESTS" = all ]; then
    (cd "$clone" && as "$user" npm test)
  else
    # shellcheck disable=SC2086
    (cd "$clone" && as "$user" npm test -- $TESTS)
  fi
  say "$label: passed"
}

if [ "$ONLY" != user ]; then run_case "root" ""; fi
if [ "$ONLY" != root ]; then
  if ! id "$CLONE_USER" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash "$CLONE_USER"
  fi
  chmod 700 "$(getent passwd "$CLONE_USER" | cut -d: -f6)"
  run_case "non-root user $CLONE_USER" "$CLONE_USER"
fi
say "all cases passed"
