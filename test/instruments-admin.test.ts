// Pairs are data: an in-process TradingService on the real PostgreSQL (a schema of its own, dropped at the
// end), driven through the admin HTTP API and real gRPC clients. A pair listed at runtime is visible at once
// (ListInstruments, GetOrderBook, StreamMarketData), trades, survives a restart with its orders, refuses
// PATCH of its tick and DELETE while it has open orders, is delisted after the cancel (NOT_FOUND naming it,
// its streams ended, its metric series gone), stays delisted across a restart (its journal kept, not
// served), and comes back with its history when listed again. Bad input is 400 naming the field and
// changes nothing; the number of listed pairs is capped.
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradingService } from '../server/adapters/trading-service.ts';
import { InstrumentsServiceClient } from '../server/adapters/grpc/generated/trading/v1/instruments.ts';
import { MarketDataServiceClient, type MarketDataUpdate } from '../server/adapters/grpc/generated/trading/v1/market_data.ts';
import { OrdersServiceClient } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import type { PostgresPersistence } from '../server/adapters/postgres/postgres-persistence.ts';
import type { TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { loadConfig } from '../server/config.ts';
import { failure, limitOrder, unary } from './grpc-harness.ts';
import { TEST_DATABASE_URL, openTestPersistence, testSchema } from './support/service-database.ts';
import { TcpFaultProxy } from './support/tcp-fault-proxy.ts';

const quiet = { info: () => {}, error: (m: string, e?: unknown) => { if (process.env['DEBUG_INSTR']) console.error(m, e); } };

interface Running {
  service: TradingService;
  db: PostgresPersistence | undefined;
  orders: OrdersServiceClient;
  marketData: MarketDataServiceClient;
  instruments: InstrumentsServiceClient;
  admin: string;
  stop(): Promise<void>;
}

async function startService(schema: TestSchema | undefined, env: Record<string, string> = {}, connectionString?: string): Promise<Running> {
  const db = schema === undefined ? undefined : await openTestPersistence(schema, connectionString === undefined ? {} : { connectionString, writeTimeoutMs: 400 });
  const service = new TradingService(
    loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', AUTH_MODE: 'header', SNAPSHOT_EVERY_COMMANDS: '0', SNAPSHOT_INTERVAL_MS: '0', ...env }),
    { logger: quiet, ...(db !== undefined ? { persistence: db } : {}) },
  );
  try {
    const ports = await service.start();
    const address = `127.0.0.1:${ports.grpcPort}`;
    const orders = new OrdersServiceClient(address, credentials.createInsecure());
    const marketData = new MarketDataServiceClient(address, credentials.createInsecure());
    const instruments = new InstrumentsServiceClient(address, credentials.createInsecure());
    return {
      service,
      db,
      orders,
      marketData,
      instruments,
      admin: `http://127.0.0.1:${ports.adminPort}`,
      async stop() {
        orders.close();
        marketData.close();
        instruments.close();
        await service.stop(1_000);
        await db?.close(5_000);
      },
    };
  } catch (err) {
    await db?.close(1_000);
    throw err;
  }
}

async function withDb(schema: TestSchema, run: (db: PostgresPersistence) => Promise<unknown>): Promise<void> {
  const db = await openTestPersistence(schema);
  try {
    await run(db);
  } finally {
    await db.close(1_000);
  }
}

async function http(r: Running, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${r.admin}${path}`, { method, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
  return { status: res.status, json: await res.json() };
}

const DOGE = {
  symbol: 'DOGEUSDT',
  base_asset: 'DOGE',
  quote_asset: 'USDT',
  tick_size: '0.00001',
  lot_size: '1',
  min_quantity: '10',
  max_quantity: '5000000',
  max_price: '100',
  market_protection_bps: 300,
};

const listed = async (r: Running): Promise<any[]> => (await unary<any, any>(r.instruments.listInstruments.bind(r.instruments), {})).instruments;
const book = (r: Running, pair: string) => unary<any, any>(r.marketData.getOrderBook.bind(r.marketData), { pair, depth: 0 });
const submit = (r: Running, req: ReturnType<typeof limitOrder>, account: string) => unary<any, any>(r.orders.submitOrder.bind(r.orders), req, account);
const doge = (side: 'buy' | 'sell', price: string, quantity: string, clientOrderId = '') => limitOrder(side, price, quantity, { pair: 'DOGEUSDT', clientOrderId });

/** The first message of a market-data stream (its snapshot), and how it ends. */
function openStream(r: Running, pair: string): { first: Promise<MarketDataUpdate>; ended: Promise<ServiceError | 'end'> } {
  const call = r.marketData.streamMarketData({ pair, depth: 5 });
  const first = new Promise<MarketDataUpdate>((resolve, reject) => {
    call.once('data', resolve);
    call.once('error', reject);
  });
  const ended = new Promise<ServiceError | 'end'>((resolve) => {
    call.on('data', () => {});
    call.on('error', (e: ServiceError) => resolve(e));
    call.on('end', () => resolve('end'));
  });
  return { first, ended };
}

describe('instruments listed, halted, changed and delisted at runtime (real PostgreSQL)', () => {
  let schema: TestSchema;
  beforeAll(async () => {
    schema = await testSchema('ts_instruments');
  });
  afterAll(async () => {
    await schema?.drop();
  });

  it('lists a pair, trades on it, keeps it across restarts, refuses what open orders forbid, delists it for good', async () => {
    let r = await startService(schema);
    try {
      // First start without config: the defaults, written to the table.
      expect((await listed(r)).map((i) => i.pair)).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
      const { rows: seeded } = await r.db!.pool.query<{ symbol: string }>('SELECT symbol FROM instruments ORDER BY symbol');
      expect(seeded.map((x) => x.symbol)).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);

      // Bad input: 400 naming the field, nothing changed (not listed, not stored).
      const bad: [unknown, string, RegExp][] = [
        [{ ...DOGE, tick_size: 0.00001 }, 'tick_size', /exact decimal \(not a JSON number: no floats\)/],
        [{ ...DOGE, tick_size: '0' }, 'tick_size', /positive decimal/],
        [{ ...DOGE, max_price: '100.000001' }, 'max_price', /not a multiple of the tick_size 0.00001/],
        [{ ...DOGE, min_quantity: '10.5' }, 'min_quantity', /not a multiple of the lot_size 1/],
        [{ ...DOGE, symbol: 'doge' }, 'symbol', /upper-case/],
        [{ ...DOGE, tick: '0.1' }, 'tick', /not an instrument field/],
        [{ ...DOGE, base_asset: undefined }, 'base_asset', /is required/],
        [{ ...DOGE, max_quantity: '1' }, 'max_quantity', /must be >= min_quantity/],
        [{ ...DOGE, market_protection_bps: 10_001 }, 'market_protection_bps', /10000/],
        [{ ...DOGE, max_price: '1'.repeat(25) }, 'max_price', /31 bits|too large/],
      ];
      for (const [body, field, reason] of bad) {
        const res = await http(r, 'POST', '/admin/instruments', body);
        expect(res.status, JSON.stringify(res.json)).toBe(400);
        expect(res.json.field).toBe(field);
        expect(res.json.reason).toMatch(reason);
      }
      const long = await http(r, 'POST', '/admin/instruments', { ...DOGE, symbol: 'X'.repeat(5000) });
      expect(long.status).toBe(400);
      expect(long.json.reason.length).toBeLessThan(200); // a short prefix of the value, not all of it
      expect((await listed(r)).map((i) => i.pair)).not.toContain('DOGEUSDT');
      expect((await r.db!.pool.query("SELECT 1 FROM instruments WHERE symbol = 'DOGEUSDT'")).rowCount).toBe(0);

      // List: visible at once through gRPC and market data.
      const stream = openStream(r, 'DOGEUSDT').first.catch((e: ServiceError) => e); // before listing: NOT_FOUND
      expect(((await stream) as ServiceError).code).toBe(status.NOT_FOUND);
      const created = await http(r, 'POST', '/admin/instruments', DOGE);
      expect(created.status, JSON.stringify(created.json)).toBe(201);
      expect(created.json.instrument).toMatchObject({ ...DOGE, max_price: '100.00000', min_price: '0.00001', halted: { on: false }, open_orders: 0 }); // prices at the tick's scale
      expect(await listed(r)).toContainEqual({ pair: 'DOGEUSDT', baseAsset: 'DOGE', quoteAsset: 'USDT', tickSize: '0.00001', lotSize: '1', minQuantity: '10', maxQuantity: '5000000', minPrice: '0.00001', maxPrice: '100.00000', marketProtectionBps: 300 });
      expect((await book(r, 'DOGEUSDT')).book).toMatchObject({ pair: 'DOGEUSDT', bids: [], asks: [] });
      const live = openStream(r, 'DOGEUSDT');
      expect((await live.first).update?.$case).toBe('snapshot');
      expect((await http(r, 'POST', '/admin/instruments', DOGE)).status).toBe(409); // already listed

      // Trade on it: its tick and lot apply.
      expect((await failure(submit(r, doge('buy', '0.123456', '100'), 'alice'))).code).toBe(status.INVALID_ARGUMENT);
      await submit(r, doge('sell', '0.12345', '300', 's1'), 'alice');
      const taker = await submit(r, doge('buy', '0.12345', '100'), 'bob');
      expect(taker.order.status).toBeDefined();
      expect((await book(r, 'DOGEUSDT')).book.asks).toEqual([{ price: '0.12345', quantity: '200', orderCount: 1 }]);
      expect(await r.service.metrics.render()).toMatch(/trading_trades_total\{pair="DOGEUSDT"\} 1/);

      // Open orders refuse a new tick size and the delist: 409 with the count, nothing changed.
      const misfit = await http(r, 'PATCH', '/admin/instruments/DOGEUSDT', { tick_size: '0.0001' });
      expect(misfit.status).toBe(400); // the limits it keeps must fit the new tick
      expect(misfit.json).toMatchObject({ field: 'min_price', reason: expect.stringMatching(/0.00001 is not a multiple of the tick_size 0.0001/) });
      const patch = await http(r, 'PATCH', '/admin/instruments/DOGEUSDT', { tick_size: '0.0001', min_price: '0.0001' });
      expect(patch.status).toBe(409);
      expect(patch.json.reason).toMatch(/DOGEUSDT has 1 open order; it can be given a new tick or lot size only without any/);
      const refused = await http(r, 'DELETE', '/admin/instruments/DOGEUSDT');
      expect(refused.status).toBe(409);
      expect(refused.json.reason).toMatch(/DOGEUSDT has 1 open order; it can be delisted only without any/);
      expect((await listed(r)).find((i) => i.pair === 'DOGEUSDT')?.tickSize).toBe('0.00001');
      expect((await submit(r, doge('buy', '0.1', '10'), 'carol')).order).toBeDefined(); // not left halted by the refusal
      await unary<any, any>(r.orders.cancelAllOrders.bind(r.orders), { pair: 'DOGEUSDT', side: 0 }, 'carol');
      // Limits can change with open orders (they apply to new orders).
      const limits = await http(r, 'PATCH', '/admin/instruments/DOGEUSDT', { max_quantity: '1000000' });
      expect(limits.status, JSON.stringify(limits.json)).toBe(200);
      expect(limits.json.instrument).toMatchObject({ max_quantity: '1000000', open_orders: 1 });
      expect((await book(r, 'DOGEUSDT')).book.asks).toEqual([{ price: '0.12345', quantity: '200', orderCount: 1 }]);

      // Halt: new orders refused naming the pair, cancels work, other pairs trade; kept across the restart.
      const halted = await http(r, 'POST', '/admin/instruments/DOGEUSDT/halt', { reason: 'listing review' });
      expect(halted.json).toMatchObject({ action: 'halt', changed: true, instrument: { halted: { on: true, reason: 'listing review' } } });
      const h = await failure(submit(r, doge('buy', '0.1', '10'), 'carol'));
      expect(h.code).toBe(status.UNAVAILABLE);
      expect(h.details).toMatch(/trading of DOGEUSDT halted/);
      expect((await submit(r, limitOrder('buy', '100.00', '0.01'), 'carol')).order).toBeDefined();
      expect(await r.service.metrics.render()).toMatch(/trading_pair_halted\{pair="DOGEUSDT"\} 1/);
      expect((await http(r, 'GET', '/admin/trading/status')).json).toMatchObject({ accepting_new_orders: true, halted_pairs: [{ pair: 'DOGEUSDT', on: true, by: 'admin-api', reason: 'listing review' }] });

      // Changes are carried out one at a time in arrival order, and stored in that order.
      const shib = { ...DOGE, symbol: 'SHIBUSDT', base_asset: 'SHIB' };
      const [listedShib, haltedShib, delistedShib] = await Promise.all([http(r, 'POST', '/admin/instruments', shib), http(r, 'POST', '/admin/instruments/SHIBUSDT/halt'), http(r, 'DELETE', '/admin/instruments/SHIBUSDT')]);
      expect([listedShib.status, haltedShib.status, delistedShib.status]).toEqual([201, 200, 200]);
      const { rows: shibRows } = await r.db!.pool.query("SELECT spec FROM instruments WHERE symbol = 'SHIBUSDT'");
      expect(shibRows[0].spec).toMatchObject({ version: 1, listed: false, instrument: { symbol: 'SHIBUSDT', tick_size: '0.00001' } });
    } finally {
      await r.stop();
    }

    // Restart: still listed with its resting order, its trade history and its halt.
    r = await startService(schema);
    try {
      expect((await listed(r)).map((i) => i.pair)).toEqual(['BTCUSDT', 'DOGEUSDT', 'ETHUSDT', 'SOLUSDT']);
      expect((await listed(r)).find((i) => i.pair === 'DOGEUSDT')?.maxQuantity).toBe('1000000');
      expect((await book(r, 'DOGEUSDT')).book.asks).toEqual([{ price: '0.12345', quantity: '200', orderCount: 1 }]);
      const order = await unary<any, any>(r.orders.getOrder.bind(r.orders), { pair: 'DOGEUSDT', order: { $case: 'clientOrderId', value: 's1' } }, 'alice');
      expect(order.order).toMatchObject({ filledQuantity: '100', remainingQuantity: '200' });
      expect((await failure(submit(r, doge('buy', '0.1', '10'), 'carol'))).details).toMatch(/trading of DOGEUSDT halted/);
      expect((await http(r, 'POST', '/admin/instruments/DOGEUSDT/resume')).json).toMatchObject({ changed: true, instrument: { halted: { on: false } } });

      // After the cancel: delisted, gone from gRPC (NOT_FOUND naming it), its open stream ended, its series removed.
      await unary<any, any>(r.orders.cancelAllOrders.bind(r.orders), { pair: 'DOGEUSDT', side: 0 }, 'alice');
      const live = openStream(r, 'DOGEUSDT');
      await live.first;
      const gone = await http(r, 'DELETE', '/admin/instruments/DOGEUSDT');
      expect(gone.status, JSON.stringify(gone.json)).toBe(200);
      expect(gone.json).toMatchObject({ action: 'delist', instrument: { symbol: 'DOGEUSDT' } });
      const ended = await live.ended;
      expect(ended).not.toBe('end');
      expect((ended as ServiceError).code).toBe(status.NOT_FOUND);
      expect((ended as ServiceError).details).toMatch(/DOGEUSDT was delisted/);
      expect((await listed(r)).map((i) => i.pair)).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
      const nf = await failure(book(r, 'DOGEUSDT'));
      expect(nf.code).toBe(status.NOT_FOUND);
      expect(nf.details).toMatch(/DOGEUSDT/);
      expect((await failure(submit(r, doge('buy', '0.1', '10'), 'carol'))).code).toBe(status.NOT_FOUND);
      expect(await r.service.metrics.render()).not.toMatch(/DOGEUSDT/);
      expect((await http(r, 'DELETE', '/admin/instruments/DOGEUSDT')).status).toBe(404);
    } finally {
      await r.stop();
    }

    // Restart: stays delisted; its journal is kept, not served (recovery reports it).
    r = await startService(schema);
    try {
      expect((await listed(r)).map((i) => i.pair)).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
      expect(r.service.recoveryReport?.unknownPairs).toEqual(['DOGEUSDT', 'SHIBUSDT']); // both delisted (SHIBUSDT: only its delist snapshot)
      expect(Number((await r.db!.pool.query("SELECT count(*) AS n FROM journal WHERE pair = 'DOGEUSDT'")).rows[0].n)).toBeGreaterThan(0);

      // A journal tail not covered by a snapshot (here: snapshots removed by hand) is replayed only under the
      // rules it was written with (the stored ones: max_quantity 1000000 since the PATCH): other rules → 409.
      await r.db!.pool.query("DELETE FROM order_book_snapshots WHERE pair = 'DOGEUSDT'");
      const otherRules = await http(r, 'POST', '/admin/instruments', DOGE);
      expect(otherRules.status).toBe(409);
      expect(otherRules.json.reason).toMatch(/the journal of DOGEUSDT holds \d+ commands after its last snapshot, written under other rules/);
      expect((await listed(r)).map((i) => i.pair)).not.toContain('DOGEUSDT');
      expect((await r.db!.pool.query("SELECT spec FROM instruments WHERE symbol = 'DOGEUSDT'")).rows[0].spec).toMatchObject({ listed: false, instrument: { max_quantity: '1000000' } });
      // Listed again: its history comes back (sequences continue, its orders are found), then trades on.
      const again = await http(r, 'POST', '/admin/instruments', { ...DOGE, max_quantity: '1000000' });
      expect(again.status, JSON.stringify(again.json)).toBe(201);
      const old = await unary<any, any>(r.orders.getOrder.bind(r.orders), { pair: 'DOGEUSDT', order: { $case: 'clientOrderId', value: 's1' } }, 'alice');
      expect(old.order).toMatchObject({ filledQuantity: '100', remainingQuantity: '0' });
      const next = await submit(r, doge('sell', '0.2', '10'), 'alice');
      expect(Number(next.order.orderId)).toBeGreaterThan(Number(old.order.orderId));
      // Without open orders the tick size may change; the new one applies at once.
      await unary<any, any>(r.orders.cancelAllOrders.bind(r.orders), { pair: 'DOGEUSDT', side: 0 }, 'alice');
      const changed = await http(r, 'PATCH', '/admin/instruments/DOGEUSDT', { tick_size: '0.0001', min_price: '0.0001' });
      expect(changed.status, JSON.stringify(changed.json)).toBe(200);
      expect((await listed(r)).find((i) => i.pair === 'DOGEUSDT')?.tickSize).toBe('0.0001');
      expect((await failure(submit(r, doge('buy', '0.12345', '10'), 'bob'))).code).toBe(status.INVALID_ARGUMENT);
      await submit(r, doge('buy', '0.1234', '10', 'after-patch'), 'bob');
      const applied = r.service.pairs.get('DOGEUSDT')!.lastCommandSequence;
      await r.service.snapshotChangedPairs();
      expect(Number((await r.db!.pool.query("SELECT max(sequence) AS n FROM journal WHERE pair = 'DOGEUSDT'")).rows[0].n)).toBe(applied);
    } finally {
      await r.stop();
    }

    // And once more: the changed tick and the order placed after it are there.
    r = await startService(schema);
    try {
      expect((await listed(r)).find((i) => i.pair === 'DOGEUSDT')?.tickSize).toBe('0.0001');
      expect((await book(r, 'DOGEUSDT')).book.bids).toEqual([{ price: '0.1234', quantity: '10', orderCount: 1 }]);
    } finally {
      await r.stop();
    }
  });
});

describe('instruments from configuration (real PostgreSQL)', () => {
  let schema: TestSchema;
  beforeAll(async () => {
    schema = await testSchema('ts_instruments_cfg');
  });
  afterAll(async () => {
    await schema?.drop();
  });

  it('config seeds and updates the table; table pairs it does not name stay listed; a stored tick differing from config refuses the start', async () => {
    const xrp = { symbol: 'XRPUSDT', base_asset: 'XRP', quote_asset: 'USDT', tick_size: '0.0001', lot_size: '0.1', max_quantity: '1000000', max_price: '1000' };
    let r = await startService(schema, { INSTRUMENTS: JSON.stringify([xrp]) });
    try {
      expect((await listed(r)).map((i) => i.pair)).toEqual(['XRPUSDT']);
      expect((await http(r, 'POST', '/admin/instruments', { ...xrp, symbol: 'ADAUSDT', base_asset: 'ADA' })).status).toBe(201);
    } finally {
      await r.stop();
    }
    // Without config: what the table lists. An order rests on XRPUSDT, journaled after its last snapshot.
    r = await startService(schema);
    try {
      expect((await listed(r)).map((i) => i.pair)).toEqual(['ADAUSDT', 'XRPUSDT']);
      await submit(r, limitOrder('sell', '1.0000', '50.0', { pair: 'XRPUSDT', clientOrderId: 'big' }), 'alice');
    } finally {
      await r.stop();
    }
    await withDb(schema, (db) => db.pool.query("DELETE FROM order_book_snapshots WHERE pair = 'XRPUSDT'")); // recovery must replay it
    // Config naming XRPUSDT with new limits: updated; ADAUSDT (table only) stays listed. The journal is replayed
    // under the rules it was written with (the 50.0 order stays), the new max_quantity applies to new orders.
    r = await startService(schema, { INSTRUMENTS: JSON.stringify([{ ...xrp, max_price: '2000', max_quantity: '10' }]) });
    try {
      expect((await listed(r)).map((i) => [i.pair, i.maxPrice, i.maxQuantity])).toEqual([
        ['ADAUSDT', '1000.0000', '1000000.0'],
        ['XRPUSDT', '2000.0000', '10.0'],
      ]);
      expect((await book(r, 'XRPUSDT')).book.asks).toEqual([{ price: '1.0000', quantity: '50.0', orderCount: 1 }]);
      expect((await failure(submit(r, limitOrder('sell', '1.0000', '20.0', { pair: 'XRPUSDT' }), 'alice'))).code).toBe(status.INVALID_ARGUMENT);
    } finally {
      await r.stop();
    }
    await withDb(schema, (db) => db.pool.query("DELETE FROM order_book_snapshots WHERE pair = 'XRPUSDT' AND sequence < (SELECT max(sequence) FROM order_book_snapshots WHERE pair = 'XRPUSDT')"));
    r = await startService(schema);
    try {
      expect((await book(r, 'XRPUSDT')).book.asks).toEqual([{ price: '1.0000', quantity: '50.0', orderCount: 1 }]);
      await unary<any, any>(r.orders.cancelAllOrders.bind(r.orders), { pair: 'XRPUSDT', side: 0 }, 'alice');
    } finally {
      await r.stop();
    }
    // A different tick size in config than in the table: refused at start, naming the pair and both sizes.
    await expect(startService(schema, { INSTRUMENTS: JSON.stringify([{ ...xrp, tick_size: '0.001' }]) })).rejects.toThrow(/XRPUSDT is configured with tick_size 0.001 \/ lot_size 0.1 but listed with 0.0001 \/ 0.1/);
    // A row that is not a valid instrument refuses the start, naming the pair and the field.
    await withDb(schema, (db) => db.pool.query(`UPDATE instruments SET spec = jsonb_set(spec, '{instrument,lot_size}', '0.1'::jsonb) WHERE symbol = 'ADAUSDT'`));
    await expect(startService(schema)).rejects.toThrow(/instruments table: the row of ADAUSDT is not a valid instrument: lot_size: must be a string holding an exact decimal/);
  });
});

describe('instrument changes while PostgreSQL is unreachable', () => {
  let schema: TestSchema;
  let proxy: TcpFaultProxy;
  beforeAll(async () => {
    schema = await testSchema('ts_instruments_down');
    const url = new URL(TEST_DATABASE_URL);
    proxy = new TcpFaultProxy({ upstreamHost: url.hostname, upstreamPort: Number(url.port || 5432) });
    await proxy.start();
  });
  afterAll(async () => {
    proxy?.up();
    await proxy?.stop();
    await schema?.drop();
  });

  it('answer 503 and change nothing (the table is written before a change takes effect)', async () => {
    const via = new URL(TEST_DATABASE_URL);
    via.hostname = proxy.host;
    via.port = String(proxy.port);
    const r = await startService(schema, {}, via.toString());
    try {
      proxy.down();
      const list = await http(r, 'POST', '/admin/instruments', DOGE);
      expect(list.status, JSON.stringify(list.json)).toBe(503);
      expect(list.json.reason).toMatch(/^postgresql unavailable: DOGEUSDT: /);
      const delist = await http(r, 'DELETE', '/admin/instruments/SOLUSDT');
      expect(delist.status, JSON.stringify(delist.json)).toBe(503);
      const halt = await http(r, 'POST', '/admin/instruments/ETHUSDT/halt');
      expect(halt.status).toBe(503);
      proxy.up();
      expect((await listed(r)).map((i) => i.pair)).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
      expect(r.service.gate.haltedPairs()).toEqual([]);
      expect((await book(r, 'SOLUSDT')).book.pair).toBe('SOLUSDT');
      expect((await http(r, 'POST', '/admin/instruments', DOGE)).status).toBe(201);
    } finally {
      proxy.up();
      await r.stop();
    }
  });
});

describe('the number of listed instruments is bounded (in-memory)', () => {
  it('MAX_INSTRUMENTS caps POST /admin/instruments with 409; delisting makes room', async () => {
    const r = await startService(undefined, { MAX_INSTRUMENTS: '4' });
    try {
      expect((await http(r, 'POST', '/admin/instruments', DOGE)).status).toBe(201);
      const full = await http(r, 'POST', '/admin/instruments', { ...DOGE, symbol: 'SHIBUSDT', base_asset: 'SHIB' });
      expect(full.status).toBe(409);
      expect(full.json.reason).toMatch(/4 pairs are listed, the most MAX_INSTRUMENTS=4 allows/);
      expect((await listed(r)).map((i) => i.pair)).not.toContain('SHIBUSDT');
      expect((await http(r, 'DELETE', '/admin/instruments/DOGEUSDT')).status).toBe(200);
      expect((await http(r, 'POST', '/admin/instruments', { ...DOGE, symbol: 'SHIBUSDT', base_asset: 'SHIB' })).status).toBe(201);
    } finally {
      await r.stop();
    }
  });

  it('refuses cross-origin browser requests and requests without the token, like every state-changing admin call', async () => {
    const r = await startService(undefined, { ADMIN_TOKEN: 'instruments-test-token-1234' });
    try {
      const auth = { authorization: 'Bearer instruments-test-token-1234' };
      const send = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
        fetch(`${r.admin}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }).then(async (res) => ({ status: res.status, json: (await res.json()) as any }));
      expect((await send('POST', '/admin/instruments', {}, DOGE)).status).toBe(401);
      expect((await send('POST', '/admin/instruments', { ...auth, 'sec-fetch-site': 'cross-site' }, DOGE)).status).toBe(403);
      expect((await send('PATCH', '/admin/instruments/BTCUSDT', { ...auth, origin: 'http://evil.example' }, { max_price: '10' })).status).toBe(403);
      expect((await send('DELETE', '/admin/instruments/BTCUSDT', { ...auth, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
      expect((await send('POST', '/admin/instruments/BTCUSDT/halt', { ...auth, 'sec-fetch-site': 'same-site' })).status).toBe(403);
      const halt = await send('POST', '/admin/instruments/BTCUSDT/halt', auth, { reason: 'x'.repeat(501) });
      expect(halt).toMatchObject({ status: 400, json: { field: 'reason' } });
      expect((await send('POST', '/admin/instruments/BTCUSDT/halt', auth, { why: 'typo' })).json).toMatchObject({ field: 'why' });
      expect((await send('POST', '/admin/instruments/NOPE/halt', auth)).status).toBe(404);
      expect((await send('GET', '/admin/instruments/BTCUSDT', auth)).status).toBe(405);
      const after = await send('GET', '/admin/instruments', auth);
      expect(after.json.instruments.map((i: any) => [i.symbol, i.max_price, i.halted.on])).toEqual([
        ['BTCUSDT', '1000000.00', false],
        ['ETHUSDT', '100000.00', false],
        ['SOLUSDT', '100000.000', false],
      ]);
    } finally {
      await r.stop();
    }
  });

  it('refuses more configured instruments than MAX_INSTRUMENTS at start, naming the variable', () => {
    const many = Array.from({ length: 3 }, (_, i) => ({ ...DOGE, symbol: `PAIR${i}USDT` }));
    expect(() => loadConfig({ INSTRUMENTS: JSON.stringify(many), MAX_INSTRUMENTS: '2' })).toThrow(/INSTRUMENTS: instruments: holds 3 instruments; at most 2/);
  });
});
