import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OrderTable } from './order-table.ts';

type Op = { kind: 'next'; gap: number } | { kind: 'anyId'; id: number } | { kind: 'delete'; pick: number } | { kind: 'replace'; pick: number } | { kind: 'clear' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('next' as const), gap: fc.oneof(fc.constant(0), fc.nat(3), fc.nat(40)) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('anyId' as const), id: fc.integer({ min: 1, max: 400 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replace' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
);

describe('OrderTable', () => {
  it('holds exactly what a Map would, through appends, jumps, out-of-order ids, deletes and compactions', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: 1, max: 8 }), (ops, maxEmptySlots) => {
        const table = new OrderTable<{ id: number; v: number }>({ maxEmptySlots });
        const model = new Map<number, { id: number; v: number }>();
        let nextId = 0;
        let version = 0;
        const check = (): void => {
          expect(table.size).toBe(model.size);
          for (let id = 0; id <= Math.max(nextId, 400) + 2; id++) expect(table.get(id)).toBe(model.get(id));
          expect([...table.values()].sort((a, b) => a.id - b.id)).toEqual([...model.values()].sort((a, b) => a.id - b.id));
        };
        for (const o of ops) {
          if (o.kind === 'next') {
            nextId += 1 + o.gap;
            const r = { id: nextId, v: ++version };
            table.set(nextId, r);
            model.set(nextId, r);
          } else if (o.kind === 'anyId') {
            const r = { id: o.id, v: ++version };
            table.set(o.id, r);
            model.set(o.id, r);
            nextId = Math.max(nextId, o.id);
          } else if (o.kind === 'clear') {
            table.clear();
            model.clear();
          } else {
            const ids = [...model.keys()];
            if (ids.length === 0) {
              expect(table.delete(o.pick + 1)).toBe(false);
              continue;
            }
            const id = ids[o.pick % ids.length]!;
            if (o.kind === 'delete') {
              expect(table.delete(id)).toBe(true);
              model.delete(id);
              expect(table.delete(id)).toBe(false);
            } else {
              const r = { id, v: ++version };
              table.set(id, r);
              model.set(id, r);
            }
          }
          expect(table.size).toBe(model.size);
        }
        check();
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the window dense when old records outlive the ones around them', () => {
    const table = new OrderTable<number>({ maxEmptySlots: 16 });
    // Every 100th order rests; the others die at once: the window must not keep 100 slots per survivor.
    for (let id = 1; id <= 100_000; id++) {
      table.set(id, id);
      if (id % 100 !== 0) table.delete(id);
    }
    expect(table.size).toBe(1000);
    expect(table.get(100)).toBe(100);
    expect(table.get(99_900)).toBe(99_900);
    expect(table.get(99_901)).toBeUndefined();
    const internals = table as unknown as { slots: unknown[] };
    expect(internals.slots.length).toBeLessThan(2 * 1000 + 2 * 16 + 2);
  });

  it('rejects a compaction threshold that is not a positive integer', () => {
    expect(() => new OrderTable({ maxEmptySlots: 0 })).toThrow(/maxEmptySlots must be a positive integer, got 0/);
  });
});
