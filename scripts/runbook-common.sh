# shellcheck shell=bash
# Shared by the runbook scripts (docs/runbook.md: the operators' procedures in our commands): where the service is, how to call it,
# and how a step whose tool or configuration is absent is skipped with a clear line instead of failing.
# Sourced by the scripts, never run by itself. Safe under `set -u`: every optional variable is read as ${X:-}.
#
# Environment (all optional):
#   TRADING_SERVICE_URL  the admin HTTP API. Unset: http://trading-service:8080 (the service's name inside
#                        Kubernetes) when that name resolves, else http://127.0.0.1:8080 (a local `npm start`)
#   INCIDENT_LOG         notify_incident.sh appends each notification to this file (unset: not logged to a file)
#   ADMIN_TOKEN          sent as "Authorization: Bearer ..." on every call when set
#   CURL_MAX_TIME        seconds before a call to the service gives up (default 10)
#   DB_HOST DB_USER DB_NAME (the runbook's) or DATABASE_URL          the PostgreSQL checks
#   REDIS_HOST (the runbook's) or REDIS_URL                          the Redis checks
#   PROMETHEUS_URL GRAFANA_URL                                       the monitoring checks and metric backups
#   KUBECONFIG / a kubectl current context                           the kubectl steps

if [ -z "${TRADING_SERVICE_URL:-}" ]; then
    if getent hosts trading-service >/dev/null 2>&1; then
        TRADING_SERVICE_URL="http://trading-service:8080"
    else
        TRADING_SERVICE_URL="http://127.0.0.1:8080"
        echo "note: TRADING_SERVICE_URL not set and the host trading-service does not resolve: using $TRADING_SERVICE_URL (a local npm start); set TRADING_SERVICE_URL=http://HOST:ADMIN_PORT otherwise" >&2
    fi
fi
TRADING_SERVICE_URL="${TRADING_SERVICE_URL%/}"
CURL_MAX_TIME="${CURL_MAX_TIME:-10}"
# The directory of the scripts, so they call each other wherever they are run from (the runbook says
# ./scripts/..., which only works from the repository root).
SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Exits with 3 naming every missing tool. jq and bc are not in every base image (CI installs them).
require_tools() {
    local missing=() t
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "error: required tool(s) not installed: ${missing[*]} (Debian/Ubuntu: apt-get install -y ${missing[*]})" >&2
        exit 3
    fi
}

skip() {
    echo "   skipped: $*"
}

# curl for the service: the bearer token when ADMIN_TOKEN is set, and a time limit so a hung service cannot
# hang an incident script. The header is read from a file descriptor (-H @file) so the token does not show
# in the process list.
tcurl() {
    if [ -n "${ADMIN_TOKEN:-}" ]; then
        curl --max-time "$CURL_MAX_TIME" -H @<(printf 'Authorization: Bearer %s\n' "$ADMIN_TOKEN") "$@"
    else
        curl --max-time "$CURL_MAX_TIME" "$@"
    fi
}

# A POST as the runbook does it (`curl -X POST URL [-d JSON]`), printing the answer. Returns non-zero when the
# service could not be reached or refused the call (HTTP >= 400), so a script can say the step failed.
tpost() {
    local path="$1"
    shift
    tcurl -sS --fail-with-body -X POST "$TRADING_SERVICE_URL$path" "$@"
    local rc=$?
    echo
    return "$rc"
}

is_number() {
    [[ "${1:-}" =~ ^-?[0-9]+([.][0-9]+)?([eE][-+]?[0-9]+)?$ ]]
}

# bc does not read exponents (jq prints 0.00001 as 1e-05): fixed-point first.
fixed() {
    printf '%.6f' "$1"
}

# kubectl steps run only when kubectl is installed AND has a cluster to talk to (a current context).
# Prints the skip line and returns 1 otherwise.
kubectl_ready() {
    if ! command -v kubectl >/dev/null 2>&1; then
        skip "kubectl not available"
        return 1
    fi
    if ! kubectl config current-context >/dev/null 2>&1; then
        skip "kubectl has no current context (no cluster configured; set KUBECONFIG)"
        return 1
    fi
    return 0
}

# PostgreSQL: the runbook's DB_HOST/DB_USER/DB_NAME, else DATABASE_URL. Prints the skip line and returns 1
# when neither is set or psql is missing.
db_ready() {
    if ! command -v psql >/dev/null 2>&1; then
        skip "psql not available"
        return 1
    fi
    if [ -z "${DB_HOST:-}" ] && [ -z "${DATABASE_URL:-}" ]; then
        skip "DB_HOST not set (nor DATABASE_URL)"
        return 1
    fi
    return 0
}

db_psql() {
    if [ -n "${DB_HOST:-}" ]; then
        local args=(-h "$DB_HOST")
        [ -n "${DB_USER:-}" ] && args+=(-U "$DB_USER")
        [ -n "${DB_NAME:-}" ] && args+=(-d "$DB_NAME")
        PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-5}" psql "${args[@]}" "$@"
    else
        PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-5}" psql "$DATABASE_URL" "$@"
    fi
}

# Redis: the runbook's REDIS_HOST, else REDIS_URL.
redis_ready() {
    if ! command -v redis-cli >/dev/null 2>&1; then
        skip "redis-cli not available"
        return 1
    fi
    if [ -z "${REDIS_HOST:-}" ] && [ -z "${REDIS_URL:-}" ]; then
        skip "REDIS_HOST not set (nor REDIS_URL)"
        return 1
    fi
    return 0
}

# Prints PONG when Redis answers. redis-cli exits 0 even when the server answers an error (NOAUTH), so
# callers compare the output, not the exit status.
redis_ping() {
    if [ -n "${REDIS_HOST:-}" ]; then
        timeout 5 redis-cli -h "$REDIS_HOST" ping
    else
        timeout 5 redis-cli -u "$REDIS_URL" ping
    fi
}
