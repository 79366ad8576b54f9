import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from './latency-histogram.ts';

/** Nearest-rank percentile of a sorted sample, the definition the histogram approximates. */
function exactPercentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

const latencyNs = fc.oneof(
  fc.integer({ min: 0, max: 1_000 }), // sub-microsecond: the exact linear range
  fc.integer({ min: 1_000, max: 1_000_000 }), // 1 µs .. 1 ms: where the matching core lives
  fc.integer({ min: 1_000_000, max: 60_000_000_000 }), // 1 ms .. 60 s
);

describe('LatencyHistogram', () => {
  it('an empty histogram reports 0 for count, percentiles, max, min and mean', () => {
    const h = new LatencyHistogram();
    expect([h.count, h.percentileNs(95), h.percentileMs(50), h.maxNs, h.minNs, h.meanNs]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('values below 128 ns are exact', () => {
    const h = new LatencyHistogram();
    for (const v of [3, 7, 7, 100]) h.record(v);
    expect(h.percentileNs(25)).toBe(3);
    expect(h.percentileNs(50)).toBe(7);
    expect(h.percentileNs(100)).toBe(100);
  });

  it('a bucket computed once records into any histogram of the layout exactly as record() does', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.double({ min: 0, max: 2e11, noNaN: true }), { maxLength: 60 }), (subBucketBits, values) => {
        const layout = { subBucketBits, highestNs: 60_000_000_000 };
        const [recorded, bucketed, other] = [new LatencyHistogram(layout), new LatencyHistogram(layout), new LatencyHistogram(layout)];
        for (const v of values) {
          recorded.record(v);
          const whole = Math.floor(v);
          bucketed.recordInBucket(other.bucketOf(whole), whole);
        }
        for (const p of [1, 50, 95, 99, 100]) expect(bucketed.percentileNs(p)).toBe(recorded.percentileNs(p));
        expect([bucketed.count, bucketed.maxNs, bucketed.minNs, bucketed.totalNs]).toEqual([recorded.count, recorded.maxNs, recorded.minNs, recorded.totalNs]);
      }),
    );
  });

  it('the default layout covers 1 ns .. 60 s in under 2 000 buckets with 0.78 % precision', () => {
    const h = new LatencyHistogram();
    expect(h.bucketCount).toBeLessThan(2_000);
    expect(h.relativePrecision).toBeCloseTo(0.0078125, 10);
  });

  it('count, exact max, exact min and exact mean follow the recorded values', () => {
    const h = new LatencyHistogram();
    for (const v of [1_000, 2_000, 3_000_123]) h.record(v);
    expect(h.count).toBe(3);
    expect(h.maxNs).toBe(3_000_123);
    expect(h.minNs).toBe(1_000);
    expect(h.meanNs).toBeCloseTo((1_000 + 2_000 + 3_000_123) / 3, 9);
  });

  it('percentileMs is percentileNs in milliseconds', () => {
    const h = new LatencyHistogram();
    h.record(20_000_000);
    expect(h.percentileMs(95)).toBe(20);
  });

  it('negative, NaN and infinite latencies are refused without being counted', () => {
    const h = new LatencyHistogram();
    expect(h.record(-1)).toBe(false);
    expect(h.record(Number.NaN)).toBe(false);
    expect(h.record(Number.POSITIVE_INFINITY)).toBe(false);
    expect(h.record(5)).toBe(true);
    expect(h.count).toBe(1);
  });

  it('a latency above 60 s lands in the top bucket and keeps its exact value as max', () => {
    const h = new LatencyHistogram();
    h.record(120_000_000_000);
    expect(h.count).toBe(1);
    expect(h.maxNs).toBe(120_000_000_000);
    expect(h.percentileNs(100)).toBe(120_000_000_000);
  });

  it('a percentile outside 0..100 is a programming error', () => {
    expect(() => new LatencyHistogram().percentileNs(101)).toThrow(RangeError);
  });

  it('merge adds counts, sum, min and max; merging an empty histogram changes nothing', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    a.record(1_000);
    b.record(5_000_000);
    b.record(9);
    a.merge(b);
    a.merge(new LatencyHistogram());
    expect(a.count).toBe(3);
    expect(a.maxNs).toBe(5_000_000);
    expect(a.minNs).toBe(9);
    expect(a.totalNs).toBe(5_001_009);
  });

  it('merge refuses a histogram with a different layout', () => {
    expect(() => new LatencyHistogram().merge(new LatencyHistogram({ subBucketBits: 5 }))).toThrow(/different layouts/);
  });

  it('reset empties the histogram and it records again from scratch', () => {
    const h = new LatencyHistogram();
    h.record(50_000_000);
    h.reset();
    expect(h.count).toBe(0);
    expect(h.percentileNs(99)).toBe(0);
    h.record(2_000);
    expect(h.percentileNs(99)).toBeCloseTo(2_000, -1);
    expect(h.maxNs).toBe(2_000);
  });

  it('bad layout options are refused naming the field', () => {
    expect(() => new LatencyHistogram({ subBucketBits: 0 })).toThrow(/subBucketBits/);
    expect(() => new LatencyHistogram({ highestNs: 10 })).toThrow(/highestNs/);
  });

  it('property: every percentile is within the relative precision of the exact nearest-rank percentile', () => {
    fc.assert(
      fc.property(fc.array(latencyNs, { minLength: 1, maxLength: 300 }), fc.double({ min: 0, max: 100, noNaN: true }), (values, p) => {
        const h = new LatencyHistogram();
        for (const v of values) h.record(v);
        const exact = exactPercentile([...values].sort((x, y) => x - y), p);
        expect(Math.abs(h.percentileNs(p) - exact)).toBeLessThanOrEqual(exact * h.relativePrecision);
      }),
      { numRuns: 300 },
    );
  });

  it('property: merging two histograms gives the percentiles of recording everything into one', () => {
    fc.assert(
      fc.property(fc.array(latencyNs, { maxLength: 100 }), fc.array(latencyNs, { maxLength: 100 }), (xs, ys) => {
        const a = new LatencyHistogram();
        const b = new LatencyHistogram();
        const all = new LatencyHistogram();
        for (const v of xs) (a.record(v), all.record(v));
        for (const v of ys) (b.record(v), all.record(v));
        a.merge(b);
        for (const p of [50, 95, 99, 100]) expect(a.percentileNs(p)).toBe(all.percentileNs(p));
        expect(a.count).toBe(all.count);
        expect(a.maxNs).toBe(all.maxNs);
      }),
      { numRuns: 200 },
    );
  });

  it('property: with coarser layouts the bound scales with the precision', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 9 }), fc.array(latencyNs, { minLength: 1, maxLength: 100 }), (bits, values) => {
        const h = new LatencyHistogram({ subBucketBits: bits });
        for (const v of values) h.record(v);
        const sorted = [...values].sort((x, y) => x - y);
        for (const p of [50, 95, 99]) {
          const exact = exactPercentile(sorted, p);
          expect(Math.abs(h.percentileNs(p) - exact)).toBeLessThanOrEqual(exact * h.relativePrecision);
        }
      }),
      { numRuns: 200 },
    );
  });
});
