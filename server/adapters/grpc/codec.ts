/**
 * Wire ⇄ pair layer: parses generated request messages into integer commands (decimal strings to ticks
 * and lots with decimal.ts, enums to core enums), throwing ValidationError naming the proto field for
 * what cannot be parsed, and renders pair-layer records and events back into messages. Business rules
 * (valid enums, market orders without a price, post-only only GTC, ranges) are core/validation.ts's. No
 * state, no I/O.
 */
import { StepFormatter, toSteps } from '../../core/decimal.ts';
import type { Instrument } from '../../core/instrument.ts';
import type { DepthLevel } from '../../core/order-book.ts';
import { OrderType as CoreOrderType, Side as CoreSide, StpMode as CoreStp, TimeInForce as CoreTif } from '../../core/types.ts';
import { ValidationError } from '../../pairs/errors.ts';
import type { OrderRecord, OrderStatus as PairOrderStatus } from '../../pairs/order-registry.ts';
import type { BookSnapshot, MarketDataDelta, NewOrderRequest, OrderEvent as PairOrderEvent, TradingPair } from '../../pairs/trading-pair.ts';
import type { TradingPairs } from '../../pairs/trading-pairs.ts';
import { ApiRejectCode, NotFoundError, RejectionError } from './errors.ts';
import { echo } from './echo.ts';
import type { Instrument as InstrumentMessage } from './generated/trading/v1/instruments.ts';
import type { MarketDataUpdate, OrderBookSnapshot } from './generated/trading/v1/market_data.ts';
import type { SubmitOrderRequest } from './generated/trading/v1/orders.ts';
import {
  CancelReason,
  Liquidity,
  OrderStatus,
  OrderType,
  Side,
  StpMode,
  TimeInForce,
  type Order,
  type OrderEvent,
  type PriceLevel,
} from './generated/trading/v1/types.ts';

/** Most levels per side a depth request may ask for (0 = all). */
export const MAX_DEPTH = 5000;
/** Most items in one SubmitOrderBatch or OrderFlow message. */
export const MAX_BATCH_ITEMS = 1000;

const PAIR = /^[A-Z0-9]{2,20}$/;
const CLIENT_ORDER_ID = /^[\x20-\x7e]{1,64}$/;
const ORDER_ID = /^[0-9]{1,16}$/;

// ---- requests ----

/** The pair named by a request: INVALID_ARGUMENT when malformed, NOT_FOUND when not traded here. */
export function resolvePair(pairs: TradingPairs, symbol: string): TradingPair {
  if (symbol === '') throw new ValidationError('pair', 'is required');
  if (!PAIR.test(symbol)) throw new ValidationError('pair', `${echo(symbol, 24)} is not a pair symbol (2-20 upper-case letters or digits)`);
  const pair = pairs.get(symbol);
  if (pair === undefined) throw new NotFoundError('pair', `unknown pair ${symbol}`, ApiRejectCode.UnknownPair);
  return pair;
}

export function parseClientOrderId(text: string): string {
  if (text !== '' && !CLIENT_ORDER_ID.test(text)) throw new ValidationError('client_order_id', 'must be 1-64 printable ASCII characters');
  return text;
}

export function parseOrderId(text: string): number {
  const n = ORDER_ID.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new ValidationError('order_id', `must be a positive integer below 2^53, got ${echo(text, 24)}`);
  return n;
}

/** Longest decimal string parsed; beyond it the value is refused before parsing (and echoed cut). */
const MAX_DECIMAL_LENGTH = 40;

function checkDecimalLength(field: string, text: string): void {
  if (text.length > MAX_DECIMAL_LENGTH) throw new ValidationError(field, `must be a decimal string of at most ${MAX_DECIMAL_LENGTH} characters, got ${echo(text, 24)}`);
}

export function parsePrice(inst: Instrument, text: string): number {
  checkDecimalLength('price', text);
  const r = toSteps(text, inst.tick, 'tick size');
  if (!r.ok) throw new ValidationError('price', r.reason);
  return r.steps;
}

