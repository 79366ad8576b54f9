#!/usr/bin/env bash
# notify_incident.sh: the notification step the runbook's incident, emergency stop and resume procedures call
# (`./scripts/notify_incident.sh --severity=critical --status=active`); the runbook does not show it.
#
#   notify_incident.sh --severity=critical|high|medium|info --status=STATUS [--message=TEXT]
#
# Always: prints the notification (with the service's health status when it answers). When INCIDENT_LOG is
# set, also appends it as one JSON line to that file (nothing is written to the current directory unless
# asked: INCIDENT_LOG=./incident_notifications.log keeps the old behaviour). When INCIDENT_WEBHOOK_URL
# is set, POSTs the same JSON there (a chat or paging webhook); skipped with a line otherwise. Paging by
# severity (PagerDuty, SNS, Jira) is escalate_incident.sh in the runbook, not this script.
# Exit: 0 sent/logged, 1 the webhook refused it, 2 bad arguments, 3 curl or jq missing.
set -u
# shellcheck source=runbook-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/runbook-common.sh"
require_tools curl jq

SEVERITY=""
STATUS=""
MESSAGE=""
for arg in "$@"; do
    case "$arg" in
        --severity=*) SEVERITY="${arg#--severity=}" ;;
        --status=*) STATUS="${arg#--status=}" ;;
        --message=*) MESSAGE="${arg#--message=}" ;;
        *)
            echo "usage: $0 --severity=critical|high|medium|info --status=STATUS [--message=TEXT] (unknown argument: $arg)" >&2
            exit 2
            ;;
    esac
done
case "$SEVERITY" in
    critical | high | medium | info) ;;
    *)
        echo "usage: $0 --severity=critical|high|medium|info --status=STATUS [--message=TEXT] (severity: '${SEVERITY}')" >&2
        exit 2
        ;;
esac
if [ -z "$STATUS" ]; then
    echo "usage: $0 --severity=... --status=STATUS [--message=TEXT] (status missing)" >&2
    exit 2
fi

HEALTH=$(tcurl -s "$TRADING_SERVICE_URL/health" | jq -r '.status' 2>/dev/null)
NOTIFICATION=$(jq -cn \
    --arg at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --arg severity "$SEVERITY" \
    --arg status "$STATUS" \
    --arg message "$MESSAGE" \
    --arg service "$TRADING_SERVICE_URL" \
    --arg health "${HEALTH:-unreachable}" \
    --arg host "$(hostname 2>/dev/null || echo unknown)" \
    '{at: $at, severity: $severity, status: $status, message: $message, service: $service, service_health: $health, sent_from: $host}')

echo "NOTIFY [$SEVERITY] status=$STATUS service_health=${HEALTH:-unreachable}${MESSAGE:+ message=$MESSAGE}"
if [ -n "${INCIDENT_LOG:-}" ]; then
    echo "$NOTIFICATION" >> "$INCIDENT_LOG" && echo "   logged to $INCIDENT_LOG"
else
    skip "INCIDENT_LOG not set (set INCIDENT_LOG=FILE to keep a log of the notifications)"
fi

if [ -n "${INCIDENT_WEBHOOK_URL:-}" ]; then
    if curl -sS -f --max-time "$CURL_MAX_TIME" -X POST -H 'Content-Type: application/json' -d "$NOTIFICATION" "$INCIDENT_WEBHOOK_URL" >/dev/null; then
        echo "   sent to INCIDENT_WEBHOOK_URL"
    else
        echo "❌ INCIDENT_WEBHOOK_URL did not accept the notification"
        exit 1
    fi
else
    skip "INCIDENT_WEBHOOK_URL not set (notification only printed${INCIDENT_LOG:+ and logged})"
fi
