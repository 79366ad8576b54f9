import { fc, it } from '@fast-check/vitest';
import { describe, expect, it as plainIt } from 'vitest';
import { AccountOrders } from './account-orders.ts';

/** The model's keys k0..k5 as (pair, id): two pairs, and the same id under both, so tables are emptied, dropped and made again. */
function pairAndId(key: string): [string, string] {
  const k = Number(key.slice(1));
  return [k % 2 === 0 ? 'AAAUSDT' : 'BBBUSDT', `id${k >> 1}`];
}

describe('AccountOrders against a list model (out-of-order deletes, both compactions)', () => {
  type Op = { kind: 'add'; key: number } | { kind: 'delete'; key: number } | { kind: 'dropOldest' } | { kind: 'dropExpired'; now: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('add' as const), key: fc.integer({ min: 0, max: 5 }) }), weight: 4 },
    { arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 5 }) }), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant('dropOldest' as const) }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('dropExpired' as const), now: fc.integer({ min: 0, max: 400 }) }), weight: 1 },
  );

  // Tiny thresholds, so both compactions (prefix dropped; rebuilt from the live entries) run all the time.
  it.prop([fc.array(op, { maxLength: 300 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 8 })], { numRuns: 300 })(
    'finds, evicts and expires exactly what an insertion-ordered list would',
    (ops, compactAfter, staleSlack, renumberAbove) => {
      const orders = new AccountOrders(compactAfter, staleSlack, renumberAbove);
      const model: { key: string; result: string; expiresAtMs: number }[] = [];
      let n = 0;
      for (const o of ops) {
        if (o.kind === 'add') {
          const key = `k${o.key}`;
          const at = model.findIndex((r) => r.key === key);
          if (at >= 0) model.splice(at, 1);
          orders.delete(...pairAndId(key)); // the store deletes before it re-adds
          const r = { key, result: `r${n}`, expiresAtMs: n++ };
          orders.add(...pairAndId(r.key), r.result, r.expiresAtMs);
          model.push(r);
        } else if (o.kind === 'delete') {
          const key = `k${o.key}`;
          const at = model.findIndex((r) => r.key === key);
          expect(orders.delete(...pairAndId(key))).toBe(at >= 0);
          if (at >= 0) model.splice(at, 1);
        } else if (o.kind === 'dropOldest') {
          expect(orders.dropOldest()).toBe(model.length > 0);
          model.shift();
        } else {
          // Expiries ascend in insertion order (one TTL), as in the store.
          let expired = 0;
          while (model.length > 0 && o.now >= model[0]!.expiresAtMs) {
            model.shift();
            expired++;
          }
          expect(orders.dropExpired(o.now)).toBe(expired);
        }
        expect(orders.size).toBe(model.length);
        for (let k = 0; k <= 5; k++) {
          const r = model.find((m) => m.key === `k${k}`);
          const i = orders.indexOf(...pairAndId(`k${k}`));
          if (r === undefined) expect(i).toBe(-1);
          else {
            expect(orders.resultAt(i)).toBe(r.result);
            expect(orders.expiresAt(i)).toBe(r.expiresAtMs);
          }
        }
      }
    },
  );

  plainIt('rebuilds the queue from its live entries once stale ones pile up behind a live one, keeping every lookup', () => {
    const orders = new AccountOrders(1024, 0);
    orders.add('P', 'k0', 'a', 0);
    orders.add('P', 'k1', 'b', 1);
    for (let i = 0; i < 5; i++) {
      orders.delete('P', 'k1'); // replaced: its old entry stays behind k0, stale
      orders.add('P', 'k1', `c${i}`, 2 + i);
    }
    expect(orders.dropOldest()).toBe(true); // k0 goes; 5 stale entries and 1 live one left: rebuilt
    expect(orders.size).toBe(1);
    expect(orders.resultAt(orders.indexOf('P', 'k1'))).toBe('c4');
    orders.add('P', 'k2', 'd', 10);
    expect(orders.dropExpired(6)).toBe(1);
    expect(orders.indexOf('P', 'k1')).toBe(-1);
    expect(orders.resultAt(orders.indexOf('P', 'k2'))).toBe('d');
  });

  plainIt('drops the consumed prefix of a long queue, renumbers from 0 past the limit, and still numbers new entries right', () => {
    const orders = new AccountOrders(2, 4096, 10);
    for (let i = 0; i < 50; i++) orders.add('P', `k${i}`, `r${i}`, i);
    for (let i = 0; i < 40; i++) expect(orders.dropOldest()).toBe(true);
    for (let i = 50; i < 60; i++) orders.add('P', `k${i}`, `r${i}`, i);
    expect(orders.size).toBe(20);
    for (let i = 0; i < 60; i++) {
      const at = orders.indexOf('P', `k${i}`);
      if (i < 40) expect(at).toBe(-1);
      else expect(orders.resultAt(at)).toBe(`r${i}`);
    }
  });
});
