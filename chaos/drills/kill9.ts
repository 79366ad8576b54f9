/**
 * Drill: kill -9 under simulator load.
 * Runbook thresholds: "Severity Levels → Level 1 (Critical): Complete trading outage" (while the process is
 * gone: /health unreachable → script exit 2); mitigation "Memory leak → Emergency mitigation: Restart
 * affected pods" / "kubectl rollout restart": the process is started again.
 * Expected: after the restart the service recovers from the journal (and snapshots) by itself → HEALTHY,
 * and every command acknowledged before the kill is there (ledger: nothing lost, nothing duplicated,
 * fills conserve, book not crossed), then trading continues on the recovered state.
 */
import type { Drill } from '../drill.ts';
import { baseline, DRILL_RATE, PAIR, probeOrder, SECOND_PAIR, sleep } from './common.ts';

export const drill: Drill = {
  name: 'kill9',
  threshold: 'runbook Level 1 (Critical) "Complete trading outage": /health unreachable → script exit 2',
  mitigation: 'runbook "Restart affected pods": start the process again (recovery from the PostgreSQL journal)',
  needs: { ownsProcess: true, env: { SNAPSHOT_EVERY_COMMANDS: '2000', SNAPSHOT_INTERVAL_MS: '0' } },
  async run(ctx) {
    const service = ctx.env.service;
    if (service === undefined) return ctx.fail('needs to own the service process');
    const load = await baseline(ctx);
    await sleep(2_000);
    ctx.injected(`kill -9 ${service.pid} under load (${load.progress().acknowledged} commands acknowledged so far)`);
    await service.kill9();
    await ctx.waitFor('the admin API is gone after kill -9', 5_000, async () => (await ctx.view.health()).httpStatus === 0);
    ctx.symptoms.push(`tripped: /health unreachable (connection refused)`);
    const script = await ctx.view.healthScript();
    ctx.check(script.code === 2, `health_check_comprehensive.sh must exit 2 while the process is gone, exited ${script.code}`);
    ctx.symptoms.push(`tripped: health_check_comprehensive.sh: exit ${script.code}`);
    ctx.tripped(Date.now());
    const first = await load.stop(); // in-flight commands are NO_ANSWER: fate unknown, never assumed
    ctx.figures['first_load'] = { acknowledged_orders: first.acked.length, commands: first.commands, errors: first.errorsByCode };

    ctx.mitigated('process restarted on the same ports (recovery from the journal and the latest snapshot)');
    const t0 = Date.now();
    await service.start();
    ctx.figures['restart_to_listening_ms'] = Date.now() - t0;
    await ctx.expectHealthy('recovered', 120_000);
    const recovery = (await ctx.view.getJson('/admin/persistence/status')).json?.recovery;
    ctx.figures['recovery'] = recovery;
    // Trading resumes on the recovered state (the runner checks the ledger of both runs).
    const second = await ctx.startLoad({ pairs: [PAIR, SECOND_PAIR], rate: DRILL_RATE, seed: 8, maxDurationMs: 120_000 });
    await ctx.waitFor('the simulator trades on the recovered state', 30_000, () => second.progress().acknowledged > 50);
    const p = await probeOrder(ctx, 'chaos-probe', PAIR, 'after-restart');
    ctx.check(p.ok, `probe order after the restart: ${p.code} ${p.details}`);
  },
};
