/**
 * Drill: an event-loop stall (synchronous bursts of work on the service's one JavaScript thread).
 * Runbook thresholds: "Issue 1: Slow Order Processing: Latency P95 > 20ms" / "Comprehensive Health Check"
 * step 5 → DEGRADED; "Scenario 1: High Latency Alert". Every command waits for the thread, so the service
 * counts a stalled loop's delay (p90 of the live window > 500 ms with the loop busy) as a floor of its latency.
 * Fault: POST /admin/chaos/stall {"ms":800,"bursts":25,"gapMs":10}. Expected: latency_p95_high, /health
 * 200 DEGRADED, trading_event_loop_delay_seconds{quantile="max"} > 0.5; the bursts over, the alert resolves
 * by itself within one event-loop window (10 s) → HEALTHY.
 */
import type { Drill } from '../drill.ts';
import { baseline } from './common.ts';

export const drill: Drill = {
  name: 'event-loop-stall',
  threshold: 'runbook "Issue 1: Slow Order Processing": Latency P95 > 20ms → DEGRADED (latency alert)',
  mitigation: 'none beyond "Scenario 1" investigation (/admin/system/resources event_loop, /debug/pprof/mutex): the burst ends, the loop recovers by itself',
  needs: {},
  async run(ctx) {
    const load = await baseline(ctx);
    ctx.injected('POST /admin/chaos/stall {"ms":800,"bursts":25,"gapMs":10}');
    await ctx.view.post('/admin/chaos/stall', { ms: 800, bursts: 25, gapMs: 10 });
    await ctx.expectView('tripped', { status: 'DEGRADED', alerts: [{ name: 'latency_p95_high' }] }, 30_000);
    ctx.tripped();
    await ctx.expectView('tripped', { script: 1 }, 8_000);
    ctx.figures['health_at_trip'] = (await ctx.view.health()).body?.service;
    await ctx.expectView('tripped', { metrics: [{ name: 'trading_event_loop_delay_seconds', labels: { quantile: 'max' }, test: (v) => (v ?? 0) > 0.5, describe: 'must be > 0.5 s' }] }, 30_000);
    await ctx.waitFor('the stall ends', 30_000, async () => (await ctx.view.getJson('/admin/chaos/stall')).json?.active === false);
    ctx.mitigated('none: the bursts ended');
    await ctx.expectHealthy('recovered', 40_000);
    ctx.figures['event_loop'] = (await ctx.view.getJson('/admin/system/resources')).json?.event_loop;
    ctx.check(load.progress().acknowledged > 0, 'the simulator kept trading');
  },
};
