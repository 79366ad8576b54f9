// The Trading UI's server side over real HTTP against an in-process TradingService (ports 0): the login
// cookie (HttpOnly, never logged), the CSRF header, trading calls answering the service's own errors with
// the field, the static files (no path escapes, a missing build says how to make it), the admin-token
// rule, and the bounds: a cap on SSE streams and a slow reader dropped instead of buffered without end.
import { connect, type Socket } from 'node:net';
import { credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradingService } from '../server/adapters/trading-service.ts';
import { AdminHttpServer } from '../server/adapters/http/admin-server.ts';
import { UiBridge } from '../server/adapters/http/ui-bridge.ts';
import { OrdersServiceClient } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { OrderType, Side, TimeInForce } from '../server/adapters/grpc/generated/trading/v1/types.ts';
import { loadConfig } from '../server/config.ts';
import { adminApiKeys, bearer, loginAt } from './grpc-harness.ts';

const logged: string[] = [];
const logger = { info: (m: string) => logged.push(m), error: (m: string, e?: unknown) => logged.push(`${m} ${String(e)}`) };
const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000, interval: 50 });

let service: TradingService;
let base: string;
let grpcAddress: string;
let key: { keyId: string; secret: string };

const UI = { 'content-type': 'application/json', 'x-trading-ui': '1' };
const post = (path: string, body: unknown, headers: Record<string, string> = UI) => fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });

