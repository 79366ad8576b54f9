import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OrderBook, RestingOrder } from './order-book.ts';
import { hashBookState } from './state-hash.ts';
import { Side, StpMode, type AccountId, type Lots, type OrderId, type PriceTicks } from './types.ts';

/** Just what hashBookState reads: both sides in priority order. */
function bookOf(bids: RestingOrder[], asks: RestingOrder[]): OrderBook {
  return { forEachOrder: (side: Side, visit: (o: RestingOrder) => void) => (side === Side.Buy ? bids : asks).forEach(visit) } as unknown as OrderBook;
}

const resting = (side: Side): fc.Arbitrary<RestingOrder> =>
  fc.record({
    orderId: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
    account: fc.integer({ min: 0, max: 5 }),
    side: fc.constant(side),
    price: fc.oneof(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 2 ** 40 })),
    remaining: fc.integer({ min: 1, max: 10 }),
    stp: fc.constantFrom(StpMode.None, StpMode.CancelTaker, StpMode.CancelMaker, StpMode.CancelBoth),
    postOnly: fc.boolean(),
  }).map((o) => ({ ...o, orderId: o.orderId as OrderId, account: o.account as AccountId, price: o.price as PriceTicks, remaining: o.remaining as Lots }) as RestingOrder);

const sides = fc.tuple(fc.array(resting(Side.Buy), { maxLength: 6 }), fc.array(resting(Side.Sell), { maxLength: 6 }));
const fields = (o: RestingOrder) => [o.orderId, o.account, o.price, o.remaining, o.stp, o.postOnly];
const sameState = (x: RestingOrder[][], y: RestingOrder[][]) => JSON.stringify(x.map((s) => s.map(fields))) === JSON.stringify(y.map((s) => s.map(fields)));

describe('hashBookState', () => {
  it('is 16 hex digits, equal for equal resting states and different otherwise (order, side and every field count)', () => {
    fc.assert(
      fc.property(sides, sides, ([b1, a1], [b2, a2]) => {
        const h1 = hashBookState(bookOf(b1, a1));
        const h2 = hashBookState(bookOf(b2, a2));
        expect(h1).toMatch(/^[0-9a-f]{16}$/);
        expect(h1 === h2).toBe(sameState([b1, a1], [b2, a2]));
      }),
      { numRuns: 2000 },
    );
  });

  it('tells apart states one small change away: a swapped queue position, a moved order, one lot more', () => {
    fc.assert(
      fc.property(fc.array(resting(Side.Buy), { minLength: 2, maxLength: 8 }), fc.array(resting(Side.Sell), { maxLength: 4 }), (bids, asks) => {
        const base = hashBookState(bookOf(bids, asks));
        const swapped = [bids[1]!, bids[0]!, ...bids.slice(2)];
        if (!sameState([swapped], [bids])) expect(hashBookState(bookOf(swapped, asks))).not.toBe(base);
        expect(hashBookState(bookOf(bids.slice(1), [bids[0]!, ...asks]))).not.toBe(base);
        const more = bids.map((o, i) => (i === bids.length - 1 ? { ...o, remaining: (o.remaining + 1) as Lots } : o));
        expect(hashBookState(bookOf(more, asks))).not.toBe(base);
      }),
      { numRuns: 1000 },
    );
  });
});
