/**
 * The property tests are only worth something if they catch a broken book. These mutants are real
 * AdaptiveBook instances with one rule broken; the differential property must find a counterexample
 * for each (and print its seed), or this suite fails. The unbroken book passes the same property in
 * adaptive-book/adaptive-book.differential.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdaptiveBook } from './adaptive-book/adaptive-book.ts';
import { L_HEAD, L_TAIL } from './adaptive-book/level-pool.ts';
import { I_LEVEL, I_NEXT, I_PREV, NIL } from './adaptive-book/order-pool.ts';
import { LegacyBook } from './legacy-book/legacy-book.ts';
import type { EventSink } from './events.ts';
import type { Instrument } from './instrument.ts';
import { TEST_INSTRUMENT } from '../../test/support/book-fixtures.ts';
import { commandSequence } from '../../test/support/command-arbitraries.ts';
import { describeDivergence, findDivergence, type BookFactory } from '../../test/support/differential.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- mutants reach into the book's private arrays on purpose */
type Internals = { orders: any; levels: any };
const adaptiveRest = (AdaptiveBook.prototype as any).rest as (this: Internals, o: number, price: number, remaining: number, out: EventSink) => void;

/** Reversed time priority: a resting order joins the head of its level's queue instead of the tail. */
class LifoAdaptiveBook extends AdaptiveBook {
  constructor(instrument: Instrument) {
    super(instrument);
    (this as any).rest = function (this: Internals, o: number, price: number, remaining: number, out: EventSink) {
      adaptiveRest.call(this, o, price, remaining, out);
      const { orders, levels } = this;
      const lvl = orders.int(o, I_LEVEL);
      const head = levels.int(lvl, L_HEAD);
      if (head === o) return;
      const prev = orders.int(o, I_PREV);
      orders.setInt(prev, I_NEXT, NIL);
      levels.setInt(lvl, L_TAIL, prev);
      orders.setInt(o, I_PREV, NIL);
      orders.setInt(o, I_NEXT, head);
      orders.setInt(head, I_PREV, o);
      levels.setInt(lvl, L_HEAD, o);
    };
  }
}

const legacy: BookFactory = (i) => new LegacyBook(i);

function differentialCatches(candidate: BookFactory) {
  return fc.check(
    fc.property(commandSequence(), (commands) => {
      const d = findDivergence(TEST_INSTRUMENT, legacy, candidate, commands);
      if (d !== undefined) throw new Error(describeDivergence(d));
    }),
    { numRuns: 2000, seed: 42 },
  );
}

describe('the differential property catches deliberately broken adaptive books', () => {
  it.each<[string, BookFactory]>([
    ['reversed time priority (LIFO within a level)', (i) => new LifoAdaptiveBook(i)],
  ])('%s', (_name, factory) => {
    const result = differentialCatches(factory);
    expect(result.failed, 'the differential test accepted a broken book').toBe(true);
    console.log(`caught after ${result.numRuns} runs, seed ${result.seed}, path ${result.counterexamplePath}:\n${String(result.errorInstance).split('\n').slice(0, 3).join('\n')}`);
  });

});
