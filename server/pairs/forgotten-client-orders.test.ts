import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AccountId } from '../core/types.ts';
import { ForgottenClientOrders } from './forgotten-client-orders.ts';

describe('ForgottenClientOrders', () => {
  it('never forgets an id it was told (no false negatives), whatever the ids', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 2 ** 40 }), fc.string({ minLength: 1, maxLength: 64, unit: 'binary' })), { maxLength: 300 }), (ids) => {
        const f = new ForgottenClientOrders(1024);
        for (const [account, id] of ids) f.add(account as AccountId, id);
        for (const [account, id] of ids) expect(f.mayHold(account as AccountId, id)).toBe(true);
        expect(f.added).toBe(ids.length);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps false positives near the Bloom bound at its design load', () => {
    // 5,000 ids in 2^16 bits, 7 hashes: (1 − e^(−7·5000/65536))^7 ≈ 0.21 %.
    const f = new ForgottenClientOrders(2 ** 16);
    for (let i = 0; i < 5000; i++) f.add((i % 7) + 1, `cid-${i}`);
    let hits = 0;
    for (let i = 0; i < 100_000; i++) if (f.mayHold((i % 7) + 1, `other-${i}`)) hits++;
    expect(hits / 100_000).toBeLessThan(0.006);
    // The account is part of the key: another account's id is not the same id.
    let crossed = 0;
    for (let i = 0; i < 5000; i++) if (f.mayHold(1000 + i, `cid-${i}`)) crossed++;
    expect(crossed / 5000).toBeLessThan(0.006);
  });

  it('answers "never" for everything while empty, and allocates nothing until the first id', () => {
    const f = new ForgottenClientOrders();
    expect(f.mayHold(1, 'x')).toBe(false);
    expect(f.state()).toEqual({ bits: 2 ** 23, hashes: 7, added: 0, data: '' });
  });

  it('round-trips through its snapshot state, a copy that later additions do not change', () => {
    const f = new ForgottenClientOrders(4096);
    for (let i = 0; i < 100; i++) f.add(3, `id-${i}`);
    const state = f.state();
    f.add(3, 'later');
    const back = ForgottenClientOrders.fromState(JSON.parse(JSON.stringify(state)))!;
    expect(back.bits).toBe(4096);
    expect(back.added).toBe(100);
    for (let i = 0; i < 100; i++) expect(back.mayHold(3, `id-${i}`)).toBe(true);
    expect(back.mayHold(3, 'later')).toBe(false); // added after the state was taken
    expect(ForgottenClientOrders.fromState(f.state())!.mayHold(3, 'later')).toBe(true);
  });

  it('refuses a state it cannot read, so the pair falls back to asking about every id', () => {
    const good = new ForgottenClientOrders(1024);
    good.add(1, 'a');
    const s = good.state();
    for (const bad of [null, 'x', 7, {}, { ...s, bits: 1000 }, { ...s, bits: 2 ** 40 }, { ...s, hashes: 5 }, { ...s, added: -1 }, { ...s, added: 1.5 }, { ...s, data: 5 }, { ...s, data: 'AAAA' }, { ...s, data: '' }]) {
      expect(ForgottenClientOrders.fromState(bad)).toBeUndefined();
    }
    expect(ForgottenClientOrders.fromState({ bits: 1024, hashes: 7, added: 0, data: '' })?.mayHold(1, 'a')).toBe(false);
  });

  it('refuses a size that is not a power of two in range', () => {
    for (const bits of [0, 63, 1000, 2 ** 32, 1.5]) expect(() => new ForgottenClientOrders(bits)).toThrow(/power of two/);
  });
});
