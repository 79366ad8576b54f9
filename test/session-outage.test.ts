/**
 * Redis down under the running service (docs/operations.md "Sessions"): a TradingService whose REDIS_URL points at
 * a TCP fault proxy in front of the real Redis, driven over gRPC and the admin API. While the proxy
 * refuses connections, sessions the service already validated keep trading for REDIS_OFFLINE_GRACE_MS,
 * new logins (and tokens it never saw) fail with UNAVAILABLE naming Redis, /health is DEGRADED (200) with
 * a dependency_degraded alert; past the grace even known sessions get UNAVAILABLE; when the proxy passes
 * traffic again everything recovers by itself. Session time is a ManualClock; only reconnection is
 * awaited (polled) in real time. Fails (never skips) when Redis is not reachable.
 */
import { randomBytes } from 'node:crypto';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrdersServiceClient } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { RedisSessionStore } from '../server/adapters/redis/redis-session-store.ts';
import { TradingService } from '../server/adapters/trading-service.ts';
import { loadConfig } from '../server/config.ts';
import { ManualClock } from '../server/ports/clock.ts';
import { adminApiKeys, bearer, failure, limitOrder, loginAt } from './grpc-harness.ts';
import { RedisFaultProxy } from './support/redis-fault-proxy.ts';

const REDIS_URL = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const PREFIX = `test:session-outage:${randomBytes(6).toString('hex')}:`;
const GRACE_MS = 60_000;
const quiet = { info: () => {}, error: () => {} };

let redis: Redis;
let proxy: RedisFaultProxy;
let service: TradingService;
let clock: ManualClock;
let admin: string;
let address: string;
let orders: OrdersServiceClient;

function call<Res = any>(method: (req: any, md: Metadata, cb: (err: ServiceError | null, res: any) => void) => unknown, req: unknown, md: Metadata): Promise<Res> {
  return new Promise((resolve, reject) => method(req, md, (err, res) => (err ? reject(err) : resolve(res as Res))));
}

