/**
 * Drill: several circuit breakers open at once.
 * Runbook thresholds: "Severity Levels → Level 1 (Critical): Multiple circuit breakers open" (15 minute
 * response); "Comprehensive Health Check" step 4 → DEGRADED. Mitigation: "Critical Incident Response":
 * POST /admin/migration/emergency-stop; then "Emergency Resume Procedure": POST /admin/circuit-breaker/reset-all.
 * Expected: circuit_breaker_open at Level 1 (critical) naming both pairs, /health 200 DEGRADED, script exit 1;
 * after emergency stop, the faults cleared and reset-all → HEALTHY.
 */
import type { Drill } from '../drill.ts';
import { adaptiveFault, baseline, PAIR, SECOND_PAIR } from './common.ts';

export const drill: Drill = {
  name: 'multiple-breakers',
  threshold: 'runbook "Severity Levels": Level 1 (Critical) "Multiple circuit breakers open"',
  mitigation: 'runbook "Critical Incident Response": POST /admin/migration/emergency-stop; "Emergency Resume Procedure": POST /admin/circuit-breaker/reset-all',
  needs: {},
  async run(ctx) {
    const load = await baseline(ctx);
    ctx.injected('POST /admin/chaos/fault kind throw on BTCUSDT and ETHUSDT');
    await adaptiveFault(ctx, PAIR, 'throw');
    await adaptiveFault(ctx, SECOND_PAIR, 'throw');
    await ctx.expectView(
      'tripped',
      {
        status: 'DEGRADED',
        alerts: [{ name: 'circuit_breaker_open', level: 1 }],
        breakers: [
          { pair: PAIR, reason: 'adaptive_error' },
          { pair: SECOND_PAIR, reason: 'adaptive_error' },
        ],
        metrics: [
          { name: 'trading_circuit_breaker_open', labels: { pair: PAIR }, test: (v) => v === 1, describe: 'must be 1' },
          { name: 'trading_circuit_breaker_open', labels: { pair: SECOND_PAIR }, test: (v) => v === 1, describe: 'must be 1' },
        ],
      },
      20_000,
    );
    ctx.tripped();
    await ctx.expectView('tripped', { script: 1 }, 30_000);
    await ctx.view.post('/admin/migration/emergency-stop', {});
    await adaptiveFault(ctx, PAIR, 'none');
    await adaptiveFault(ctx, SECOND_PAIR, 'none');
    const reset = await ctx.view.post('/admin/circuit-breaker/reset-all', {});
    ctx.mitigated('POST /admin/migration/emergency-stop; faults cleared; POST /admin/circuit-breaker/reset-all');
    ctx.check((reset.reset ?? []).length === 2, `reset-all must reset both breakers, reset ${JSON.stringify(reset.reset)}`);
    await ctx.expectHealthy('recovered', 30_000);
    ctx.check(load.progress().acknowledged > 0, 'the simulator kept trading');
  },
};
