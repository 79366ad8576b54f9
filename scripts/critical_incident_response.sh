#!/usr/bin/env bash
# critical_incident_response.sh: docs/runbook.md "Critical Incident Response", adapted to trading-service.
#
# Runs every step whatever the health check says (as the runbook does: assessment, not a gate); exit 1 if
# the emergency migration stop or the breaker activation was refused or the service did not answer, so the
# operator knows the protection is not in place; 3 when curl, jq or bc is missing.
# Step 4 captures `kubectl describe pods` and the deployment's logs when kubectl has a cluster; otherwise it
# says so and captures the service's own state from the admin API instead (incident_state_*.json).
set -u
# shellcheck source=runbook-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/runbook-common.sh"
require_tools curl jq bc

echo "=== CRITICAL INCIDENT RESPONSE ==="
echo "Service: $TRADING_SERVICE_URL"
FAILED=""

# 1. Immediate assessment
echo "1. Assessing system status..."
"$SCRIPTS_DIR/health_check_comprehensive.sh"
echo "   (health check exit status $?)"

# 2. Stop all migrations immediately
echo "2. Emergency migration stop..."
tpost /admin/migration/emergency-stop || FAILED="$FAILED emergency-stop"

# 3. Enable circuit breakers for protection
echo "3. Activating protective measures..."
tpost /admin/circuit-breaker/activate-all || FAILED="$FAILED activate-all"

# 4. Capture system state
echo "4. Capturing system state for analysis..."
STAMP=$(date +%Y%m%d_%H%M%S)
if kubectl_ready; then
    kubectl describe pods > "incident_state_$STAMP.log"
    kubectl logs deployment/trading-service --tail=1000 > "incident_logs_$STAMP.log"
    echo "   wrote incident_state_$STAMP.log, incident_logs_$STAMP.log"
else
    # Without a cluster, the service's own view: health, breakers, migrations, errors, alerts, resources.
    STATE="incident_state_$STAMP.json"
    {
        echo '{'
        first=1
        for endpoint in /health /admin/circuit-breaker/status /admin/circuit-breaker/history /admin/migration/status \
            /admin/errors/summary /admin/alerts/active /admin/metrics/current /admin/system/resources /admin/trading/status; do
            body=$(tcurl -s "$TRADING_SERVICE_URL$endpoint")
            echo "$body" | jq -e . >/dev/null 2>&1 || body=null
            [ "$first" = 1 ] || echo ','
            first=0
            printf '%s: %s\n' "$(jq -Rn --arg e "$endpoint" '$e')" "$body"
        done
        echo '}'
    } > "$STATE"
    if jq -e . "$STATE" >/dev/null 2>&1; then
        echo "   wrote $STATE (the service's state from the admin API)"
    else
        echo "   ❌ $STATE is not valid JSON"
    fi
fi

# 5. Notify stakeholders
echo "5. Sending notifications..."
"$SCRIPTS_DIR/notify_incident.sh" --severity=critical --status=active

if [ -n "$FAILED" ]; then
    echo "❌ NOT IN PLACE:$FAILED (see the answers above)"
    exit 1
fi
echo "=== Initial response completed - Begin investigation ==="
