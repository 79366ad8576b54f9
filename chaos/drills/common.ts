/**
 * Steps most drills share: the load and its baseline (HEALTHY under load before anything is injected),
 * the chaos and mitigation calls, and the figures read back.
 */
import type { DrillContext } from '../drill.ts';
import type { LoadHandle } from '../load.ts';

export const PAIR = 'BTCUSDT';
export const SECOND_PAIR = 'ETHUSDT';

/** Offered load of the drills (commands/s over all agents): modest, the machine is 2 cores shared. */
export const DRILL_RATE = Number(process.env['CHAOS_RATE'] ?? 300);
/** How long the baseline runs under load before the fault. */
export const BASELINE_MS = Number(process.env['CHAOS_BASELINE_MS'] ?? 3_000);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the simulator and waits until it has acknowledged commands and the service is HEALTHY under it. */
export async function baseline(ctx: DrillContext, options: { pairs?: readonly string[]; rate?: number; seed?: number } = {}): Promise<LoadHandle> {
  const load = await ctx.startLoad({ pairs: options.pairs ?? [PAIR, SECOND_PAIR], rate: options.rate ?? DRILL_RATE, seed: options.seed ?? 7, maxDurationMs: 240_000 });
  await ctx.waitFor('the simulator acknowledged commands', 30_000, () => load.progress().acknowledged > 50);
  await sleep(BASELINE_MS);
  await ctx.expectView('baseline', { status: 'HEALTHY', breakersClosed: true }, 30_000);
  ctx.figures['baseline'] = { ...(await currentFigures(ctx)), acknowledged: load.progress().acknowledged };
  return load;
}

export async function currentFigures(ctx: DrillContext): Promise<{ latency_p95_ms: number; error_rate: number; commands: number }> {
  const c = (await ctx.view.getJson('/admin/metrics/current')).json ?? {};
  return { latency_p95_ms: c.latency_p95_ms, error_rate: c.error_rate, commands: c.commands };
}

export function adaptiveFault(ctx: DrillContext, pair: string, kind: 'throw' | 'diverge' | 'slow' | 'none', extra: { everyNth?: number; delayMs?: number } = {}): Promise<unknown> {
  return ctx.view.post('/admin/chaos/fault', { pair, kind, ...extra });
}

export function setPercentage(ctx: DrillContext, pair: string, percentage: number): Promise<unknown> {
  return ctx.view.post('/admin/migration/percentage', { pair, percentage });
}

export async function resetBreaker(ctx: DrillContext, pair: string): Promise<unknown> {
  return ctx.view.post(`/admin/circuit-breaker/reset/${pair}`, {});
}

/** A probe order on `pair` far from the market (rests, never trades): acknowledged means the pair serves. */
export async function probeOrder(ctx: DrillContext, account: string, pair: string, tag: string): Promise<{ ok: boolean; code: string; details: string }> {
  const probe = await ctx.env.probe(account);
  const cid = `${ctx.drill.name}-${tag}-${Date.now().toString(36)}`;
  const price = pair === PAIR ? '10.00' : '1.00';
  const r = await probe.submit(pair, 'buy', price, pair === PAIR ? '0.001' : '0.01', cid);
  if (r.ok) ctx.probeOrders.push({ pair, account, clientOrderId: cid, orderId: r.orderId });
  return r;
}
