/**
 * Sessions through the real interfaces, against real Redis: a TradingService configured with REDIS_URL,
 * API keys made over the admin HTTP API, SessionService.Login/Logout and OrdersService over grpc-js with
 * bearer tokens. Covers: no/bad/expired/logged-out token → UNAUTHENTICATED; one account never sees,
 * cancels or replaces another's orders; an identical resubmission of a client order id answers the
 * original result and makes one order (also after a restart, from Redis); rate refusals are
 * RESOURCE_EXHAUSTED with a retry hint. Time is a ManualClock (session expiry, token refill), so nothing
 * waits. Fails (never skips) when Redis is not reachable.
 */
import { randomBytes } from 'node:crypto';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoApiKey } from '../server/adapters/demo-account.ts';
import { OrdersServiceClient, type OrderFlowResponse, type SubmitOrderResponse } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { SessionServiceClient } from '../server/adapters/grpc/generated/trading/v1/sessions.ts';
import { OrderStatus, Side } from '../server/adapters/grpc/generated/trading/v1/types.ts';
import { MALFORMED_TOKEN, MISSING_TOKEN, UNKNOWN_TOKEN } from '../server/adapters/grpc/session-authenticator.ts';
import { TradingService } from '../server/adapters/trading-service.ts';
import { loadConfig } from '../server/config.ts';
import { ManualClock } from '../server/ports/clock.ts';
import { adminApiKeys, bearer, failure, limitOrder, loginAt } from './grpc-harness.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN_PREFIX = `test:sessions:${randomBytes(6).toString('hex')}:`;
const quiet = { info: () => {}, error: () => {} };
const SESSION_TTL_MS = 3_600_000;

interface Running {
  service: TradingService;
  clock: ManualClock;
  admin: string;
  address: string;
  orders: OrdersServiceClient;
  sessions: SessionServiceClient;
  stop(): Promise<void>;
}

async function start(prefix: string, env: Record<string, string> = {}, clock = new ManualClock(1_800_000_000_000)): Promise<Running> {
  const service = new TradingService(
    loadConfig({
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      ADMIN_PORT: '0',
      MIGRATION_INITIAL_STATE: 'legacy_only',
      REDIS_URL,
      REDIS_PREFIX: prefix,
      SESSION_TTL_MS: String(SESSION_TTL_MS),
      ...env,
    }),
    { logger: quiet, clock },
  );
  const ports = await service.start();
  const address = `127.0.0.1:${ports.grpcPort}`;
  const orders = new OrdersServiceClient(address, credentials.createInsecure());
  const sessions = new SessionServiceClient(address, credentials.createInsecure());
  return {
    service,
    clock,
    admin: `http://127.0.0.1:${ports.adminPort}`,
    address,
    orders,
    sessions,
    async stop() {
      orders.close();
      sessions.close();
      await service.stop(1_000);
    },
  };
}

/** One unary call of a generated client (overloaded signatures: typed loosely on purpose). */
function call<Res = any>(method: (req: any, md: Metadata, cb: (err: ServiceError | null, res: any) => void) => unknown, req: unknown, md: Metadata): Promise<Res> {
  return new Promise((resolve, reject) => method(req, md, (err, res) => (err ? reject(err) : resolve(res as Res))));
}

let admin: Redis;
let s: Running;
const keys = (r: Running) => adminApiKeys(r.admin);
const loginAs = async (r: Running, account: string) => (await loginAt(r.address, await keys(r)(account))).token;

beforeAll(async () => {
  admin = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
  admin.on('error', () => {});
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`Redis at ${REDIS_URL} is not reachable (${(err as Error).message}); these tests need a real server`);
  }
  s = await start(`${RUN_PREFIX}main:`, { RATE_LIMIT_BURST: '1000', RATE_LIMIT_PER_SECOND: '1' });
});

afterAll(async () => {
  await s?.stop();
  if (admin?.status === 'ready') {
    const found = await admin.keys(`${RUN_PREFIX}*`);
    if (found.length > 0) await admin.del(...found);
    await admin.quit();
  }
});

