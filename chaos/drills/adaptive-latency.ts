/**
 * Drill: the adaptive book becomes slow.
 * Runbook thresholds: "Severity Levels → Level 2 (High): Circuit breaker activation"; the breaker's latency
 * budget (BREAKER_LATENCY_BUDGET_MS, default 5 ms p95 over 10 s) protects the served path before the
 * runbook's 20 ms p95 ("Troubleshooting → Issue 1: Latency P95 > 20ms") is reached.
 * Expected: breaker open with reason latency, /health 200 DEGRADED, circuit_breaker_open Level 2, script
 * exit 1; fault cleared + reset → HEALTHY.
 */
import type { Drill } from '../drill.ts';
import { adaptiveFault, baseline, PAIR, resetBreaker } from './common.ts';

export const drill: Drill = {
  name: 'adaptive-latency',
  threshold: 'breaker latency budget 5 ms p95 (BREAKER_LATENCY_BUDGET_MS) guarding runbook "Issue 1: Slow Order Processing: Latency P95 > 20ms"; runbook Level 2 "Circuit breaker activation"',
  mitigation: 'runbook "Scenario 2": clear the cause, POST /admin/circuit-breaker/reset/BTCUSDT',
  needs: {},
  async run(ctx) {
    const load = await baseline(ctx);
    ctx.injected('POST /admin/chaos/fault {"pair":"BTCUSDT","kind":"slow","delayMs":8}');
    await adaptiveFault(ctx, PAIR, 'slow', { delayMs: 8 });
    await ctx.expectView(
      'tripped',
      {
        status: 'DEGRADED',
        alerts: [{ name: 'circuit_breaker_open', level: 2 }],
        breakers: [{ pair: PAIR, reason: 'latency' }],
        metrics: [{ name: 'trading_circuit_breaker_open', labels: { pair: PAIR }, test: (v) => v === 1, describe: 'must be 1' }],
      },
      30_000,
    );
    ctx.tripped();
    await ctx.expectView('tripped', { script: 1 }, 30_000);
    await adaptiveFault(ctx, PAIR, 'none');
    ctx.mitigated('fault cleared, then POST /admin/circuit-breaker/reset/BTCUSDT');
    await resetBreaker(ctx, PAIR);
    await ctx.expectHealthy('recovered', 30_000);
    ctx.check(load.progress().acknowledged > 0, 'the simulator kept trading');
  },
};
