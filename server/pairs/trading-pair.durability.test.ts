// TradingPair's durability hooks: every command that reached the book is recorded once, gap-free, with
// its projection rows; publications wait for publish(); replaying the recorded entries (from scratch or
// on top of an exported snapshot) rebuilds the same book, registry and sequences, publishing nothing.
import { describe, expect, it } from 'vitest';
import { BOOK_IMPLEMENTATIONS } from '../core/book-implementations.ts';
import type { Command } from '../core/commands.ts';
import { OrderType, Side, StpMode, TimeInForce, type AccountId } from '../core/types.ts';
import { ManualClock } from '../ports/clock.ts';
import type { JournalEntry } from '../ports/journal.ts';
import { AccountIds } from './account-ids.ts';
import { singleBook } from './serving-book.ts';
import { ReplayError, TradingPair, type MarketDataDelta, type NewOrderRequest, type Publication } from './trading-pair.ts';
import { TEST_INSTRUMENT as INSTRUMENT } from '../../test/support/book-fixtures.ts';


/** A tiny seeded generator (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makePair(accounts: AccountIds, maxClosedOrders = 50) {
  const clock = new ManualClock(1_000);
  const pair = new TradingPair({ instrument: INSTRUMENT, createBook: singleBook(BOOK_IMPLEMENTATIONS.legacy), clock, maxClosedOrders, accountName: (id) => accounts.nameOf(id) ?? '' });
  return { pair, clock };
}

function order(rnd: () => number, n: number): NewOrderRequest {
  const market = rnd() < 0.1;
  return {
    clientOrderId: rnd() < 0.8 ? `c${n}` : '',
    side: rnd() < 0.5 ? Side.Buy : Side.Sell,
    type: market ? OrderType.Market : OrderType.Limit,
    tif: market ? TimeInForce.IOC : rnd() < 0.2 ? TimeInForce.IOC : TimeInForce.GTC,
    postOnly: false,
    price: market ? 0 : 90 + Math.floor(rnd() * 20),
    quantity: 1 + Math.floor(rnd() * 10),
    stp: StpMode.CancelTaker,
  };
}

/** Drives `pair` with a seeded mix of orders, cancels, replaces and cancel-alls from four accounts. */
function drive(pair: TradingPair, clock: ManualClock, accounts: AccountIds, seed: number, commands: number): void {
  const rnd = random(seed);
  const ids = ['alice', 'bob', 'carol', 'dave'].map((n) => accounts.intern(n));
  for (let n = 0; n < commands; n++) {
    clock.advanceMs(1 + Math.floor(rnd() * 3));
    const account = ids[Math.floor(rnd() * ids.length)]!;
    const r = rnd();
    const open = pair.listOpenOrders(account);
    if (r < 0.6 || open.length === 0) pair.submit(account, order(rnd, n));
    else if (r < 0.75) pair.cancel(account, open[Math.floor(rnd() * open.length)]!.orderId);
    else if (r < 0.9) pair.replace(account, open[Math.floor(rnd() * open.length)]!.orderId, 90 + Math.floor(rnd() * 20), 1 + Math.floor(rnd() * 10));
    else if (r < 0.95) pair.cancelAll(account, rnd() < 0.5 ? Side.Buy : undefined);
    else pair.cancel(account, 999_999); // reaches the book, rejected: still journaled
  }
}

function recorderFor(entries: JournalEntry[], publications: Publication[]) {
  return { record: (_p: TradingPair, e: JournalEntry, pub: Publication) => (entries.push(e), publications.push(pub)) };
}

/** Replays entries into `pair` the way recovery does: account names interned in the new process. */
function replayAll(pair: TradingPair, accounts: AccountIds, entries: readonly JournalEntry[]): void {
  for (const e of entries) {
    const cmd = { ...(e.command as Command), account: accounts.intern(e.account) } as Command;
    pair.replay(e.sequence, cmd, e.clientOrderId, e.timestampMs);
  }
}

