/**
 * Issue 7 item 2 and issue 13 item 16: a retried order never executes twice, whatever other accounts
 * do, and idempotency records never describe a database they do not belong to.
 * - In memory, scaled down (closed orders retained 30 per pair, records 40 in the session store):
 *   another account floods distinct client order ids far past both caps; the victim's identical retry
 *   still answers the original and no second order trades.
 * - With PostgreSQL (the real service): the victim's own later orders push its record out of the
 *   registry and the session store; the retry is answered from the `orders` table (the fallback of
 *   record) and the UNIQUE index refuses a second order with that client order id.
 * - With Redis kept and the database reset (a fresh schema), a resubmitted client order id is not
 *   answered with an order the new database does not hold.
 */
import { credentials, type Metadata } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemorySessionStore } from '../server/adapters/embedded/memory-session-store.ts';
import { OrdersServiceClient, type SubmitOrderResponse } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { OrderStatus, TimeInForce } from '../server/adapters/grpc/generated/trading/v1/types.ts';
import { TradingGrpcServer } from '../server/adapters/grpc/grpc-server.ts';
import { SessionAuthenticator } from '../server/adapters/grpc/session-authenticator.ts';
import type { TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { loadMigrations, runMigrations } from '../server/adapters/postgres/migrations.ts';
import { compilePostgresOptions, createPostgresPool } from '../server/adapters/postgres/postgres-pool.ts';
import { TradingService } from '../server/adapters/trading-service.ts';
import { loadConfig } from '../server/config.ts';
import { BOOK_IMPLEMENTATIONS } from '../server/core/book-implementations.ts';
import { DEFAULT_INSTRUMENTS, compileInstrument } from '../server/core/instrument.ts';
import { singleBook } from '../server/pairs/serving-book.ts';
import { TradingPairs } from '../server/pairs/trading-pairs.ts';
import { ManualClock } from '../server/ports/clock.ts';
import { adminApiKeys, bearer, limitOrder, loginAt } from './grpc-harness.ts';
import { openTestPersistence, testSchema, TEST_DATABASE_URL } from './support/service-database.ts';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const quiet = { info: () => {}, error: () => {} };

function call<Res>(method: (req: never, md: Metadata, cb: (err: Error | null, res: Res) => void) => unknown, req: unknown, md: Metadata): Promise<Res> {
  return new Promise((resolve, reject) => (method as (r: unknown, m: Metadata, cb: (e: Error | null, r: Res) => void) => void)(req, md, (e, r) => (e ? reject(e) : resolve(r))));
}

const ioc = (clientOrderId: string, price: string) => limitOrder('buy', price, '0.001', { clientOrderId, timeInForce: TimeInForce.TIME_IN_FORCE_IOC });

describe('another account cannot evict a victim’s idempotency (in memory, scaled-down caps)', () => {
  it('a flood of 500 distinct client order ids from another account leaves the victim’s retry answered with the original', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = new MemorySessionStore({ clock, rateLimitPerSecond: 1_000_000, rateLimitBurst: 1_000_000_000, maxClientOrders: 40, maxClientOrdersPerAccount: 20 });
    const auth = new SessionAuthenticator(store);
    const pairs = new TradingPairs({ instruments: DEFAULT_INSTRUMENTS.map(compileInstrument), createBook: singleBook(BOOK_IMPLEMENTATIONS.legacy), clock, maxClosedOrders: 30, maxClosedOrdersPerAccount: 10 });
    const server = new TradingGrpcServer({ pairs, logger: quiet, sessions: { store, authenticator: auth, sessionTtlMs: 86_400_000, rateLimitBurst: 1_000_000_000 }, interceptors: [auth.interceptor()] });
    const port = await server.listen('127.0.0.1', 0);
    const address = `127.0.0.1:${port}`;
    const orders = new OrdersServiceClient(address, credentials.createInsecure());
    try {
      const as = async (account: string) => bearer((await loginAt(address, await store.createApiKey(account))).token);
      const maker = await as('maker');
      const victim = await as('victim');
      const flooder = await as('flooder');
      await call(orders.submitOrder.bind(orders), limitOrder('sell', '100.00', '1', {}), maker);
      const first = await call<SubmitOrderResponse>(orders.submitOrder.bind(orders), ioc('victim-1', '100.00'), victim);
      expect(first.order?.status).toBe(OrderStatus.ORDER_STATUS_FILLED);
      // The flood: IOC orders that do not trade (below the ask), each closed at once, distinct ids.
      for (let b = 0; b < 5; b++) {
        const batch = Array.from({ length: 100 }, (_, i) => ioc(`flood-${b}-${i}`, '50.00'));
        await call(orders.submitOrderBatch.bind(orders), { orders: batch }, flooder);
      }
      expect(store.sizes().clientOrders).toBeLessThanOrEqual(40);
      const btc = pairs.get('BTCUSDT')!;
      expect(btc.findByClientOrderId(pairs.accounts.find('flooder')!, 'flood-0-0')).toBeUndefined(); // the flooder's own oldest went
      const retry = await call<SubmitOrderResponse>(orders.submitOrder.bind(orders), ioc('victim-1', '100.00'), victim);
      expect(retry).toEqual(first);
      // No second fill: the maker still has 1 - 0.001 open.
      const open = await call<{ orders: { remainingQuantity: string }[] }>(orders.listOpenOrders.bind(orders), { pair: 'BTCUSDT' }, maker);
      expect(open.orders.map((o) => o.remainingQuantity)).toEqual(['0.99900']);
    } finally {
      orders.close();
      await server.shutdown(1_000);
    }
  });
});

