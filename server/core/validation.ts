/**
 * THE business rules on a command's fields, shared by both books (so they reject the same commands with
 * the same code and field) and by the gRPC adapter, which checks an order's terms before the pair numbers
 * it (validateOrderTerms). The adapter's codec only parses the wire (presence, decimal syntax, enum
 * numbers); whether the values make a valid order is decided here, in one wording. Field names and enum
 * names in the reasons are the proto contract's, as the client wrote them. Existence checks (unknown or
 * duplicate ids) stay in the books.
 */
import type { CancelAllCommand, CancelCommand, NewOrderCommand, ReplaceCommand } from './commands.ts';
import { fromSteps } from './decimal.ts';
import type { Instrument } from './instrument.ts';
import type { Rejection } from './order-book.ts';
import { RejectCode } from './reasons.ts';

export function reject(code: RejectCode, field: string, reason: string): Rejection {
  return { ok: false, code, field, reason };
}

// The checks that run on every valid command write enum members as literals, with the name in a comment:
// V8 reloads an imported binding and re-checks the object behind it at every use (the books' hot paths
// do the same; see adaptive-book.ts). Failure paths keep the names.

function isId(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}

// Messages in the contract's decimals (what the client sent), not internal ticks and lots. Module-level
// helpers, not closures made inside the checks: those ran on every valid order too, and under tsx each
// closure also paid a name-defining call (its keepNames helper), the largest cost of a book's new order.
function lotsText(inst: Instrument, lots: number): string {
  return fromSteps(lots, inst.lot);
}
function ticksText(inst: Instrument, ticks: number): string {
  return fromSteps(ticks, inst.tick);
}

function checkQuantity(inst: Instrument, quantity: number): Rejection | undefined {
  if (!Number.isSafeInteger(quantity) || quantity <= 0) return reject(RejectCode.InvalidQuantity, 'quantity', `must be positive (a multiple of the lot size ${lotsText(inst, 1)})`);
  if (quantity < inst.minQuantityLots) return reject(RejectCode.QuantityBelowMinimum, 'quantity', `${lotsText(inst, quantity)} is below the minimum quantity ${lotsText(inst, inst.minQuantityLots)}`);
  if (quantity > inst.maxQuantityLots) return reject(RejectCode.QuantityAboveMaximum, 'quantity', `${lotsText(inst, quantity)} is above the maximum quantity ${lotsText(inst, inst.maxQuantityLots)}`);
  return undefined;
}

function checkLimitPrice(inst: Instrument, price: number): Rejection | undefined {
  if (!Number.isSafeInteger(price) || price <= 0) return reject(RejectCode.InvalidPrice, 'price', `must be positive (a multiple of the tick size ${ticksText(inst, 1)})`);
  if (price < inst.minPriceTicks || price > inst.maxPriceTicks)
    return reject(RejectCode.PriceOutOfBand, 'price', `${ticksText(inst, price)} is outside the price band [${ticksText(inst, inst.minPriceTicks)}, ${ticksText(inst, inst.maxPriceTicks)}]`);
  return undefined;
}

function isSide(side: number): boolean {
  return side === 0 /* Side.Buy */ || side === 1 /* Side.Sell */;
}

/** The terms of an order that need neither the book nor the instrument: its enums, and price given exactly for limit orders. */
export type OrderTerms = Pick<NewOrderCommand, 'side' | 'type' | 'tif' | 'stp' | 'price'>;

/**
 * An order's terms: every enum a known value, a limit order with a price, a market order without one
 * (price 0 means none). Checked by the adapter before the pair numbers the order, so a refusal here
 * consumes nothing, and again by each book as the first part of validateNewOrder.
 */