describe('SessionService and bearer tokens (real Redis)', () => {
  it('reports the redis backend online in /health', async () => {
    const health = (await (await fetch(`${s.admin}/health`)).json()) as any;
    expect(health.service.sessions).toMatchObject({ backend: 'redis', online: true, auth_mode: 'sessions' });
    expect(health.checks.dependencies_degraded.ok).toBe(true);
  });

  it('Login with an API key from the admin API returns a token for the account, expiring after SESSION_TTL_MS', async () => {
    const key = await keys(s)('sess-alice');
    expect(key.keyId).toMatch(/^ak_/);
    const session = await call(s.sessions.login.bind(s.sessions), { apiKeyId: key.keyId, apiKeySecret: key.secret }, new Metadata());
    expect(session.account).toBe('sess-alice');
    expect(session.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.expiresAtUnixMs).toBe(String(s.clock.nowMs() + SESSION_TTL_MS));
    const placed = await call(s.orders.submitOrder.bind(s.orders), limitOrder('buy', '1.00', '0.01'), bearer(session.token));
    expect(placed.order?.status).toBe(OrderStatus.ORDER_STATUS_NEW);
  });

  it('Login with a wrong secret or an unknown key is UNAUTHENTICATED with one message; empty fields are INVALID_ARGUMENT', async () => {
    const key = await keys(s)('sess-bob');
    const wrong = await failure(call(s.sessions.login.bind(s.sessions), { apiKeyId: key.keyId, apiKeySecret: key.secret.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }, new Metadata()));
    const unknown = await failure(call(s.sessions.login.bind(s.sessions), { apiKeyId: 'ak_AAAAAAAAAAAAAAAA', apiKeySecret: key.secret }, new Metadata()));
    for (const err of [wrong, unknown]) {
      expect(err.code).toBe(status.UNAUTHENTICATED);
      expect(err.details).toBe('unknown API key id or wrong secret');
    }
    const empty = await failure(call(s.sessions.login.bind(s.sessions), { apiKeyId: '', apiKeySecret: 'x' }, new Metadata()));
    expect(empty.code).toBe(status.INVALID_ARGUMENT);
    expect(empty.details).toBe('api_key_id: is required');
  });

  it('no, malformed, unknown and expired tokens are UNAUTHENTICATED, and nothing is applied', async () => {
    const submit = (md: Metadata) => failure(call(s.orders.submitOrder.bind(s.orders), limitOrder('buy', '1.00', '0.01', { pair: 'ETHUSDT' }), md));
    const none = await submit(new Metadata());
    expect([none.code, none.details]).toEqual([status.UNAUTHENTICATED, MISSING_TOKEN]);
    const malformed = new Metadata();
    malformed.set('authorization', 'Basic abc');
    expect([(await submit(malformed)).code, (await submit(malformed)).details]).toEqual([status.UNAUTHENTICATED, MALFORMED_TOKEN]);
    const unknown = await submit(bearer('A'.repeat(43)));
    expect([unknown.code, unknown.details]).toEqual([status.UNAUTHENTICATED, UNKNOWN_TOKEN]);

    // A clock of its own, so expiring this session does not expire the others of the suite.
    const short = await start(`${RUN_PREFIX}expiry:`, {}, new ManualClock(1_800_000_000_000));
    try {
      const token = await loginAs(short, 'sess-expiring');
      await call(short.orders.listOpenOrders.bind(short.orders), { pair: '' }, bearer(token));
      short.clock.advanceMs(SESSION_TTL_MS);
      const expired = await failure(call(short.orders.listOpenOrders.bind(short.orders), { pair: '' }, bearer(token)));
      expect([expired.code, expired.details]).toEqual([status.UNAUTHENTICATED, UNKNOWN_TOKEN]);
    } finally {
      await short.stop();
    }
    expect(s.service.pairs.get('ETHUSDT')!.openOrderCount).toBe(0);
  });

  it('Logout ends the session at once; logging out again is OK; without a token it is UNAUTHENTICATED', async () => {
    const token = await loginAs(s, 'sess-carol');
    await call(s.orders.listOpenOrders.bind(s.orders), { pair: '' }, bearer(token));
    await call(s.sessions.logout.bind(s.sessions), {}, bearer(token));
    const after = await failure(call(s.orders.listOpenOrders.bind(s.orders), { pair: '' }, bearer(token)));
    expect([after.code, after.details]).toEqual([status.UNAUTHENTICATED, UNKNOWN_TOKEN]);
    await call(s.sessions.logout.bind(s.sessions), {}, bearer(token));
    const bare = await failure(call(s.sessions.logout.bind(s.sessions), {}, new Metadata()));
    expect([bare.code, bare.details]).toEqual([status.UNAUTHENTICATED, MISSING_TOKEN]);
  });

  it('a revoked API key cannot log in, and the sessions it opened end at once (issue 7 item 5)', async () => {
    const key = await keys(s)('sess-dave');
    const { token } = await loginAt(s.address, key);
    const res = await fetch(`${s.admin}/admin/api-keys/${key.keyId}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ keyId: key.keyId, revoked: true });
    expect((await fetch(`${s.admin}/admin/api-keys/${key.keyId}`, { method: 'DELETE' })).status).toBe(404);
    expect((await failure(loginAt(s.address, key))).code).toBe(status.UNAUTHENTICATED);
    expect((await failure(call(s.orders.listOpenOrders.bind(s.orders), { pair: '' }, bearer(token)))).code).toBe(status.UNAUTHENTICATED);
  });

  it('the admin API refuses a malformed account with 400 naming the field', async () => {
    const res = await fetch(`${s.admin}/admin/accounts/${encodeURIComponent('has space')}/api-keys`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_argument', field: 'account' });
  });
});

describe('an account never sees, cancels or replaces another account’s orders (tokens)', () => {
  it('over unary calls and OrderFlow, another account’s order is NOT_FOUND and stays untouched', async () => {
    const owner = bearer(await loginAs(s, 'iso-owner'));
    const intruder = bearer(await loginAs(s, 'iso-intruder'));
    const placed = await call(s.orders.submitOrder.bind(s.orders), limitOrder('sell', '900.00', '0.01', { pair: 'SOLUSDT', clientOrderId: 'mine-1' }), owner);
    const id = placed.order!.orderId;
    const byId = { pair: 'SOLUSDT', order: { $case: 'orderId' as const, value: id } };
    const byCid = { pair: 'SOLUSDT', order: { $case: 'clientOrderId' as const, value: 'mine-1' } };
    expect((await failure(call(s.orders.getOrder.bind(s.orders), byId, intruder))).code).toBe(status.NOT_FOUND);
    expect((await failure(call(s.orders.getOrder.bind(s.orders), byCid, intruder))).code).toBe(status.NOT_FOUND);
    expect((await failure(call(s.orders.cancelOrder.bind(s.orders), byId, intruder))).code).toBe(status.NOT_FOUND);
    expect((await failure(call(s.orders.replaceOrder.bind(s.orders), { ...byId, price: '901.00', quantity: '' }, intruder))).code).toBe(status.NOT_FOUND);
    expect((await call(s.orders.listOpenOrders.bind(s.orders), { pair: '' }, intruder)).orders).toEqual([]);
    expect((await call(s.orders.cancelAllOrders.bind(s.orders), { pair: 'SOLUSDT', side: Side.SIDE_UNSPECIFIED }, intruder)).orders).toEqual([]);

    const flow = s.orders.orderFlow(intruder);
    const got = new Promise<OrderFlowResponse>((resolve) => flow.once('data', resolve));
    flow.write({ commands: [{ correlationId: 'x', command: { $case: 'cancel', value: byId } }] });
    const reply = await got;
    flow.end();
    const result = reply.messages.find((m) => m.message?.$case === 'result')!;
    expect(result.message?.$case === 'result' && result.message.value.error?.code).toBe(status.NOT_FOUND);

    const still = await call(s.orders.getOrder.bind(s.orders), byId, owner);
    expect(still.order).toMatchObject({ status: OrderStatus.ORDER_STATUS_NEW, price: '900.000', remainingQuantity: '0.01' });
  });
});

describe('idempotent client order ids', () => {
  it('an identical resubmission answers the original result byte for byte and makes one order; other fields are ALREADY_EXISTS', async () => {
    const md = bearer(await loginAs(s, 'idem-unary'));
    const order = limitOrder('buy', '50.00', '0.02', { pair: 'SOLUSDT', clientOrderId: 'retry-me' });
    const first = await call<SubmitOrderResponse>(s.orders.submitOrder.bind(s.orders), order, md);
    s.clock.advanceMs(5);
    const second = await call<SubmitOrderResponse>(s.orders.submitOrder.bind(s.orders), order, md);
    expect(second).toEqual(first);
    expect(second.events.length).toBeGreaterThan(0); // the original events, not an empty re-read
    const different = await failure(call(s.orders.submitOrder.bind(s.orders), { ...order, quantity: '0.03' }, md));
    expect(different.code).toBe(status.ALREADY_EXISTS);
    expect(different.metadata.get('x-field')).toEqual(['client_order_id']);
    expect((await call(s.orders.listOpenOrders.bind(s.orders), { pair: 'SOLUSDT' }, md)).orders).toHaveLength(1);
  });

  it('an order replaced since still answers its identical resubmission with the original result (the submitted fields are on record)', async () => {
    const md = bearer(await loginAs(s, 'idem-replaced'));
    const order = limitOrder('buy', '45.00', '0.02', { pair: 'SOLUSDT', clientOrderId: 'then-replaced' });
    const first = await call<SubmitOrderResponse>(s.orders.submitOrder.bind(s.orders), order, md);
    await call(s.orders.replaceOrder.bind(s.orders), { pair: 'SOLUSDT', order: { $case: 'clientOrderId', value: 'then-replaced' }, price: '44.00', quantity: '' }, md);
    const again = await call<SubmitOrderResponse>(s.orders.submitOrder.bind(s.orders), order, md);
    expect(again).toEqual(first);
    const asReplaced = await failure(call(s.orders.submitOrder.bind(s.orders), { ...order, price: '44.00' }, md));
    expect(asReplaced.code).toBe(status.ALREADY_EXISTS);
    expect((await call(s.orders.listOpenOrders.bind(s.orders), { pair: 'SOLUSDT' }, md)).orders).toHaveLength(1);
  });

  it('in a batch and on OrderFlow a repeated client order id makes one order and answers the same order', async () => {
    const md = bearer(await loginAs(s, 'idem-batch'));
    const order = limitOrder('buy', '40.00', '0.01', { pair: 'SOLUSDT', clientOrderId: 'b-1' });
    const batch = await call(s.orders.submitOrderBatch.bind(s.orders), { orders: [order, order] }, md);
    expect(batch.results[1].order).toEqual(batch.results[0].order);
    expect(batch.results.every((r: any) => r.error === undefined)).toBe(true);

    const flow = s.orders.orderFlow(md);
    const got = new Promise<OrderFlowResponse>((resolve) => flow.once('data', resolve));
    flow.write({ commands: [{ correlationId: 'f', command: { $case: 'submit', value: order } }] });
    const reply = await got;
    flow.end();
    const result = reply.messages.find((m) => m.message?.$case === 'result')!;
    expect(result.message?.$case === 'result' && result.message.value.order).toEqual(batch.results[0].order);
    expect((await call(s.orders.listOpenOrders.bind(s.orders), { pair: 'SOLUSDT' }, md)).orders).toHaveLength(1);
  });

  it('after a restart without a journal (the orders are gone) Redis does not answer with the order that no longer exists (issue 13 item 16)', async () => {
    const prefix = `${RUN_PREFIX}restart:`;
    const order = limitOrder('buy', '30.00', '0.01', { pair: 'SOLUSDT', clientOrderId: 'across-restart' });
    const before = await start(prefix);
    const key = await keys(before)('idem-restart');
    let first: SubmitOrderResponse;
    try {
      first = await call<SubmitOrderResponse>(before.orders.submitOrder.bind(before.orders), order, bearer((await loginAt(before.address, key)).token));
    } finally {
      await before.stop();
    }
    const after = await start(prefix);
    try {
      const md = bearer((await loginAt(after.address, key)).token);
      // Without a database nothing of the first process exists; its idempotency records were scoped to
      // that process, so the resubmission is a new order that really exists (and is idempotent itself).
      const again = await call<SubmitOrderResponse>(after.orders.submitOrder.bind(after.orders), order, md);
      expect(again.order?.orderId).toBeDefined();
      expect(after.service.pairs.get('SOLUSDT')!.openOrderCount).toBe(1);
      expect(await call<SubmitOrderResponse>(after.orders.submitOrder.bind(after.orders), order, md)).toEqual(again);
      expect(after.service.pairs.get('SOLUSDT')!.openOrderCount).toBe(1);
      void first;
    } finally {
      await after.stop();
    }
  });
});

describe('per-account rate limits (RATE_LIMIT_BURST 1000, 1 per second)', () => {
  it('refuse with RESOURCE_EXHAUSTED and a retry hint once the bucket is empty, per account, and pass again after the hint', async () => {
    const md = bearer(await loginAs(s, 'rate-heavy'));
    const orders = Array.from({ length: 1000 }, () => limitOrder('buy', '1.00', '0.01', { pair: 'ETHUSDT' }));
    const batch = await call(s.orders.submitOrderBatch.bind(s.orders), { orders }, md);
    expect(batch.results).toHaveLength(1000);
    const refused = await failure(call(s.orders.submitOrder.bind(s.orders), limitOrder('buy', '1.00', '0.01', { pair: 'ETHUSDT' }), md));
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.metadata.get('x-retry-after-ms')).toEqual(['1000']);
    expect(refused.details).toBe('rate limit exceeded for this account: nothing was applied; retry after 1000 ms');

    // OrderFlow: the refused message is answered per command, the stream stays open.
    const flow = s.orders.orderFlow(md);
    const got = new Promise<OrderFlowResponse>((resolve) => flow.once('data', resolve));
    flow.write({ commands: [{ correlationId: 'r1', command: { $case: 'submit', value: limitOrder('buy', '1.00', '0.01', { pair: 'ETHUSDT' }) } }] });
    const reply = await got;
    const item = reply.messages[0]!.message;
    expect(item?.$case === 'result' && item.value.error).toMatchObject({ code: status.RESOURCE_EXHAUSTED, message: expect.stringMatching(/retry after \d+ ms$/) });
    flow.end();

    // Another account is not affected; after the hint the first passes again.
    const other = bearer(await loginAs(s, 'rate-light'));
    await call(s.orders.listOpenOrders.bind(s.orders), { pair: '' }, other);
    s.clock.advanceMs(1000);
    await call(s.orders.cancelAllOrders.bind(s.orders), { pair: 'ETHUSDT', side: Side.SIDE_UNSPECIFIED }, md);
  });
});

describe('the demo account', () => {
  it('with Redis it is created once: a later start finds the marker and creates no second key', async () => {
    const prefix = `${RUN_PREFIX}demo:`;
    const first = await start(prefix);
    let keyId: string;
    try {
      const demo = await ensureDemoApiKey(first.service.sessions);
      expect(demo.created).toBe(true);
      if (!demo.created) throw new Error('unreachable');
      expect(demo.persistent).toBe(true);
      keyId = demo.keyId;
      expect((await loginAt(first.address, demo)).account).toBe('demo');
    } finally {
      await first.stop();
    }
    const second = await start(prefix);
    try {
      expect(await ensureDemoApiKey(second.service.sessions)).toEqual({ created: false, account: 'demo', keyId });
      expect((await admin.keys(`${prefix}apikey:*`)).length).toBe(1);
    } finally {
      await second.stop();
    }
  });
});
