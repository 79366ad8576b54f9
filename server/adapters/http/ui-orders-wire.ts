/**
 * The Trading UI's JSON shapes of orders and order events, and the strict reading of the page's order
 * requests into gRPC requests. Only the SHAPE is checked here (which fields, their JSON types, the enum
 * words); prices, quantities and every trading rule are checked by OrdersService itself, which names the
 * field when it refuses.
 */
import { ValidationError } from '../../pairs/errors.ts';
import type { CancelAllOrdersRequest, CancelOrderRequest, ReplaceOrderRequest, SubmitOrderRequest } from '../grpc/generated/trading/v1/orders.ts';
import {
  cancelReasonToJSON,
  liquidityToJSON,
  orderStatusToJSON,
  OrderType,
  Side,
  StpMode,
  TimeInForce,
  type Order,
  type OrderEvent,
} from '../grpc/generated/trading/v1/types.ts';

const strip = (prefix: string, s: string): string => (s.startsWith(prefix) ? s.slice(prefix.length) : s);
const side = (s: Side): 'buy' | 'sell' | '' => (s === Side.SIDE_BUY ? 'buy' : s === Side.SIDE_SELL ? 'sell' : '');
const status = (s: number): string => strip('ORDER_STATUS_', orderStatusToJSON(s));

export function orderToUi(o: Order): Record<string, unknown> {
  return {
    pair: o.pair,
    orderId: o.orderId,
    clientOrderId: o.clientOrderId,
    side: side(o.side),
    type: o.type === OrderType.ORDER_TYPE_MARKET ? 'market' : 'limit',
    timeInForce: o.timeInForce === TimeInForce.TIME_IN_FORCE_IOC ? 'IOC' : o.timeInForce === TimeInForce.TIME_IN_FORCE_FOK ? 'FOK' : 'GTC',
    postOnly: o.postOnly,
    price: o.price,
    quantity: o.quantity,
    filled: o.filledQuantity,
    remaining: o.remainingQuantity,
    status: status(o.status),
    cancelReason: o.cancelReason === 0 ? null : strip('CANCEL_REASON_', cancelReasonToJSON(o.cancelReason)),
    createdAt: Number(o.createdAtUnixMs),
    updatedAt: Number(o.updatedAtUnixMs),
  };
}

export function eventToUi(e: OrderEvent): Record<string, unknown> {
  const base = { pair: e.pair, sequence: e.sequence, orderId: e.orderId, clientOrderId: e.clientOrderId, status: status(e.status), ts: Number(e.timestampUnixMs) };
  const ev = e.event;
  switch (ev?.$case) {
    case 'accepted':
      return { ...base, kind: 'accepted', side: side(ev.value.side), price: ev.value.price, quantity: ev.value.quantity };
    case 'filled':
      return { ...base, kind: 'filled', tradeId: ev.value.tradeId, price: ev.value.price, quantity: ev.value.quantity, remaining: ev.value.remainingQuantity, liquidity: strip('LIQUIDITY_', liquidityToJSON(ev.value.liquidity)) };
    case 'cancelled':
      return { ...base, kind: 'cancelled', quantity: ev.value.quantity, remaining: ev.value.remainingQuantity, reason: strip('CANCEL_REASON_', cancelReasonToJSON(ev.value.reason)) };
    case 'replaced':
      return { ...base, kind: 'replaced', price: ev.value.price, remaining: ev.value.remainingQuantity, priorityKept: ev.value.priorityKept };
    default:
      return { ...base, kind: 'unknown' };
  }
}

// ---- request shapes ----

function only(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) if (!allowed.includes(key)) throw new ValidationError(key, `is not a field of this request (allowed: ${allowed.join(', ')})`);
}

function optionalString(body: Record<string, unknown>, field: string, max = 128): string {
  const v = body[field];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new ValidationError(field, `must be a string, got ${typeof v}`);
  if (v.length > max) throw new ValidationError(field, `must be at most ${max} characters`);
  return v.trim();
}

