/**
 * The one door from a pair to its order book. TradingPair touches the book only through this narrow
 * interface, so the single book can later be swapped for the OrderBookManager that runs the legacy and
 * adaptive books side by side (routing, shadowing, comparing) without changing the pair.
 */
import type { Command } from '../core/commands.ts';
import type { EventSink } from '../core/events.ts';
import type { Instrument } from '../core/instrument.ts';
import type { DepthLevel, OrderBookFactory, Outcome, RestingOrder } from '../core/order-book.ts';
import { Side } from '../core/types.ts';

export interface ServingBook {
  /** Which implementation serves right now, for logs and metrics. */
  readonly implementation: string;
  /** Applies one command; events go to `out`. A bad command is a Rejection, never an exception. */
  apply(cmd: Command, out: EventSink): Outcome;
  /** Up to `maxLevels` levels of one side, best first. */
  depth(side: Side, maxLevels: number): DepthLevel[];
  /** Resting orders, bids then asks, each side in priority order (what a snapshot stores). */
  restingOrders(): RestingOrder[];
  /** Replaces the whole state with these resting orders (in restingOrders() order). Emits nothing. */
  load(orders: readonly RestingOrder[]): void;
  /** Implementation-agnostic digest of the served state (OrderBook.stateHash). */
  stateHash(): string;
}

export type ServingBookFactory = (instrument: Instrument) => ServingBook;

/** Serves a pair from one book of the given implementation (an OrderBook is a ServingBook). */
export function singleBook(factory: OrderBookFactory): ServingBookFactory {
  return (instrument) => {
    const book = factory(instrument);
    return {
      implementation: book.implementation,
      apply: (cmd, out) => book.apply(cmd, out),
      depth: (side, maxLevels) => book.depth(side, maxLevels),
      restingOrders: () => {
        const orders: RestingOrder[] = [];
        book.forEachOrder(Side.Buy, (o) => orders.push(o));
        book.forEachOrder(Side.Sell, (o) => orders.push(o));
        return orders;
      },
      load: (orders) => book.load(orders),
      stateHash: () => book.stateHash(),
    };
  };
}
