import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventRecorder } from './event-recorder.ts';
import { RecordingSink } from './events.ts';
import { LegacyBook } from './legacy-book/legacy-book.ts';
import { TEST_INSTRUMENT } from '../../test/support/book-fixtures.ts';
import { commandSequence } from '../../test/support/command-arbitraries.ts';

describe('EventRecorder', () => {
  it('replays exactly the events a book emitted, and two recordings of the same run compare equal', () => {
    fc.assert(
      fc.property(commandSequence(40), (commands) => {
        const direct = new RecordingSink();
        const viaRecorder = new RecordingSink();
        const a = new LegacyBook(TEST_INSTRUMENT);
        const b = new LegacyBook(TEST_INSTRUMENT);
        const c2 = new LegacyBook(TEST_INSTRUMENT);
        const ra = new EventRecorder();
        const rb = new EventRecorder();
        for (const c of commands) {
          a.apply(c, direct);
          ra.clear();
          rb.clear();
          b.apply(c, rb);
          c2.apply(c, ra);
          rb.replay(viaRecorder);
          expect(ra.sameAs(rb)).toBe(true);
        }
        expect(viaRecorder.events).toEqual(direct.events);
      }),
      { numRuns: 100 },
    );
  });

  it('tells apart recordings that differ only in a string or a flag', () => {
    const a = new EventRecorder();
    const b = new EventRecorder();
    a.rejected(1, 1, 1001, 'quantity', 'x');
    b.rejected(1, 1, 1001, 'price', 'x');
    expect(a.sameAs(b)).toBe(false);
    a.clear();
    b.clear();
    a.replaced(1, 1, 0, 5, 5, true);
    b.replaced(1, 1, 0, 5, 5, false);
    expect(a.sameAs(b)).toBe(false);
    expect(a.firstDifference(b)).toBe(6);
  });
});
