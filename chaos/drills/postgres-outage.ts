/**
 * The PostgreSQL outage steps shared by postgres-down.ts, postgres-slow.ts and postgres-blackhole.ts
 * (through the fault proxy; Toxiproxy's toxics `down`, `latency`+jitter, `timeout`).
 * Runbook thresholds: "Comprehensive Health Check, step 1/2: the service health endpoint or the database
 * connectivity failing → UNHEALTHY (exit 2)"; "Severity Levels → Level 1 (Critical): Complete trading
 * outage"; "Issue 3: Database Connection Issues: Connection timeouts, Database unavailability".
 * Expected: /health 503 UNHEALTHY with dependency_down Level 1 naming postgresql, a new order refused with
 * UNAVAILABLE naming PostgreSQL (nothing applied), script exit 2; the proxy healed, the service resumes by
 * itself (dependency_down resolved, /health 200, orders acknowledged again) and nothing acknowledged is lost.
 * The refused commands stay in the one-minute error rate for a while after the resume (error_rate_high,
 * DEGRADED): that is recorded, not waited out.
 */
import type { DrillContext } from '../drill.ts';
import type { Toxic } from '../fault-proxy.ts';
import { baseline, PAIR, probeOrder } from './common.ts';

export async function outage(ctx: DrillContext, toxic: Toxic, label: string): Promise<void> {
  const proxy = ctx.env.postgresProxy;
  if (proxy === undefined) return ctx.fail('needs the PostgreSQL fault proxy');
  const load = await baseline(ctx);
  ctx.injected(`fault proxy toxic ${JSON.stringify(toxic)} (${label})`);
  proxy.add(toxic);
  await ctx.expectView(
    'tripped',
    {
      status: 'UNHEALTHY',
      alerts: [{ name: 'dependency_down', level: 1, dependency: 'postgresql' }],
    },
    30_000,
  );
  ctx.tripped();
  const refused = await probeOrder(ctx, 'chaos-probe', PAIR, 'during-outage');
  ctx.check(!refused.ok && refused.code === 'UNAVAILABLE' && /postgres/i.test(refused.details), `a new order during the outage must be UNAVAILABLE naming PostgreSQL, got ${refused.code} ${refused.details}`);
  ctx.symptoms.push(`gRPC SubmitOrder during the outage: ${refused.code}: ${refused.details.slice(0, 160)}`);
  await ctx.expectView('tripped', { script: 2 }, 30_000);
  const during = load.progress().acknowledged;

  proxy.heal();
  ctx.mitigated('none needed: the proxy healed (PostgreSQL reachable again); the service resumes by itself');
  await ctx.expectView('resumed', { noAlerts: ['dependency_down'] }, 60_000);
  const h = await ctx.view.health();
  ctx.check(h.httpStatus === 200 && h.status !== 'UNHEALTHY', `after the resume /health must be 200 and not UNHEALTHY, is ${h.httpStatus} ${h.status}`);
  const again = await ctx.waitFor('orders acknowledged again', 30_000, async () => {
    const r = await probeOrder(ctx, 'chaos-probe', PAIR, 'after-outage');
    return r.ok ? r : undefined;
  });
  ctx.recovered();
  ctx.symptoms.push(`after the resume: /health ${h.httpStatus} ${h.status} (${h.alerts.map((a) => `${a.name}/${a.level}`).join(', ') || 'no alerts'}); probe order ${again.code}`);
  await ctx.waitFor('the simulator trades again', 30_000, () => load.progress().acknowledged > during);
  const script = await ctx.view.healthScript();
  ctx.check(script.code === 0 || script.code === 1, `after the resume health_check_comprehensive.sh must not say UNHEALTHY, exited ${script.code}`);
  ctx.symptoms.push(`after the resume: health_check_comprehensive.sh exit ${script.code}${script.code === 1 ? ' (the refused commands are still in the 1-minute error rate)' : ''}`);
}

