/**
 * The writer's hand-built array literals against a real PostgreSQL (DATABASE_URL, else the local one),
 * in their own schema: whatever characters a pair, an account or a client order id holds, and whatever
 * command kind, what the journal, `orders` and `trades` store is exactly the entry (and the command's
 * JSON is serializeCommand()'s); a value that does not fit its column is refused, nothing written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandKind } from '../../core/commands.ts';
import { OrderType, Side, StpMode, TimeInForce } from '../../core/types.ts';
import type { JournalEntry, OrderRow } from '../../ports/journal.ts';
import { columnsOf, JournalChunk, serializeCommand } from './journal-write-columns.ts';
import { openPostgresPersistence, type PostgresPersistence } from './postgres-persistence.ts';
import { createTestSchema, LOCAL_TEST_DATABASE_URL, type TestSchema } from './test-schema.ts';

const url = process.env['DATABASE_URL'] ?? LOCAL_TEST_DATABASE_URL;

let schema: TestSchema;
let db: PostgresPersistence;

beforeAll(async () => {
  schema = await createTestSchema(url, 'durability_jwc');
  db = await openPostgresPersistence({ connectionString: url, options: schema.options, journal: { maxDelayMs: 0 } });
});

afterAll(async () => {
  await db?.close();
  await schema?.drop();
});

/** Strings an array literal must carry as data. */
const AWKWARD = ['', 'NULL', 'null', 'a,b', '{x}', 'say "hi"', 'back\\slash', '\\"', ' lead and trail ', 'tab\there', 'line\nbreak', 'ünï €', '😀', "quote'single", '}{,"\\'];

function row(orderId: number, account: string, clientOrderId: string, over: Partial<OrderRow> = {}): OrderRow {
  return {
    orderId,
    account,
    clientOrderId,
    side: Side.Sell,
    type: OrderType.Limit,
    tif: TimeInForce.GTC,
    postOnly: true,
    stp: StpMode.CancelBoth,
    price: 9_007_199_254_740_991,
    quantity: 5,
    filled: 0,
    remaining: 5,
    status: 'new',
    cancelReason: 0,
    createdAtMs: 1_700_000_000_123,
    updatedAtMs: 1_700_000_000_456,
    ...over,
  };
}

/** The column arrays of one pair's entries, as the writer builds them (one chunk). */
function journalWriteColumns(entries: readonly JournalEntry[]) {
  const chunk = new JournalChunk(entries[0]!.pair, entries.length);
  chunk.add(entries);
  return columnsOf([chunk]);
}

