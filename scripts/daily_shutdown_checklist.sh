#!/usr/bin/env bash
# daily_shutdown_checklist.sh: docs/runbook.md "End of Day Checklist", adapted to trading-service.
#
# Writes daily_report_YYYYMMDD.json (and metrics_backup_YYYYMMDD.json when Prometheus is configured) in the
# current directory. Exit 1 if the daily report could not be fetched; 3 when curl or jq is missing.
# Skipped with a line saying why: the Prometheus backup without PROMETHEUS_URL; the log listing when
# TRADING_LOG_DIR (default /var/log/trading, the runbook's) does not exist (the service logs to stdout).
set -u
# shellcheck source=runbook-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/runbook-common.sh"
require_tools curl jq

echo "=== End of Day Checklist ==="
echo "Service: $TRADING_SERVICE_URL"
STATUS=0

# 1. Generate daily performance report
echo "1. Generating daily performance report..."
REPORT="daily_report_$(date +%Y%m%d).json"
if tcurl -sS -f "$TRADING_SERVICE_URL/admin/reports/daily" > "$REPORT" && jq -e . "$REPORT" >/dev/null; then
    echo "   wrote $REPORT"
else
    echo "❌ could not fetch the daily report ($REPORT is incomplete)"
    STATUS=1
fi

# 2. Check for any unresolved issues
echo "2. Checking for unresolved issues..."
tcurl -s "$TRADING_SERVICE_URL/admin/alerts/active" | jq '.'

# 3. Backup critical metrics
echo "3. Backing up metrics..."
if [ -n "${PROMETHEUS_URL:-}" ]; then
    BACKUP="metrics_backup_$(date +%Y%m%d).json"
    curl -s --max-time "$CURL_MAX_TIME" "${PROMETHEUS_URL%/}/api/v1/query_range" \
        -G --data-urlencode 'query=trading_orders_total' \
        --data-urlencode "start=$(date -d '1 day ago' +%s)" \
        --data-urlencode "end=$(date +%s)" \
        --data-urlencode 'step=300' > "$BACKUP" ||
        echo "⚠️  Prometheus did not answer: $BACKUP is empty"
    echo "   wrote $BACKUP"
else
    skip "PROMETHEUS_URL not set"
fi

# 4. Verify log rotation
echo "4. Checking log files..."
LOG_DIR="${TRADING_LOG_DIR:-/var/log/trading}"
if [ -d "$LOG_DIR" ]; then
    ls -la "$LOG_DIR/"
else
    skip "$LOG_DIR does not exist (the service logs to stdout; set TRADING_LOG_DIR to check a log directory)"
fi

# 5. Check resource usage trends
echo "5. Resource usage summary..."
tcurl -s "$TRADING_SERVICE_URL/admin/system/resources" | jq '.'

echo "=== End of day checklist completed ==="
exit "$STATUS"