export function parseQuantity(inst: Instrument, text: string): number {
  checkDecimalLength('quantity', text);
  const r = toSteps(text, inst.lot, 'lot size');
  if (!r.ok) throw new ValidationError('quantity', r.reason);
  return r.steps;
}

/**
 * What a wire enum number outside its table decodes to: no core value, so core/validation.ts refuses it
 * naming the field (the codec decodes, the core decides what is valid).
 */
const NOT_A_VALUE = -1;

const SIDE_FROM_WIRE = new Map<number, CoreSide>([
  [Side.SIDE_BUY, CoreSide.Buy],
  [Side.SIDE_SELL, CoreSide.Sell],
]);

const TYPE_FROM_WIRE = new Map<number, CoreOrderType>([
  [OrderType.ORDER_TYPE_LIMIT, CoreOrderType.Limit],
  [OrderType.ORDER_TYPE_MARKET, CoreOrderType.Market],
]);

const TIF_FROM_WIRE = new Map<number, CoreTif>([
  [TimeInForce.TIME_IN_FORCE_GTC, CoreTif.GTC],
  [TimeInForce.TIME_IN_FORCE_IOC, CoreTif.IOC],
  [TimeInForce.TIME_IN_FORCE_FOK, CoreTif.FOK],
]);

const STP_FROM_WIRE = new Map<number, CoreStp>([
  [StpMode.STP_MODE_UNSPECIFIED, CoreStp.CancelTaker],
  [StpMode.STP_MODE_NONE, CoreStp.None],
  [StpMode.STP_MODE_CANCEL_TAKER, CoreStp.CancelTaker],
  [StpMode.STP_MODE_CANCEL_MAKER, CoreStp.CancelMaker],
  [StpMode.STP_MODE_CANCEL_BOTH, CoreStp.CancelBoth],
  [StpMode.STP_MODE_DECREMENT_AND_CANCEL, CoreStp.DecrementAndCancel],
]);

function decode<T extends number>(table: ReadonlyMap<number, T>, wire: number): T {
  return table.get(wire) ?? (NOT_A_VALUE as T);
}

/** SIDE_UNSPECIFIED means "both sides" where a side is optional (cancel all); validateCancelAll checks the rest. */
export function parseOptionalSide(side: Side): CoreSide | undefined {
  return side === Side.SIDE_UNSPECIFIED ? undefined : decode(SIDE_FROM_WIRE, side);
}

/**
 * A SubmitOrderRequest as the pair's NewOrderRequest: presence and syntax only (client order id,
 * quantity given, decimals to ticks and lots, enums decoded, an empty price as 0). Whether the terms make
 * an order is core/validation.ts's (validateOrderTerms, then the book's ranges).
 */
export function parseNewOrder(inst: Instrument, req: SubmitOrderRequest): NewOrderRequest {
  const clientOrderId = parseClientOrderId(req.clientOrderId);
  const side = decode(SIDE_FROM_WIRE, req.side);
  const type = decode(TYPE_FROM_WIRE, req.type);
  // An unset time in force is the type's usual one: a market order never rests.
  const tif = req.timeInForce === TimeInForce.TIME_IN_FORCE_UNSPECIFIED ? (type === CoreOrderType.Market ? CoreTif.IOC : CoreTif.GTC) : decode(TIF_FROM_WIRE, req.timeInForce);
  const stp = decode(STP_FROM_WIRE, req.stpMode);
  const price = req.price === '' ? 0 : parsePrice(inst, req.price);
  if (req.quantity === '') throw new ValidationError('quantity', 'is required');
  const quantity = parseQuantity(inst, req.quantity);
  return { clientOrderId, side, type, tif, postOnly: req.postOnly, price, quantity, stp };
}

export type OrderRef = { $case: 'orderId'; value: string } | { $case: 'clientOrderId'; value: string } | undefined;

/**
 * The order id a request refers to, resolving a client order id among this account's orders
 * (unknown → RejectionError UnknownOrder on client_order_id, i.e. NOT_FOUND).
 */