describe('with PostgreSQL: the orders table is the fallback of record', () => {
  let schema: TestSchema;
  let other: TestSchema;
  let admin: Redis;
  const redisPrefix = `test-i7-idem-${process.pid}-${Date.now()}:`;
  beforeAll(async () => {
    schema = await testSchema('i7_idem');
    other = await testSchema('i7_idem_reset');
    admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await admin.connect();
  });
  afterAll(async () => {
    const keys = await admin.keys(`${redisPrefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
    await schema?.drop();
    await other?.drop();
  });

  async function start(on: TestSchema, env: Record<string, string> = {}) {
    const db = await openTestPersistence(on);
    const service = new TradingService(
      loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', MIGRATION_INITIAL_STATE: 'legacy_only', SNAPSHOT_EVERY_COMMANDS: '0', SNAPSHOT_INTERVAL_MS: '0', ...env }),
      { logger: quiet, persistence: db },
    );
    const ports = await service.start();
    const address = `127.0.0.1:${ports.grpcPort}`;
    const orders = new OrdersServiceClient(address, credentials.createInsecure());
    const keys = adminApiKeys(`http://127.0.0.1:${ports.adminPort}`);
    return {
      service,
      orders,
      db,
      login: async (key: { keyId: string; secret: string }) => bearer((await loginAt(address, key)).token),
      keys,
      async stop() {
        orders.close();
        await service.stop(1_000);
        await db.close(5_000);
      },
    };
  }

  let afterEachStop: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of afterEachStop.splice(0)) await s();
  });

  it('the victim’s own later orders push its record out of memory; the retry is answered from the orders table, never a second order', async () => {
    const s = await start(schema, { CLOSED_ORDERS_RETAINED: '20', CLOSED_ORDERS_PER_ACCOUNT: '5', IDEMPOTENCY_RECORDS_PER_ACCOUNT: '5' });
    afterEachStop.push(() => s.stop());
    const maker = await s.login(await s.keys('pg-maker'));
    const victim = await s.login(await s.keys('pg-victim'));
    await call(s.orders.submitOrder.bind(s.orders), limitOrder('sell', '100.00', '1', {}), maker);
    const first = await call<SubmitOrderResponse>(s.orders.submitOrder.bind(s.orders), ioc('pg-victim-1', '100.00'), victim);
    expect(first.order?.status).toBe(OrderStatus.ORDER_STATUS_FILLED);
    for (let i = 0; i < 30; i++) await call(s.orders.submitOrder.bind(s.orders), ioc(`pg-later-${i}`, '50.00'), victim);
    const btc = s.service.pairs.get('BTCUSDT')!;
    expect(btc.findByClientOrderId(s.service.pairs.accounts.find('pg-victim')!, 'pg-victim-1')).toBeUndefined(); // gone from memory
    const retry = await call<SubmitOrderResponse>(s.orders.submitOrder.bind(s.orders), ioc('pg-victim-1', '100.00'), victim);
    expect(retry.order).toMatchObject({ orderId: first.order!.orderId, status: OrderStatus.ORDER_STATUS_FILLED, filledQuantity: '0.00100', clientOrderId: 'pg-victim-1' });
    expect(retry.events).toEqual([]); // from the table: the order's current state, without events
    // Different fields with that id: ALREADY_EXISTS naming the original order.
    const clash = await call(s.orders.submitOrder.bind(s.orders), ioc('pg-victim-1', '101.00'), victim).catch((e: { code: number; details: string }) => e);
    expect(clash).toMatchObject({ code: 6 });
    const open = await call<{ orders: { remainingQuantity: string }[] }>(s.orders.listOpenOrders.bind(s.orders), { pair: 'BTCUSDT' }, maker);
    expect(open.orders.map((o) => o.remainingQuantity)).toEqual(['0.99900']);

    // The UNIQUE index: PostgreSQL itself refuses a second order with that client order id.
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL, options: schema.options });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT count(*)::int AS n FROM orders WHERE client_order_id = 'pg-victim-1'");
      expect(rows[0].n).toBe(1);
      await expect(
        client.query(
          `INSERT INTO orders (pair, order_id, account, client_order_id, side, order_type, tif, post_only, stp, price_ticks, quantity_lots, filled_lots, remaining_lots, status, journal_sequence, created_at, updated_at)
           VALUES ('BTCUSDT', 999999, 'pg-victim', 'pg-victim-1', 0, 0, 1, false, 0, 1, 1, 0, 1, 'new', 1, now(), now())`,
        ),
      ).rejects.toThrow(/orders_client_order_id_unique/);
    } finally {
      await client.end();
    }
  });

  it('after a restart from a snapshot, only a client order id the pair may have forgotten is looked up in the orders table; the evicted one still answers', async () => {
    const env = { CLOSED_ORDERS_RETAINED: '20', CLOSED_ORDERS_PER_ACCOUNT: '5', IDEMPOTENCY_RECORDS_PER_ACCOUNT: '5', SNAPSHOT_EVERY_COMMANDS: '10', REDIS_URL, REDIS_PREFIX: `${redisPrefix}snap:` }; // Redis: the API key survives the restart
    const a = await start(other, env);
    let key: { keyId: string; secret: string };
    let first: SubmitOrderResponse;
    try {
      await call(a.orders.submitOrder.bind(a.orders), limitOrder('sell', '100.00', '1', {}), await a.login(await a.keys('snap-maker')));
      key = await a.keys('snap-victim');
      const victim = await a.login(key);
      first = await call<SubmitOrderResponse>(a.orders.submitOrder.bind(a.orders), ioc('snap-1', '100.00'), victim);
      for (let i = 0; i < 30; i++) await call(a.orders.submitOrder.bind(a.orders), ioc(`snap-later-${i}`, '50.00'), victim);
      // Wait for a snapshot that holds the evictions (taken every 10 commands, written behind).
      const deadline = Date.now() + 10_000;
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL, options: other.options });
      await client.connect();
      try {
        while ((await client.query("SELECT max(sequence)::int AS s FROM order_book_snapshots WHERE pair = 'BTCUSDT'")).rows[0].s < 30) {
          if (Date.now() > deadline) throw new Error('no snapshot of BTCUSDT past sequence 30');
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await client.end();
      }
    } finally {
      await a.stop();
    }
    const db = await openTestPersistence(other);
    const asked: string[] = [];
    const archive = db.clientOrders;
    const find = archive.findByClientOrderIds.bind(archive);
    archive.findByClientOrderIds = (pair, account, ids) => {
      asked.push(...ids);
      return find(pair, account, ids);
    };
    const service = new TradingService(
      loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', MIGRATION_INITIAL_STATE: 'legacy_only', SNAPSHOT_INTERVAL_MS: '0', ...env }),
      { logger: quiet, persistence: db },
    );
    const ports = await service.start();
    const orders = new OrdersServiceClient(`127.0.0.1:${ports.grpcPort}`, credentials.createInsecure());
    afterEachStop.push(async () => {
      orders.close();
      await service.stop(1_000);
      await db.close(5_000);
    });
    expect(service.recoveryReport?.pairs.find((p) => p.pair === 'BTCUSDT')?.snapshotSequence).toBeGreaterThanOrEqual(30);
    const victim = bearer((await loginAt(`127.0.0.1:${ports.grpcPort}`, key)).token);
    // New ids of the account whose orders were evicted: applied without a query (before the filter, each one cost one).
    for (let i = 0; i < 20; i++) {
      const r = await call<SubmitOrderResponse>(orders.submitOrder.bind(orders), ioc(`snap-new-${i}`, '50.00'), victim);
      expect(r.order?.clientOrderId).toBe(`snap-new-${i}`);
    }
    expect(asked).toEqual([]);
    // The evicted id is still answered with its order, from the table.
    const retry = await call<SubmitOrderResponse>(orders.submitOrder.bind(orders), ioc('snap-1', '100.00'), victim);
    expect(retry.order).toMatchObject({ orderId: first.order!.orderId, status: OrderStatus.ORDER_STATUS_FILLED, clientOrderId: 'snap-1' });
    expect(asked).toEqual(['snap-1']);
  });

  it('Redis kept, database reset: a resubmitted client order id is not answered with an order the new database does not hold (issue 13 item 16)', async () => {
    const env = { REDIS_URL, REDIS_PREFIX: redisPrefix };
    const a = await start(schema, env);
    let key: { keyId: string; secret: string };
    let first: SubmitOrderResponse;
    try {
      key = await a.keys('reset-trader');
      first = await call<SubmitOrderResponse>(a.orders.submitOrder.bind(a.orders), limitOrder('buy', '10.00', '0.01', { pair: 'SOLUSDT', clientOrderId: 'before-reset' }), await a.login(key));
    } finally {
      await a.stop();
    }
    // The same Redis (sessions and API keys survive), a fresh database.
    const b = await start(other, env);
    afterEachStop.push(() => b.stop());
    const md = await b.login(key);
    const again = await call<SubmitOrderResponse>(b.orders.submitOrder.bind(b.orders), limitOrder('buy', '10.00', '0.01', { pair: 'SOLUSDT', clientOrderId: 'before-reset' }), md);
    // A real order of the new database (it can be read back), not the old database's answer.
    const got = await call<{ order: { orderId: string } }>(b.orders.getOrder.bind(b.orders) as never, { pair: 'SOLUSDT', order: { $case: 'clientOrderId', value: 'before-reset' } }, md);
    expect(got.order.orderId).toBe(again.order!.orderId);
    expect(b.service.pairs.get('SOLUSDT')!.openOrderCount).toBe(1);
    void first;
  });
});

