/**
 * The adaptive book against the legacy reference on random command sequences: events at every step,
 * outcomes, stateHash and invariants. Besides the default layout it runs with a 32-key window and
 * spread-out prices, so the far tier, its lazy heap and window re-centring are driven hard.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommandKind, type Command } from '../commands.ts';
import { LegacyBook } from '../legacy-book/legacy-book.ts';
import { AdaptiveBook } from './adaptive-book.ts';
import { TEST_INSTRUMENT } from '../../../test/support/book-fixtures.ts';
import { commandSequence } from '../../../test/support/command-arbitraries.ts';
import { describeDivergence, findDivergence, type BookFactory } from '../../../test/support/differential.ts';
import { propertyParameters } from '../../../test/support/property-parameters.ts';

const legacy: BookFactory = (i) => new LegacyBook(i);

/** Stretches the generators' tight band around 100 sevenfold, so levels land beyond a 32-key window. */
function spread(p: number): number {
  return Number.isSafeInteger(p) && p >= 94 && p <= 106 ? 100 + (p - 100) * 7 : p;
}
function spreadPrices(commands: Command[]): Command[] {
  return commands.map((c) => (c.kind === CommandKind.NewOrder || c.kind === CommandKind.Replace ? { ...c, price: spread(c.price) } : c));
}

function assertSame(candidate: BookFactory, commands: Command[]): void {
  const d = findDivergence(TEST_INSTRUMENT, legacy, candidate, commands);
  if (d !== undefined) throw new Error(describeDivergence(d));
}

describe('adaptive book matches the legacy book event for event', () => {
  it('with the default window', () => {
    fc.assert(
      fc.property(commandSequence(), (commands) => assertSame((i) => new AdaptiveBook(i), commands)),
      propertyParameters(300),
    );
  });

  it('with a 32-key window and prices spread beyond it (far tier and re-centring)', () => {
    fc.assert(
      fc.property(commandSequence(200), (commands) => assertSame((i) => new AdaptiveBook(i, { windowSize: 32 }), spreadPrices(commands))),
      propertyParameters(300),
    );
  });
});

describe('adaptive book read-outs match the legacy book', () => {
  it('depth() honours odd level counts the way Array.slice does', () => {
    const a = new LegacyBook(TEST_INSTRUMENT);
    const b = new AdaptiveBook(TEST_INSTRUMENT);
    const sink = { accepted() {}, rejected() {}, fill() {}, cancelled() {}, replaced() {}, level() {} };
    for (let i = 1; i <= 6; i++) {
      const cmd: Command = { kind: CommandKind.NewOrder, orderId: i, account: 1, side: 0, type: 0, tif: 0, postOnly: false, price: 90 + i, quantity: i, stp: 0 };
      a.apply(cmd, sink);
      b.apply(cmd, sink);
    }
    for (const n of [0, 1, 2.5, 6, 10, -1, Number.NaN, Infinity]) expect(b.depth(0, n)).toEqual(a.depth(0, n));
  });
});
