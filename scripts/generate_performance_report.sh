#!/usr/bin/env bash
# generate_performance_report.sh: docs/runbook.md "Daily Performance Report", adapted to trading-service.
#
# Writes performance_report_YYYY-MM-DD.json in the current directory (and latency_/throughput_DATE.json from
# Prometheus when PROMETHEUS_URL is set; skipped with a line otherwise). Exit 1 when the service did not
# answer or the report is not valid JSON; 3 when curl or jq is missing.
set -u
# shellcheck source=runbook-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/runbook-common.sh"
require_tools curl jq

DATE=$(date +%Y-%m-%d)
REPORT_FILE="performance_report_$DATE.json"

echo "Generating performance report for $DATE..."
echo "Service: $TRADING_SERVICE_URL"

# Collect metrics from the last 24 hours
if [ -n "${PROMETHEUS_URL:-}" ]; then
    # trading_latency_p95 is in seconds (Prometheus base units; × 1000 for the runbook's milliseconds).
    curl -s --max-time "$CURL_MAX_TIME" "${PROMETHEUS_URL%/}/api/v1/query_range" \
        -G --data-urlencode 'query=avg(trading_latency_p95)' \
        --data-urlencode "start=$(date -d '1 day ago' +%s)" \
        --data-urlencode "end=$(date +%s)" \
        --data-urlencode 'step=300' > "latency_$DATE.json" ||
        echo "⚠️  Prometheus did not answer: latency_$DATE.json is empty"

    curl -s --max-time "$CURL_MAX_TIME" "${PROMETHEUS_URL%/}/api/v1/query_range" \
        -G --data-urlencode 'query=sum(rate(trading_orders_total[5m]))' \
        --data-urlencode "start=$(date -d '1 day ago' +%s)" \
        --data-urlencode "end=$(date +%s)" \
        --data-urlencode 'step=300' > "throughput_$DATE.json" ||
        echo "⚠️  Prometheus did not answer: throughput_$DATE.json is empty"
    echo "   wrote latency_$DATE.json, throughput_$DATE.json"
else
    skip "PROMETHEUS_URL not set (no latency_$DATE.json / throughput_$DATE.json)"
fi

# The runbook fetches /admin/metrics/summary once per field; one fetch gives one consistent snapshot.
# A value the service did not give becomes null, so the report stays valid JSON.
json_or_null() {
    local v
    v=$(cat)
    if [ -n "$v" ] && echo "$v" | jq -e . >/dev/null 2>&1; then echo "$v"; else echo null; fi
}
SUMMARY=$(tcurl -s "$TRADING_SERVICE_URL/admin/metrics/summary" | json_or_null)
MIGRATION_SUMMARY=$(tcurl -s "$TRADING_SERVICE_URL/admin/migration/summary" | json_or_null)
# The runbook counts `.last_24h | length`, which counts resets too; an activation is an `open` entry.
ACTIVATIONS=$(tcurl -s "$TRADING_SERVICE_URL/admin/circuit-breaker/history" | jq '[.last_24h[] | select(.event == "open")] | length' 2>/dev/null | json_or_null)

# Generate summary report
cat > "$REPORT_FILE" << EOF2
{
  "date": "$DATE",
  "summary": {
    "avg_latency_p95": $(echo "$SUMMARY" | jq '.avg_latency_p95'),
    "total_orders": $(echo "$SUMMARY" | jq '.total_orders_24h'),
    "total_trades": $(echo "$SUMMARY" | jq '.total_trades_24h'),
    "error_rate": $(echo "$SUMMARY" | jq '.error_rate_24h'),
    "peak_throughput": $(echo "$SUMMARY" | jq '.peak_throughput_24h')
  },
  "migration_summary": $MIGRATION_SUMMARY,
  "circuit_breaker_activations": $ACTIVATIONS
}
EOF2

if ! jq -e . "$REPORT_FILE" >/dev/null 2>&1; then
    echo "❌ $REPORT_FILE is not valid JSON"
    exit 1
fi
if [ "$SUMMARY" = null ] || [ "$MIGRATION_SUMMARY" = null ]; then
    echo "❌ The service did not answer (summary or migration summary missing); $REPORT_FILE has nulls"
    exit 1
fi
echo "Performance report generated: $REPORT_FILE"
