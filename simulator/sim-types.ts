/**
 * The vocabulary agents and drivers share: commands in integer ticks and lots, what came back for them
 * (an order's state after a command), and the events of an agent's own orders. Both drivers (in-process
 * and gRPC) translate to and from these, so the agents never see a decimal string, a float or a socket.
 */
import type { Instrument } from '../server/core/instrument.ts';
import type { Lots, OrderType, PriceTicks, Side, TimeInForce } from '../server/core/types.ts';

export type AgentKind = 'market-maker' | 'noise' | 'momentum' | 'informed' | 'cancel-storm';

/** A new order. Prices and quantities are already inside the pair's band and limits. */
export interface SimSubmit {
  readonly kind: 'submit';
  readonly pair: string;
  readonly clientOrderId: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly tif: TimeInForce;
  readonly postOnly: boolean;
  /** 0 for market orders. */
  readonly price: PriceTicks;
  readonly quantity: Lots;
}

/** Cancel of one of the agent's orders, named by its client order id. */
export interface SimCancel {
  readonly kind: 'cancel';
  readonly pair: string;
  readonly clientOrderId: string;
}

/** Amend (cancel/replace) of one of the agent's resting orders: new price and new open quantity. */
export interface SimReplace {
  readonly kind: 'replace';
  readonly pair: string;
  readonly clientOrderId: string;
  readonly price: PriceTicks;
  readonly quantity: Lots;
}

export type SimCommand = SimSubmit | SimCancel | SimReplace;

export type SimOrderStatus = 'new' | 'partially_filled' | 'filled' | 'cancelled' | 'rejected';

export function isClosed(status: SimOrderStatus): boolean {
  return status === 'filled' || status === 'cancelled' || status === 'rejected';
}

/** An order's state after a command or an event. */
export interface SimOrderState {
  readonly pair: string;
  readonly clientOrderId: string;
  /** The server's order id (decimal text: it is a uint64 on the wire). */
  readonly orderId: string;
  readonly side: Side;
  readonly price: PriceTicks;
  /** Ordered quantity (after a replace: filled + new open). */
  readonly quantity: Lots;
  readonly filled: Lots;
  readonly remaining: Lots;
  readonly status: SimOrderStatus;
  /** Pair event sequence of the last change; a later update has a larger one. */
  readonly lastSequence: number;
}

/** The answer to one command. */
export interface SimResult {
  readonly command: SimCommand;
  /** gRPC status code name ("OK", "NOT_FOUND", "UNAVAILABLE", ...). */
  readonly code: string;
  readonly message: string;
  /** The order's state after the command, when the server reported one. */
  readonly order: SimOrderState | undefined;
}

/** A fill of one of the agent's own orders. */
export interface SimFill {
  readonly pair: string;
  readonly clientOrderId: string;
  readonly orderId: string;
  readonly tradeId: string;
  readonly side: Side;
  readonly price: PriceTicks;
  readonly quantity: Lots;
  readonly remaining: Lots;
  readonly liquidity: 'maker' | 'taker';
  readonly status: SimOrderStatus;
  readonly sequence: number;
}

/** Part or all of one of the agent's own orders left the book without trading. */
export interface SimCancelled {
  readonly pair: string;
  readonly clientOrderId: string;
  readonly orderId: string;
  readonly remaining: Lots;
  readonly status: SimOrderStatus;
  readonly sequence: number;
}

export type SimOrderEvent = ({ readonly type: 'fill' } & SimFill) | ({ readonly type: 'cancelled' } & SimCancelled);

/** A public trade. */
export interface SimTrade {
  readonly pair: string;
  readonly tradeId: string;
  readonly price: PriceTicks;
  readonly quantity: Lots;
  readonly takerSide: Side;
}

/** What the agents of one pair may read about it. */
export interface PairContext {
  readonly instrument: Instrument;
  /** The simulated "true" value in ticks (only informed traders and market makers use it). */
  readonly fairValue: PriceTicks;
  /** Set when the fair value jumped since the last step (ticks, signed); else 0. */
  readonly lastJumpTicks: number;
  /** Best bid / ask as the driver last saw them; undefined when that side is empty. */
  readonly bestBid: PriceTicks | undefined;
  readonly bestAsk: PriceTicks | undefined;
  /** Public trades, oldest first, bounded (the last few hundred). */
  readonly recentTrades: readonly SimTrade[];
}
