// Every breaker transition and migration change gets its own structured log line (issue 10 "Logs"): a
// chaos fault trips SOLUSDT's breaker on the real hot path, the reset closes it, activate-all opens every
// breaker, a percentage change moves the migration — each line carries pair, event and reason. The logger
// is captured from an in-process TradingService; the service acts after the reply, so the test polls.
import { credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradingService } from '../server/adapters/trading-service.ts';
import { OrdersServiceClient } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { loadConfig } from '../server/config.ts';
import { adminApiKeys, limitOrder, loginThrough, unary } from './grpc-harness.ts';

interface Line {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}
const lines: Line[] = [];
const capture = {
  info: (message: string, fields: Record<string, unknown> = {}) => lines.push({ level: 'info', message, fields }),
  warn: (message: string, fields: Record<string, unknown> = {}) => lines.push({ level: 'warn', message, fields }),
  error: (message: string, _err?: unknown, fields: Record<string, unknown> = {}) => lines.push({ level: 'error', message, fields }),
};
const events = (event: string, pair?: string) => lines.filter((l) => l.fields['event'] === event && (pair === undefined || l.fields['pair'] === pair));

let service: TradingService;
let base: string;
let orders: OrdersServiceClient;
const post = async (path: string, body?: string) => {
  const res = await fetch(`${base}${path}`, { method: 'POST', body });
  return { status: res.status, json: (await res.json()) as any };
};
async function eventually(check: () => boolean, tries = 300): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not reached');
}

beforeAll(async () => {
  service = new TradingService(loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', CHAOS_ENABLED: 'true' }), { logger: capture });
  const ports = await service.start();
  base = `http://127.0.0.1:${ports.adminPort}`;
  orders = new OrdersServiceClient(`127.0.0.1:${ports.grpcPort}`, credentials.createInsecure());
  loginThrough({ address: `127.0.0.1:${ports.grpcPort}`, createApiKey: adminApiKeys(base) });
});

afterAll(async () => {
  orders?.close();
  await service?.stop(1_000);
});

describe('control-plane transition log lines', () => {
  it('start-up logs no transition lines (pair creation is not a transition)', () => {
    expect(lines.filter((l) => ['circuit_breaker_opened', 'circuit_breaker_reset', 'migration_changed'].includes(String(l.fields['event'])))).toEqual([]);
  });

  it('a chaos fault trips the breaker: one "opened" line with reason and detail; the reset: one "reset" line', async () => {
    expect((await post('/admin/chaos/fault', JSON.stringify({ pair: 'SOLUSDT', kind: 'throw' }))).status).toBe(200);
    await unary(orders.submitOrder.bind(orders), limitOrder('buy', '10.00', '0.01', { pair: 'SOLUSDT', clientOrderId: 'log-1' }), 'alice');
    await eventually(() => events('circuit_breaker_opened', 'SOLUSDT').length > 0);
    const opened = events('circuit_breaker_opened', 'SOLUSDT');
    expect(opened).toHaveLength(1);
    expect(opened[0]!.level).toBe('warn');
    expect(opened[0]!.fields).toMatchObject({ event: 'circuit_breaker_opened', pair: 'SOLUSDT', reason: 'adaptive_error' });
    expect(String(opened[0]!.fields['detail'])).not.toBe('');
    expect(opened[0]!.message).toMatch(/^circuit breaker SOLUSDT opened: adaptive_error: /);

    await post('/admin/chaos/fault', JSON.stringify({ pair: 'SOLUSDT', kind: 'none' }));
    expect((await post('/admin/circuit-breaker/reset/SOLUSDT')).status).toBe(200);
    const reset = events('circuit_breaker_reset', 'SOLUSDT');
    expect(reset).toHaveLength(1);
    expect(reset[0]!.fields).toMatchObject({ event: 'circuit_breaker_reset', pair: 'SOLUSDT', reason: 'adaptive_error' });
    expect(typeof reset[0]!.fields['by']).toBe('string');
    // Logged once each, not again on the next ticks.
    await new Promise((r) => setTimeout(r, 1_100));
    expect(events('circuit_breaker_opened', 'SOLUSDT')).toHaveLength(1);
    expect(events('circuit_breaker_reset', 'SOLUSDT')).toHaveLength(1);
  });

  it('activate-all: one line naming every pair, and an "opened" line per pair with reason operator; reset-all: a "reset" line per pair', async () => {
    const r = await post('/admin/circuit-breaker/activate-all');
    expect(r.status).toBe(200);
    const all = events('circuit_breakers_activate_all');
    expect(all).toHaveLength(1);
    expect(all[0]!.fields).toMatchObject({ pair: 'all', reason: 'operator', pairs: ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'] });
    for (const pair of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']) expect(events('circuit_breaker_opened', pair).at(-1)!.fields).toMatchObject({ reason: 'operator' });
    expect((await post('/admin/circuit-breaker/reset-all')).status).toBe(200);
    for (const pair of ['BTCUSDT', 'ETHUSDT']) expect(events('circuit_breaker_reset', pair)).toEqual([expect.objectContaining({ fields: expect.objectContaining({ reason: 'operator' }) })]);
    expect(events('circuit_breaker_reset', 'SOLUSDT')).toHaveLength(2);
  });

  it('a percentage change: one migration line with from/to percentage, cause and reason', async () => {
    expect((await post('/admin/migration/percentage', JSON.stringify({ pair: 'ETHUSDT', percentage: 25, reason: 'canary' }))).status).toBe(200);
    const m = events('migration_changed', 'ETHUSDT');
    expect(m).toHaveLength(1);
    expect(m[0]!.fields).toMatchObject({ pair: 'ETHUSDT', reason: 'canary', cause: 'manual', from_percentage: 0, to_percentage: 25 });
    expect(m[0]!.message).toMatch(/migration ETHUSDT: shadow 0 % → \w+ 25 % \(manual: canary\)/);
  });
});
