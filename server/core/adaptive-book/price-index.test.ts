import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PriceIndex } from './price-index.ts';
import { propertyParameters } from '../../../test/support/property-parameters.ts';

const MAX_PRICE = 5000;

/**
 * Drives one side's index with inserts and removes of levels whose number is the price itself, against a
 * sorted model, through a 32-key window so prices far apart force the far tier and re-centring.
 */
function check(isBid: boolean, ops: { price: number }[]): void {
  const index = new PriceIndex(isBid, MAX_PRICE, 32);
  const present = new Set<number>();
  const better = (a: number, b: number) => (isBid ? b - a : a - b);
  for (const { price } of ops) {
    if (present.has(price)) {
      index.remove(price);
      present.delete(price);
    } else {
      index.insert(price, price);
      present.add(price);
    }
    const order = [...present].sort(better);
    expect(index.best).toBe(order.length > 0 ? order[0] : -1);
    expect(index.levelCount).toBe(order.length);
    const problem = index.audit((l) => l);
    expect(problem).toBeUndefined();
  }
  const order = [...present].sort(better);
  expect(index.levelsInOrder()).toEqual(order);
  for (const p of order) expect(index.levelAt(p)).toBe(p);
  // levelAfter walks the same order, window and far tier alike
  const walked: number[] = [];
  for (let l = index.best; l !== -1; l = index.levelAfter(l)) walked.push(l);
  expect(walked).toEqual(order);
}

/** Clusters of nearby prices at a few far-apart centres, so the window moves in both directions. */
const price = fc.tuple(fc.constantFrom(1, 40, 100, 900, 2500, 4999), fc.integer({ min: 0, max: 40 })).map(([c, d]) => ({ price: Math.min(MAX_PRICE, c + d) }));

describe('PriceIndex', () => {
  it.each([
    ['asks', false],
    ['bids', true],
  ])('%s: best, order and lookups match a sorted model through re-centring and the far tier', (_name, isBid) => {
    fc.assert(
      fc.property(fc.array(price, { maxLength: 300 }), (ops) => check(isBid, ops)),
      propertyParameters(200),
    );
  });

  it('re-centres on the far tier when the window empties', () => {
    const index = new PriceIndex(false, MAX_PRICE, 32);
    index.insert(10, 10);
    index.insert(1000, 1000);
    index.insert(2000, 2000);
    index.remove(10);
    expect(index.best).toBe(1000);
    expect(index.levelAfter(1000)).toBe(2000);
    expect(index.audit((l) => l)).toBeUndefined();
  });

  it('refuses a window size that is not a power of two >= 32', () => {
    expect(() => new PriceIndex(false, MAX_PRICE, 48)).toThrow(RangeError);
    expect(() => new PriceIndex(false, MAX_PRICE, 16)).toThrow(RangeError);
  });
});