/** Everything observable about a pair's state, accounts by name (stateHash uses ids, compared separately). */
function stateOf(pair: TradingPair, accounts: AccountIds, names: string[]) {
  const byAccount = (name: string): AccountId => accounts.find(name) ?? 0;
  return {
    sequences: { ...pair.sequences, command: pair.lastCommandSequence },
    book: pair.snapshot(0),
    open: names.map((n) => pair.listOpenOrders(byAccount(n)).map((o) => ({ ...o, account: n }))),
    byClientId: names.map((n) =>
      Array.from({ length: 400 }, (_, i) => pair.findByClientOrderId(byAccount(n), `c${i}`)).map((o) => (o === undefined ? null : { ...o, account: n })),
    ),
  };
}

const NAMES = ['alice', 'bob', 'carol', 'dave'];

describe('TradingPair durability hooks', () => {
  it('records every command that reached the book once, gap-free from 1, with its clock reading and projection rows', () => {
    const accounts = new AccountIds();
    const { pair, clock } = makePair(accounts);
    const entries: JournalEntry[] = [];
    pair.setRecorder(recorderFor(entries, []));
    drive(pair, clock, accounts, 7, 300);
    expect(entries.map((e) => e.sequence)).toEqual(entries.map((_, i) => i + 1));
    expect(pair.lastCommandSequence).toBe(entries.length);
    // A duplicate client order id never reaches the book: nothing recorded, no order id consumed.
    const before = entries.length;
    const alice = accounts.intern('alice');
    pair.submit(alice, { ...order(random(1), 0), clientOrderId: 'dup', type: OrderType.Limit, tif: TimeInForce.GTC, price: 10 });
    pair.submit(alice, { ...order(random(1), 0), clientOrderId: 'dup', type: OrderType.Limit, tif: TimeInForce.GTC, price: 10 });
    expect(entries.length).toBe(before + 1);
    // A refused new order consumed its id: journaled with a 'rejected' row.
    const refused = pair.submit(alice, { ...order(random(1), 0), clientOrderId: 'bad', price: 100_000, type: OrderType.Limit, tif: TimeInForce.GTC });
    expect(refused.outcome.ok).toBe(false);
    const last = entries.at(-1)!;
    expect(last.orders).toEqual([expect.objectContaining({ orderId: refused.order!.orderId, status: 'rejected', clientOrderId: 'bad', account: 'alice' })]);
    const trades = entries.flatMap((e) => e.trades);
    expect(trades.length).toBeGreaterThan(0);
    expect(trades.map((t) => t.tradeId)).toEqual(trades.map((_, i) => i + 1));
    for (const e of entries) expect(e.account).toMatch(/^(alice|bob|carol|dave)$/);
  });

  it('holds market data and order events until publish(), then delivers them in order', () => {
    const accounts = new AccountIds();
    const { pair } = makePair(accounts);
    const publications: Publication[] = [];
    pair.setRecorder(recorderFor([], publications));
    const deltas: MarketDataDelta[] = [];
    pair.subscribeMarketData(0, (d) => deltas.push(d));
    const bob = accounts.intern('bob');
    const bobEvents: unknown[] = [];
    pair.subscribeAccount(bob, (e) => bobEvents.push(...e));
    pair.submit(bob, { ...order(random(2), 1), side: Side.Sell, type: OrderType.Limit, tif: TimeInForce.GTC, price: 100, quantity: 5 });
    pair.submit(accounts.intern('alice'), { ...order(random(2), 2), side: Side.Buy, type: OrderType.Limit, tif: TimeInForce.GTC, price: 100, quantity: 2 });
    expect(deltas).toEqual([]);
    expect(bobEvents).toEqual([]);
    // A subscriber joining now skips deltas its snapshot already shows.
    const late: MarketDataDelta[] = [];
    pair.subscribeMarketData(0, (d) => late.push(d));
    for (const p of publications) pair.publish(p);
    expect(deltas.map((d) => d.sequence)).toEqual([1, 2]);
    expect(late).toEqual([]);
    expect(bobEvents.map((e: any) => e.type)).toEqual(['accepted', 'filled']);
  });

  it('a replay of the journal from scratch rebuilds the same book, registry and sequences, publishing nothing', () => {
    for (const seed of [1, 2, 3]) {
      const accounts = new AccountIds();
      const { pair, clock } = makePair(accounts);
      const entries: JournalEntry[] = [];
      pair.setRecorder(recorderFor(entries, []));
      drive(pair, clock, accounts, seed, 400);

      const accounts2 = new AccountIds();
      accounts2.intern('zed'); // ids differ between processes: entries carry names
      const { pair: copy } = makePair(accounts2);
      let published = 0;
      copy.subscribeMarketData(0, () => published++);
      replayAll(copy, accounts2, entries);
      expect(published).toBe(0);
      expect(stateOf(copy, accounts2, NAMES)).toEqual(stateOf(pair, accounts, NAMES));
      // Interned in the same order, the book digests match too.
      const accounts3 = new AccountIds();
      for (const n of NAMES) accounts3.intern(n);
      const { pair: same } = makePair(accounts3);
      replayAll(same, accounts3, entries);
      expect(same.stateHash()).toBe(pair.stateHash());
    }
  });

  it('a snapshot restored into a fresh pair plus the entries after it equals the original', () => {
    const accounts = new AccountIds();
    const { pair, clock } = makePair(accounts);
    const entries: JournalEntry[] = [];
    pair.setRecorder(recorderFor(entries, []));
    drive(pair, clock, accounts, 11, 250);
    const snapshot = JSON.parse(JSON.stringify(pair.exportSnapshot(clock.nowMs())));
    expect(snapshot.sequence).toBe(entries.length);
    drive(pair, clock, accounts, 12, 250);

    const accounts2 = new AccountIds();
    for (const n of NAMES) accounts2.intern(n);
    const { pair: copy } = makePair(accounts2);
    copy.restoreSnapshot(snapshot, (n) => accounts2.intern(n));
    replayAll(copy, accounts2, entries.slice(snapshot.sequence));
    expect(stateOf(copy, accounts2, NAMES)).toEqual(stateOf(pair, accounts, NAMES));
    expect(copy.stateHash()).toBe(pair.stateHash());
  });

  it('the closed orders of a snapshot to save, read after the pair moved on, are those exported at the snapshot', () => {
    const accounts = new AccountIds();
    const { pair, clock } = makePair(accounts, 200);
    drive(pair, clock, accounts, 21, 400);
    const exported = JSON.parse(JSON.stringify(pair.exportSnapshot(clock.nowMs())));
    const toSave = pair.snapshotToSave(clock.nowMs());
    expect(toSave.closedOrders.count).toBeGreaterThan(50);
    // The pair goes on (orders close, older closed ones are evicted) before the writer reads.
    drive(pair, clock, accounts, 22, 400);
    const read = Array.from({ length: toSave.closedOrders.count }, (_, i) => toSave.closedOrders.order(i));
    expect(JSON.parse(JSON.stringify({ ...toSave, closedOrders: read }))).toEqual(exported);
    expect(() => toSave.closedOrders.order(toSave.closedOrders.count)).toThrow(RangeError);
  });

  it('a closed order that changed after the snapshot makes its reader throw instead of writing a newer state', () => {
    const accounts = new AccountIds();
    const { pair, clock } = makePair(accounts, 200);
    drive(pair, clock, accounts, 23, 300);
    const toSave = pair.snapshotToSave(clock.nowMs());
    const first = toSave.closedOrders.order(0);
    // No command touches a closed order; a bug that did would be caught here, not written.
    const registry = (pair as unknown as { registry: { find(id: number): { lastSequence: number } | undefined } }).registry;
    registry.find(first.orderId)!.lastSequence = toSave.eventSequence + 1;
    expect(() => toSave.closedOrders.order(0)).toThrow(new RegExp(`closed order ${first.orderId} changed at event ${toSave.eventSequence + 1}`));
  });

  it('refuses to replay out of sequence or with a new order id that does not follow', () => {
    const accounts = new AccountIds();
    const { pair } = makePair(accounts);
    const alice = accounts.intern('alice');
    const cmd: Command = { kind: 0, orderId: 1, account: alice, side: Side.Buy, type: OrderType.Limit, tif: TimeInForce.GTC, postOnly: false, price: 100, quantity: 1, stp: StpMode.None };
    expect(() => pair.replay(2, cmd, '', 1)).toThrow(ReplayError);
    expect(() => pair.replay(1, { ...cmd, orderId: 5 }, '', 1)).toThrow(/does not follow/);
    pair.replay(1, cmd, 'x', 1);
    expect(pair.findByClientOrderId(alice, 'x')?.orderId).toBe(1);
  });
});
