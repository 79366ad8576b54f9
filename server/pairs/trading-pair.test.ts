import { describe, expect, it } from 'vitest';
import { BOOK_IMPLEMENTATIONS } from '../core/book-implementations.ts';
import type { OrderBookFactory } from '../core/order-book.ts';
import { CancelReason, RejectCode } from '../core/reasons.ts';
import { OrderType, Side, StpMode, TimeInForce } from '../core/types.ts';
import { ManualClock } from '../ports/clock.ts';
import { singleBook } from './serving-book.ts';
import { TradingPair, type MarketDataDelta, type NewOrderRequest, type OrderEvent } from './trading-pair.ts';
import { TradingPairs } from './trading-pairs.ts';
import { TEST_INSTRUMENT } from '../../test/support/book-fixtures.ts';

const implementations = Object.entries(BOOK_IMPLEMENTATIONS) as [string, OrderBookFactory][];


const ALICE = 1;
const BOB = 2;

function order(side: 'buy' | 'sell', price: number, quantity: number, extra: Partial<NewOrderRequest> = {}): NewOrderRequest {
  return {
    clientOrderId: '',
    side: side === 'buy' ? Side.Buy : Side.Sell,
    type: OrderType.Limit,
    tif: TimeInForce.GTC,
    postOnly: false,
    price,
    quantity,
    stp: StpMode.CancelTaker,
    ...extra,
  };
}