export function resolveOrderRef(pair: TradingPair, account: number, ref: OrderRef): number {
  if (ref === undefined) throw new ValidationError('order_id', 'one of order_id or client_order_id is required');
  if (ref.$case === 'orderId') return parseOrderId(ref.value);
  const cid = parseClientOrderId(ref.value);
  if (cid === '') throw new ValidationError('client_order_id', 'must not be empty');
  const resolved = pair.resolveClientOrderId(account, cid);
  if (typeof resolved !== 'number') throw new RejectionError(resolved);
  return resolved;
}

export function parseDepth(depth: number): number {
  if (!Number.isInteger(depth) || depth < 0 || depth > MAX_DEPTH) throw new ValidationError('depth', `must be 0 (all levels) to ${MAX_DEPTH}`);
  return depth;
}

// ---- responses ----

export const SIDE_TO_WIRE = [Side.SIDE_BUY, Side.SIDE_SELL] as const;
export const TYPE_TO_WIRE = [OrderType.ORDER_TYPE_LIMIT, OrderType.ORDER_TYPE_MARKET] as const;
export const TIF_TO_WIRE = [TimeInForce.TIME_IN_FORCE_GTC, TimeInForce.TIME_IN_FORCE_IOC, TimeInForce.TIME_IN_FORCE_FOK] as const;
export const STP_TO_WIRE = [
  StpMode.STP_MODE_NONE,
  StpMode.STP_MODE_CANCEL_TAKER,
  StpMode.STP_MODE_CANCEL_MAKER,
  StpMode.STP_MODE_CANCEL_BOTH,
  StpMode.STP_MODE_DECREMENT_AND_CANCEL,
] as const;
export const STATUS_TO_WIRE: Record<PairOrderStatus, OrderStatus> = {
  new: OrderStatus.ORDER_STATUS_NEW,
  partially_filled: OrderStatus.ORDER_STATUS_PARTIALLY_FILLED,
  filled: OrderStatus.ORDER_STATUS_FILLED,
  cancelled: OrderStatus.ORDER_STATUS_CANCELLED,
  rejected: OrderStatus.ORDER_STATUS_REJECTED,
};

export function sideToWire(side: CoreSide): Side {
  return SIDE_TO_WIRE[side];
}

/** Cancel reasons share their numbers with the core table. */
function cancelReasonToWire(reason: number): CancelReason {
  return reason as CancelReason;
}

/** Price and quantity texts of one instrument, memoised per tick / lot count (see StepFormatter). */
export interface Formatters {
  readonly price: StepFormatter;
  readonly quantity: StepFormatter;
}

const FORMATTERS = new WeakMap<Instrument, Formatters>();

export function formattersOf(inst: Instrument): Formatters {
  let f = FORMATTERS.get(inst);
  if (f === undefined) FORMATTERS.set(inst, (f = { price: new StepFormatter(inst.tick), quantity: new StepFormatter(inst.lot) }));
  return f;
}

export function priceText(inst: Instrument, ticks: number): string {
  return formattersOf(inst).price.format(ticks);
}

export function quantityText(inst: Instrument, lots: number): string {
  return formattersOf(inst).quantity.format(lots);
}

/** The text of a wall-clock ms timestamp; every command of a batch shares one, so the last is kept. */
let lastMs = -1;
let lastMsText = '';
function msText(ms: number): string {
  if (ms !== lastMs) {
    lastMsText = String(ms);
    lastMs = ms;
  }
  return lastMsText;
}

export function orderToWire(inst: Instrument, o: OrderRecord): Order {
  const f = formattersOf(inst);
  return {
    pair: inst.symbol,
    orderId: String(o.orderId),
    clientOrderId: o.clientOrderId,
    side: SIDE_TO_WIRE[o.side],
    type: TYPE_TO_WIRE[o.type],
    timeInForce: TIF_TO_WIRE[o.tif],
    price: o.type === CoreOrderType.Market ? '' : f.price.format(o.price),
    quantity: f.quantity.format(o.quantity),
    filledQuantity: f.quantity.format(o.filled),
    remainingQuantity: f.quantity.format(o.remaining),
    status: STATUS_TO_WIRE[o.status],
    cancelReason: cancelReasonToWire(o.cancelReason),
    postOnly: o.postOnly,
    stpMode: STP_TO_WIRE[o.stp],
    createdAtUnixMs: msText(o.createdAtMs),
    updatedAtUnixMs: msText(o.updatedAtMs),
    lastSequence: String(o.lastSequence),
  };
}