export function validateOrderTerms(o: OrderTerms): Rejection | undefined {
  if (!isSide(o.side)) return reject(RejectCode.InvalidSide, 'side', 'must be SIDE_BUY or SIDE_SELL');
  if (o.type !== 0 /* OrderType.Limit */ && o.type !== 1 /* OrderType.Market */) return reject(RejectCode.InvalidOrderType, 'type', 'must be ORDER_TYPE_LIMIT or ORDER_TYPE_MARKET');
  if (o.tif !== 0 /* TimeInForce.GTC */ && o.tif !== 1 /* TimeInForce.IOC */ && o.tif !== 2 /* TimeInForce.FOK */)
    return reject(RejectCode.InvalidTimeInForce, 'time_in_force', 'must be TIME_IN_FORCE_GTC, _IOC or _FOK');
  if (!(Number.isInteger(o.stp) && o.stp >= 0 && o.stp <= 4)) return reject(RejectCode.InvalidStpMode, 'stp_mode', 'unknown self-trade prevention mode');
  if (o.type === 0 /* OrderType.Limit */ && o.price === 0) return reject(RejectCode.InvalidPrice, 'price', 'is required for LIMIT orders');
  if (o.type === 1 /* OrderType.Market */ && o.price !== 0) return reject(RejectCode.InvalidPrice, 'price', 'must be empty for MARKET orders');
  return undefined;
}

export function validateNewOrder(inst: Instrument, cmd: NewOrderCommand): Rejection | undefined {
  if (!isId(cmd.orderId)) return reject(RejectCode.InvalidOrderId, 'order_id', 'must be a positive safe integer');
  const terms = validateOrderTerms(cmd);
  if (terms !== undefined) return terms;
  const q = checkQuantity(inst, cmd.quantity);
  if (q !== undefined) return q;
  if (cmd.type === 0 /* OrderType.Limit */) {
    const p = checkLimitPrice(inst, cmd.price);
    if (p !== undefined) return p;
    if (cmd.postOnly && cmd.tif !== 0 /* TimeInForce.GTC */) return reject(RejectCode.InvalidPostOnly, 'post_only', 'post-only orders must be GTC');
  } else {
    if (cmd.tif === 0 /* TimeInForce.GTC */) return reject(RejectCode.InvalidTimeInForce, 'time_in_force', 'market orders never rest: use IOC or FOK');
    if (cmd.postOnly) return reject(RejectCode.InvalidPostOnly, 'post_only', 'market orders cannot be post-only');
  }
  return undefined;
}

export function validateCancel(cmd: CancelCommand): Rejection | undefined {
  if (!isId(cmd.orderId)) return reject(RejectCode.InvalidOrderId, 'order_id', 'must be a positive safe integer');
  return undefined;
}

export function validateReplace(inst: Instrument, cmd: ReplaceCommand): Rejection | undefined {
  if (!isId(cmd.orderId)) return reject(RejectCode.InvalidOrderId, 'order_id', 'must be a positive safe integer');
  return checkQuantity(inst, cmd.quantity) ?? checkLimitPrice(inst, cmd.price);
}

/** Checked by the adapter before the command reaches the pair, and again by each book. */
export function validateCancelAll(cmd: Pick<CancelAllCommand, 'side'>): Rejection | undefined {
  if (cmd.side !== undefined && !isSide(cmd.side)) return reject(RejectCode.InvalidSide, 'side', 'must be SIDE_BUY, SIDE_SELL or SIDE_UNSPECIFIED (both sides)');
  return undefined;
}

export const UNKNOWN_ORDER = (orderId: number): Rejection =>
  reject(RejectCode.UnknownOrder, 'order_id', `no open order ${orderId} for this account`);
export const DUPLICATE_ORDER = (orderId: number): Rejection =>
  reject(RejectCode.DuplicateOrderId, 'order_id', `order ${orderId} already exists`);
export const POST_ONLY_WOULD_TAKE: Rejection = reject(RejectCode.PostOnlyWouldTake, 'price', 'post-only order would take liquidity');
export const REPLACE_NO_CHANGE: Rejection = reject(RejectCode.ReplaceNoChange, 'quantity', 'price and quantity are unchanged');

/** The price limit a market order may trade to: `bps` basis points beyond the best opposite price. */
export function marketLimitPrice(inst: Instrument, takerIsBuy: boolean, bestOpposite: number): number {
  const band = Math.floor((bestOpposite * inst.marketProtectionBps) / 10_000);
  return takerIsBuy ? bestOpposite + band : bestOpposite - band;
}
