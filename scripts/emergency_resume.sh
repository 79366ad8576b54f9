#!/usr/bin/env bash
# emergency_resume.sh: docs/runbook.md "Emergency Resume Procedure", adapted to trading-service.
#
#   VERIFY_WAIT_SECONDS (10)   the wait before the final verification
#   REPLICAS (4)               the replica count of the kubectl scale-up
#
# Exit 1 when the health check says UNHEALTHY, or the service refused or did not answer the resume; 3 when
# curl, jq or bc is missing. The scale-up and the wait for ready pods are skipped with a line when kubectl
# has no cluster. A pair whose breaker reset is refused (its rebuilt adaptive book does not match the
# served state) keeps trading on the legacy book; the script says so and goes on.
set -u
# shellcheck source=runbook-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/runbook-common.sh"
require_tools curl jq bc

echo "=== EMERGENCY RESUME PROCEDURE ==="
echo "Service: $TRADING_SERVICE_URL"

# 1. Comprehensive health check
echo "1. Performing comprehensive health check..."
# The runbook runs `health_check_comprehensive.sh || exit 1`, but that cannot work after emergency_stop.sh:
# the stop opened every circuit breaker and halted trading, so the health check reports DEGRADED (exit 1)
# until step 2 resets the breakers and step 5 resumes trading, and the resume would never get past step 1.
# Only UNHEALTHY (exit 2: the service, database or Redis unreachable) or a missing tool (3) stops the resume;
# DEGRADED is the expected state of a stopped system.
"$SCRIPTS_DIR/health_check_comprehensive.sh"
HEALTH_RC=$?
if [ "$HEALTH_RC" -ge 2 ]; then
    echo "❌ Health check exit status $HEALTH_RC (UNHEALTHY or unable to check): not resuming"
    exit 1
fi
[ "$HEALTH_RC" -eq 1 ] && echo "   DEGRADED is expected after an emergency stop (breakers open, trading halted): continuing"

# 2. Reset circuit breakers
echo "2. Resetting circuit breakers..."
if ! tpost /admin/circuit-breaker/reset-all; then
    echo "⚠️  Some circuit breakers were not reset (refused pairs stay on the legacy book); see above"
fi

# 3. Scale up service
echo "3. Scaling up service..."
KUBE=0
if kubectl_ready; then
    KUBE=1
    kubectl scale deployment/trading-service --replicas="${REPLICAS:-4}"
fi

# 4. Wait for pods to be ready
echo "4. Waiting for pods to be ready..."
if [ "$KUBE" = 1 ]; then
    kubectl wait --for=condition=Ready pod -l app=trading-service --timeout=300s
else
    skip "no kubectl cluster (see step 3)"
fi

# 5. Resume trading
echo "5. Resuming trading operations..."
if ! tpost /admin/trading/resume; then
    echo "❌ Trading was NOT resumed (the service refused or did not answer)"
    exit 1
fi

# 6. Verify operations
echo "6. Verifying operations..."
sleep "${VERIFY_WAIT_SECONDS:-10}"
tcurl -s "$TRADING_SERVICE_URL/health" | jq '.'

# 7. Notify stakeholders
echo "7. Sending resume notifications..."
"$SCRIPTS_DIR/notify_incident.sh" --severity=info --status=resumed

echo "=== EMERGENCY RESUME COMPLETED ==="
