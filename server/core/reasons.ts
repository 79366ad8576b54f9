/**
 * The one table of rejection codes and cancel reasons. Codes are grouped in ranges:
 * 1xxx bad input (leaves as INVALID_ARGUMENT), 2xxx order state (NOT_FOUND / ALREADY_EXISTS),
 * 3xxx book rules (FAILED_PRECONDITION). A test checks every code is unique.
 */

export const RejectCode = {
  // 1xxx: the command itself is malformed for this instrument
  InvalidQuantity: 1001,
  QuantityBelowMinimum: 1002,
  QuantityAboveMaximum: 1003,
  InvalidPrice: 1004,
  PriceOutOfBand: 1005,
  InvalidOrderType: 1006,
  InvalidTimeInForce: 1007,
  InvalidPostOnly: 1008,
  InvalidSide: 1009,
  InvalidStpMode: 1010,
  InvalidOrderId: 1011,
  // 2xxx: the order referred to does not exist for this account, or already exists
  UnknownOrder: 2001,
  DuplicateOrderId: 2002,
  // 3xxx: the book's rules refuse it
  PostOnlyWouldTake: 3001,
  ReplaceNoChange: 3002,
} as const;
export type RejectCode = (typeof RejectCode)[keyof typeof RejectCode];

/** Why an order (or its remainder) left the book without trading. */
export const CancelReason = {
  UserRequested: 1,
  CancelAll: 2,
  IocRemainder: 3,
  FokNotFillable: 4,
  MarketNoLiquidity: 5,
  MarketProtectionBand: 6,
  SelfTradeTaker: 7,
  SelfTradeMaker: 8,
  SelfTradeDecrement: 9,
} as const;
export type CancelReason = (typeof CancelReason)[keyof typeof CancelReason];

const rejectNames = new Map<number, string>(Object.entries(RejectCode).map(([k, v]) => [v, k]));
const cancelNames = new Map<number, string>(Object.entries(CancelReason).map(([k, v]) => [v, k]));

export function rejectCodeName(code: RejectCode): string {
  return rejectNames.get(code) ?? `Reject${code}`;
}
export function cancelReasonName(reason: CancelReason): string {
  return cancelNames.get(reason) ?? `Cancel${reason}`;
}

/** 1xxx codes are bad input; the gRPC adapter answers them with INVALID_ARGUMENT. */
export function isInputRejection(code: RejectCode): boolean {
  return code >= 1000 && code < 2000;
}
