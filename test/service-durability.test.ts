// The in-process TradingService on the real PostgreSQL: every reply (unary, batch, OrderFlow) leaves
// after its command is journaled, market data follows the journal, and a restart (a new service on the
// same schema) recovers the books, the registry and the sequences exactly — from the journal alone and
// from a snapshot plus the journal after it.
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradingService } from '../server/adapters/trading-service.ts';
import { MarketDataServiceClient, type MarketDataUpdate } from '../server/adapters/grpc/generated/trading/v1/market_data.ts';
import { OrdersServiceClient, type OrderFlowRequest, type OrderFlowResponse } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import type { PostgresPersistence } from '../server/adapters/postgres/postgres-persistence.ts';
import type { TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { loadConfig } from '../server/config.ts';
import { asAccount, failure, limitOrder, unary } from './grpc-harness.ts';
import { openTestPersistence, testSchema } from './support/service-database.ts';

const CANCELLED = status.CANCELLED;

const quiet = { info: () => {}, error: () => {} };

interface Running {
  service: TradingService;
  db: PostgresPersistence;
  orders: OrdersServiceClient;
  marketData: MarketDataServiceClient;
  admin: string;
  stop(): Promise<void>;
}

let schema: TestSchema;

async function startService(env: Record<string, string> = {}): Promise<Running> {
  const db = await openTestPersistence(schema);
  const service = new TradingService(
    loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', AUTH_MODE: 'header', SNAPSHOT_EVERY_COMMANDS: '0', SNAPSHOT_INTERVAL_MS: '0', ...env }),
    { logger: quiet, persistence: db },
  );
  const ports = await service.start();
  const address = `127.0.0.1:${ports.grpcPort}`;
  const orders = new OrdersServiceClient(address, credentials.createInsecure());
  const marketData = new MarketDataServiceClient(address, credentials.createInsecure());
  return {
    service,
    db,
    orders,
    marketData,
    admin: `http://127.0.0.1:${ports.adminPort}`,
    async stop() {
      orders.close();
      marketData.close();
      await service.stop(1_000);
      await db.close(5_000);
    },
  };
}

beforeAll(async () => {
  schema = await testSchema('ts_svc_durable');
});
afterAll(async () => {
  await schema?.drop();
});

async function journalCount(db: PostgresPersistence, pair: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM journal WHERE pair = $1', [pair]);
  return Number(rows[0]!.n);
}

async function flow(orders: OrdersServiceClient, account: string, requests: OrderFlowRequest[]): Promise<OrderFlowResponse[]> {
  const stream = orders.orderFlow(await asAccount(account));
  const responses: OrderFlowResponse[] = [];
  const expected = requests.reduce((a, r) => a + r.commands.length, 0);
  return new Promise((resolve, reject) => {
    let results = 0;
    stream.on('data', (r: OrderFlowResponse) => {
      responses.push(r);
      results += r.messages.filter((m) => m.message?.$case === 'result').length;
      if (results === expected) stream.end();
    });
    stream.on('error', (e: ServiceError) => reject(e));
    stream.on('end', () => resolve(responses));
    for (const r of requests) stream.write(r);
  });
}

/** Everything the API shows about the state: books, each account's open orders, orders by client id. */
async function visibleState(r: Running, accounts: string[], clientIds: string[]) {
  const books = await Promise.all(['BTCUSDT', 'ETHUSDT'].map((pair) => unary<any, any>(r.marketData.getOrderBook.bind(r.marketData), { pair, depth: 0 })));
  const open = await Promise.all(accounts.map((a) => unary<any, any>(r.orders.listOpenOrders.bind(r.orders), { pair: '' }, a)));
  const byCid: unknown[] = [];
  for (const a of accounts)
    for (const cid of clientIds) {
      try {
        byCid.push((await unary<any, any>(r.orders.getOrder.bind(r.orders), { pair: 'BTCUSDT', order: { $case: 'clientOrderId', value: cid } }, a)).order);
      } catch (err) {
        byCid.push((err as ServiceError).code);
      }
    }
  return { books: books.map((b) => b.book), open: open.map((o) => o.orders), byCid };
}

describe('ack after durable on the real PostgreSQL', () => {
  it('replies leave after their commands are journaled; a restart recovers the exact state', async () => {
    const first = await startService();
    const db = first.db;
    // unary
    const r1 = await unary<any, any>(first.orders.submitOrder.bind(first.orders), limitOrder('sell', '101.00', '0.50', { clientOrderId: 'u1' }), 'alice');
    expect(await journalCount(db, 'BTCUSDT')).toBeGreaterThanOrEqual(1);
    const { rows } = await db.pool.query('SELECT status, client_order_id FROM orders WHERE pair = $1 AND order_id = $2', ['BTCUSDT', Number(r1.order.orderId)]);
    expect(rows).toEqual([{ status: 'new', client_order_id: 'u1' }]);

    // market data follows the journal: a subscriber sees the trade after it is durable
    const updates: MarketDataUpdate[] = [];
    const md = first.marketData.streamMarketData({ pair: 'BTCUSDT', depth: 10 });
    md.on('data', (u: MarketDataUpdate) => updates.push(u));
    md.on('error', () => {});
    await new Promise<void>((r) => md.once('data', () => r())); // subscribed: its snapshot arrived

    // batch
    const batch = await unary<any, any>(
      first.orders.submitOrderBatch.bind(first.orders),
      { orders: [limitOrder('buy', '101.00', '0.20', { clientOrderId: 'b1' }), limitOrder('buy', '99.00', '0.30', { clientOrderId: 'b2' }), limitOrder('buy', '1.00', '0.01', { clientOrderId: 'bad', price: '0.001' })] },
      'bob',
    );
    expect(batch.results.map((x: any) => x.error?.code ?? 0)).toEqual([0, 0, 3]);
    // OrderFlow, several messages pipelined
    const responses = await flow(first.orders, 'carol', [
      { commands: [{ correlationId: 'f1', command: { $case: 'submit', value: limitOrder('buy', '101.00', '0.10', { clientOrderId: 'f1' }) } }] },
      { commands: [{ correlationId: 'f2', command: { $case: 'submit', value: limitOrder('sell', '98.00', '0.05', { clientOrderId: 'f2' }) } }, { correlationId: 'f3', command: { $case: 'cancel', value: { pair: 'BTCUSDT', order: { $case: 'clientOrderId', value: 'f2' } } } }] },
    ]);
    const results = responses.flatMap((r) => r.messages.filter((m) => m.message?.$case === 'result').map((m) => (m.message as any).value));
    expect(results.map((x) => x.correlationId)).toEqual(['f1', 'f2', 'f3']);
    // every acked command is in the journal now
    const applied = first.service.pairs.get('BTCUSDT')!.lastCommandSequence;
    expect(await journalCount(db, 'BTCUSDT')).toBe(applied);
    // The market-data sequence now (a fresh subscriber's snapshot): the first stream must reach it,
    // delta by delta, without a gap.
    const now = await new Promise<number>((resolve, reject) => {
      const probe = first.marketData.streamMarketData({ pair: 'BTCUSDT', depth: 1 });
      probe.once('data', (u: MarketDataUpdate) => {
        resolve(Number(u.sequence));
        probe.cancel();
      });
      probe.on('error', (err: ServiceError) => (err.code === CANCELLED ? undefined : reject(err)));
    });
    const lastSequence = () => Number(updates.at(-1)?.sequence ?? -1);
    await new Promise<void>((resolve) => {
      const check = () => {
        if (lastSequence() >= now) resolve();
      };
      md.on('data', check);
      check();
    });
    const deltas = updates.filter((u) => u.update?.$case === 'delta').map((u) => Number(u.sequence));
    expect(deltas.length).toBeGreaterThan(0);
    expect(deltas).toEqual(deltas.map((_, i) => deltas[0]! + i));
    expect(deltas.at(-1)).toBe(now);
    md.cancel();

    const status = (await (await fetch(`${first.admin}/admin/persistence/status`)).json()) as any;
    expect(status.journal.available).toBe(true);
    expect(status.pairs.find((p: any) => p.pair === 'BTCUSDT')).toMatchObject({ applied_sequence: applied, durable_sequence: applied, held_publications: 0 });

    const accounts = ['alice', 'bob', 'carol'];
    const cids = ['u1', 'b1', 'b2', 'f1', 'f2', 'nope'];
    const before = await visibleState(first, accounts, cids);
    const hash = first.service.pairs.get('BTCUSDT')!.stateHash();
    await first.stop();
    // The graceful stop took a snapshot; drop it so the restart replays the journal alone.
    const admin = await openTestPersistence(schema);
    expect((await admin.pool.query('DELETE FROM order_book_snapshots')).rowCount).toBeGreaterThan(0);
    await admin.close();

    // Restart from the journal alone.
    const second = await startService();
    expect(second.service.recoveryReport!.pairs.find((p) => p.pair === 'BTCUSDT')).toMatchObject({ snapshotSequence: 0, replayed: applied, sequence: applied });
    expect(await visibleState(second, accounts, cids)).toEqual(before);
    expect(second.service.pairs.get('BTCUSDT')!.stateHash()).toBe(hash);
    // The order ids continue where they stopped.
    const next = await unary<any, any>(second.orders.submitOrder.bind(second.orders), limitOrder('sell', '150.00', '0.01', { clientOrderId: 'after' }), 'alice');
    expect(Number(next.order.orderId)).toBe(second.service.pairs.get('BTCUSDT')!.sequences.lastOrderId);
    // A graceful stop takes a snapshot; the third start restores from it.
    const afterState = await visibleState(second, accounts, [...cids, 'after']);
    await second.stop();
    const third = await startService();
    const rep = third.service.recoveryReport!.pairs.find((p) => p.pair === 'BTCUSDT')!;
    expect(rep.snapshotSequence).toBe(applied + 1);
    expect(rep.replayed).toBe(0);
    expect(await visibleState(third, accounts, [...cids, 'after'])).toEqual(afterState);
    await third.stop();
  });
});

describe('migration and breaker state across a restart', () => {
  it('a pair at 25 % with an open breaker comes back at 25 % with the breaker open', async () => {
    const first = await startService();
    const post = (path: string, body: unknown) => fetch(`${first.admin}${path}`, { method: 'POST', body: JSON.stringify(body) });
    expect((await post('/admin/migration/percentage', { pair: 'ETHUSDT', percentage: 25, reason: 'test' })).status).toBe(200);
    first.service.breakers.get('SOLUSDT').trip('operator', 'test trip');
    // saved within a ramp tick
    const admin = await openTestPersistence(schema);
    for (let i = 0; i < 100; i++) {
      const { rows } = await admin.pool.query<{ pair: string; state: any }>('SELECT pair, state FROM pair_state ORDER BY pair');
      const byPair = Object.fromEntries(rows.map((r) => [r.pair, r.state]));
      if (byPair['ETHUSDT']?.migration?.percentage === 25 && byPair['SOLUSDT']?.breaker?.open === true) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await admin.close();
    await first.stop();
    const second = await startService();
    expect(second.service.migration.statusOf('ETHUSDT')).toMatchObject({ state: 'canary', current_percentage: 25 });
    expect(second.service.breakers.get('SOLUSDT').status()).toMatchObject({ open: true, reason: 'operator' });
    expect(second.service.breakers.get('BTCUSDT').isOpen).toBe(false);
    await second.stop();
  });
});

describe('recovery fails closed per pair', () => {
  it('a corrupt snapshot stops that pair with a clear error; the other pairs trade', async () => {
    const first = await startService();
    await unary<any, any>(first.orders.submitOrder.bind(first.orders), limitOrder('buy', '50.00', '0.01', { pair: 'ETHUSDT', clientOrderId: 'e1' }), 'alice');
    await unary<any, any>(first.orders.submitOrder.bind(first.orders), limitOrder('buy', '50.00', '0.01', { pair: 'SOLUSDT', clientOrderId: 's1' }), 'alice');
    await first.stop(); // snapshots both pairs
    const admin = await openTestPersistence(schema);
    const changed = await admin.pool.query(
      `UPDATE order_book_snapshots SET payload = jsonb_set(payload::jsonb, '{lastOrderId}', '999')::json WHERE id = (SELECT max(id) FROM order_book_snapshots WHERE pair = 'ETHUSDT')`,
    );
    expect(changed.rowCount).toBe(1);
    await admin.close();

    const second = await startService();
    const report = second.service.recoveryReport!.pairs.find((p) => p.pair === 'ETHUSDT')!;
    expect(report.error).toMatch(/snapshot \d+ of ETHUSDT is corrupt: checksum mismatch/);
    const refused = await failure(unary(second.orders.submitOrder.bind(second.orders), limitOrder('buy', '50.00', '0.01', { pair: 'ETHUSDT', clientOrderId: 'e2' }), 'alice'));
    expect(refused.code).toBe(status.UNAVAILABLE);
    expect(refused.details).toMatch(/ETHUSDT is stopped: recovery failed: .*corrupt/);
    const read = await failure(unary(second.orders.getOrder.bind(second.orders), { pair: 'ETHUSDT', order: { $case: 'clientOrderId', value: 'e1' } }, 'alice'));
    expect(read.code).toBe(status.UNAVAILABLE);
    const book = await failure(unary(second.marketData.getOrderBook.bind(second.marketData), { pair: 'ETHUSDT', depth: 0 }));
    expect(book.details).toMatch(/ETHUSDT is stopped/);
    // The other pairs recovered and trade.
    const sol = await unary<any, any>(second.orders.getOrder.bind(second.orders), { pair: 'SOLUSDT', order: { $case: 'clientOrderId', value: 's1' } }, 'alice');
    expect(sol.order.clientOrderId).toBe('s1');
    await unary(second.orders.submitOrder.bind(second.orders), limitOrder('buy', '50.00', '0.01', { pair: 'SOLUSDT', clientOrderId: 's2' }), 'alice');
    const st = (await (await fetch(`${second.admin}/admin/persistence/status`)).json()) as any;
    expect(st.pairs.find((p: any) => p.pair === 'ETHUSDT').stopped).toMatch(/corrupt/);
    expect(st.pairs.find((p: any) => p.pair === 'SOLUSDT').stopped).toBeNull();
    await second.stop();
    // Repair by removing the bad snapshot: recovery replays the journal and the pair is back.
    const repair = await openTestPersistence(schema);
    await repair.pool.query(`DELETE FROM order_book_snapshots WHERE pair = 'ETHUSDT'`);
    await repair.close();
    const third = await startService();
    const e1 = await unary<any, any>(third.orders.getOrder.bind(third.orders), { pair: 'ETHUSDT', order: { $case: 'clientOrderId', value: 'e1' } }, 'alice');
    expect(e1.order.clientOrderId).toBe('e1');
    await third.stop();
  });
});

describe('start-up recovery', () => {
  it('/health answers 503 (gRPC NOT_SERVING, recovering) until recovery is done, and gRPC does not listen before', async () => {
    const { createServer } = await import('node:net');
    const freePort = () =>
      new Promise<number>((resolve) => {
        const srv = createServer();
        srv.listen(0, '127.0.0.1', () => {
          const port = (srv.address() as { port: number }).port;
          srv.close(() => resolve(port));
        });
      });
    const [adminPort, grpcPort] = [await freePort(), await freePort()];
    const db = await openTestPersistence(schema);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slowRecovery = Object.create(db.recovery) as typeof db.recovery;
    slowRecovery.recordedPairs = async () => {
      await gate;
      return db.recovery.recordedPairs();
    };
    const service = new TradingService(
      loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: String(grpcPort), ADMIN_PORT: String(adminPort), AUTH_MODE: 'header', SNAPSHOT_EVERY_COMMANDS: '0', SNAPSHOT_INTERVAL_MS: '0' }),
      { logger: quiet, persistence: { journal: db.journal, recovery: slowRecovery, pairState: db.pairState } },
    );
    const started = service.start();
    let health: Response | undefined;
    for (let i = 0; i < 100 && health === undefined; i++) {
      health = await fetch(`http://127.0.0.1:${adminPort}/health`).catch(() => undefined);
      if (health === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    expect(health!.status).toBe(503);
    const body = (await health!.json()) as any;
    expect(body.service).toMatchObject({ grpc: 'NOT_SERVING', recovering: true });
    const orders = new OrdersServiceClient(`127.0.0.1:${grpcPort}`, credentials.createInsecure());
    const early = await failure(unary(orders.getOrder.bind(orders), { pair: 'BTCUSDT', order: { $case: 'orderId', value: '1' } }, 'alice', { deadline: Date.now() + 500 }));
    expect([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]).toContain(early.code);
    release();
    await started;
    expect((await fetch(`http://127.0.0.1:${adminPort}/health`)).status).toBe(200);
    orders.close();
    await service.stop(1_000);
    await db.close();
  });
});
