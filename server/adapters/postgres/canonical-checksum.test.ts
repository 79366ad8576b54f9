import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalChecksum } from './canonical-checksum.ts';
import { canonicalJson, sha256Hex } from './canonical-json.ts';

/** A snapshot-shaped value: a few scalars and two long arrays of small records. */
function snapshotLike(orders: number): Record<string, unknown> {
  const order = (i: number) => ({ orderId: i, account: `acct-${i % 7}`, clientOrderId: i % 3 === 0 ? '' : `c${i}`, side: i % 2, price: 6_500_000 + (i % 900), quantity: 1 + (i % 100), remaining: i % 50, status: 'new', postOnly: i % 5 === 0, lastSequence: i * 3 });
  return {
    pair: 'BTCUSDT',
    sequence: orders * 2,
    lastOrderId: orders,
    orders: Array.from({ length: orders }, (_, i) => order(i + 1)),
    closedOrders: Array.from({ length: orders / 2 }, (_, i) => ({ ...order(i + 1), status: 'filled', gone: undefined })),
    nested: [[1, 2, [3]], [], { b: 1, a: [null, 'x'] }],
    takenAtMs: 1_700_000_000_000,
  };
}

describe('canonicalChecksum', () => {
  it('builds exactly canonicalJson(value) and its sha256, whatever the slice size', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.integer({ min: 1, max: 5 }), async (value, sliceSize) => {
        const r = await canonicalChecksum(value, { sliceSize });
        const expected = canonicalJson(value);
        expect(r.text).toBe(expected);
        expect(r.checksum).toBe(sha256Hex(expected));
      }),
      { numRuns: 300 },
    );
    // Runs of records with the same keys, the same keys in another order, undefined and nested values.
    const mixed = [{ a: 1, b: 'x' }, { a: 2, b: 'y' }, { b: 3, a: 4 }, { a: 5, b: 6, c: undefined }, { a: { z: 1, y: [2, { d: null, c: true }] }, b: -0 }, { a: 1, b: 'x' }, 7, null, 'é"\\'];
    expect((await canonicalChecksum({ list: mixed })).text).toBe(canonicalJson({ list: mixed }));
    const big = snapshotLike(5000);
    const r = await canonicalChecksum(big, { sliceSize: 333 });
    expect(r.text).toBe(canonicalJson(big));
    expect(r.checksum).toBe(sha256Hex(canonicalJson(big)));
  });

  it('works in slices and lets the event loop run between them', async () => {
    const big = snapshotLike(10_000);
    let ranBeforeDone = false;
    setImmediate(() => {
      ranBeforeDone = true;
    });
    const r = await canonicalChecksum(big, { sliceSize: 2000 });
    // 10,000 orders + 5,000 closed orders in slices of 2,000 units: at least 7 yields to the loop, and
    // a callback queued before the call ran before it finished (a synchronous hash would resolve first).
    expect(r.slices).toBeGreaterThanOrEqual(7);
    expect(ranBeforeDone).toBe(true);
  });

  it('yields through the given function, once per slice', async () => {
    let yields = 0;
    const r = await canonicalChecksum(snapshotLike(1000), { sliceSize: 100, yieldToLoop: async () => void yields++ });
    expect(yields).toBe(r.slices);
    expect(yields).toBeGreaterThanOrEqual(15);
  });

  it('rejects a slice size that is not a positive integer', async () => {
    await expect(canonicalChecksum({}, { sliceSize: 0 })).rejects.toThrow(/sliceSize must be a positive integer, got 0/);
  });
});