/** The `event` oneof of an OrderEvent message. */
function eventBody(f: Formatters, e: PairOrderEvent): OrderEvent['event'] {
  switch (e.type) {
    case 'accepted':
      return { $case: 'accepted', value: { side: SIDE_TO_WIRE[e.side], price: e.price === 0 ? '' : f.price.format(e.price), quantity: f.quantity.format(e.quantity) } };
    case 'filled':
      return {
        $case: 'filled',
        value: {
          tradeId: String(e.tradeId),
          price: f.price.format(e.price),
          quantity: f.quantity.format(e.quantity),
          remainingQuantity: f.quantity.format(e.remaining),
          liquidity: e.liquidity === 'maker' ? Liquidity.LIQUIDITY_MAKER : Liquidity.LIQUIDITY_TAKER,
        },
      };
    case 'cancelled':
      return { $case: 'cancelled', value: { quantity: f.quantity.format(e.quantity), remainingQuantity: f.quantity.format(e.remaining), reason: cancelReasonToWire(e.reason) } };
    case 'replaced':
      return { $case: 'replaced', value: { price: f.price.format(e.price), remainingQuantity: f.quantity.format(e.remaining), priorityKept: e.priorityKept } };
  }
}

/** One object literal, fields in message order (no spread of a base object: one V8 shape, one allocation). */
export function orderEventToWire(inst: Instrument, e: PairOrderEvent): OrderEvent {
  return {
    pair: inst.symbol,
    sequence: String(e.sequence),
    orderId: String(e.orderId),
    clientOrderId: e.clientOrderId,
    status: STATUS_TO_WIRE[e.status],
    timestampUnixMs: msText(e.timestampMs),
    event: eventBody(formattersOf(inst), e),
  };
}

function levelsToWire(inst: Instrument, levels: DepthLevel[]): PriceLevel[] {
  return levels.map((l) => ({ price: priceText(inst, l.price), quantity: quantityText(inst, l.quantity), orderCount: l.orderCount }));
}

export function snapshotToWire(inst: Instrument, s: BookSnapshot): OrderBookSnapshot {
  return { pair: inst.symbol, sequence: String(s.sequence), bids: levelsToWire(inst, s.bids), asks: levelsToWire(inst, s.asks) };
}

export function deltaToWire(inst: Instrument, d: MarketDataDelta): MarketDataUpdate {
  return {
    pair: inst.symbol,
    sequence: String(d.sequence),
    update: {
      $case: 'delta',
      value: {
        levels: d.levels.map((l) => ({ side: SIDE_TO_WIRE[l.side], price: priceText(inst, l.price), quantity: quantityText(inst, l.quantity), orderCount: l.orderCount })),
        trades: d.trades.map((t) => ({
          tradeId: String(t.tradeId),
          price: priceText(inst, t.price),
          quantity: quantityText(inst, t.quantity),
          takerSide: SIDE_TO_WIRE[t.takerSide],
          timestampUnixMs: msText(t.timestampMs),
        })),
      },
    },
  };
}

export function instrumentToWire(inst: Instrument): InstrumentMessage {
  return {
    pair: inst.symbol,
    baseAsset: inst.baseAsset,
    quoteAsset: inst.quoteAsset,
    tickSize: inst.tickSize,
    lotSize: inst.lotSize,
    minQuantity: quantityText(inst, inst.minQuantityLots),
    maxQuantity: quantityText(inst, inst.maxQuantityLots),
    minPrice: priceText(inst, inst.minPriceTicks),
    maxPrice: priceText(inst, inst.maxPriceTicks),
    marketProtectionBps: inst.marketProtectionBps,
  };
}
