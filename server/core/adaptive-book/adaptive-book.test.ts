/**
 * Scenarios aimed at the adaptive book's own machinery (window re-centring, the far tier, slot and level
 * reuse), each checked event for event against the legacy book. A 32-key window makes them small.
 */
import { describe, it } from 'vitest';
import type { Command } from '../commands.ts';
import { LegacyBook } from '../legacy-book/legacy-book.ts';
import { StpMode } from '../types.ts';
import { AdaptiveBook } from './adaptive-book.ts';
import { TEST_INSTRUMENT, cancel, cancelAll, limit, market, replace } from '../../../test/support/book-fixtures.ts';
import { describeDivergence, findDivergence } from '../../../test/support/differential.ts';

function sameAsLegacy(commands: Command[]): void {
  const d = findDivergence(TEST_INSTRUMENT, (i) => new LegacyBook(i), (i) => new AdaptiveBook(i, { windowSize: 32 }), commands);
  if (d !== undefined) throw new Error(describeDivergence(d));
}

/**
 * Asks at 60, 70, ..., 190: a 32-key window opened at the first one (base 52) holds 60-80, the rest start
 * in the far tier, and anything below 52 forces a re-centre.
 */
const askLadder = Array.from({ length: 14 }, (_, i) => limit(i + 1, 'sell', 60 + 10 * i, 2, { account: 2 }));

describe('adaptive book machinery, checked against legacy', () => {
  it('a sweep empties the window mid-match and carries on into re-centred far levels', () => {
    sameAsLegacy([...askLadder, limit(100, 'buy', 200, 30, { tif: 'IOC' })]);
  });

  it('a better price far below the window re-centres it, and cancelling it brings the old touch back', () => {
    sameAsLegacy([...askLadder, limit(100, 'sell', 5, 1, { account: 3 }), cancel(100, 3), market(101, 'buy', 3)]);
  });

  it('replace moves an order between the window and the far tier and back', () => {
    sameAsLegacy([...askLadder, replace(1, 150, 2, 2), replace(1, 60, 2, 2), replace(14, 11, 5, 2), market(100, 'buy', 9)]);
  });

  it('cancel-all empties both tiers in ascending id order, and the book refills cleanly', () => {
    sameAsLegacy([...askLadder, limit(50, 'buy', 5, 1, { account: 2 }), cancelAll(2), ...askLadder.slice(0, 3), market(100, 'buy', 3)]);
  });

  it('self-trade modes across a tier boundary (maker cancels, decrement, taker stop)', () => {
    sameAsLegacy([
      ...askLadder,
      limit(100, 'buy', 120, 5, { account: 2, stp: StpMode.CancelMaker, tif: 'IOC' }),
      limit(101, 'buy', 190, 5, { account: 2, stp: StpMode.DecrementAndCancel }),
      limit(102, 'buy', 190, 40, { account: 2, stp: StpMode.CancelTaker }),
      limit(103, 'buy', 190, 40, { account: 1, stp: StpMode.CancelBoth, tif: 'FOK' }),
    ]);
  });

  it('reuses freed order slots and levels many times over without drift', () => {
    const commands: Command[] = [];
    for (let round = 0; round < 50; round++) {
      const base = round * 100 + 1000;
      for (let k = 0; k < 10; k++) commands.push(limit(base + k, k % 2 === 0 ? 'sell' : 'buy', k % 2 === 0 ? 150 + k * 3 : 50 - k * 3, 1 + k, { account: 1 + (k % 3) }));
      commands.push(market(base + 50, 'buy', 12), market(base + 51, 'sell', 12), cancelAll(1), cancelAll(2, 'sell'));
    }
    sameAsLegacy(commands);
  });
});