function oneOf<T>(body: Record<string, unknown>, field: string, words: Record<string, T>, fallback?: T): T {
  const v = body[field];
  if ((v === undefined || v === '') && fallback !== undefined) return fallback;
  if (typeof v === 'string' && Object.hasOwn(words, v)) return words[v]!;
  throw new ValidationError(field, `must be one of ${Object.keys(words).join(', ')}, got ${JSON.stringify(v)?.slice(0, 32) ?? 'nothing'}`);
}

export function loginFromUi(body: Record<string, unknown>): { apiKeyId: string; apiKeySecret: string } {
  only(body, ['apiKeyId', 'apiKeySecret']);
  return { apiKeyId: optionalString(body, 'apiKeyId', 256), apiKeySecret: optionalString(body, 'apiKeySecret', 256) };
}

export function submitFromUi(body: Record<string, unknown>): SubmitOrderRequest {
  only(body, ['pair', 'side', 'type', 'timeInForce', 'price', 'quantity', 'postOnly', 'clientOrderId', 'stpMode']);
  const postOnly = body['postOnly'] ?? false;
  if (typeof postOnly !== 'boolean') throw new ValidationError('postOnly', 'must be true or false');
  const type = oneOf(body, 'type', { limit: OrderType.ORDER_TYPE_LIMIT, market: OrderType.ORDER_TYPE_MARKET });
  return {
    pair: optionalString(body, 'pair'),
    clientOrderId: optionalString(body, 'clientOrderId'),
    side: oneOf(body, 'side', { buy: Side.SIDE_BUY, sell: Side.SIDE_SELL }),
    type,
    timeInForce: oneOf(body, 'timeInForce', { GTC: TimeInForce.TIME_IN_FORCE_GTC, IOC: TimeInForce.TIME_IN_FORCE_IOC, FOK: TimeInForce.TIME_IN_FORCE_FOK }, TimeInForce.TIME_IN_FORCE_UNSPECIFIED),
    // A market order carries no price; the page may leave the field filled in.
    price: type === OrderType.ORDER_TYPE_MARKET ? '' : optionalString(body, 'price'),
    quantity: optionalString(body, 'quantity'),
    postOnly,
    stpMode: oneOf(
      body,
      'stpMode',
      { NONE: StpMode.STP_MODE_NONE, CANCEL_TAKER: StpMode.STP_MODE_CANCEL_TAKER, CANCEL_MAKER: StpMode.STP_MODE_CANCEL_MAKER, CANCEL_BOTH: StpMode.STP_MODE_CANCEL_BOTH, DECREMENT_AND_CANCEL: StpMode.STP_MODE_DECREMENT_AND_CANCEL },
      StpMode.STP_MODE_UNSPECIFIED,
    ),
  };
}

function orderRef(body: Record<string, unknown>): CancelOrderRequest['order'] {
  const id = optionalString(body, 'orderId', 24);
  const cid = optionalString(body, 'clientOrderId');
  if (id !== '') {
    if (!/^\d{1,20}$/.test(id)) throw new ValidationError('orderId', 'must be a whole number');
    return { $case: 'orderId', value: id };
  }
  if (cid !== '') return { $case: 'clientOrderId', value: cid };
  throw new ValidationError('orderId', 'is required (or clientOrderId)');
}

export function cancelFromUi(body: Record<string, unknown>): CancelOrderRequest {
  only(body, ['pair', 'orderId', 'clientOrderId']);
  return { pair: optionalString(body, 'pair'), order: orderRef(body) };
}

export function replaceFromUi(body: Record<string, unknown>): ReplaceOrderRequest {
  only(body, ['pair', 'orderId', 'clientOrderId', 'price', 'quantity']);
  return { pair: optionalString(body, 'pair'), order: orderRef(body), price: optionalString(body, 'price'), quantity: optionalString(body, 'quantity') };
}

export function cancelAllFromUi(body: Record<string, unknown>): CancelAllOrdersRequest {
  only(body, ['pair', 'side']);
  return { pair: optionalString(body, 'pair'), side: oneOf(body, 'side', { buy: Side.SIDE_BUY, sell: Side.SIDE_SELL, both: Side.SIDE_UNSPECIFIED }, Side.SIDE_UNSPECIFIED) };
}
