/**
 * Drill: served-path latency above the runbook's budget.
 * Runbook thresholds: "Comprehensive Health Check, step 5: latency_p95_ms > 20 → DEGRADED"; "Troubleshooting →
 * Issue 1: Slow Order Processing: Latency P95 > 20ms"; mitigation "Scenario 1: High Latency Alert →
 * Temporary mitigation: Reduce migration percentage: POST /admin/migration/percentage {"pair": "all",
 * "percentage": 0}".
 * Set-up: the adaptive book serves 100 % of BTCUSDT and every 10th of its commands takes 30 ms; the breaker's
 * budget is raised (BREAKER_LATENCY_BUDGET_MS=1000) so it is the served p95, not the breaker, that the
 * operator faces. Expected: /health 200 DEGRADED with latency_p95_high, script exit 1; percentage 0 puts the
 * legacy book back on the served path and the served p95 falls under 20 ms → HEALTHY. The report quotes the
 * served p95 before and after (per implementation from /metrics trading_latency_p95, and overall).
 */
import type { Drill } from '../drill.ts';
import { OperatorView } from '../operator-view.ts';
import { adaptiveFault, baseline, currentFigures, PAIR, setPercentage } from './common.ts';

export const drill: Drill = {
  name: 'served-latency',
  threshold: 'runbook "Comprehensive Health Check" step 5 / "Issue 1: Slow Order Processing": Latency P95 > 20ms → DEGRADED',
  mitigation: 'runbook "Scenario 1: High Latency Alert": POST /admin/migration/percentage {"pair":"all","percentage":0}',
  needs: { env: { BREAKER_LATENCY_BUDGET_MS: '1000' } },
  async run(ctx) {
    await setPercentage(ctx, PAIR, 100);
    await baseline(ctx, { pairs: [PAIR], rate: 150 });
    ctx.injected('POST /admin/chaos/fault {"pair":"BTCUSDT","kind":"slow","everyNth":10,"delayMs":30} with the adaptive book serving 100 %');
    await adaptiveFault(ctx, PAIR, 'slow', { everyNth: 10, delayMs: 30 });
    await ctx.expectView(
      'tripped',
      {
        status: 'DEGRADED',
        alerts: [{ name: 'latency_p95_high' }],
        metrics: [{ name: 'trading_latency_p95', labels: { pair: PAIR, implementation: 'adaptive', role: 'served' }, test: (v) => (v ?? 0) > 0.02, describe: 'seconds, must be > 0.020' }],
      },
      40_000,
    );
    ctx.tripped();
    const before = await currentFigures(ctx);
    const m1 = await ctx.view.metrics();
    await ctx.expectView('tripped', { script: 1 }, 30_000);
    ctx.check((await ctx.view.breakers()).every((b) => !b.open), 'the breaker stays closed (budget raised): the served p95 is what trips');

    await setPercentage(ctx, 'all', 0);
    ctx.mitigated('POST /admin/migration/percentage {"pair":"all","percentage":0}');
    await ctx.expectView('mitigated', { metrics: [{ name: 'trading_latency_p95', labels: { pair: PAIR, implementation: 'legacy', role: 'served' }, test: (v) => v !== undefined && v < 0.02, describe: 'seconds, must be < 0.020' }] }, 30_000);
    await ctx.expectView('recovered', { status: 'HEALTHY', noAlerts: ['latency_p95_high'] }, 90_000);
    ctx.recovered();
    const after = await currentFigures(ctx);
    const m2 = await ctx.view.metrics();
    await ctx.expectView('recovered', { script: 0 }, 30_000);
    const p95 = (m: Map<string, number>, impl: string) => {
      const v = OperatorView.series(m, 'trading_latency_p95', { pair: PAIR, implementation: impl, role: 'served' });
      return v === undefined ? null : Math.round(v * 1e6) / 1e3;
    };
    ctx.figures['served_p95_ms'] = {
      before_mitigation: { overall: before.latency_p95_ms, adaptive_served: p95(m1, 'adaptive'), legacy_served: p95(m1, 'legacy') },
      after_mitigation: { overall: after.latency_p95_ms, adaptive_served: p95(m2, 'adaptive'), legacy_served: p95(m2, 'legacy') },
    };
    await adaptiveFault(ctx, PAIR, 'none');
  },
};
