/**
 * Cancel-all visits the account's own orders, not the whole pool: the book's pool arrays are wrapped in
 * counting proxies and a cancel-all of an account with 3 orders, among 20,000 of another account, may
 * read only a few dozen elements. (The scan it replaced read every slot ever used.)
 */
import { describe, expect, it } from 'vitest';
import { RecordingSink } from '../events.ts';
import { AdaptiveBook } from './adaptive-book.ts';
import { TEST_INSTRUMENT, cancelAll, limit } from '../../../test/support/book-fixtures.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- the test counts reads of the book's private pool arrays */
function countReads(book: AdaptiveBook): { reads: number } {
  const counter = { reads: 0 };
  const orders = (book as any).orders as Record<string, unknown>;
  for (const [name, arr] of Object.entries(orders)) {
    if (!ArrayBuffer.isView(arr)) continue;
    orders[name] = new Proxy(arr as unknown as object, {
      get(target, key) {
        if (typeof key === 'string' && /^\d+$/.test(key)) counter.reads++;
        const v = Reflect.get(target, key, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
      set(target, key, value) {
        return Reflect.set(target, key, value, target);
      },
    });
  }
  return counter;
}

describe('adaptive book cancel-all', () => {
  it("reads only the account's own orders, however large the pool", () => {
    const book = new AdaptiveBook(TEST_INSTRUMENT);
    const sink = new RecordingSink();
    let id = 1;
    for (let i = 0; i < 20_000; i++) book.apply(limit(id++, i % 2 === 0 ? 'buy' : 'sell', i % 2 === 0 ? 90 - (i % 5) : 110 + (i % 5), 1, { account: 1 }), sink);
    const mine = [id++, id++, id++];
    book.apply(limit(mine[0]!, 'buy', 91, 2, { account: 2 }), sink);
    book.apply(limit(mine[1]!, 'sell', 111, 2, { account: 2 }), sink);
    book.apply(limit(mine[2]!, 'buy', 92, 2, { account: 2 }), sink);
    sink.take();

    const counter = countReads(book);
    book.apply(cancelAll(2), sink);
    const events = sink.take();
    expect(events.filter((e) => e.type === 'cancelled').map((e) => e.type === 'cancelled' && e.orderId)).toEqual(mine);
    expect(counter.reads).toBeGreaterThan(0); // the proxies are really in the path
    expect(counter.reads).toBeLessThan(100);
    expect(book.size()).toBe(20_000);
    book.checkInvariants();
  });
});