describe('migration 002 on a database with duplicate client order ids (left by an older version)', () => {
  it('stops with a message that says how to find them, and applies once they are resolved', async () => {
    const dupSchema = await testSchema('i7_dup');
    const pool = createPostgresPool(compilePostgresOptions({ connectionString: TEST_DATABASE_URL, options: dupSchema.options }));
    try {
      const all = loadMigrations();
      await runMigrations(pool, all.slice(0, 1));
      const row = (id: number) =>
        pool.query(
          `INSERT INTO orders (pair, order_id, account, client_order_id, side, order_type, tif, post_only, stp, price_ticks, quantity_lots, filled_lots, remaining_lots, status, journal_sequence, created_at, updated_at)
           VALUES ('BTCUSDT', $1, 'alice', 'twice', 0, 0, 1, false, 0, 1, 1, 1, 0, 'filled', $1, now(), now())`,
          [id],
        );
      await row(1);
      await row(2);
      await expect(runMigrations(pool, all)).rejects.toThrow(/1 client order ids used by more than one order .* array_agg/);
      await pool.query("UPDATE orders SET client_order_id = 'twice-dup-2' WHERE order_id = 2");
      expect((await runMigrations(pool, all.slice(0, 2))).applied).toEqual([2]); // later migrations (003 …) are not what this is about
    } finally {
      await pool.end();
      await dupSchema.drop();
    }
  });
});
