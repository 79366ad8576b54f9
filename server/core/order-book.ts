/**
 * The one interface both order-book implementations obey. Fed the same commands, they must emit the
 * same events and reach the same stateHash(); the differential property test holds them to that.
 */
import type { Command } from './commands.ts';
import type { EventSink } from './events.ts';
import type { Instrument } from './instrument.ts';
import type { RejectCode } from './reasons.ts';
import type { AccountId, Lots, OrderId, PriceTicks, Side, StpMode } from './types.ts';

export type Outcome = { readonly ok: true } | Rejection;
export interface Rejection {
  readonly ok: false;
  readonly code: RejectCode;
  /** The command field at fault, named as in the proto contract (e.g. "quantity", "order_id"). */
  readonly field: string;
  readonly reason: string;
}
/** Shared so the accepted path allocates nothing. */
export const ACCEPTED: Outcome = Object.freeze({ ok: true as const });

/** A resting order as seen from outside the book (a copy; mutating it changes nothing). */
export interface RestingOrder {
  orderId: OrderId;
  account: AccountId;
  side: Side;
  price: PriceTicks;
  remaining: Lots;
  stp: StpMode;
  postOnly: boolean;
}

/** One L2 level. */
export interface DepthLevel {
  price: PriceTicks;
  quantity: Lots;
  orderCount: number;
}

export type BookImplementation = 'legacy' | 'adaptive';

export interface OrderBook {
  readonly implementation: BookImplementation;
  readonly instrument: Instrument;
  /** Applies one command, reporting what happened to `out`. Never throws for a bad command: that is a Rejection. */
  apply(cmd: Command, out: EventSink): Outcome;
  getOrder(orderId: OrderId): RestingOrder | undefined;
  /** Visits resting orders of one side in priority order: best price first, then time. */
  forEachOrder(side: Side, visit: (order: RestingOrder) => void): void;
  /** Up to `maxLevels` levels of one side, best first. */
  depth(side: Side, maxLevels: number): DepthLevel[];
  /** Best price of a side, or undefined when the side is empty. */
  bestPrice(side: Side): PriceTicks | undefined;
  /** Number of resting orders on both sides. */
  size(): number;
  /**
   * Replaces the whole state with these resting orders, given per side in priority order (as
   * forEachOrder yields them). Emits nothing. Used to rebuild a book to the true state.
   */
  load(orders: Iterable<RestingOrder>): void;
  /** Implementation-agnostic digest of the resting state, for differential tests and shadow comparison. */
  stateHash(): string;
  /** Throws InvariantError if any internal rule is broken. O(n): for tests and audits, not the hot path. */
  checkInvariants(): void;
}

export type OrderBookFactory = (instrument: Instrument) => OrderBook;
