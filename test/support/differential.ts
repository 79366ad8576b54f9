/**
 * Runs one command sequence through two books side by side and reports the first step where they
 * differ: events (compared at every step), outcome, state hash, or an invariant.
 */
import type { Command } from '../../server/core/commands.ts';
import { RecordingSink } from '../../server/core/events.ts';
import type { Instrument } from '../../server/core/instrument.ts';
import type { OrderBook } from '../../server/core/order-book.ts';
import { isDeepStrictEqual } from 'node:util';

export type BookFactory = (instrument: Instrument) => OrderBook;

export interface Divergence {
  step: number;
  command: Command;
  what: string;
  expected: unknown;
  actual: unknown;
}

export function findDivergence(instrument: Instrument, reference: BookFactory, candidate: BookFactory, commands: readonly Command[]): Divergence | undefined {
  const a = reference(instrument);
  const b = candidate(instrument);
  const sa = new RecordingSink();
  const sb = new RecordingSink();
  for (let step = 0; step < commands.length; step++) {
    const command = commands[step]!;
    const oa = a.apply(command, sa);
    let ob;
    try {
      ob = b.apply(command, sb);
    } catch (e) {
      return { step, command, what: 'candidate threw', expected: oa, actual: String((e as Error).stack ?? e) };
    }
    const ea = sa.take();
    const eb = sb.take();
    if (!isDeepStrictEqual(ea, eb)) return { step, command, what: 'events', expected: ea, actual: eb };
    if (!isDeepStrictEqual(oa, ob)) return { step, command, what: 'outcome', expected: oa, actual: ob };
    const ha = a.stateHash();
    const hb = b.stateHash();
    if (ha !== hb) return { step, command, what: 'stateHash', expected: ha, actual: hb };
    try {
      b.checkInvariants();
    } catch (e) {
      return { step, command, what: 'candidate invariant', expected: 'no violation', actual: (e as Error).message };
    }
  }
  return undefined;
}

export function describeDivergence(d: Divergence): string {
  return `step ${d.step} (${JSON.stringify(d.command)}): ${d.what} differ\n expected ${JSON.stringify(d.expected)}\n actual   ${JSON.stringify(d.actual)}`;
}