describe.each(implementations)('TradingPair on the %s book', (_name, factory) => {
  const make = (maxClosedOrders?: number) => {
    const clock = new ManualClock(1_000);
    const pair = new TradingPair({ instrument: TEST_INSTRUMENT, createBook: singleBook(factory), clock, maxClosedOrders });
    return { pair, clock };
  };

  it('numbers orders ascending from 1 and registers a resting order as NEW', () => {
    const { pair } = make();
    const a = pair.submit(ALICE, order('buy', 100, 5));
    const b = pair.submit(ALICE, order('buy', 99, 5));
    expect(a.outcome.ok).toBe(true);
    expect(a.order).toMatchObject({ orderId: 1, status: 'new', remaining: 5, filled: 0, price: 100, createdAtMs: 1_000 });
    expect(b.order?.orderId).toBe(2);
    expect(a.events.map((e) => e.type)).toEqual(['accepted']);
    expect(pair.listOpenOrders(ALICE).map((o) => o.orderId)).toEqual([1, 2]);
  });

  it('a crossing order fills both sides, each account sees only its own events, one trade is published', () => {
    const { pair } = make();
    pair.submit(ALICE, order('sell', 100, 5));
    const deltas: MarketDataDelta[] = [];
    const aliceEvents: OrderEvent[] = [];
    pair.subscribeMarketData(0, (d) => deltas.push(d));
    pair.subscribeAccount(ALICE, (events) => aliceEvents.push(...events));

    const r = pair.submit(BOB, order('buy', 101, 3));
    expect(r.order).toMatchObject({ status: 'filled', filled: 3, remaining: 0 });
    expect(r.events.map((e) => [e.type, e.orderId])).toEqual([
      ['accepted', 2],
      ['filled', 2],
    ]);
    expect(aliceEvents).toMatchObject([{ type: 'filled', orderId: 1, liquidity: 'maker', remaining: 2, status: 'partially_filled', tradeId: 1 }]);
    expect(pair.getOrder(ALICE, 1)).toMatchObject({ status: 'partially_filled', filled: 3, remaining: 2 });
    expect(deltas).toEqual([
      {
        sequence: 2,
        levels: [{ side: Side.Sell, price: 100, quantity: 2, orderCount: 1 }],
        trades: [{ tradeId: 1, price: 100, quantity: 3, takerSide: Side.Buy, timestampMs: 1_000 }],
      },
    ]);
  });

  it('the snapshot carries the sequence the first delta follows, and rejected commands publish nothing', () => {
    const { pair } = make();
    pair.submit(ALICE, order('buy', 100, 5));
    pair.submit(ALICE, order('sell', 105, 5));
    const deltas: MarketDataDelta[] = [];
    const { snapshot } = pair.subscribeMarketData(0, (d) => deltas.push(d));
    expect(snapshot).toEqual({ sequence: 2, bids: [{ price: 100, quantity: 5, orderCount: 1 }], asks: [{ price: 105, quantity: 5, orderCount: 1 }] });

    const bad = pair.submit(ALICE, order('buy', 100, 0));
    expect(bad.outcome).toMatchObject({ ok: false, code: RejectCode.InvalidQuantity, field: 'quantity' });
    expect(bad.order?.status).toBe('rejected');
    pair.submit(BOB, order('buy', 101, 1));
    pair.cancel(ALICE, 1);
    expect(deltas.map((d) => d.sequence)).toEqual([3, 4]);
  });

  it('refuses a reused client order id without numbering an order, and finds orders by it', () => {
    const { pair } = make();
    pair.submit(ALICE, order('buy', 100, 5, { clientOrderId: 'c-1' }));
    const dup = pair.submit(ALICE, order('buy', 100, 5, { clientOrderId: 'c-1' }));
    expect(dup.outcome).toMatchObject({ ok: false, code: RejectCode.DuplicateOrderId, field: 'client_order_id' });
    expect(pair.sequences.lastOrderId).toBe(1);
    // another account may use the same client order id
    expect(pair.submit(BOB, order('buy', 99, 1, { clientOrderId: 'c-1' })).outcome.ok).toBe(true);
    expect(pair.findByClientOrderId(ALICE, 'c-1')?.orderId).toBe(1);
    expect(pair.resolveClientOrderId(ALICE, 'nope')).toMatchObject({ ok: false, code: RejectCode.UnknownOrder, field: 'client_order_id' });
  });

  it("one account cannot cancel, replace or see another account's order", () => {
    const { pair } = make();
    pair.submit(ALICE, order('buy', 100, 5));
    expect(pair.cancel(BOB, 1).outcome).toMatchObject({ ok: false, code: RejectCode.UnknownOrder });
    expect(pair.replace(BOB, 1, 101, 5).outcome).toMatchObject({ ok: false, code: RejectCode.UnknownOrder });
    expect(pair.replace(BOB, 1, undefined, 4).outcome).toMatchObject({ ok: false, code: RejectCode.UnknownOrder });
    expect(pair.getOrder(BOB, 1)).toBeUndefined();
    expect(pair.listOpenOrders(BOB)).toEqual([]);
    expect(pair.getOrder(ALICE, 1)).toMatchObject({ status: 'new', remaining: 5 });
  });

  it('replace keeps the price or quantity left out, and reports the amended total', () => {
    const { pair, clock } = make();
    pair.submit(ALICE, order('buy', 100, 5));
    clock.advanceMs(10);
    const lower = pair.replace(ALICE, 1, undefined, 3);
    expect(lower.events).toMatchObject([{ type: 'replaced', priorityKept: true, price: 100, remaining: 3 }]);
    expect(lower.order).toMatchObject({ quantity: 3, remaining: 3, updatedAtMs: 1_010, createdAtMs: 1_000 });
    const move = pair.replace(ALICE, 1, 98, undefined);
    expect(move.events).toMatchObject([{ type: 'replaced', priorityKept: false, price: 98, remaining: 3 }]);
    expect(pair.replace(ALICE, 1, 98, 3).outcome).toMatchObject({ ok: false, code: RejectCode.ReplaceNoChange });
  });

  it('cancel-all cancels one side of one account, ascending id', () => {
    const { pair } = make();
    pair.submit(ALICE, order('buy', 100, 5));
    pair.submit(ALICE, order('sell', 110, 5));
    pair.submit(ALICE, order('buy', 99, 5));
    pair.submit(BOB, order('buy', 98, 5));
    const r = pair.cancelAll(ALICE, Side.Buy);
    expect(r.orders.map((o) => [o.orderId, o.status, o.cancelReason])).toEqual([
      [1, 'cancelled', CancelReason.CancelAll],
      [3, 'cancelled', CancelReason.CancelAll],
    ]);
    expect(pair.listOpenOrders(ALICE).map((o) => o.orderId)).toEqual([2]);
    expect(pair.listOpenOrders(BOB).map((o) => o.orderId)).toEqual([4]);
  });

  it('an unfillable FOK order is accepted and cancelled, not rejected', () => {
    const { pair } = make();
    pair.submit(ALICE, order('sell', 100, 2));
    const r = pair.submit(BOB, order('buy', 100, 5, { tif: TimeInForce.FOK }));
    expect(r.outcome.ok).toBe(true);
    expect(r.order).toMatchObject({ status: 'cancelled', cancelReason: CancelReason.FokNotFillable, filled: 0, remaining: 0 });
  });

  it('an IOC order partly filled ends CANCELLED with its fills counted', () => {
    const { pair } = make();
    pair.submit(ALICE, order('sell', 100, 2));
    const r = pair.submit(BOB, order('buy', 100, 5, { tif: TimeInForce.IOC }));
    expect(r.order).toMatchObject({ status: 'cancelled', cancelReason: CancelReason.IocRemainder, filled: 2, remaining: 0, quantity: 5 });
  });

  it('keeps a bounded number of closed orders and then forgets the oldest (and its client order id)', () => {
    const { pair } = make(2);
    for (let i = 1; i <= 4; i++) {
      pair.submit(ALICE, order('buy', 100, 1, { clientOrderId: `c${i}` }));
      pair.cancel(ALICE, i);
    }
    pair.submit(ALICE, order('buy', 90, 1)); // trimming happens between commands
    expect(pair.getOrder(ALICE, 1)).toBeUndefined();
    expect(pair.getOrder(ALICE, 2)).toBeUndefined();
    expect(pair.getOrder(ALICE, 3)?.status).toBe('cancelled');
    expect(pair.submit(ALICE, order('buy', 90, 1, { clientOrderId: 'c1' })).outcome.ok).toBe(true);
  });

  it('a throwing subscriber is dropped and the pair carries on', () => {
    const errors: unknown[] = [];
    const pair = new TradingPair({ instrument: TEST_INSTRUMENT, createBook: singleBook(factory), clock: new ManualClock(), onSubscriberError: (e) => errors.push(e) });
    pair.subscribeMarketData(0, () => {
      throw new Error('boom');
    });
    expect(pair.submit(ALICE, order('buy', 100, 1)).outcome.ok).toBe(true);
    expect(pair.submit(ALICE, order('buy', 100, 1)).outcome.ok).toBe(true);
    expect(errors).toHaveLength(1);
    expect(pair.marketDataSubscriberCount).toBe(0);
    expect(pair.snapshot(1).bids).toEqual([{ price: 100, quantity: 2, orderCount: 2 }]);
  });

  it('event sequences ascend by one per order event, shared by both sides of a trade', () => {
    const { pair } = make();
    const seen: OrderEvent[] = [];
    pair.subscribeAccount(ALICE, (e) => seen.push(...e));
    pair.subscribeAccount(BOB, (e) => seen.push(...e));
    pair.submit(ALICE, order('sell', 100, 1));
    pair.submit(BOB, order('buy', 100, 1));
    expect(seen.map((e) => [e.type, e.sequence])).toEqual([
      ['accepted', 1],
      ['accepted', 2],
      ['filled', 3],
      ['filled', 3],
    ]);
  });
});

describe('TradingPairs', () => {
  it('shares account ids across pairs and refuses a pair configured twice', () => {
    const [, factory] = implementations[0]!;
    const pairs = new TradingPairs({ instruments: [TEST_INSTRUMENT], createBook: singleBook(factory), clock: new ManualClock() });
    expect(pairs.accounts.intern('alice')).toBe(1);
    expect(pairs.accounts.intern('bob')).toBe(2);
    expect(pairs.accounts.intern('alice')).toBe(1);
    expect(pairs.accounts.nameOf(2)).toBe('bob');
    expect(pairs.get('TESTUSD')?.symbol).toBe('TESTUSD');
    expect(() => new TradingPairs({ instruments: [TEST_INSTRUMENT, TEST_INSTRUMENT], createBook: singleBook(factory), clock: new ManualClock() })).toThrow(/twice/);
  });
});