beforeAll(async () => {
  service = new TradingService(loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', RATE_LIMIT_PER_SECOND: '1000000', RATE_LIMIT_BURST: '10000000', MAX_OPEN_ORDERS_PER_ACCOUNT: '1000000' }), { logger });
  const ports = await service.start();
  base = `http://127.0.0.1:${ports.adminPort}`;
  grpcAddress = `127.0.0.1:${ports.grpcPort}`;
  key = await adminApiKeys(base)('carol');
});

afterAll(async () => {
  await service?.stop(1_000);
});

async function loginCookie(): Promise<string> {
  const res = await post('/ui/api/login', { apiKeyId: key.keyId, apiKeySecret: key.secret });
  expect(res.status).toBe(200);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

describe('Trading UI sessions and trading endpoints', () => {
  it('login sets an HttpOnly SameSite=Strict cookie scoped to /ui; neither token nor secret is logged', async () => {
    const res = await post('/ui/api/login', { apiKeyId: key.keyId, apiKeySecret: key.secret });
    expect(res.status).toBe(200);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^ts_ui_session=[A-Za-z0-9_-]{43}\.carol; Path=\/ui; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({ account: 'carol', expiresAtUnixMs: expect.any(Number) });
    const token = cookie.slice('ts_ui_session='.length, cookie.indexOf('.'));
    expect(logged.some((l) => l.includes(token) || l.includes(key.secret))).toBe(false);
    expect(logged.some((l) => l.includes('trading ui: account carol logged in'))).toBe(true);
  });

  it('a wrong secret is UNAUTHENTICATED and sets no cookie', async () => {
    const res = await post('/ui/api/login', { apiKeyId: key.keyId, apiKeySecret: 'wrong' });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('UNAUTHENTICATED');
    expect(res.headers.get('set-cookie')).toContain('Max-Age=0');
  });

  it('POSTs without the x-trading-ui header are refused (403, naming the header) and change nothing', async () => {
    const cookie = await loginCookie();
    const res = await post('/ui/api/orders', { pair: 'BTCUSDT', side: 'buy', type: 'limit', price: '10.00', quantity: '0.01' }, { 'content-type': 'application/json', cookie });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { field: string }).field).toBe('x-trading-ui');
    const open = (await (await fetch(`${base}/ui/api/orders`, { headers: { cookie, 'x-trading-ui': '1' } })).json()) as { orders: unknown[] };
    expect(open.orders).toEqual([]);
  });

  it('orders go through the gRPC service: its field errors come back with the field; a good order is listed', async () => {
    const cookie = await loginCookie();
    const h = { ...UI, cookie };
    const bad = await post('/ui/api/orders', { pair: 'BTCUSDT', side: 'buy', type: 'limit', price: '10.001', quantity: '0.01' }, h);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'INVALID_ARGUMENT', field: 'price', reason: 'price: 10.001 is not a multiple of the tick size 0.01' });
    const shape = await post('/ui/api/orders', { pair: 'BTCUSDT', side: 'up', type: 'limit', price: '10.00', quantity: '0.01' }, h);
    expect(shape.status).toBe(400);
    expect(((await shape.json()) as { field: string }).field).toBe('side');
    const unknown = await post('/ui/api/orders', { pair: 'BTCUSDT', side: 'buy', type: 'limit', price: '10.00', quantity: '0.01', extra: 1 }, h);
    expect(((await unknown.json()) as { field: string }).field).toBe('extra');
    const ok = await post('/ui/api/orders', { pair: 'BTCUSDT', side: 'buy', type: 'limit', price: '10.00', quantity: '0.01', clientOrderId: 'ui-1' }, h);
    expect(ok.status).toBe(200);
    const placed = (await ok.json()) as { order: { orderId: string; status: string } };
    expect(placed.order.status).toBe('NEW');
    // Idempotent like gRPC: the same client order id answers the same order.
    const again = (await (await post('/ui/api/orders', { pair: 'BTCUSDT', side: 'buy', type: 'limit', price: '10.00', quantity: '0.01', clientOrderId: 'ui-1' }, h)).json()) as { order: { orderId: string } };
    expect(again.order.orderId).toBe(placed.order.orderId);
    const postOnlyTaking = await post('/ui/api/orders', { pair: 'BTCUSDT', side: 'sell', type: 'limit', price: '9.00', quantity: '0.01', postOnly: true }, h);
    expect(postOnlyTaking.status).toBe(409);
    const open = (await (await fetch(`${base}/ui/api/orders`, { headers: { cookie } })).json()) as { orders: { orderId: string }[] };
    expect(open.orders.map((o) => o.orderId)).toEqual([placed.order.orderId]);
    // Also visible to a plain gRPC client of the same account: one book, one path.
    const { token } = await loginAt(grpcAddress, key);
    const client = new OrdersServiceClient(grpcAddress, credentials.createInsecure());
    const listed = await new Promise<{ orders: { orderId: string }[] }>((resolve, reject) => client.listOpenOrders({ pair: '', page: undefined }, bearer(token), (e, r) => (e ? reject(e) : resolve(r))));
    client.close();
    expect(listed.orders.map((o) => o.orderId)).toEqual([placed.order.orderId]);
    const cancelled = await post('/ui/api/orders/cancel', { pair: 'BTCUSDT', orderId: placed.order.orderId }, h);
    expect(((await cancelled.json()) as { order: { status: string } }).order.status).toBe('CANCELLED');
    const badStp = await post('/ui/api/orders', { pair: 'BTCUSDT', side: 'buy', type: 'limit', price: '10.00', quantity: '0.01', stpMode: 'sometimes' }, h);
    expect(((await badStp.json()) as { field: string }).field).toBe('stpMode');
    for (const price of ['11.00', '12.00']) expect((await post('/ui/api/orders', { pair: 'BTCUSDT', side: 'buy', type: 'limit', price, quantity: '0.01', stpMode: 'CANCEL_BOTH' }, h)).status).toBe(200);
    const all = (await (await post('/ui/api/orders/cancel-all', { pair: 'BTCUSDT' }, h)).json()) as { orders: { price: string; status: string }[] };
    expect(all.orders.map((o) => [o.price, o.status])).toEqual([['11.00', 'CANCELLED'], ['12.00', 'CANCELLED']]);
  });

  it('after logout the cookie no longer works (401, and the stale cookie is cleared)', async () => {
    const cookie = await loginCookie();
    expect((await post('/ui/api/logout', {}, { ...UI, cookie })).headers.get('set-cookie')).toContain('Max-Age=0');
    const res = await fetch(`${base}/ui/api/orders`, { headers: { cookie, 'x-trading-ui': '1' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toContain('ts_ui_session=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0');
  });
});

describe('Trading UI static files', () => {
  it('a missing build answers 503 with the command that makes it; no request path escapes the build', async () => {
    const bridge = new UiBridge({ pairs: service.pairs, instruments: service.instruments, monitor: service.monitor, grpcAddress: () => grpcAddress, distDir: '/nonexistent/ui-dist', chaosEnabled: false, authMode: 'sessions', logger });
    const server = new AdminHttpServer({ routes: bridge.routes(), logger });
    const port = await server.listen('127.0.0.1', 0);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/ui/`);
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('npm run build:ui');
    } finally {
      bridge.close();
      await server.close(0);
    }
    for (const path of ['/ui/..%2Fpackage.json', '/ui/%2e%2e%2fpackage.json', '/ui/.env', '/ui/..%5Cpackage.json']) {
      const res = await fetch(`${base}${path}`);
      expect([404, 503]).toContain(res.status);
      expect(await res.text()).not.toContain('"name": "trading-service"');
    }
  });
});

describe('Trading UI access rules with ADMIN_TOKEN', () => {
  it('the page is public, every /ui/api route needs the bearer token', async () => {
    const guarded = new TradingService(loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', ADMIN_TOKEN: 'ui-test-admin-token' }), { logger });
    const ports = await guarded.start();
    const b = `http://127.0.0.1:${ports.adminPort}`;
    try {
      expect([200, 503]).toContain((await fetch(`${b}/ui/`)).status); // 503 only if ui/dist is not built yet
      for (const path of ['/ui/api/config', '/ui/api/stream?pair=BTCUSDT', '/ui/api/performance', '/ui/api/orders']) {
        expect((await fetch(`${b}${path}`)).status).toBe(401);
      }
      const ok = await fetch(`${b}/ui/api/config`, { headers: { authorization: 'Bearer ui-test-admin-token' } });
      expect(ok.status).toBe(200);
    } finally {
      await guarded.stop(500);
    }
  });
});

describe('Trading UI stream bounds', () => {
  let bridge: UiBridge;
  let server: AdminHttpServer;
  let b: string;
  let port: number;

  beforeAll(async () => {
    bridge = new UiBridge({
      pairs: service.pairs,
      instruments: service.instruments,
      monitor: service.monitor,
      grpcAddress: () => grpcAddress,
      distDir: '/nonexistent',
      chaosEnabled: false,
      authMode: 'sessions',
      logger,
      maxConnections: 2,
      flushMs: 10,
      maxQueuedBytes: 64 * 1024,
    });
    server = new AdminHttpServer({ routes: bridge.routes(), logger });
    port = await server.listen('127.0.0.1', 0);
    b = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    bridge.close();
    await server.close(0);
  });

  it('at most maxConnections SSE streams; the next is refused with 503 until one closes', async () => {
    const aborts = [new AbortController(), new AbortController()];
    const first = await fetch(`${b}/ui/api/stream?pair=BTCUSDT`, { signal: aborts[0]!.signal });
    const second = await fetch(`${b}/ui/api/stream?pair=ETHUSDT`, { signal: aborts[1]!.signal });
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await fetch(`${b}/ui/api/stream?pair=BTCUSDT`);
    expect(third.status).toBe(503);
    expect(((await third.json()) as { error: string }).error).toBe('too_many_streams');
    expect(bridge.refusedStreams).toBe(1);
    aborts[0]!.abort();
    await eventually(() => bridge.openStreams).toBe(1);
    const again = new AbortController();
    const fourth = await fetch(`${b}/ui/api/stream?pair=BTCUSDT`, { signal: again.signal });
    expect(fourth.status).toBe(200);
    again.abort();
    aborts[1]!.abort();
    await eventually(() => bridge.openStreams).toBe(0);
  });

  it('a reader that stops reading is dropped once 64 KiB are unsent, while a reading stream stays', async () => {
    // A raw socket that asks for the stream and then never reads.
    const slow: Socket = connect(port, '127.0.0.1');
    await new Promise<void>((r) => slow.once('connect', () => r()));
    slow.write(`GET /ui/api/stream?pair=SOLUSDT HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    slow.pause();
    // A healthy reader on the same pair, drained as it arrives.
    const abort = new AbortController();
    const healthy = await fetch(`${b}/ui/api/stream?pair=SOLUSDT`, { signal: abort.signal });
    const reader = healthy.body!.getReader();
    let received = 0;
    const pump = (async () => {
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (done) return;
        received += value!.length;
      }
    })();
    await eventually(() => bridge.openStreams).toBe(2);

    // Many distinct levels changing: each 10 ms flush carries thousands of level updates.
    const { token } = await loginAt(grpcAddress, key);
    const client = new OrdersServiceClient(grpcAddress, credentials.createInsecure());
    const batch = (round: number) =>
      new Promise<void>((resolve, reject) =>
        client.submitOrderBatch(
          {
            orders: Array.from({ length: 1000 }, (_, i) => ({
              pair: 'SOLUSDT',
              clientOrderId: '',
              side: Side.SIDE_BUY,
              type: OrderType.ORDER_TYPE_LIMIT,
              timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
              price: (1 + ((round * 1000 + i) % 5000) / 1000).toFixed(3),
              quantity: '1.00',
              postOnly: false,
              stpMode: 0,
            })),
          },
          bearer(token),
          (e) => (e ? reject(e) : resolve()),
        ),
      );
    // Bounded in count and time (at most 800 batches, 40 s), stopping as soon as the slow reader is dropped.
    const startedAt = Date.now();
    for (let round = 0; round < 800 && Date.now() - startedAt < 40_000 && bridge.droppedSlowReaders === 0; round++) {
      await batch(round);
      await new Promise((r) => setTimeout(r, 12));
    }
    client.close();
    await eventually(() => bridge.droppedSlowReaders).toBe(1);
    expect(bridge.openStreams).toBe(1); // the healthy reader is still connected
    expect(received).toBeGreaterThan(64 * 1024);
    abort.abort();
    await pump;
    slow.destroy();
    await eventually(() => bridge.openStreams).toBe(0);
  }, 90_000);
});
