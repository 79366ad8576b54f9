/**
 * One behavioural suite for every order-book implementation: price-time priority, order types,
 * self-trade prevention, cancel/replace semantics, validation. Event lists are asserted whole.
 */
import { describe, expect, it } from 'vitest';
import { BOOK_IMPLEMENTATIONS } from './book-implementations.ts';
import { RecordingSink, type BookEvent } from './events.ts';
import type { OrderBook } from './order-book.ts';
import { CancelReason, RejectCode } from './reasons.ts';
import { Side, StpMode } from './types.ts';
import { TEST_INSTRUMENT, cancel, cancelAll, limit, market, replace } from '../../test/support/book-fixtures.ts';
import type { Command } from './commands.ts';

const B = Side.Buy;
const S = Side.Sell;

describe.each(Object.entries(BOOK_IMPLEMENTATIONS))('%s book', (_name, factory) => {
  function setup(...commands: Command[]) {
    const book: OrderBook = factory(TEST_INSTRUMENT);
    const sink = new RecordingSink();
    for (const c of commands) book.apply(c, sink);
    sink.take();
    const run = (c: Command): BookEvent[] => {
      book.apply(c, sink);
      book.checkInvariants();
      return sink.take();
    };
    return { book, run };
  }

  describe('resting and priority', () => {
    it('rests a limit order that does not cross and reports the new level', () => {
      const { book, run } = setup();
      expect(run(limit(1, 'buy', 100, 5))).toEqual([
        { type: 'accepted', orderId: 1, account: 1, side: B, price: 100, quantity: 5 },
        { type: 'level', side: B, price: 100, quantity: 5, orderCount: 1 },
      ]);
      expect(book.bestPrice(B)).toBe(100);
      expect(book.getOrder(1)).toMatchObject({ orderId: 1, remaining: 5, price: 100, side: B });
    });

    it('fills the best price first, then the earliest order within a level (price-time priority)', () => {
      const { run } = setup(limit(1, 'sell', 101, 2, { account: 1 }), limit(2, 'sell', 100, 2, { account: 2 }), limit(3, 'sell', 100, 2, { account: 3 }));
      const events = run(limit(4, 'buy', 101, 5, { account: 4 }));
      expect(events.filter((e) => e.type === 'fill').map((e) => (e as { makerOrderId: number }).makerOrderId)).toEqual([2, 3, 1]);
      expect(events).toContainEqual({ type: 'level', side: S, price: 100, quantity: 0, orderCount: 0 });
      expect(events.at(-1)).toEqual({ type: 'level', side: S, price: 101, quantity: 1, orderCount: 1 });
    });

    it('trades at the maker price and rests the taker remainder on its own side', () => {
      const { book, run } = setup(limit(1, 'sell', 100, 3, { account: 2 }));
      expect(run(limit(2, 'buy', 105, 5))).toEqual([
        { type: 'accepted', orderId: 2, account: 1, side: B, price: 105, quantity: 5 },
        { type: 'fill', makerOrderId: 1, makerAccount: 2, takerOrderId: 2, takerAccount: 1, takerSide: B, price: 100, quantity: 3, makerRemaining: 0, takerRemaining: 2 },
        { type: 'level', side: S, price: 100, quantity: 0, orderCount: 0 },
        { type: 'level', side: B, price: 105, quantity: 2, orderCount: 1 },
      ]);
      expect(book.bestPrice(S)).toBeUndefined();
    });

    it('load() rebuilds the same state from forEachOrder', () => {
      const { book } = setup(limit(1, 'sell', 101, 2), limit(2, 'sell', 101, 3, { account: 2 }), limit(3, 'buy', 99, 4), limit(4, 'buy', 98, 1));
      const orders = [...collect(book, B), ...collect(book, S)];
      const copy = factory(TEST_INSTRUMENT);
      copy.load(orders);
      copy.checkInvariants();
      expect(copy.stateHash()).toBe(book.stateHash());
      expect(copy.depth(S, 10)).toEqual([{ price: 101, quantity: 5, orderCount: 2 }]);
    });
  });

  describe('time in force', () => {
    it('IOC never rests: the unfilled remainder is cancelled', () => {
      const { book, run } = setup(limit(1, 'sell', 100, 2, { account: 2 }));
      const events = run(limit(2, 'buy', 100, 5, { tif: 'IOC' }));
      expect(events.at(-1)).toEqual({ type: 'cancelled', orderId: 2, account: 1, side: B, price: 100, quantity: 3, reason: CancelReason.IocRemainder });
      expect(book.size()).toBe(0);
    });

    it('FOK that cannot fill completely is cancelled and changes nothing', () => {
      const { book, run } = setup(limit(1, 'sell', 100, 2, { account: 2 }), limit(2, 'sell', 102, 5, { account: 2 }));
      const before = book.stateHash();
      expect(run(limit(3, 'buy', 101, 3, { tif: 'FOK' }))).toEqual([
        { type: 'accepted', orderId: 3, account: 1, side: B, price: 101, quantity: 3 },
        { type: 'cancelled', orderId: 3, account: 1, side: B, price: 101, quantity: 3, reason: CancelReason.FokNotFillable },
      ]);
      expect(book.stateHash()).toBe(before);
    });

    it('FOK that can fill completely sweeps several levels', () => {
      const { book, run } = setup(limit(1, 'sell', 100, 2, { account: 2 }), limit(2, 'sell', 102, 5, { account: 2 }));
      const fills = run(limit(3, 'buy', 102, 4, { tif: 'FOK' })).filter((e) => e.type === 'fill');
      expect(fills.map((f) => [f.type === 'fill' && f.price, f.type === 'fill' && f.quantity])).toEqual([
        [100, 2],
        [102, 2],
      ]);
      expect(book.getOrder(2)?.remaining).toBe(3);
    });

    it('post-only is rejected when it would take and rests when it would not', () => {
      const { book, run } = setup(limit(1, 'sell', 100, 2, { account: 2 }));
      const before = book.stateHash();
      expect(run(limit(2, 'buy', 100, 1, { postOnly: true }))).toEqual([
        { type: 'rejected', orderId: 2, account: 1, code: RejectCode.PostOnlyWouldTake, field: 'price', reason: 'post-only order would take liquidity' },
      ]);
      expect(book.stateHash()).toBe(before);
      expect(run(limit(3, 'buy', 99, 1, { postOnly: true })).at(-1)).toEqual({ type: 'level', side: B, price: 99, quantity: 1, orderCount: 1 });
    });
  });

  describe('market orders', () => {
    it('is cancelled with MarketNoLiquidity on an empty side', () => {
      const { run } = setup();
      expect(run(market(1, 'buy', 5))).toEqual([
        { type: 'accepted', orderId: 1, account: 1, side: B, price: 0, quantity: 5 },
        { type: 'cancelled', orderId: 1, account: 1, side: B, price: 0, quantity: 5, reason: CancelReason.MarketNoLiquidity },
      ]);
    });

    it('stops at the protection band (5 % beyond the best price) and cancels the rest', () => {
      // best ask 100: band is 5 ticks, so 105 trades and 106 does not.
      const { book, run } = setup(limit(1, 'sell', 100, 1, { account: 2 }), limit(2, 'sell', 105, 1, { account: 2 }), limit(3, 'sell', 106, 1, { account: 2 }));
      const events = run(market(4, 'buy', 5));
      expect(events.filter((e) => e.type === 'fill')).toHaveLength(2);
      expect(events.at(-1)).toEqual({ type: 'cancelled', orderId: 4, account: 1, side: B, price: 0, quantity: 3, reason: CancelReason.MarketProtectionBand });
      expect(book.bestPrice(S)).toBe(106);
    });

    it('is cancelled with MarketNoLiquidity when it empties the side', () => {
      const { run } = setup(limit(1, 'buy', 100, 2, { account: 2 }));
      expect(run(market(2, 'sell', 3)).at(-1)).toMatchObject({ type: 'cancelled', quantity: 1, reason: CancelReason.MarketNoLiquidity });
    });
  });

  describe('cancel, cancel-all and replace', () => {
    it('cancels an own order and removes its level', () => {
      const { book, run } = setup(limit(1, 'buy', 100, 5));
      expect(run(cancel(1))).toEqual([
        { type: 'cancelled', orderId: 1, account: 1, side: B, price: 100, quantity: 5, reason: CancelReason.UserRequested },
        { type: 'level', side: B, price: 100, quantity: 0, orderCount: 0 },
      ]);
      expect(book.size()).toBe(0);
    });

    it("refuses to cancel another account's order as unknown, and changes nothing", () => {
      const { book, run } = setup(limit(1, 'buy', 100, 5, { account: 2 }));
      expect(run(cancel(1, 1))).toEqual([{ type: 'rejected', orderId: 1, account: 1, code: RejectCode.UnknownOrder, field: 'order_id', reason: 'no open order 1 for this account' }]);
      expect(book.getOrder(1)?.remaining).toBe(5);
    });

    it('cancel-all cancels only that account, optionally one side, in ascending order id', () => {
      const { book, run } = setup(limit(5, 'buy', 99, 1), limit(2, 'buy', 98, 1), limit(3, 'sell', 101, 1), limit(4, 'buy', 97, 1, { account: 2 }));
      expect(run(cancelAll(1, 'buy')).filter((e) => e.type === 'cancelled').map((e) => e.type === 'cancelled' && e.orderId)).toEqual([2, 5]);
      expect(book.size()).toBe(2);
    });

    it('a quantity decrease keeps queue priority', () => {
      const { run } = setup(limit(1, 'sell', 100, 5, { account: 2 }), limit(2, 'sell', 100, 5, { account: 3 }));
      expect(run(replace(1, 100, 3, 2))).toEqual([
        { type: 'replaced', orderId: 1, account: 2, side: S, price: 100, quantity: 3, priorityKept: true },
        { type: 'level', side: S, price: 100, quantity: 8, orderCount: 2 },
      ]);
      expect(run(limit(3, 'buy', 100, 1)).find((e) => e.type === 'fill')).toMatchObject({ makerOrderId: 1 });
    });

    it('a quantity increase loses queue priority', () => {
      const { run } = setup(limit(1, 'sell', 100, 5, { account: 2 }), limit(2, 'sell', 100, 5, { account: 3 }));
      expect(run(replace(1, 100, 6, 2))).toEqual([
        { type: 'replaced', orderId: 1, account: 2, side: S, price: 100, quantity: 6, priorityKept: false },
        { type: 'level', side: S, price: 100, quantity: 5, orderCount: 1 },
        { type: 'level', side: S, price: 100, quantity: 11, orderCount: 2 },
      ]);
      expect(run(limit(3, 'buy', 100, 1)).find((e) => e.type === 'fill')).toMatchObject({ makerOrderId: 2 });
    });

    it('a price change that crosses trades as a taker', () => {
      const { book, run } = setup(limit(1, 'sell', 100, 2, { account: 2 }), limit(2, 'buy', 98, 5));
      const events = run(replace(2, 100, 5));
      expect(events.map((e) => e.type)).toEqual(['replaced', 'level', 'fill', 'level', 'level']);
      expect(book.getOrder(2)).toMatchObject({ price: 100, remaining: 3 });
    });

    it('an unchanged replace is rejected; a post-only replace that would take is rejected', () => {
      const { book, run } = setup(limit(1, 'sell', 100, 2, { account: 2 }), limit(2, 'buy', 98, 5, { postOnly: true }));
      const before = book.stateHash();
      expect(run(replace(2, 98, 5))[0]).toMatchObject({ type: 'rejected', code: RejectCode.ReplaceNoChange });
      expect(run(replace(2, 100, 5))[0]).toMatchObject({ type: 'rejected', code: RejectCode.PostOnlyWouldTake });
      expect(book.stateHash()).toBe(before);
    });
  });

  describe('self-trade prevention (the taker decides)', () => {
    const maker = () => setup(limit(1, 'sell', 100, 3, { account: 7 }), limit(2, 'sell', 100, 3, { account: 8 }));

    it('CancelTaker: the taker remainder is cancelled, the maker stays', () => {
      const { book, run } = maker();
      expect(run(limit(3, 'buy', 100, 5, { account: 7, stp: StpMode.CancelTaker })).slice(1)).toEqual([
        { type: 'cancelled', orderId: 3, account: 7, side: B, price: 100, quantity: 5, reason: CancelReason.SelfTradeTaker },
      ]);
      expect(book.size()).toBe(2);
    });

    it('CancelMaker: the maker is cancelled and the taker trades on', () => {
      const { book, run } = maker();
      const events = run(limit(3, 'buy', 100, 5, { account: 7, stp: StpMode.CancelMaker }));
      expect(events.map((e) => e.type)).toEqual(['accepted', 'cancelled', 'fill', 'level', 'level']);
      expect(events[1]).toMatchObject({ orderId: 1, reason: CancelReason.SelfTradeMaker });
      expect(book.getOrder(3)?.remaining).toBe(2);
    });

    it('CancelBoth: maker and taker are both cancelled', () => {
      const { book, run } = maker();
      const events = run(limit(3, 'buy', 100, 5, { account: 7, stp: StpMode.CancelBoth }));
      expect(events.map((e) => e.type === 'cancelled' && [e.orderId, e.reason])).toEqual([
        false,
        [1, CancelReason.SelfTradeMaker],
        false,
        [3, CancelReason.SelfTradeTaker],
      ]);
      expect(book.size()).toBe(1);
    });

    it('DecrementAndCancel: both shrink by the smaller quantity without a trade', () => {
      const { book, run } = maker();
      const events = run(limit(3, 'buy', 100, 2, { account: 7, stp: StpMode.DecrementAndCancel }));
      expect(events.slice(1)).toEqual([
        { type: 'cancelled', orderId: 1, account: 7, side: S, price: 100, quantity: 2, reason: CancelReason.SelfTradeDecrement },
        { type: 'cancelled', orderId: 3, account: 7, side: B, price: 100, quantity: 2, reason: CancelReason.SelfTradeDecrement },
        { type: 'level', side: S, price: 100, quantity: 4, orderCount: 2 },
      ]);
      expect(book.getOrder(1)?.remaining).toBe(1);
    });

    it('None: an account may trade with itself', () => {
      const { run } = maker();
      expect(run(limit(3, 'buy', 100, 1, { account: 7, stp: StpMode.None }))[1]).toMatchObject({ type: 'fill', makerOrderId: 1, takerAccount: 7 });
    });

    it('FOK counts own orders as unavailable unless the mode cancels makers', () => {
      const { run } = maker();
      expect(run(limit(3, 'buy', 100, 3, { account: 7, tif: 'FOK', stp: StpMode.CancelTaker })).at(-1)).toMatchObject({ reason: CancelReason.FokNotFillable });
      expect(run(limit(4, 'buy', 100, 3, { account: 7, tif: 'FOK', stp: StpMode.CancelMaker })).filter((e) => e.type === 'fill')).toHaveLength(1);
    });
  });

  describe('bad input is rejected with the field named and changes nothing', () => {
    const cases: [string, Command, number, string][] = [
      ['zero quantity', limit(9, 'buy', 100, 0), RejectCode.InvalidQuantity, 'quantity'],
      ['fractional quantity', limit(9, 'buy', 100, 1.5), RejectCode.InvalidQuantity, 'quantity'],
      ['quantity above the maximum', limit(9, 'buy', 100, 1_000_001), RejectCode.QuantityAboveMaximum, 'quantity'],
      ['price above the band', limit(9, 'buy', 201, 1), RejectCode.PriceOutOfBand, 'price'],
      ['zero price', limit(9, 'buy', 0, 1), RejectCode.InvalidPrice, 'price'],
      ['market order with a price', { ...(market(9, 'buy', 1) as object), price: 100 } as Command, RejectCode.InvalidPrice, 'price'],
      ['GTC market order', market(9, 'buy', 1, { tif: 'GTC' }), RejectCode.InvalidTimeInForce, 'time_in_force'],
      ['post-only IOC', limit(9, 'buy', 100, 1, { tif: 'IOC', postOnly: true }), RejectCode.InvalidPostOnly, 'post_only'],
      ['unknown stp mode', limit(9, 'buy', 100, 1, { stp: 7 as StpMode }), RejectCode.InvalidStpMode, 'stp_mode'],
      ['duplicate order id', limit(1, 'buy', 90, 1), RejectCode.DuplicateOrderId, 'order_id'],
      ['cancel of an unknown id', cancel(77), RejectCode.UnknownOrder, 'order_id'],
      ['cancel with a negative id', cancel(-1), RejectCode.InvalidOrderId, 'order_id'],
      ['replace to a price outside the band', replace(1, 500, 1), RejectCode.PriceOutOfBand, 'price'],
    ];
    it.each(cases)('%s', (_label, command, code, field) => {
      const { book, run } = setup(limit(1, 'buy', 99, 5), limit(2, 'sell', 101, 5, { account: 2 }));
      const before = book.stateHash();
      const events = run(command);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'rejected', code, field });
      expect(book.stateHash()).toBe(before);
    });
  });
});

function collect(book: OrderBook, side: Side) {
  const out: ReturnType<OrderBook['getOrder']>[] = [];
  book.forEachOrder(side, (o) => out.push(o));
  return out.filter((o) => o !== undefined);
}
