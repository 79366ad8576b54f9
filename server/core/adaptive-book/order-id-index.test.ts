import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OrderIdIndex } from './order-id-index.ts';
import { propertyParameters } from '../../../test/support/property-parameters.ts';

/** Ids drawn from a small pool (so deletes and re-adds hit) that mixes small, sequential and > 2^32 values. */
const id = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom(2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, 2 ** 40 + 7, 4096, 8192));
const op = fc.oneof(
  fc.record({ t: fc.constant('set' as const), id, slot: fc.nat(1_000_000) }),
  fc.record({ t: fc.constant('delete' as const), id }),
);

describe('OrderIdIndex', () => {
  it('behaves like a Map under any sequence of adds and deletes (growth and backward-shift deletion included)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const index = new OrderIdIndex(4);
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.t === 'set') {
            if (model.has(o.id)) continue; // set() requires an absent id, as the book guarantees
            index.set(o.id, o.slot);
            model.set(o.id, o.slot);
          } else {
            index.delete(o.id);
            model.delete(o.id);
          }
          expect(index.size).toBe(model.size);
        }
        for (const [k, v] of model) expect(index.get(k)).toBe(v);
        expect(index.get(999_999)).toBe(-1);
        const seen = new Map<number, number>();
        index.forEach((k, v) => seen.set(k, v));
        expect(seen).toEqual(model);
      }),
      propertyParameters(200),
    );
  });

  it('keeps every entry reachable after deleting from the middle of long probe runs', () => {
    const index = new OrderIdIndex(16);
    const ids = Array.from({ length: 5000 }, (_, i) => (i + 1) * 1024); // multiples of a power of two collide more
    ids.forEach((k, i) => index.set(k, i));
    for (let i = 0; i < ids.length; i += 3) index.delete(ids[i]!);
    ids.forEach((k, i) => expect(index.get(k)).toBe(i % 3 === 0 ? -1 : i));
  });
});
