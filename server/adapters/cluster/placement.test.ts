import { describe, expect, it } from 'vitest';
import { placePairs } from './placement.ts';

const PAIRS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];

describe('placePairs', () => {
  it('balanced: every pair placed on a live member, at most ceil(pairs/members) each, the same answer whatever the input order', () => {
    for (const live of [['r1'], ['r1', 'r2'], ['r1', 'r2', 'r3'], ['a', 'b', 'c', 'd']]) {
      const p = placePairs(PAIRS, live, 'balanced');
      expect([...p.keys()].sort()).toEqual(PAIRS);
      const counts = new Map<string, number>();
      for (const m of p.values()) counts.set(m, (counts.get(m) ?? 0) + 1);
      for (const [m, n] of counts) {
        expect(live).toContain(m);
        expect(n).toBeLessThanOrEqual(Math.ceil(PAIRS.length / live.length));
      }
      expect(placePairs([...PAIRS].reverse(), [...live].reverse(), 'balanced')).toEqual(p);
    }
    expect(new Set(placePairs(PAIRS, ['r1', 'r2', 'r3'], 'balanced').values()).size).toBe(3);
  });

  it('balanced: a member leaving moves only its own pairs', () => {
    const many = Array.from({ length: 30 }, (_, i) => `P${String(i).padStart(2, '0')}USD`);
    const before = placePairs(many, ['r1', 'r2', 'r3', 'r4'], 'balanced');
    const after = placePairs(many, ['r1', 'r2', 'r3'], 'balanced');
    const moved = many.filter((p) => before.get(p) !== after.get(p));
    const ofR4 = many.filter((p) => before.get(p) === 'r4');
    // Bounded load may shift a few more than r4's own, never most of them.
    expect(moved.length).toBeLessThan(many.length / 2);
    for (const p of ofR4) expect(moved).toContain(p);
  });

  it('static: the named live replica; a pair whose replica is not live goes to a live one', () => {
    const map = new Map([['BTCUSDT', 'r1'], ['ETHUSDT', 'r2'], ['SOLUSDT', 'r2']]);
    expect(placePairs(PAIRS, ['r1', 'r2'], 'static', map)).toEqual(new Map([['BTCUSDT', 'r1'], ['ETHUSDT', 'r2'], ['SOLUSDT', 'r2']]));
    const withoutR2 = placePairs(PAIRS, ['r1', 'r3'], 'static', map);
    expect(withoutR2.get('BTCUSDT')).toBe('r1');
    expect(['r1', 'r3']).toContain(withoutR2.get('ETHUSDT'));
    expect(['r1', 'r3']).toContain(withoutR2.get('SOLUSDT'));
  });

  it('no live member: nothing placed', () => {
    expect(placePairs(PAIRS, [], 'balanced').size).toBe(0);
  });
});
