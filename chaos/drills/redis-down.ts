/**
 * Drill: Redis (sessions) unreachable.
 * Runbook thresholds: "Comprehensive Health Check, step 3: Redis connectivity failed → UNHEALTHY (exit 2)"
 * (the script's own check); the service itself reports DEGRADED: sessions already validated keep working
 * from its local cache for REDIS_OFFLINE_GRACE_MS (60 s), new logins fail.
 * Expected: /health 200 DEGRADED with dependency_degraded Level 2 naming redis; a session validated before
 * the outage still trades (probe order acknowledged, the simulator's agents keep getting acks); a new login
 * fails with UNAVAILABLE naming Redis; script exit 2 (its redis-cli ping fails); the proxy healed, the
 * service picks Redis up by itself → HEALTHY, script exit 0.
 */
import type { Drill } from '../drill.ts';
import { createApiKey } from '../probe-client.ts';
import { baseline, PAIR, probeOrder, sleep } from './common.ts';

export const drill: Drill = {
  name: 'redis-down',
  threshold: 'runbook "Comprehensive Health Check" step 3: Redis unreachable (script exit 2); service DEGRADED within REDIS_OFFLINE_GRACE_MS (60 s)',
  mitigation: 'none: the service reconnects by itself once Redis answers',
  needs: { redisProxy: true },
  async run(ctx) {
    const proxy = ctx.env.redisProxy;
    if (proxy === undefined) return ctx.fail('needs the Redis fault proxy');
    const load = await baseline(ctx);
    const warm = await probeOrder(ctx, 'chaos-probe', PAIR, 'before-outage'); // validates the probe's session
    ctx.check(warm.ok, `probe order before the outage: ${warm.code} ${warm.details}`);
    const key = await createApiKey(ctx.view.adminUrl, 'chaos-late-login');

    ctx.injected('fault proxy toxic down on Redis');
    proxy.add({ kind: 'down' });
    await ctx.expectView('tripped', { status: 'DEGRADED', alerts: [{ name: 'dependency_degraded', level: 2, dependency: 'redis' }] }, 30_000);
    ctx.tripped();
    const ackedAtTrip = load.progress().acknowledged;
    const during = await probeOrder(ctx, 'chaos-probe', PAIR, 'during-outage');
    ctx.check(during.ok, `a validated session must keep trading during the grace: ${during.code} ${during.details}`);
    ctx.symptoms.push(`validated session during the outage: SubmitOrder ${during.code}`);
    const { ProbeClient } = await import('../probe-client.ts');
    const late = new ProbeClient(ctx.env.grpcTarget, 'chaos-late-login');
    const login = await late.login(key);
    late.close();
    ctx.check(!login.ok && login.code === 'UNAVAILABLE' && /redis/i.test(login.details), `a new login during the outage must be UNAVAILABLE naming Redis, got ${login.code} ${login.details}`);
    ctx.symptoms.push(`new login during the outage: ${login.code}: ${login.details.slice(0, 160)}`);
    await ctx.expectView('tripped', { script: 2 }, 30_000);
    await sleep(1_000);
    ctx.check(load.progress().acknowledged > ackedAtTrip, 'the simulator\'s validated sessions kept getting acknowledgements during the outage');

    proxy.heal();
    ctx.mitigated('none needed: the proxy healed; the session store reconnects by itself');
    await ctx.expectHealthy('recovered', 60_000);
    const again = new ProbeClient(ctx.env.grpcTarget, 'chaos-late-login');
    const relogin = await again.login(key);
    again.close();
    ctx.check(relogin.ok, `login after recovery: ${relogin.code} ${relogin.details}`);
  },
};
