/**
 * Drill: the service fails more than 1 % of commands.
 * Runbook thresholds: "Comprehensive Health Check, step 6: error_rate > 0.01 → DEGRADED"; investigation
 * "Scenario 2 → Check error rates and types: GET /admin/errors/summary".
 * Fault: every 20th command on every pair is refused with UNAVAILABLE before it is applied (the chaos
 * refusal seam sits where a PostgreSQL outage refuses commands). Expected: error_rate_high Level 2, /health
 * 200 DEGRADED, trading_errors_total{kind="unavailable"} rising, script exit 1; the cause removed, the
 * error rate over the last minute falls under 1 % → HEALTHY.
 */
import type { Drill } from '../drill.ts';
import { baseline, currentFigures, PAIR } from './common.ts';

export const drill: Drill = {
  name: 'error-rate',
  threshold: 'runbook "Comprehensive Health Check" step 6: error_rate > 0.01 → DEGRADED (exit 1)',
  mitigation: 'runbook "Scenario 2": GET /admin/errors/summary names the failing dependency; remove the cause (POST /admin/chaos/refusals everyNth 0)',
  needs: {},
  async run(ctx) {
    const load = await baseline(ctx);
    ctx.injected('POST /admin/chaos/refusals {"pair":"all","everyNth":20}');
    await ctx.view.post('/admin/chaos/refusals', { pair: 'all', everyNth: 20 });
    await ctx.expectView(
      'tripped',
      {
        status: 'DEGRADED',
        alerts: [{ name: 'error_rate_high', level: 2 }],
        metrics: [{ name: 'trading_errors_total', labels: { pair: PAIR, kind: 'unavailable' }, test: (v) => (v ?? 0) > 0, describe: 'must be > 0' }],
      },
      30_000,
    );
    ctx.tripped();
    ctx.figures['at_trip'] = await currentFigures(ctx);
    await ctx.expectView('tripped', { script: 1 }, 30_000);
    const summary = (await ctx.view.getJson('/admin/errors/summary')).json;
    ctx.symptoms.push(`/admin/errors/summary: ${JSON.stringify(summary).slice(0, 300)}`);
    await ctx.view.post('/admin/chaos/refusals', { pair: 'all', everyNth: 0 });
    ctx.mitigated('cause removed (POST /admin/chaos/refusals {"pair":"all","everyNth":0}); the 1-minute error rate decays under load');
    await ctx.expectHealthy('recovered', 90_000);
    ctx.figures['at_recovery'] = await currentFigures(ctx);
    ctx.check(load.progress().acknowledged > 0, 'the simulator kept trading');
  },
};
