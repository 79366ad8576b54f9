/**
 * Scenarios aimed at the adaptive book's own machinery (window re-centring, the far tier, slot and level
 * reuse), each checked event for event against the legacy book. A 32-key window makes them small.
 */
import { describe, expect, it } from 'vitest';
import type { Command } from '../commands.ts';
import { RecordingSink } from '../events.ts';
import { LegacyBook } from '../legacy-book/legacy-book.ts';
import { StpMode } from '../types.ts';
import { AdaptiveBook, type PriceTierStats } from './adaptive-book.ts';
import { TEST_INSTRUMENT, cancel, cancelAll, limit, market, replace } from '../../../test/support/book-fixtures.ts';
import { describeDivergence, findDivergence } from '../../../test/support/differential.ts';

/**
 * Checks `commands` event for event against legacy, and returns the adaptive book's ask-side tiers
 * after each command (index i: after commands[i]), so a scenario can assert that the machinery it is
 * named for (far tier, re-centring) was really exercised.
 */
function sameAsLegacy(commands: Command[]): PriceTierStats[] {
  const d = findDivergence(TEST_INSTRUMENT, (i) => new LegacyBook(i), (i) => new AdaptiveBook(i, { windowSize: 32 }), commands);
  if (d !== undefined) throw new Error(describeDivergence(d));
  const book = new AdaptiveBook(TEST_INSTRUMENT, { windowSize: 32 });
  const sink = new RecordingSink();
  return commands.map((c) => {
    book.apply(c, sink);
    sink.take();
    return book.tiers().asks;
  });
}

/** Tiers after the ladder (index 13): 60-80 in the window, 90-190 in the far tier, no re-centre yet. */
const AFTER_LADDER = 13;

/**
 * Asks at 60, 70, ..., 190: a 32-key window opened at the first one (base 52) holds 60-80, the rest start
 * in the far tier, and anything below 52 forces a re-centre.
 */
const askLadder = Array.from({ length: 14 }, (_, i) => limit(i + 1, 'sell', 60 + 10 * i, 2, { account: 2 }));

describe('adaptive book machinery, checked against legacy', () => {
  it('a sweep empties the window mid-match and carries on into re-centred far levels', () => {
    const t = sameAsLegacy([...askLadder, limit(100, 'buy', 200, 30, { tif: 'IOC' })]);
    expect(t[AFTER_LADDER]).toEqual({ window: 3, far: 11, recentres: 0 });
    // 30 lots take 15 levels' worth: all 14 (28 lots) go, and the window re-centred onto far levels on the way.
    expect(t.at(-1)!.recentres).toBeGreaterThanOrEqual(1);
    expect(t.at(-1)).toMatchObject({ window: 0, far: 0 });
  });

  it('a better price far below the window re-centres it, and cancelling it brings the old touch back', () => {
    const t = sameAsLegacy([...askLadder, limit(100, 'sell', 5, 1, { account: 3 }), cancel(100, 3), market(101, 'buy', 3)]);
    // The ask at 5 lies below the window's base (52): the window moves down to it, pushing 60-80 out to the far tier.
    expect(t[AFTER_LADDER + 1]!.recentres).toBe(t[AFTER_LADDER]!.recentres + 1);
    expect(t[AFTER_LADDER + 1]).toMatchObject({ window: 1, far: 14 });
    // Cancelling it empties the window with far levels left: it re-centres on the old touch (60).
    expect(t[AFTER_LADDER + 2]!.recentres).toBe(t[AFTER_LADDER + 1]!.recentres + 1);
    expect(t[AFTER_LADDER + 2]).toMatchObject({ window: 3, far: 11 });
  });

  it('replace moves an order between the window and the far tier and back', () => {
    const t = sameAsLegacy([...askLadder, replace(1, 150, 2, 2), replace(1, 60, 2, 2), replace(14, 11, 5, 2), market(100, 'buy', 9)]);
    // 60 (window) → 150 (a far level that already exists): one level fewer in the window.
    expect(t[AFTER_LADDER + 1]).toMatchObject({ window: 2, far: 11 });
    // back to 60: in the window again.
    expect(t[AFTER_LADDER + 2]).toMatchObject({ window: 3, far: 11 });
    // 190 (far) → 11 (below the window's base): the far level goes and the window re-centres down.
    expect(t[AFTER_LADDER + 3]!.recentres).toBe(t[AFTER_LADDER + 2]!.recentres + 1);
    expect(t[AFTER_LADDER + 3]!.window + t[AFTER_LADDER + 3]!.far).toBe(14);
  });

  it('cancel-all empties both tiers in ascending id order, and the book refills cleanly', () => {
    const t = sameAsLegacy([...askLadder, limit(50, 'buy', 5, 1, { account: 2 }), cancelAll(2), ...askLadder.slice(0, 3), market(100, 'buy', 3)]);
    expect(t[AFTER_LADDER]!.far).toBeGreaterThan(0); // both tiers held levels before
    expect(t[AFTER_LADDER + 2]).toMatchObject({ window: 0, far: 0 });
    expect(t[AFTER_LADDER + 5]).toMatchObject({ window: 3, far: 0 });
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
