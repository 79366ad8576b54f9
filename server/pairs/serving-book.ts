/**
 * The one door from a pair to its order book. TradingPair touches the book only through this narrow
 * interface, so the single book can later be swapped for the OrderBookManager that runs the legacy and
 * adaptive books side by side (routing, shadowing, comparing) without changing the pair.
 */
import type { Command } from '../core/commands.ts';
import type { EventSink } from '../core/events.ts';
import type { Instrument } from '../core/instrument.ts';
import type { DepthLevel, OrderBookFactory, Outcome } from '../core/order-book.ts';
import type { Side } from '../core/types.ts';

export interface ServingBook {
  /** Which implementation serves right now, for logs and metrics. */
  readonly implementation: string;
  /** Applies one command; events go to `out`. A bad command is a Rejection, never an exception. */
  apply(cmd: Command, out: EventSink): Outcome;
  /** Up to `maxLevels` levels of one side, best first. */
  depth(side: Side, maxLevels: number): DepthLevel[];
}

export type ServingBookFactory = (instrument: Instrument) => ServingBook;

/** Serves a pair from one book of the given implementation (an OrderBook is a ServingBook). */
export function singleBook(factory: OrderBookFactory): ServingBookFactory {
  return (instrument) => factory(instrument);
}
