#!/usr/bin/env bash
# daily_startup_checklist.sh: docs/runbook.md "Morning Checklist (Start of Trading Day)", adapted to trading-service.
#
# Stops with exit 1 at the first failed gate, as the runbook does (service health, database, Redis,
# Prometheus, Grafana); 3 when curl or jq is missing. Skipped with a line saying why: the database without
# DB_HOST/DATABASE_URL, Redis without REDIS_HOST/REDIS_URL, Prometheus without PROMETHEUS_URL, Grafana
# without GRAFANA_URL (the runbook's http://prometheus:9090 and http://grafana:3000 are examples of those).
set -u
# shellcheck source=runbook-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/runbook-common.sh"
require_tools curl jq

echo "=== Daily Startup Checklist ==="
echo "Service: $TRADING_SERVICE_URL"

# 1. Check service health
echo "1. Checking service health..."
tcurl -sS -f "$TRADING_SERVICE_URL/health" || exit 1
echo

# 2. Verify database connectivity
echo "2. Checking database connectivity..."
if db_ready; then
    db_psql -c "SELECT 1;" || exit 1
fi

# 3. Check Redis connectivity
echo "3. Checking Redis connectivity..."
if redis_ready; then
    PONG=$(redis_ping)
    echo "$PONG"
    [ "$PONG" = "PONG" ] || exit 1
fi

# 4. Verify migration states
echo "4. Checking migration states..."
tcurl -s "$TRADING_SERVICE_URL/admin/migration/status" | jq '.'

# 5. Check overnight performance
echo "5. Reviewing overnight performance..."
tcurl -s "$TRADING_SERVICE_URL/admin/metrics/summary" | jq '.last_24h'

# 6. Verify monitoring systems
echo "6. Checking monitoring systems..."
if [ -n "${PROMETHEUS_URL:-}" ]; then
    curl -sS -f --max-time "$CURL_MAX_TIME" "${PROMETHEUS_URL%/}/-/healthy" || exit 1
    echo
else
    skip "PROMETHEUS_URL not set"
fi
if [ -n "${GRAFANA_URL:-}" ]; then
    curl -sS -f --max-time "$CURL_MAX_TIME" "${GRAFANA_URL%/}/api/health" || exit 1
    echo
else
    skip "GRAFANA_URL not set"
fi

# 7. Check for any circuit breaker activations
echo "7. Checking circuit breakers..."
tcurl -s "$TRADING_SERVICE_URL/admin/circuit-breaker/status" | \
    jq '.[] | select(.open == true)'

echo "=== Startup checklist completed ==="
