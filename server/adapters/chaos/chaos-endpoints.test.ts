// The chaos endpoints of the real TradingService (in-process, in-memory journal, header auth): absent
// (404) without CHAOS_ENABLED; every bad input is a 400 naming the field and changes nothing; the memory
// ballast is real resident memory, capped by CHAOS_MAX_BALLAST_MIB and given back on release; the stall
// really holds the thread (bounded, one at a time) and raises the latency alert; refusals are UNAVAILABLE
// with nothing applied and count in the error rate (DEGRADED with error_rate_high).
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import { OrdersServiceClient } from '../grpc/generated/trading/v1/orders.ts';
import { TradingService } from '../trading-service.ts';
import { limitOrder } from '../../../test/grpc-harness.ts';

const quiet = { info: () => {}, error: () => {} };
const base = { GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', AUTH_MODE: 'header', PERSISTENCE: 'memory' };

async function startService(env: Record<string, string>): Promise<{ service: TradingService; admin: string; grpc: string }> {
  const service = new TradingService(loadConfig({ ...base, ...env }), { logger: quiet });
  const ports = await service.start();
  return { service, admin: `http://127.0.0.1:${ports.adminPort}`, grpc: `127.0.0.1:${ports.grpcPort}` };
}

async function call(admin: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${admin}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

async function eventually<T>(check: () => Promise<T | undefined | false>, tries = 200): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached');
}

describe('chaos endpoints without CHAOS_ENABLED', () => {
  it('answer 404: none of them exists', async () => {
    const { service, admin } = await startService({});
    try {
      for (const path of ['/admin/chaos/fault', '/admin/chaos/memory', '/admin/chaos/stall', '/admin/chaos/refusals']) {
        expect((await call(admin, 'GET', path)).status).toBe(404);
        expect((await call(admin, 'POST', path, {})).status).toBe(404);
      }
    } finally {
      await service.stop(0);
    }
  });
});

describe('chaos endpoints with CHAOS_ENABLED', () => {
  let service: TradingService;
  let admin: string;
  let orders: OrdersServiceClient;

  beforeAll(async () => {
    const s = await startService({ CHAOS_ENABLED: '1', CHAOS_MAX_BALLAST_MIB: '256' });
    service = s.service;
    admin = s.admin;
    orders = new OrdersServiceClient(s.grpc, credentials.createInsecure());
  });
  afterAll(async () => {
    orders?.close();
    await service?.stop(0);
  });

  it('memory: bad input is a 400 naming the field, nothing held', async () => {
    for (const [body, field] of [
      [{ mib: 257 }, 'mib'],
      [{ mib: -1 }, 'mib'],
      [{ mib: 1.5 }, 'mib'],
      [{ mib: '64' }, 'mib'],
      [{}, 'mib'],
      [{ mib: 1, extra: true }, 'extra'],
    ] as const) {
      const r = await call(admin, 'POST', '/admin/chaos/memory', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(r.json)).toContain(field);
    }
    expect((await call(admin, 'GET', '/admin/chaos/memory')).json).toMatchObject({ held_mib: 0, max_mib: 256 });
  });

  it('memory: the ballast is resident (RSS grows by it) and released on {mib: 0} (RSS falls back)', async () => {
    const before = (await call(admin, 'GET', '/admin/chaos/memory')).json.rss_mib as number;
    const held = await call(admin, 'POST', '/admin/chaos/memory', { mib: 192 });
    expect(held.status).toBe(200);
    expect(held.json).toMatchObject({ held_mib: 192, target_mib: 192, changing: false });
    expect(held.json.rss_mib).toBeGreaterThan(before + 150);
    const res = (await call(admin, 'GET', '/admin/system/resources')).json;
    expect(res.memory.rss_mib).toBeGreaterThan(before + 150);
    const released = await call(admin, 'POST', '/admin/chaos/memory', { mib: 0 });
    expect(released.json.held_mib).toBe(0);
    expect(released.json.rss_mib).toBeLessThan(held.json.rss_mib - 150);
  });

  it('stall: bounded input, one at a time, really holds the thread, raises the latency alert and ends', async () => {
    for (const [body, field] of [
      [{ ms: 0 }, 'ms'],
      [{ ms: 2001 }, 'ms'],
      [{ ms: 10, bursts: 201 }, 'bursts'],
      [{ ms: 10, gapMs: 10_001 }, 'gapMs'],
      [{ ms: 10, stop: false }, 'stop'],
      [{ ms: 10, what: 1 }, 'what'],
    ] as const) {
      const r = await call(admin, 'POST', '/admin/chaos/stall', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(r.json)).toContain(field);
    }
    // A fresh event-loop window (what the service's 10 s timer does), so the window is the stall's.
    service.eventLoop.sample();
    const started = await call(admin, 'POST', '/admin/chaos/stall', { ms: 700, bursts: 5, gapMs: 5 });
    expect(started.status).toBe(202);
    expect(started.json).toMatchObject({ active: true, ms: 700, bursts: 5, gapMs: 5 });
    expect((await call(admin, 'POST', '/admin/chaos/stall', { ms: 10 })).status).toBe(409);
    const alert = await eventually(async () => {
      const h = (await call(admin, 'GET', '/health')).json;
      return h.alerts.find((a: any) => a.name === 'latency_p95_high');
    });
    expect(alert.value).toBeGreaterThan(500);
    await eventually(async () => (await call(admin, 'GET', '/admin/chaos/stall')).json.active === false);
    expect((await call(admin, 'GET', '/admin/chaos/stall')).json.bursts_done).toBe(5);
    expect(service.eventLoop.stats().current.delay_max_ms).toBeGreaterThan(500);
    // A stop ends a running stall early.
    await call(admin, 'POST', '/admin/chaos/stall', { ms: 20, bursts: 200, gapMs: 50 });
    const stopped = await call(admin, 'POST', '/admin/chaos/stall', { stop: true });
    expect(stopped.json.active).toBe(false);
  });

  it('refusals: bad input is a 400; every Nth command is UNAVAILABLE with nothing applied and counts in the error rate', async () => {
    expect((await call(admin, 'POST', '/admin/chaos/refusals', { pair: 'NOPE', everyNth: 2 })).status).toBe(400);
    expect((await call(admin, 'POST', '/admin/chaos/refusals', { pair: 'BTCUSDT', everyNth: -1 })).status).toBe(400);
    expect((await call(admin, 'POST', '/admin/chaos/refusals', { pair: 'BTCUSDT' })).status).toBe(400);
    expect((await call(admin, 'GET', '/admin/chaos/refusals')).json).toEqual([]);

    expect((await call(admin, 'POST', '/admin/chaos/refusals', { pair: 'BTCUSDT', everyNth: 2 })).status).toBe(200);
    const md = new Metadata();
    md.set('x-account-id', 'chaos-test');
    const submit = (cid: string) =>
      new Promise<{ ok: boolean; err?: ServiceError }>((ok) =>
        orders.submitOrder(limitOrder('buy', '10.00', '0.001', { clientOrderId: cid }), md, (err) => ok(err ? { ok: false, err } : { ok: true })),
      );
    const results = [];
    for (let i = 0; i < 10; i++) results.push(await submit(`refusal-${i}`));
    const refused = results.filter((r) => !r.ok);
    expect(refused).toHaveLength(5);
    for (const r of refused) expect(r.err!.details).toMatch(/injected refusal .*nothing was applied/);
    expect(service.pairs.get('BTCUSDT')!.lastCommandSequence).toBe(5);
    const current = (await call(admin, 'GET', '/admin/metrics/current')).json;
    expect(current).toMatchObject({ commands: 10, errors: 5, error_rate: 0.5 });
    const health = (await call(admin, 'GET', '/health')).json;
    expect(health.status).toBe('DEGRADED');
    expect(health.alerts.find((a: any) => a.name === 'error_rate_high')).toMatchObject({ level: 2 });

    await call(admin, 'POST', '/admin/chaos/refusals', { pair: 'all', everyNth: 0 });
    for (let i = 0; i < 4; i++) expect((await submit(`after-${i}`)).ok).toBe(true);
  });
});
