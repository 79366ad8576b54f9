// The running service end to end: halt and maintenance refuse new orders and replaces with UNAVAILABLE over
// a real grpc-js client while cancels keep working; activate-all, reset/PAIR and chaos faults injected
// through the admin endpoint move the breakers through the real manager path while orders keep succeeding.
// No timing assertions: where the service acts after the reply (the shadow drain), the test polls.
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TradingService } from '../server/adapters/trading-service.ts';
import { OrdersServiceClient, type SubmitOrderBatchResponse, type SubmitOrderResponse } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { loadConfig } from '../server/config.ts';
import { adminApiKeys, failure, limitOrder, loginThrough, unary } from './grpc-harness.ts';

const quiet = { info: () => {}, error: () => {} };
let service: TradingService;
let base: string;
let orders: OrdersServiceClient;

const post = async (path: string, body?: string) => {
  const res = await fetch(`${base}${path}`, { method: 'POST', body });
  return { status: res.status, json: (await res.json()) as any };
};
const get = async (path: string) => {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, json: (await res.json()) as any };
};

let seq = 0;
const submit = (pair = 'BTCUSDT', side: 'buy' | 'sell' = 'buy', price = '100.00') =>
  unary<any, SubmitOrderResponse>(orders.submitOrder.bind(orders), limitOrder(side, price, '0.01', { pair, clientOrderId: `c${++seq}` }), 'alice');
const cancel = (pair: string, orderId: string) => unary(orders.cancelOrder.bind(orders), { pair, order: { $case: 'orderId', value: orderId } }, 'alice');
const replace = (pair: string, orderId: string) => unary(orders.replaceOrder.bind(orders), { pair, order: { $case: 'orderId', value: orderId }, price: '99.00', quantity: '' }, 'alice');

/** Polls until `check` holds (the shadow drain runs after the reply); fails after `tries` rounds. */
async function eventually(check: () => Promise<boolean> | boolean, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not reached');
}

const breaker = async (pair: string) => (await get('/admin/circuit-breaker/status')).json.find((b: any) => b.pair === pair);

beforeAll(async () => {
  service = new TradingService(
    loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', CHAOS_ENABLED: 'true', BREAKER_LATENCY_BUDGET_MS: '1', RAMP_HOLD_MS: '1' }),
    { logger: quiet },
  );
  const ports = await service.start();
  base = `http://127.0.0.1:${ports.adminPort}`;
  orders = new OrdersServiceClient(`127.0.0.1:${ports.grpcPort}`, credentials.createInsecure());
  loginThrough({ address: `127.0.0.1:${ports.grpcPort}`, createApiKey: adminApiKeys(base) });
});

afterAll(async () => {
  orders?.close();
  await service?.stop(1_000);
});

