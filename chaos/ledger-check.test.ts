// The drills' ledger check can fail: against a real PostgreSQL schema (the service's own migrations) it
// counts a missing acknowledged order, a cancel acknowledged but not applied and a missing fill as lost,
// a client order id twice as duplicated, and reports unconserved fills and a crossed book; a consistent
// ledger passes with nothing reported.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../server/adapters/postgres/migrations.ts';
import type { TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { TEST_DATABASE_URL, testSchema } from '../test/support/service-database.ts';
import { checkLedger } from './ledger-check.ts';

let schema: TestSchema;
let pool: pg.Pool;

/** One order row: pair BTCUSDT, limit GTC. */
async function order(id: number, account: string, cid: string, side: 0 | 1, price: number, qty: number, filled: number, status: string): Promise<void> {
  await pool.query(
    `INSERT INTO orders (pair, order_id, account, client_order_id, side, order_type, tif, post_only, stp, price_ticks, quantity_lots, filled_lots, remaining_lots, status, journal_sequence, created_at, updated_at)
     VALUES ('BTCUSDT', $1, $2, $3, $4, 0, 0, false, 0, $5, $6, $7, $8, $9, $1, now(), now())`,
    [id, account, cid, side, price, qty, filled, status === 'new' || status === 'partially_filled' ? qty - filled : 0, status],
  );
}

async function trade(id: number, maker: number, taker: number, lots: number): Promise<void> {
  await pool.query(
    `INSERT INTO trades (pair, trade_id, maker_order_id, maker_account, taker_order_id, taker_account, taker_side, price_ticks, quantity_lots, journal_sequence, created_at)
     VALUES ('BTCUSDT', $1, $2, 'a', $3, 'b', 1, 100, $4, $1, now())`,
    [id, maker, taker, lots],
  );
}

beforeAll(async () => {
  schema = await testSchema('chaos_ledger');
  pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, options: schema.options, max: 2 });
  await runMigrations(pool);
});
afterAll(async () => {
  await pool?.end();
  await schema?.drop();
});

describe('checkLedger', () => {
  it('passes a consistent ledger', async () => {
    await order(1, 'a', 'a-1', 0, 100, 10, 4, 'partially_filled');
    await order(2, 'b', 'b-1', 1, 100, 4, 4, 'filled');
    await order(3, 'b', 'b-2', 1, 105, 5, 0, 'cancelled');
    await trade(1, 1, 2, 4);
    const r = await checkLedger(TEST_DATABASE_URL, schema.name, [
      { pair: 'BTCUSDT', account: 'a', clientOrderId: 'a-1', tradeIds: ['1'] },
      { pair: 'BTCUSDT', account: 'b', clientOrderId: 'b-1', tradeIds: ['1'] },
      { pair: 'BTCUSDT', account: 'b', clientOrderId: 'b-2', cancelAcked: true },
    ]);
    expect(r).toMatchObject({ acknowledged: 3, lost: 0, duplicated: 0, problems: [] });
    expect(r.figures['BTCUSDT']).toMatchObject({ buyFilledLots: '4', sellFilledLots: '4', tradeLots: '4', bestBid: '100', bestAsk: null });
  });

  it('counts what is lost and duplicated, and reports unconserved fills and a crossed book', async () => {
    await order(4, 'a', 'a-2', 0, 110, 3, 0, 'new'); // a bid above...
    await order(5, 'b', 'b-3', 1, 108, 3, 0, 'new'); // ...an ask: crossed
    // The UNIQUE (pair, account, client order id) index of migration 002 makes a duplicate impossible in the
    // service's own tables; the check must still catch one where the index is missing (a database restored
    // from before it), so this schema drops it for the duplicate.
    await pool.query('DROP INDEX orders_client_order_id_unique');
    await order(6, 'b', 'b-3', 1, 120, 1, 0, 'new'); // the same client order id again
    await order(7, 'a', 'a-3', 0, 90, 2, 1, 'partially_filled'); // filled 1 with no trade behind it
    const r = await checkLedger(TEST_DATABASE_URL, schema.name, [
      { pair: 'BTCUSDT', account: 'a', clientOrderId: 'a-1' },
      { pair: 'BTCUSDT', account: 'a', clientOrderId: 'never-stored' },
      { pair: 'BTCUSDT', account: 'a', clientOrderId: 'a-2', cancelAcked: true },
      { pair: 'BTCUSDT', account: 'b', clientOrderId: 'b-1', tradeIds: ['1', '99'] },
    ]);
    expect(r.lost).toBe(3); // never-stored, the cancel of a-2, trade 99
    expect(r.duplicated).toBe(1);
    const text = r.problems.join('\n');
    expect(text).toMatch(/lost: acknowledged order BTCUSDT a never-stored/);
    expect(text).toMatch(/lost cancel: BTCUSDT a-2/);
    expect(text).toMatch(/lost fill: trade BTCUSDT #99/);
    expect(text).toMatch(/duplicated: BTCUSDT b b-3 appears 2 times/);
    expect(text).toMatch(/#7: filled 1 lots but its trades add up to 0/);
    expect(text).toMatch(/not conserved/);
    expect(text).toMatch(/book crossed: best bid 110 ticks >= best ask 108 ticks/);
  });
});
