#!/usr/bin/env bash
# emergency_stop.sh: docs/runbook.md "Emergency Stop Procedure", adapted to trading-service.
#
#   ABORT_WAIT_SECONDS (10)      the runbook's "Press Ctrl+C within 10 seconds to abort"
#   IN_FLIGHT_WAIT_SECONDS (5)   the wait for in-flight orders after the halt
#   MIN_REPLICAS (1)             the replica count of the kubectl scale-down
#
# Exit 1 when the halt, the migration stop or the breaker activation was refused or the service did not
# answer (the runbook would print "completed" anyway; an operator must know trading is NOT halted); 3 when
# curl or jq is missing. The scale-down is skipped with a line when kubectl has no cluster.
set -u
# shellcheck source=runbook-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/runbook-common.sh"
require_tools curl jq

ABORT_WAIT_SECONDS="${ABORT_WAIT_SECONDS:-10}"
IN_FLIGHT_WAIT_SECONDS="${IN_FLIGHT_WAIT_SECONDS:-5}"
FAILED=""

echo "=== EMERGENCY STOP PROCEDURE ==="
echo "Service: $TRADING_SERVICE_URL"
echo "WARNING: This will halt all trading operations"
echo "Press Ctrl+C within $ABORT_WAIT_SECONDS seconds to abort..."
sleep "$ABORT_WAIT_SECONDS"

# 1. Halt all new order processing
echo "1. Halting new order processing..."
tpost /admin/trading/halt || FAILED="$FAILED halt"

# 2. Complete in-flight orders
echo "2. Completing in-flight orders..."
sleep "$IN_FLIGHT_WAIT_SECONDS"

# 3. Stop all migrations
echo "3. Stopping all migrations..."
tpost /admin/migration/emergency-stop || FAILED="$FAILED emergency-stop"

# 4. Activate all circuit breakers
echo "4. Activating protective circuit breakers..."
tpost /admin/circuit-breaker/activate-all || FAILED="$FAILED activate-all"

# 5. Scale down to minimum replicas
echo "5. Scaling down service..."
if kubectl_ready; then
    kubectl scale deployment/trading-service --replicas="${MIN_REPLICAS:-1}"
fi

# 6. Notify stakeholders
echo "6. Sending emergency notifications..."
"$SCRIPTS_DIR/notify_incident.sh" --severity=critical --status=emergency_stop

if [ -n "$FAILED" ]; then
    echo "❌ EMERGENCY STOP INCOMPLETE: refused or unanswered:$FAILED (see the answers above)"
    exit 1
fi
echo "=== EMERGENCY STOP COMPLETED ==="
echo "To resume operations, run: $SCRIPTS_DIR/emergency_resume.sh"
