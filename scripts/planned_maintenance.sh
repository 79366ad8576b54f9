#!/usr/bin/env bash
# planned_maintenance.sh: docs/runbook.md "Planned Maintenance Window", adapted to trading-service.
#
#   ORDER_COMPLETION_WAIT_SECONDS (30)   the runbook's wait for in-flight orders
#   MAINTENANCE_SCRIPT                   a command run at step 6 ("Add specific maintenance tasks here")
#   MAINTENANCE_REPLICAS (2), REPLICAS (4)   the kubectl scale-down and scale-up
#
# Maintenance mode refuses new orders and replaces; if the script is interrupted or a task fails after
# step 5, it still disables maintenance mode on the way out (not in the runbook, which would leave trading
# refused). Exit 1 when maintenance mode could not be enabled or disabled or the task failed; 3 when curl,
# jq or bc is missing. The health checks report but do not stop the procedure, as in the runbook.
# The kubectl steps are skipped with a line when kubectl has no cluster.
set -u
# shellcheck source=runbook-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/runbook-common.sh"
require_tools curl jq bc

STATUS=0
IN_MAINTENANCE=0
disable_maintenance() {
    if [ "$IN_MAINTENANCE" = 1 ]; then
        if tpost /admin/maintenance/disable; then
            IN_MAINTENANCE=0
        else
            echo "❌ Maintenance mode could NOT be disabled: trading still refuses new orders"
            STATUS=1
        fi
    fi
}
trap 'echo "interrupted: disabling maintenance mode"; disable_maintenance; exit 1' INT TERM

echo "=== Starting Planned Maintenance ==="
echo "Service: $TRADING_SERVICE_URL"

# 1. Pre-maintenance health check
echo "1. Pre-maintenance health check..."
"$SCRIPTS_DIR/health_check_comprehensive.sh"
echo "   (health check exit status $?)"

# 2. Reduce traffic gradually
echo "2. Reducing traffic..."
KUBE=0
if kubectl_ready; then
    KUBE=1
    kubectl scale deployment/trading-service --replicas="${MAINTENANCE_REPLICAS:-2}"
fi

# 3. Stop all active migrations
echo "3. Stopping migrations..."
tpost /admin/migration/stop-all

# 4. Wait for in-flight orders to complete
echo "4. Waiting for order completion..."
sleep "${ORDER_COMPLETION_WAIT_SECONDS:-30}"

# 5. Enable maintenance mode
echo "5. Enabling maintenance mode..."
if tpost /admin/maintenance/enable; then
    IN_MAINTENANCE=1
else
    echo "❌ Maintenance mode could not be enabled: no maintenance tasks run"
    STATUS=1
fi

# 6. Perform maintenance tasks
echo "6. Performing maintenance..."
if [ "$IN_MAINTENANCE" = 1 ]; then
    if [ -n "${MAINTENANCE_SCRIPT:-}" ]; then
        echo "   running: $MAINTENANCE_SCRIPT"
        if ! bash -c "$MAINTENANCE_SCRIPT"; then
            echo "❌ Maintenance task failed"
            STATUS=1
        fi
    else
        skip "MAINTENANCE_SCRIPT not set (no maintenance task to run)"
    fi
fi

# 7. Disable maintenance mode
echo "7. Disabling maintenance mode..."
disable_maintenance

# 8. Scale back up
echo "8. Scaling back up..."
if [ "$KUBE" = 1 ]; then
    kubectl scale deployment/trading-service --replicas="${REPLICAS:-4}"
else
    skip "no kubectl cluster (see step 2)"
fi

# 9. Post-maintenance health check
echo "9. Post-maintenance health check..."
"$SCRIPTS_DIR/health_check_comprehensive.sh"
echo "   (health check exit status $?)"

echo "=== Maintenance completed ==="
exit "$STATUS"