async function eventually<T>(attempt: () => Promise<T>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const health = async () => (await fetch(`${admin}/health`)).json() as Promise<any>;

beforeAll(async () => {
  redis = new Redis(REDIS_URL.href, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (err) {
    throw new Error(`Redis at ${REDIS_URL.href} is not reachable (${(err as Error).message}); these tests need a real server`);
  }
  proxy = new RedisFaultProxy(REDIS_URL.hostname, Number(REDIS_URL.port || 6379));
  await proxy.start();
  clock = new ManualClock(1_800_000_000_000);
  service = new TradingService(
    loadConfig({
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      ADMIN_PORT: '0',
      MIGRATION_INITIAL_STATE: 'legacy_only',
      REDIS_URL: proxy.url,
      REDIS_PREFIX: PREFIX,
      REDIS_OFFLINE_GRACE_MS: String(GRACE_MS),
    }),
    { logger: quiet, clock },
  );
  const ports = await service.start();
  admin = `http://127.0.0.1:${ports.adminPort}`;
  address = `127.0.0.1:${ports.grpcPort}`;
  orders = new OrdersServiceClient(address, credentials.createInsecure());
});

afterAll(async () => {
  proxy?.setMode('pass');
  orders?.close();
  await service?.stop(1_000);
  await proxy?.stop();
  if (redis?.status === 'ready') {
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
});

describe('the service while Redis is unreachable (TCP fault proxy in front of real Redis)', () => {
  it('keeps validated sessions trading for the grace period, fails new logins clearly, reports DEGRADED, and recovers by itself', async () => {
    const createKey = adminApiKeys(admin);
    const aliceKey = await createKey('outage-alice');
    const bobKey = await createKey('outage-bob');
    const alice = bearer((await loginAt(address, aliceKey)).token);
    // Bob logs in on another replica (a second store on the same Redis): this service never saw his token.
    const replica = new RedisSessionStore({ url: REDIS_URL.href, prefix: PREFIX, clock });
    await replica.ready(5_000);
    const bobToken = (await replica.login(bobKey.keyId, bobKey.secret, 3_600_000)).token;
    await replica.close();
    await call(orders.listOpenOrders.bind(orders), { pair: '' }, alice); // validated by this service

    proxy.setMode('down');

    // Validated session: trading goes on (rate limits fall back to a local bucket, idempotency to a local table).
    const placed = await call(orders.submitOrder.bind(orders), limitOrder('buy', '10.00', '0.01', { pair: 'ETHUSDT', clientOrderId: 'during-outage' }), alice);
    const again = await call(orders.submitOrder.bind(orders), limitOrder('buy', '10.00', '0.01', { pair: 'ETHUSDT', clientOrderId: 'during-outage' }), alice);
    expect(again).toEqual(placed);
    expect((await call(orders.listOpenOrders.bind(orders), { pair: 'ETHUSDT' }, alice)).orders).toHaveLength(1);

    // New logins and tokens this service never vouched for: UNAVAILABLE naming Redis (the token may be fine).
    const login = await failure(loginAt(address, aliceKey));
    expect(login.code).toBe(status.UNAVAILABLE);
    expect(login.details).toMatch(/^redis unavailable: /);
    const unseen = await failure(call(orders.listOpenOrders.bind(orders), { pair: '' }, bearer(bobToken)));
    expect(unseen.code).toBe(status.UNAVAILABLE);
    expect(unseen.details).toMatch(/redis/);

    // Health: DEGRADED (200) with a Level 2 alert, not UNHEALTHY: trading goes on.
    const res = await fetch(`${admin}/health`);
    expect(res.status).toBe(200);
    const degraded = (await res.json()) as any;
    expect(degraded.status).toBe('DEGRADED');
    expect(degraded.service.sessions).toMatchObject({ backend: 'redis', online: false });
    expect(degraded.checks.dependencies_degraded).toMatchObject({ ok: false, names: ['redis'] });
    expect(degraded.alerts).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'dependency_degraded', level: 2, dependencies: ['redis'] })]));
    // Admin key creation cannot work either: 503 with the reason.
    const keyRes = await fetch(`${admin}/admin/accounts/outage-carol/api-keys`, { method: 'POST' });
    expect(keyRes.status).toBe(503);

    // Past the grace even a validated session cannot be vouched for.
    clock.advanceMs(GRACE_MS + 1);
    const late = await failure(call(orders.listOpenOrders.bind(orders), { pair: '' }, alice));
    expect(late.code).toBe(status.UNAVAILABLE);
    expect(late.details).toMatch(/beyond the 60000 ms grace/);

    // Redis back: logins work again without anyone touching the service, and the old sessions resolve.
    proxy.setMode('pass');
    const fresh = await eventually(() => loginAt(address, bobKey), 'a login after Redis came back');
    expect(fresh.account).toBe('outage-bob');
    await eventually(() => call(orders.listOpenOrders.bind(orders), { pair: '' }, alice), 'the validated session from Redis again');
    await call(orders.listOpenOrders.bind(orders), { pair: '' }, bearer(bobToken));
    const healed = await health();
    expect(healed.service.sessions.online).toBe(true);
    expect(healed.checks.dependencies_degraded.ok).toBe(true);
    expect(service.pairs.get('ETHUSDT')!.openOrderCount).toBe(1);
  });
});

describe('the service started while Redis is unreachable', () => {
  it('starts anyway (after the bounded wait), reports DEGRADED, refuses logins clearly, and picks Redis up when it appears', async () => {
    proxy.setMode('down');
    const late = new TradingService(
      loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', MIGRATION_INITIAL_STATE: 'legacy_only', REDIS_URL: proxy.url, REDIS_PREFIX: PREFIX }),
      { logger: quiet, clock },
    );
    try {
      const ports = await late.start();
      const lateAdmin = `http://127.0.0.1:${ports.adminPort}`;
      const lateAddress = `127.0.0.1:${ports.grpcPort}`;
      const res = await fetch(`${lateAdmin}/health`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as any;
      expect(body.status).toBe('DEGRADED');
      expect(body.service.sessions).toMatchObject({ backend: 'redis', online: false });
      const key = { keyId: 'ak_AAAAAAAAAAAAAAAA', secret: 'A'.repeat(43) };
      const refused = await failure(loginAt(lateAddress, key));
      expect(refused.code).toBe(status.UNAVAILABLE);
      expect(refused.details).toMatch(/^redis unavailable: /);

      proxy.setMode('pass');
      const realKey = await eventually(() => adminApiKeys(lateAdmin)('outage-late'), 'API key creation once Redis answers');
      const session = await eventually(() => loginAt(lateAddress, realKey), 'a login once Redis answers');
      expect(session.account).toBe('outage-late');
      expect(((await (await fetch(`${lateAdmin}/health`)).json()) as any).service.sessions.online).toBe(true);
    } finally {
      proxy.setMode('pass');
      await late.stop(1_000);
    }
  });
});
