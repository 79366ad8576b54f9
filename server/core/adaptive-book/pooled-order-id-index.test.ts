import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OrderPool } from './order-pool.ts';
import { PooledOrderIdIndex } from './pooled-order-id-index.ts';
import { propertyParameters } from '../../../test/support/property-parameters.ts';

/** Ids drawn from a small pool (so removes and re-adds hit) that mixes small, sequential and > 2^32 values. */
const id = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom(2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, 2 ** 40 + 7, 4096, 8192));
const op = fc.oneof(fc.record({ t: fc.constant('add' as const), id }), fc.record({ t: fc.constant('remove' as const), id }));

/** A pool slot holding `id`, filed in the index, as the book does it. */
function file(pool: OrderPool, index: PooledOrderIdIndex, orderId: number): number {
  const o = pool.alloc();
  pool.f64[(o << 2) + 0 /* id */] = orderId;
  pool.setInt(o, 3 /* level */, 0);
  index.add(orderId, o);
  return o;
}

describe('PooledOrderIdIndex', () => {
  it('behaves like a Map under any sequence of adds and removes (bucket and pool growth, slot reuse included)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const pool = new OrderPool(4);
        const index = new PooledOrderIdIndex(pool, 4);
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.t === 'add') {
            if (model.has(o.id)) continue; // add() requires an absent id, as the book guarantees
            model.set(o.id, file(pool, index, o.id));
          } else {
            const slot = model.get(o.id);
            if (slot === undefined) continue; // remove() requires a filed slot
            index.remove(o.id, slot);
            pool.free(slot);
            model.delete(o.id);
          }
          expect(index.size).toBe(model.size);
        }
        for (const [k, v] of model) expect(index.get(k)).toBe(v);
        expect(index.get(999_999)).toBe(-1);
        const seen = new Map<number, number>();
        index.forEach((k, v) => seen.set(k, v));
        expect(seen).toEqual(model);
        expect(index.audit()).toBeUndefined();
      }),
      propertyParameters(200),
    );
  });

  it('keeps every id reachable after removing from the middle of chains, across many bucket doublings', () => {
    const pool = new OrderPool(16);
    const index = new PooledOrderIdIndex(pool, 16);
    const ids = Array.from({ length: 5000 }, (_, i) => (i + 1) * 1024); // multiples of a power of two collide more
    const slots = ids.map((k) => file(pool, index, k));
    for (let i = 0; i < ids.length; i += 3) index.remove(ids[i]!, slots[i]!);
    ids.forEach((k, i) => expect(index.get(k)).toBe(i % 3 === 0 ? -1 : slots[i]));
    expect(index.audit()).toBeUndefined();
  });

  it('refuses to remove a slot that is not filed, and its audit sees a record changed under it', () => {
    const pool = new OrderPool(16);
    const index = new PooledOrderIdIndex(pool, 16);
    const a = file(pool, index, 7);
    expect(() => index.remove(8, a)).toThrow(/not filed/);
    pool.f64[(a << 2) + 0 /* id */] = 123_456; // another bucket, and above the largest id added
    expect(index.audit()).toMatch(/bucket|largest/);
  });
});
