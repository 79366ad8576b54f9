/**
 * Drill: the adaptive book throws.
 * Runbook thresholds: "Severity Levels → Level 2 (High): Circuit breaker activation"; "Comprehensive Health
 * Check, step 4: OPEN_BREAKERS -gt 0 → DEGRADED"; "Scenario 2: Circuit Breaker Activation … Reset circuit
 * breaker after investigation: POST /admin/circuit-breaker/reset/BTCUSDT".
 * Expected: breaker BTCUSDT open with reason adaptive_error, the legacy book serves (orders still
 * acknowledged), /health 200 DEGRADED, circuit_breaker_open Level 2, script exit 1. A reset while the fault
 * is still there trips again; reset after the fault is cleared → HEALTHY.
 */
import type { Drill } from '../drill.ts';
import { adaptiveFault, baseline, PAIR, probeOrder, resetBreaker, setPercentage } from './common.ts';

export const drill: Drill = {
  name: 'adaptive-exception',
  threshold: 'runbook "Severity Levels": Level 2 (High) "Circuit breaker activation"; "Comprehensive Health Check" step 4: open breakers > 0 → DEGRADED (exit 1)',
  mitigation: 'runbook "Scenario 2: Circuit Breaker Activation": investigate, clear the cause, then POST /admin/circuit-breaker/reset/BTCUSDT',
  needs: {},
  async run(ctx) {
    await setPercentage(ctx, PAIR, 50); // adaptive results served for half the commands
    const load = await baseline(ctx);
    ctx.injected('POST /admin/chaos/fault {"pair":"BTCUSDT","kind":"throw"}');
    await adaptiveFault(ctx, PAIR, 'throw');
    await ctx.expectView(
      'tripped',
      {
        status: 'DEGRADED',
        alerts: [{ name: 'circuit_breaker_open', level: 2 }],
        breakers: [{ pair: PAIR, reason: 'adaptive_error' }],
        metrics: [
          { name: 'trading_circuit_breaker_open', labels: { pair: PAIR }, test: (v) => v === 1, describe: 'must be 1' },
          { name: 'trading_errors_total', labels: { pair: PAIR, kind: 'breaker_trip' }, test: (v) => (v ?? 0) >= 1, describe: 'must be >= 1' },
        ],
      },
      20_000,
    );
    ctx.tripped();
    await ctx.expectView('tripped', { script: 1 }, 30_000);
    const served = await probeOrder(ctx, 'chaos-probe', PAIR, 'while-open');
    ctx.check(served.ok, `legacy must serve while the breaker is open: probe order answered ${served.code} ${served.details}`);
    ctx.symptoms.push(`legacy serves: probe order on ${PAIR} while open → ${served.code}`);

    // A reset before the cause is gone: the rebuilt adaptive book throws again and the breaker re-opens.
    await resetBreaker(ctx, PAIR);
    await ctx.waitFor('a reset with the fault still set re-trips the breaker', 20_000, async () => (await ctx.view.breakers()).find((b) => b.pair === PAIR && b.open && b.reason === 'adaptive_error'));
    ctx.symptoms.push('reset before the fault was cleared: the breaker opened again (adaptive_error)');

    await adaptiveFault(ctx, PAIR, 'none');
    ctx.mitigated('fault cleared (POST /admin/chaos/fault kind none), then POST /admin/circuit-breaker/reset/BTCUSDT');
    await resetBreaker(ctx, PAIR);
    await ctx.expectHealthy('recovered', 30_000);
    ctx.check(load.progress().acknowledged > 0, 'the simulator kept trading');
  },
};
