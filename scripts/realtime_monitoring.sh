#!/usr/bin/env bash
# realtime_monitoring.sh: docs/runbook.md "Real-Time Monitoring", adapted to trading-service.
#
#   ITERATIONS (0 = until Ctrl+C, the runbook's `while true`)   how many refreshes, e.g. ITERATIONS=1
#   INTERVAL_SECONDS (10)                                       the pause between refreshes
#
# The screen is cleared only on a terminal, so the output can be logged. Resource usage comes from
# `kubectl top pods` when kubectl has a cluster, else from the service's /admin/system/resources.
# Exit 3 when curl or jq is missing; otherwise 0 (a monitor reports, it does not judge).
set -u
# shellcheck source=runbook-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/runbook-common.sh"
require_tools curl jq

ITERATIONS="${ITERATIONS:-0}"
INTERVAL_SECONDS="${INTERVAL_SECONDS:-10}"
if ! [[ "$ITERATIONS" =~ ^[0-9]+$ ]]; then
    echo "error: ITERATIONS must be a whole number (0 = forever), got '$ITERATIONS'" >&2
    exit 2
fi

i=0
while true; do
    i=$((i + 1))
    if [ -t 1 ]; then clear; fi
    echo "=== Real-Time Trading System Monitor ==="
    echo "Timestamp: $(date)"
    echo "Service: $TRADING_SERVICE_URL"
    echo

    # Service health
    echo "Service Health:"
    tcurl -s "$TRADING_SERVICE_URL/health" | jq '.status'
    echo

    # Current latency (the gauge is in seconds, per pair × implementation × role; see docs/operations.md)
    echo "Latency Metrics (P95):"
    tcurl -s "$TRADING_SERVICE_URL/metrics" | grep trading_latency_p95 | tail -5
    echo

    # Throughput
    echo "Throughput (last 1 minute):"
    tcurl -s "$TRADING_SERVICE_URL/admin/metrics/throughput" | jq '.last_minute'
    echo

    # Active migrations
    echo "Active Migrations:"
    tcurl -s "$TRADING_SERVICE_URL/admin/migration/status" | \
        jq '.[] | select(.current_percentage > 0) | {pair: .pair, percentage: .current_percentage}'
    echo

    # Circuit breaker status
    echo "Circuit Breakers:"
    tcurl -s "$TRADING_SERVICE_URL/admin/circuit-breaker/status" | \
        jq '.[] | select(.open == true) | {pair: .pair, reason: .reason}'
    echo

    # Resource usage
    echo "Resource Usage:"
    if kubectl_ready; then
        kubectl top pods -l app=trading-service | tail -n +2
    else
        tcurl -s "$TRADING_SERVICE_URL/admin/system/resources" | \
            jq -c '{rss_mib: .memory.rss_mib, heap_used_mib: .memory.heap_used_mib, cpu_cores: .cpu.utilization_since_last_call, event_loop_delay_p99_ms: .event_loop.delay_p99_ms}'
    fi
    echo

    if [ "$ITERATIONS" -gt 0 ] && [ "$i" -ge "$ITERATIONS" ]; then
        break
    fi
    sleep "$INTERVAL_SECONDS"
done
