import { describe, expect, it } from 'vitest';
import { Random } from './random.ts';

describe('Random (xoshiro128**)', () => {
  it('matches the reference implementation for state {1, 2, 3, 4}', () => {
    // Outputs of the C reference (prng.di.unimi.it/xoshiro128starstar.c) from s = {1, 2, 3, 4}.
    const r = Random.fromState(1, 2, 3, 4);
    const got = Array.from({ length: 10 }, () => r.nextUint32());
    expect(got).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804]);
  });

  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const draw = (seed: number) => {
      const r = new Random(seed);
      return Array.from({ length: 100 }, () => r.nextInt(1_000_000));
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(2 ** 40 + 7)).not.toEqual(draw(7)); // the high bits of the seed count too
  });

  it('nextInt stays in range and is roughly uniform (chi-square over 10 buckets)', () => {
    const r = new Random(7);
    const buckets = new Array<number>(10).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const v = r.nextInt(10);
      expect(v >= 0 && v < 10 && Number.isInteger(v)).toBe(true);
      buckets[v]!++;
    }
    const expected = n / 10;
    const chi2 = buckets.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 9 degrees of freedom: p = 0.001 at 27.9. Deterministic for this seed, so this never flakes.
    expect(chi2).toBeLessThan(27.9);
  });

  it('nextInt handles bounds that do not divide 2^32 and the extremes', () => {
    const r = new Random(1);
    for (let i = 0; i < 1000; i++) {
      expect(r.nextInt(1)).toBe(0);
      const v = r.nextInt(3_000_000_019);
      expect(v >= 0 && v < 3_000_000_019).toBe(true);
      const w = r.nextInt(2 ** 32);
      expect(w >= 0 && w < 2 ** 32).toBe(true);
    }
    expect(() => r.nextInt(0)).toThrow();
    expect(() => r.nextInt(1.5)).toThrow();
  });

  it('nextInt (integer-only remainder) draws exactly what the floating-point definition draws', () => {
    // The definition it replaced: limit = 2^32 - 2^32 % m, redraw while r >= limit, answer r % m (doubles).
    const reference = (g: Random, m: number): number => {
      const limit = 2 ** 32 - (2 ** 32 % m);
      let r = g.nextUint32();
      while (r >= limit) r = g.nextUint32();
      return r % m;
    };
    const bounds = [1, 2, 3, 7, 10, 100, 1001, 40_000, 2 ** 16 + 1, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 3_000_000_019, 2 ** 32 - 1, 2 ** 32];
    const pickBounds = new Random(99);
    for (let i = 0; i < 200; i++) bounds.push(1 + pickBounds.nextInt(2 ** 32 - 1), 1 + pickBounds.nextInt(1000));
    for (const m of bounds) {
      const a = new Random(m);
      const b = new Random(m);
      for (let i = 0; i < 200; i++) expect(a.nextInt(m)).toBe(reference(b, m));
    }
    expect(() => new Random(1).nextInt(-1)).toThrow();
    expect(() => new Random(1).nextInt(2 ** 32 + 1)).toThrow();
    expect(() => new Random(1).nextInt(Number.NaN)).toThrow();
  });

  it('nextFloat is in [0, 1) with a mean near 1/2; intBetween and chance behave', () => {
    const r = new Random(99);
    let sum = 0;
    let hits = 0;
    const n = 50_000;
    for (let i = 0; i < n; i++) {
      const f = r.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
      sum += f;
      const k = r.intBetween(-3, 3);
      expect(k >= -3 && k <= 3).toBe(true);
      if (r.chance(1, 4)) hits++;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(hits / n - 0.25)).toBeLessThan(0.01);
  });

  it('fork gives an independent, reproducible stream', () => {
    const a = new Random(5).fork();
    const b = new Random(5).fork();
    expect(a.nextUint32()).toBe(b.nextUint32());
    expect(new Random(5).fork().nextUint32()).not.toBe(new Random(5).nextUint32());
  });
});