describe('halt and maintenance', () => {
  for (const [mode, on, off, message] of [
    ['halt', '/admin/trading/halt', '/admin/trading/resume', /trading halted by operator since \d{4}-\d\d-\d\dT/],
    ['maintenance', '/admin/maintenance/enable', '/admin/maintenance/disable', /maintenance mode since \d{4}-\d\d-\d\dT/],
  ] as const) {
    it(`${mode}: submit, replace and batch items get UNAVAILABLE with a clear message; cancel works; ${off} restores submits`, async () => {
      const resting = await submit('ETHUSDT', 'buy', '10.00');
      const other = await submit('ETHUSDT', 'buy', '11.00');
      const r = await post(on);
      expect(r.status).toBe(200);
      expect(r.json.accepting_new_orders).toBe(false);

      const refused = await failure(submit('ETHUSDT'));
      expect(refused.code).toBe(status.UNAVAILABLE);
      expect(refused.details).toMatch(message);
      const replaced = await failure(replace('ETHUSDT', resting.order!.orderId));
      expect(replaced.code).toBe(status.UNAVAILABLE);
      const batch = await unary<any, SubmitOrderBatchResponse>(orders.submitOrderBatch.bind(orders), { orders: [limitOrder('buy', '1.00', '0.001', { pair: 'SOLUSDT' })] }, 'alice');
      expect(batch.results[0]!.error).toMatchObject({ code: status.UNAVAILABLE });
      expect(batch.results[0]!.error!.message).toMatch(message);

      const cancelled: any = await cancel('ETHUSDT', resting.order!.orderId);
      expect(cancelled.order.status).toBeDefined();
      const all: any = await unary(orders.cancelAllOrders.bind(orders), { pair: 'ETHUSDT', side: 0 }, 'alice');
      expect(all.orders.map((o: any) => o.orderId)).toContain(other.order!.orderId);

      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200); // DEGRADED, so emergency_resume.sh's curl -f passes
      const body = (await health.json()) as any;
      expect(body.status).toBe('DEGRADED');
      expect(body.alerts.map((a: any) => a.name)).toContain(mode === 'halt' ? 'trading_halted' : 'maintenance_mode');

      expect((await post(off)).json.accepting_new_orders).toBe(true);
      const after = await submit('ETHUSDT');
      expect(after.order!.orderId).not.toBe('');
      expect((await get('/health')).json.status).toBe('HEALTHY');
      await unary(orders.cancelAllOrders.bind(orders), { pair: 'ETHUSDT', side: 0 }, 'alice');
    });
  }
});

describe('circuit breakers from the admin API', () => {
  afterEach(async () => {
    await post('/admin/circuit-breaker/reset-all');
  });

  it('activate-all opens every breaker, /health is DEGRADED (200) with a critical alert, trading continues; reset/PAIR closes one and dual-runs again', async () => {
    const tripsBefore = await breakerTripErrors();
    const r = await post('/admin/circuit-breaker/activate-all');
    expect(r.json.opened).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
    // An operator action, not an error: neither the error summary nor trading_errors_total{kind="breaker_trip"} moves.
    expect(await breakerTripErrors()).toEqual(tripsBefore);
    const statuses = (await get('/admin/circuit-breaker/status')).json;
    expect(statuses.every((b: any) => b.open === true && b.reason === 'operator')).toBe(true);
    for (const m of service.managers.values()) expect(m.books).toMatchObject({ legacy: true, adaptive: false });

    const health = await get('/health');
    expect(health.status).toBe(200);
    expect(health.json.status).toBe('DEGRADED');
    expect(health.json.alerts.find((a: any) => a.name === 'circuit_breaker_open')).toMatchObject({ level: 1, severity: 'critical' });
    const placed = await submit('BTCUSDT');
    expect(placed.order!.orderId).not.toBe('');

    const reset = await post('/admin/circuit-breaker/reset/BTCUSDT');
    expect(reset.status).toBe(200);
    expect(reset.json.status).toMatchObject({ pair: 'BTCUSDT', open: false });
    expect(service.managers.get('BTCUSDT')!.books).toMatchObject({ legacy: true, adaptive: true });
    expect(service.managers.get('BTCUSDT')!.implementation).toBe('legacy+adaptive');
    expect((await breaker('ETHUSDT')).open).toBe(true);
    const history = (await get('/admin/circuit-breaker/history')).json.last_24h;
    expect(history.filter((e: any) => e.event === 'open').length).toBeGreaterThanOrEqual(3);
    expect(history.some((e: any) => e.event === 'reset' && e.pair === 'BTCUSDT' && e.by === 'admin-api')).toBe(true);
    await cancel('BTCUSDT', placed.order!.orderId);
  });

  it('reset-all closes every open breaker after rebuilding', async () => {
    await post('/admin/circuit-breaker/activate-all');
    const r = await post('/admin/circuit-breaker/reset-all');
    expect(r.status).toBe(200);
    expect(r.json.reset).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
    expect((await get('/admin/circuit-breaker/status')).json.every((b: any) => b.open === false)).toBe(true);
  });
});

