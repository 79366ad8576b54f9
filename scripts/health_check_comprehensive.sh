#!/usr/bin/env bash
# health_check_comprehensive.sh: docs/runbook.md "Comprehensive Health Check", adapted to trading-service.
#
# Exit status: 0 HEALTHY; 1 DEGRADED (a circuit breaker open, latency p95 > 20 ms, error rate > 0.01,
# memory > 6000 MiB, or the service itself reports DEGRADED, e.g. trading halted); 2 UNHEALTHY (the service,
# the database or Redis unreachable); 3 a required tool (curl, jq, bc) is missing.
# Skipped with a line saying why: the database check without DB_HOST/DATABASE_URL, Redis without
# REDIS_HOST/REDIS_URL; memory comes from `kubectl top pods` when kubectl has a cluster, else from the
# service process's RSS (/admin/system/resources).
set -u
# shellcheck source=runbook-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/runbook-common.sh"
require_tools curl jq bc

echo "=== Comprehensive Health Check ==="
echo "Service: $TRADING_SERVICE_URL"

OVERALL_STATUS="HEALTHY"
# The runbook sets OVERALL_STATUS="DEGRADED" unconditionally, so a warning after a failure would turn
# UNHEALTHY back into DEGRADED (exit 1 instead of 2). These keep the worst status seen.
unhealthy() { OVERALL_STATUS="UNHEALTHY"; }
degraded() { if [ "$OVERALL_STATUS" = "HEALTHY" ]; then OVERALL_STATUS="DEGRADED"; fi; }

# 1. Service health endpoint
echo "1. Checking service health endpoint..."
if ! HEALTH_BODY=$(tcurl -sS -f "$TRADING_SERVICE_URL/health"); then
    echo "❌ Service health check failed"
    unhealthy
else
    echo "$HEALTH_BODY" | jq -c '{status, checks}'
    echo "✅ Service health check passed"
    # Not in the runbook: the service judges the same thresholds plus halt/maintenance; say so if it is unhappy.
    SERVICE_STATUS=$(echo "$HEALTH_BODY" | jq -r '.status')
    if [ "$SERVICE_STATUS" != "HEALTHY" ]; then
        echo "⚠️  The service reports $SERVICE_STATUS: $(echo "$HEALTH_BODY" | jq -r '[.alerts[]? | .name] | join(", ")')"
        degraded
    fi
fi

# 2. Database connectivity
echo "2. Checking database connectivity..."
if db_ready; then
    if ! db_psql -c "SELECT 1;" >/dev/null 2>&1; then
        echo "❌ Database connectivity failed"
        unhealthy
    else
        echo "✅ Database connectivity passed"
    fi
fi

# 3. Redis connectivity
echo "3. Checking Redis connectivity..."
if redis_ready; then
    if [ "$(redis_ping 2>/dev/null)" != "PONG" ]; then
        echo "❌ Redis connectivity failed"
        unhealthy
    else
        echo "✅ Redis connectivity passed"
    fi
fi

# 4. Check for circuit breaker issues
echo "4. Checking circuit breakers..."
BREAKERS=$(tcurl -s "$TRADING_SERVICE_URL/admin/circuit-breaker/status")
OPEN_BREAKERS=$(echo "$BREAKERS" | jq '[.[] | select(.open == true)] | length' 2>/dev/null)
if ! is_number "$OPEN_BREAKERS"; then
    echo "❌ Could not read the circuit breaker status: ${BREAKERS:-no answer}"
    unhealthy
elif [ "$OPEN_BREAKERS" -gt 0 ]; then
    echo "⚠️  $OPEN_BREAKERS circuit breakers are open"
    echo "$BREAKERS" | jq -r '.[] | select(.open == true) | "   \(.pair): \(.reason)"'
    degraded
else
    echo "✅ All circuit breakers are closed"
fi

# 5. Check latency
echo "5. Checking latency metrics..."
CURRENT=$(tcurl -s "$TRADING_SERVICE_URL/admin/metrics/current")
LATENCY=$(echo "$CURRENT" | jq '.latency_p95_ms' 2>/dev/null)
if ! is_number "$LATENCY"; then
    echo "❌ Could not read latency_p95_ms: ${CURRENT:-no answer}"
    unhealthy
elif (($(echo "$(fixed "$LATENCY") > 20" | bc -l))); then
    echo "⚠️  High latency detected: ${LATENCY}ms"
    degraded
else
    echo "✅ Latency within normal range: ${LATENCY}ms"
fi

# 6. Check error rate
echo "6. Checking error rate..."
ERROR_RATE=$(echo "$CURRENT" | jq '.error_rate' 2>/dev/null)
if ! is_number "$ERROR_RATE"; then
    echo "❌ Could not read error_rate: ${CURRENT:-no answer}"
    unhealthy
elif (($(echo "$(fixed "$ERROR_RATE") > 0.01" | bc -l))); then
    echo "⚠️  High error rate detected: ${ERROR_RATE}"
    degraded
else
    echo "✅ Error rate within normal range: ${ERROR_RATE}"
fi

# 7. Check resource usage
echo "7. Checking resource usage..."
if kubectl_ready; then
    MEMORY_USAGE=$(kubectl top pods -l app=trading-service --no-headers | awk '{sum+=$3} END {print sum}' | sed 's/Mi//')
    MEMORY_SOURCE="kubectl top pods -l app=trading-service"
else
    MEMORY_USAGE=$(tcurl -s "$TRADING_SERVICE_URL/admin/system/resources" | jq '.memory.rss_mib' 2>/dev/null)
    MEMORY_SOURCE="RSS of the service process, /admin/system/resources"
fi
if ! is_number "$MEMORY_USAGE"; then
    echo "❌ Could not read memory usage ($MEMORY_SOURCE)"
    unhealthy
elif (($(echo "$(fixed "$MEMORY_USAGE") > 6000" | bc -l))); then
    echo "⚠️  High memory usage detected: ${MEMORY_USAGE}Mi ($MEMORY_SOURCE)"
    degraded
else
    echo "✅ Memory usage within normal range: ${MEMORY_USAGE}Mi ($MEMORY_SOURCE)"
fi

echo
echo "=== Overall Status: $OVERALL_STATUS ==="

case $OVERALL_STATUS in
    "HEALTHY")
        exit 0
        ;;
    "DEGRADED")
        exit 1
        ;;
    "UNHEALTHY")
        exit 2
        ;;
esac
