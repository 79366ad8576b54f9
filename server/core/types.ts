/**
 * Integer money types and the small enums the matching core speaks in.
 * Prices are whole ticks and quantities whole lots: the core never sees a decimal or a float.
 * Must not import anything outside server/core.
 */

/** A price as a whole number of the instrument's ticks (price = ticks × tickSize). */
export type PriceTicks = number;
/** A quantity as a whole number of the instrument's lots (quantity = lots × lotSize). */
export type Lots = number;
/** Order id, unique within one pair, assigned by the caller before the command reaches a book. */
export type OrderId = number;
/** Account id, interned to an integer by the adapter layer so the book can compare owners cheaply. */
export type AccountId = number;

/** Numeric enums (not TS `enum`) so they inline as small integers on the hot path. */
export const Side = { Buy: 0, Sell: 1 } as const;
export type Side = (typeof Side)[keyof typeof Side];

export const OrderType = { Limit: 0, Market: 1 } as const;
export type OrderType = (typeof OrderType)[keyof typeof OrderType];

export const TimeInForce = { GTC: 0, IOC: 1, FOK: 2 } as const;
export type TimeInForce = (typeof TimeInForce)[keyof typeof TimeInForce];

/**
 * Self-trade prevention; the taker's mode decides what happens when it meets a maker of the same account.
 * - None: the two trade with each other.
 * - CancelTaker: the taker's remainder is cancelled; the maker stays.
 * - CancelMaker: the maker is cancelled and the taker continues.
 * - CancelBoth: both are cancelled.
 * - DecrementAndCancel: both are reduced by the smaller quantity without a trade; whichever reaches 0 is cancelled.
 */
export const StpMode = { None: 0, CancelTaker: 1, CancelMaker: 2, CancelBoth: 3, DecrementAndCancel: 4 } as const;
export type StpMode = (typeof StpMode)[keyof typeof StpMode];

export function oppositeSide(side: Side): Side {
  return side === Side.Buy ? Side.Sell : Side.Buy;
}

export function isSafeCount(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}