describe('chaos faults through POST /admin/chaos/fault trip the breaker through the real path', () => {
  afterEach(async () => {
    for (const pair of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']) await post('/admin/chaos/fault', JSON.stringify({ pair, kind: 'none' }));
    await post('/admin/circuit-breaker/reset-all');
    for (const pair of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']) await unary(orders.cancelAllOrders.bind(orders), { pair, side: 0 }, 'alice');
  });

  for (const [kind, extra, reason, ordersNeeded] of [
    ['throw', {}, 'adaptive_error', 1],
    ['diverge', {}, 'divergence', 1],
    ['slow', { delayMs: 3 }, 'latency', 60], // budget 1 ms, 50 samples before latency is judged
  ] as const) {
    it(`${kind}: the pair's breaker opens with reason ${reason}; orders on it and on other pairs keep succeeding`, async () => {
      const set = await post('/admin/chaos/fault', JSON.stringify({ pair: 'SOLUSDT', kind, ...extra }));
      expect(set.status).toBe(200);
      expect(set.json).toMatchObject({ pair: 'SOLUSDT', kind });
      for (let i = 0; i < ordersNeeded; i++) {
        const r = await submit('SOLUSDT', i % 2 === 0 ? 'buy' : 'sell', i % 2 === 0 ? '10.00' : '20.00');
        expect(r.order!.orderId).not.toBe('');
      }
      await eventually(async () => (await breaker('SOLUSDT')).open === true);
      expect((await breaker('SOLUSDT')).reason).toBe(reason);
      expect((await breaker('BTCUSDT')).open).toBe(false);
      expect(service.managers.get('SOLUSDT')!.books.adaptive).toBe(false);
      expect((await submit('SOLUSDT')).order!.orderId).not.toBe('');
      expect((await submit('BTCUSDT')).order!.orderId).not.toBe('');
      const errors = (await get('/admin/errors/summary')).json;
      expect(errors.last_24h.by_kind.breaker_trip).toBeGreaterThan(0);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/^trading_circuit_breaker_open\{pair="SOLUSDT"\} 1$/m);
      // Fault cleared, the reset rebuilds the adaptive book from the served state and dual-runs again.
      await post('/admin/chaos/fault', JSON.stringify({ pair: 'SOLUSDT', kind: 'none' }));
      expect((await post('/admin/circuit-breaker/reset/SOLUSDT')).status).toBe(200);
      expect(service.managers.get('SOLUSDT')!.books).toMatchObject({ legacy: true, adaptive: true });
      const hashes = service.managers.get('SOLUSDT')!.stateHashes();
      expect(hashes.adaptive).toBe(hashes.legacy);
    });
  }

  it('reset/PAIR and reset-all while a fault is still armed say so (fault_armed, warning); after clearing it they do not', async () => {
    const tripsBefore = await breakerTripErrors();
    await post('/admin/chaos/fault', JSON.stringify({ pair: 'SOLUSDT', kind: 'throw' }));
    expect((await submit('SOLUSDT', 'buy', '10.00')).order!.orderId).not.toBe('');
    await eventually(async () => (await breaker('SOLUSDT')).open === true);
    // A real trip is an error (the contrast to activate-all above).
    expect((await breakerTripErrors()).summary).toBeGreaterThan(tripsBefore.summary);
    expect((await breakerTripErrors()).metric).toBeGreaterThan(tripsBefore.metric);

    const reset = await post('/admin/circuit-breaker/reset/SOLUSDT');
    expect(reset.status).toBe(200);
    expect(reset.json.fault_armed).toEqual({ kind: 'throw', everyNth: 1, delayMs: 50 });
    expect(reset.json.warning).toMatch(/chaos fault throw is still armed on SOLUSDT: the breaker will trip again.*"kind": "none"/);

    expect((await submit('SOLUSDT', 'buy', '10.00')).order!.orderId).not.toBe('');
    await eventually(async () => (await breaker('SOLUSDT')).open === true);
    const all = await post('/admin/circuit-breaker/reset-all');
    expect(all.json.reset).toEqual(['SOLUSDT']);
    expect(all.json.fault_armed).toEqual([{ pair: 'SOLUSDT', kind: 'throw', everyNth: 1, delayMs: 50 }]);
    expect(all.json.warning).toMatch(/SOLUSDT \(throw\)/);

    await post('/admin/chaos/fault', JSON.stringify({ pair: 'SOLUSDT', kind: 'none' }));
    await post('/admin/circuit-breaker/activate-all');
    const clean = await post('/admin/circuit-breaker/reset/SOLUSDT');
    expect(clean.status).toBe(200);
    expect(clean.json.fault_armed).toBeUndefined();
    expect(clean.json.warning).toBeUndefined();
  });

  it('bad fault input is 400 and sets nothing', async () => {
    for (const body of ['{"pair": "SOLUSDT", "kind": "explode"}', '{"pair": "SOLUSDT", "kind": "throw", "everyNth": 0}', '{"pair": "NOPE", "kind": "throw"}', '{"pair": "SOLUSDT", "kind": "slow", "delayMs": -5}']) {
      const r = await post('/admin/chaos/fault', body);
      expect(r.status).toBe(400);
      expect(typeof r.json.field).toBe('string');
    }
    expect(service.faults.get('SOLUSDT')!.current.kind).toBe('none');
  });
});

describe('automatic ramp driven by the service timer and measured gates', () => {
  it('advances while the gates pass and rolls back by itself when the breaker opens', async () => {
    const started = await post('/admin/migration/ramp', '{"pair": "ETHUSDT", "steps": [50, 100]}');
    expect(started.json.status.current_percentage).toBe(50);
    await submit('ETHUSDT', 'buy', '10.00');
    await eventually(() => service.migration.statusOf('ETHUSDT').current_percentage === 100 || (service.tickRamps(), false), 300);
    expect(service.migration.statusOf('ETHUSDT').state).toBe('full');
    // Ramp again from full (it holds at 100), open the breakers and judge the gates in one synchronous step:
    // with RAMP_HOLD_MS=1 the service's own 1 s ramp timer would otherwise end the ramp at 100 in any await
    // between the two calls, and there would be no running ramp left to roll back.
    service.control.startRamp('ETHUSDT', [50, 100], 'test: ramp again from full');
    service.control.activateAll('test: protective activation');
    service.tickRamps();
    expect(service.migration.statusOf('ETHUSDT')).toMatchObject({ state: 'rolled_back', current_percentage: 0 });
    expect(service.migration.statusOf('ETHUSDT').last_reason).toMatch(/gate breaker failed/);
    await post('/admin/circuit-breaker/reset-all');
    await post('/admin/migration/percentage', '{"pair": "ETHUSDT", "percentage": 0}');
    await unary(orders.cancelAllOrders.bind(orders), { pair: 'ETHUSDT', side: 0 }, 'alice');
  });
});

describe('health while stopping', () => {
  it('answers 503 UNHEALTHY once the gRPC server is shutting down', async () => {
    const s = new TradingService(loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0' }), { logger: quiet });
    const { adminPort } = await s.start();
    expect((await fetch(`http://127.0.0.1:${adminPort}/health`)).status).toBe(200);
    void s.grpc.shutdown(1_000);
    const res = await fetch(`http://127.0.0.1:${adminPort}/health`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as any).status).toBe('UNHEALTHY');
    await s.stop(500);
  });
});

export type { ServiceError };

/** breaker_trip errors so far: in /admin/errors/summary (24 h) and in trading_errors_total, summed over pairs. */
async function breakerTripErrors(): Promise<{ summary: number; metric: number }> {
  const summary = Number((await get('/admin/errors/summary')).json.last_24h.by_kind.breaker_trip ?? 0);
  const text = await (await fetch(`${base}/metrics`)).text();
  let metric = 0;
  for (const m of text.matchAll(/^trading_errors_total\{([^}]*)\} (\d+)$/gm)) if (/kind="breaker_trip"/.test(m[1]!)) metric += Number(m[2]);
  return { summary, metric };
}