describe('journal write columns', () => {
  it('stores every entry, order and trade exactly, whatever characters their strings hold', async () => {
    const pair = 'P "1",{x}\\';
    const entries: JournalEntry[] = AWKWARD.map((s, i) => {
      const account = `acct ${s}`;
      return {
        pair,
        sequence: i + 1,
        command: { kind: CommandKind.NewOrder, orderId: i + 1, account: 42, side: Side.Sell, type: OrderType.Limit, tif: TimeInForce.GTC, postOnly: true, price: 9_007_199_254_740_991, quantity: 5, stp: StpMode.CancelBoth },
        account,
        clientOrderId: s,
        timestampMs: 1_700_000_000_000 + i,
        orders: [row(i + 1, account, s)],
        trades:
          i === 0
            ? []
            : [{ tradeId: i, makerOrderId: i, makerAccount: `acct ${AWKWARD[i - 1]}`, takerOrderId: i + 1, takerAccount: account, takerSide: Side.Sell, price: 77, quantity: 1, timestampMs: 1_700_000_000_999 }],
      };
    });
    const n = entries.length;
    entries.push(
      { pair, sequence: n + 1, command: { kind: CommandKind.Replace, orderId: 1, account: 42, price: 12, quantity: 3 }, account: entries[0]!.account, clientOrderId: '', timestampMs: 5, orders: [row(1, entries[0]!.account, '', { price: 12, quantity: 3, remaining: 3 })], trades: [] },
      { pair, sequence: n + 2, command: { kind: CommandKind.Cancel, orderId: 2, account: 42 }, account: entries[1]!.account, clientOrderId: '', timestampMs: 6, orders: [row(2, entries[1]!.account, AWKWARD[1]!, { remaining: 0, status: 'cancelled', cancelReason: 1 })], trades: [] },
      { pair, sequence: n + 3, command: { kind: CommandKind.CancelAll, account: 42, side: undefined }, account: 'x', clientOrderId: '', timestampMs: 7, orders: [], trades: [] },
      { pair, sequence: n + 4, command: { kind: CommandKind.CancelAll, account: 42, side: Side.Buy }, account: 'x', clientOrderId: '', timestampMs: 8, orders: [], trades: [] },
    );
    await db.journal.append(entries);

    const journal = await db.pool.query<{ sequence: string; command: unknown; account: string; client_order_id: string; timestamp_ms: string }>(
      'SELECT sequence, command, account, client_order_id, timestamp_ms FROM journal WHERE pair = $1 ORDER BY sequence',
      [pair],
    );
    expect(journal.rows.map((r) => ({ sequence: Number(r.sequence), command: r.command, account: r.account, clientOrderId: r.client_order_id, timestampMs: Number(r.timestamp_ms) }))).toEqual(
      entries.map((e) => ({ sequence: e.sequence, command: serializeCommand(e.command), account: e.account, clientOrderId: e.clientOrderId, timestampMs: e.timestampMs })),
    );

    const orders = await db.pool.query<{ order_id: string; account: string; client_order_id: string; post_only: boolean; stp: number; price_ticks: string; quantity_lots: string; remaining_lots: string; status: string; cancel_reason: number; journal_sequence: string }>(
      'SELECT order_id, account, client_order_id, post_only, stp, price_ticks, quantity_lots, remaining_lots, status, cancel_reason, journal_sequence FROM orders WHERE pair = $1 ORDER BY order_id',
      [pair],
    );
    expect(orders.rows).toHaveLength(AWKWARD.length);
    // Orders 1 and 2 show their last state in the batch (the replace, the cancel).
    expect(orders.rows[0]).toMatchObject({ client_order_id: '', price_ticks: '12', quantity_lots: '3', remaining_lots: '3', journal_sequence: String(n + 1) });
    expect(orders.rows[1]).toMatchObject({ client_order_id: AWKWARD[1], status: 'cancelled', cancel_reason: 1, remaining_lots: '0', journal_sequence: String(n + 2) });
    orders.rows.slice(2).forEach((r, k) => {
      const i = k + 2;
      expect(r).toEqual({
        order_id: String(i + 1),
        account: `acct ${AWKWARD[i]}`,
        client_order_id: AWKWARD[i],
        post_only: true,
        stp: StpMode.CancelBoth,
        price_ticks: '9007199254740991',
        quantity_lots: '5',
        remaining_lots: '5',
        status: 'new',
        cancel_reason: 0,
        journal_sequence: String(i + 1),
      });
    });

    const trades = await db.pool.query<{ trade_id: string; maker_account: string; taker_account: string; journal_sequence: string }>(
      'SELECT trade_id, maker_account, taker_account, journal_sequence FROM trades WHERE pair = $1 ORDER BY trade_id',
      [pair],
    );
    expect(trades.rows).toEqual(AWKWARD.slice(1).map((s, k) => ({ trade_id: String(k + 1), maker_account: `acct ${AWKWARD[k]}`, taker_account: `acct ${s}`, journal_sequence: String(k + 2) })));
  });

  it('writes integers of either sign and the largest safe ones exactly', async () => {
    const pair = 'SIGNS';
    const values = [-9_007_199_254_740_991, -4_294_967_297, -4_294_967_296, -1, 0, 4_294_967_295, 4_294_967_296, 9_007_199_254_740_991];
    await db.journal.append(
      values.map((v, i) => ({
        pair,
        sequence: i + 1,
        command: { kind: CommandKind.Cancel, orderId: i + 1, account: 1 },
        account: 'a',
        clientOrderId: '',
        timestampMs: v,
        orders: [row(i + 1, 'a', '', { price: v, cancelReason: i % 2 === 0 ? -32768 : 32767 })],
        trades: [],
      })),
    );
    const { rows } = await db.pool.query<{ timestamp_ms: string; price_ticks: string; cancel_reason: number }>(
      'SELECT j.timestamp_ms, o.price_ticks, o.cancel_reason FROM journal j JOIN orders o ON o.pair = j.pair AND o.order_id = j.sequence WHERE j.pair = $1 ORDER BY j.sequence',
      [pair],
    );
    expect(rows).toEqual(values.map((v, i) => ({ timestamp_ms: String(v), price_ticks: String(v), cancel_reason: i % 2 === 0 ? -32768 : 32767 })));
  });

  it('refuses a value that does not fit its column (not a safe integer, not a smallint) instead of writing it', () => {
    const bad = { pair: 'X', sequence: 1, command: { kind: CommandKind.Cancel, orderId: 1, account: 1 }, account: 'a', clientOrderId: '', timestampMs: 1.5, orders: [], trades: [] } as JournalEntry;
    expect(() => journalWriteColumns([bad])).toThrow(/1\.5 is not a safe integer/);
    const wide = { ...bad, timestampMs: 1, orders: [row(1, 'a', '', { side: 70_000 as Side })] } as JournalEntry;
    expect(() => journalWriteColumns([wide])).toThrow(/70000 is not a smallint/);
  });

  it('writes the JSON of serializeCommand for every command kind, fast path or not', () => {
    const commands = [
      { kind: CommandKind.NewOrder, orderId: 3, account: 1, side: Side.Buy, type: OrderType.Market, tif: TimeInForce.IOC, postOnly: false, price: 0, quantity: 2, stp: StpMode.None },
      { kind: CommandKind.Cancel, orderId: 3, account: 1 },
      { kind: CommandKind.Replace, orderId: 3, account: 1, price: 4, quantity: 1 },
      { kind: CommandKind.CancelAll, account: 1, side: undefined },
      { kind: CommandKind.CancelAll, account: 1, side: Side.Sell },
      // The longest numbers a fast path writes, and values it leaves to JSON.stringify (negative, fractional).
      { kind: CommandKind.NewOrder, orderId: Number.MAX_SAFE_INTEGER, account: 1, side: Side.Sell, type: OrderType.Limit, tif: TimeInForce.GTC, postOnly: true, price: Number.MAX_SAFE_INTEGER, quantity: Number.MAX_SAFE_INTEGER, stp: StpMode.CancelBoth },
      { kind: CommandKind.Replace, orderId: Number.MAX_SAFE_INTEGER, account: 1, price: Number.MAX_SAFE_INTEGER, quantity: Number.MAX_SAFE_INTEGER },
      { kind: CommandKind.Cancel, orderId: Number.MAX_SAFE_INTEGER, account: 1 },
      { kind: CommandKind.NewOrder, orderId: 4, account: 1, side: Side.Buy, type: OrderType.Limit, tif: TimeInForce.GTC, postOnly: false, price: -5, quantity: 2.5, stp: StpMode.None },
      { kind: CommandKind.Replace, orderId: 0, account: 1, price: 10, quantity: 1 },
    ] as const;
    for (const command of commands) {
      const b = journalWriteColumns([{ pair: 'X', sequence: 1, command, account: 'a', clientOrderId: '', timestampMs: 1, orders: [], trades: [] }]).journal[2]!;
      // A one-dimensional json array of one element without NULLs, whose element is the JSON text.
      expect([b.readInt32BE(0), b.readInt32BE(4), b.readInt32BE(8), b.readInt32BE(12), b.readInt32BE(16)]).toEqual([1, 0, 114, 1, 1]);
      const length = b.readInt32BE(20);
      expect(b.length).toBe(24 + length);
      expect(b.subarray(24).toString('utf8')).toBe(JSON.stringify(serializeCommand(command)));
    }
  });
});
