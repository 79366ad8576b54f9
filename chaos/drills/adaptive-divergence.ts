/**
 * Drill: the adaptive book's results diverge from the legacy book's.
 * Runbook thresholds: "Severity Levels → Level 2 (High): Circuit breaker activation"; "Comprehensive Health
 * Check, step 4: OPEN_BREAKERS -gt 0 → DEGRADED".
 * Expected: breaker open with reason divergence, /health 200 DEGRADED, circuit_breaker_open Level 2,
 * script exit 1; the served state stays intact (the ledger check: nothing lost, duplicated, book not
 * crossed); fault cleared + reset → HEALTHY.
 */
import type { Drill } from '../drill.ts';
import { adaptiveFault, baseline, PAIR, probeOrder, resetBreaker } from './common.ts';

export const drill: Drill = {
  name: 'adaptive-divergence',
  threshold: 'runbook "Severity Levels": Level 2 (High) "Circuit breaker activation"; "Comprehensive Health Check" step 4: open breakers > 0 → DEGRADED (exit 1)',
  mitigation: 'runbook "Scenario 2: Circuit Breaker Activation": clear the cause, POST /admin/circuit-breaker/reset/BTCUSDT',
  needs: {},
  async run(ctx) {
    const load = await baseline(ctx); // migration in shadow at 0 %: the adaptive book is compared, not served
    ctx.injected('POST /admin/chaos/fault {"pair":"BTCUSDT","kind":"diverge","everyNth":3}');
    await adaptiveFault(ctx, PAIR, 'diverge', { everyNth: 3 });
    await ctx.expectView(
      'tripped',
      {
        status: 'DEGRADED',
        alerts: [{ name: 'circuit_breaker_open', level: 2 }],
        breakers: [{ pair: PAIR, reason: 'divergence' }],
        metrics: [{ name: 'trading_circuit_breaker_open', labels: { pair: PAIR }, test: (v) => v === 1, describe: 'must be 1' }],
      },
      20_000,
    );
    ctx.tripped();
    await ctx.expectView('tripped', { script: 1 }, 30_000);
    const served = await probeOrder(ctx, 'chaos-probe', PAIR, 'while-open');
    ctx.check(served.ok, `the served (legacy) state must keep serving: probe answered ${served.code} ${served.details}`);
    await adaptiveFault(ctx, PAIR, 'none');
    ctx.mitigated('fault cleared, then POST /admin/circuit-breaker/reset/BTCUSDT (rebuilds the adaptive book from the served state, checks hashes)');
    await resetBreaker(ctx, PAIR);
    await ctx.expectHealthy('recovered', 30_000);
    ctx.check(load.progress().acknowledged > 0, 'the simulator kept trading');
  },
};
