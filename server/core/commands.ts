/**
 * Commands a book applies. Plain objects with a numeric `kind`; the caller (pair layer) assigns order ids.
 * Validation of ranges happens inside the book so both implementations reject identically.
 */
import type { AccountId, Lots, OrderId, OrderType, PriceTicks, Side, StpMode, TimeInForce } from './types.ts';

export const CommandKind = { NewOrder: 0, Cancel: 1, Replace: 2, CancelAll: 3 } as const;
export type CommandKind = (typeof CommandKind)[keyof typeof CommandKind];

export interface NewOrderCommand {
  kind: typeof CommandKind.NewOrder;
  orderId: OrderId;
  account: AccountId;
  side: Side;
  type: OrderType;
  tif: TimeInForce;
  /** Rejected instead of trading if any part would take liquidity. Limit GTC only. */
  postOnly: boolean;
  /** Limit price in ticks; ignored (should be 0) for market orders. */
  price: PriceTicks;
  quantity: Lots;
  stp: StpMode;
}

export interface CancelCommand {
  kind: typeof CommandKind.Cancel;
  orderId: OrderId;
  account: AccountId;
}

/**
 * Amend a resting order. `quantity` is the new open (remaining) quantity. Lowering it at the same price
 * keeps queue priority; a price change or an increase re-enters the order at the back of its level
 * (and it may trade on the way, as a taker with its original STP mode).
 */
export interface ReplaceCommand {
  kind: typeof CommandKind.Replace;
  orderId: OrderId;
  account: AccountId;
  price: PriceTicks;
  quantity: Lots;
}

/** Cancels every resting order of `account` in this pair (one side only when `side` is given), in ascending order id. */
export interface CancelAllCommand {
  kind: typeof CommandKind.CancelAll;
  account: AccountId;
  side: Side | undefined;
}

export type Command = NewOrderCommand | CancelCommand | ReplaceCommand | CancelAllCommand;
