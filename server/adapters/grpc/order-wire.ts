/**
 * The order-entry responses as wire bytes, written straight from the pair layer's records and events
 * with ProtoWriter: Order, OrderEvent, ItemError, and the messages of SubmitOrder / CancelOrder /
 * ReplaceOrder (all `{ order = 1; repeated events = 2 }`), SubmitOrderBatch and OrderFlow. The same
 * bytes as codec.ts's orderToWire / orderEventToWire encoded by the generated code (order-wire.test.ts
 * compares them), without building those objects: these are the per-order answers, so they are hot.
 *
 * A new order's answer is encoded once, as SubmitOrderResponse bytes (`encodeOrderAnswer`): the unary
 * call sends them as they are, the idempotency record stores them, and a batch item or flow result
 * copies its order and events out of them (findField, ProtoWriter.fieldsOf).
 */
import type { Instrument } from '../../core/instrument.ts';
import { OrderType } from '../../core/types.ts';
import type { OrderRecord } from '../../pairs/order-registry.ts';
import type { OrderEvent as PairOrderEvent } from '../../pairs/trading-pair.ts';
import type { Decimal } from '../../core/decimal.ts';
import { formattersOf, type Formatters, SIDE_TO_WIRE, STATUS_TO_WIRE, STP_TO_WIRE, TIF_TO_WIRE, TYPE_TO_WIRE } from './codec.ts';
import type { ItemError } from './generated/trading/v1/types.ts';
import { Liquidity } from './generated/trading/v1/types.ts';
import { findField, ProtoWriter } from './proto-writer.ts';

/** The one writer of this module: every function below writes one message completely before returning. */
const w = new ProtoWriter();

/** What every message of one instrument repeats, prepared once: its symbol as field 1, and its steps as safe numbers. */
interface InstrumentWire {
  /** `pair = 1` / `symbol = 1`, key, length and text. */
  readonly symbolField: Uint8Array;
  /** Units of one tick / one lot (0: too large for a safe number: use the formatter). */
  readonly tickUnits: number;
  readonly tickScale: number;
  readonly lotUnits: number;
  readonly lotScale: number;
  readonly format: Formatters;
}

const WIRE = new WeakMap<Instrument, InstrumentWire>();

function stepUnits(step: Decimal): number {
  return step.units <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(step.units) : 0;
}

function wireOf(inst: Instrument): InstrumentWire {
  let k = WIRE.get(inst);
  if (k === undefined) {
    const symbol = new ProtoWriter(64);
    symbol.string(1, inst.symbol);
    k = { symbolField: symbol.take(), tickUnits: stepUnits(inst.tick), tickScale: inst.tick.scale, lotUnits: stepUnits(inst.lot), lotScale: inst.lot.scale, format: formattersOf(inst) };
    WIRE.set(inst, k);
  }
  return k;
}

/** A price in ticks as its decimal text (the same text as Formatters.price). */
function price(field: number, k: InstrumentWire, ticks: number): void {
  const units = ticks * k.tickUnits;
  if (k.tickUnits > 0 && ticks >= 0 && Number.isSafeInteger(units)) w.decimal(field, units, k.tickScale);
  else w.string(field, k.format.price.format(ticks));
}

/** A quantity in lots as its decimal text (the same text as Formatters.quantity). */
function quantity(field: number, k: InstrumentWire, lots: number): void {
  const units = lots * k.lotUnits;
  if (k.lotUnits > 0 && lots >= 0 && Number.isSafeInteger(units)) w.decimal(field, units, k.lotScale);
  else w.string(field, k.format.quantity.format(lots));
}

function writeOrder(field: number, inst: Instrument, o: OrderRecord): void {
  const k = wireOf(inst);
  const at = w.begin(field);
  w.raw(k.symbolField);
  w.uint(2, o.orderId);
  w.string(3, o.clientOrderId);
  w.uint(4, SIDE_TO_WIRE[o.side]);
  w.uint(5, TYPE_TO_WIRE[o.type]);
  w.uint(6, TIF_TO_WIRE[o.tif]);
  if (o.type !== OrderType.Market) price(7, k, o.price);
  quantity(8, k, o.quantity);
  quantity(9, k, o.filled);
  quantity(10, k, o.remaining);
  w.uint(11, STATUS_TO_WIRE[o.status]);
  w.uint(12, o.cancelReason);
  w.bool(13, o.postOnly);
  w.uint(14, STP_TO_WIRE[o.stp]);
  w.int(15, o.createdAtMs);
  w.int(16, o.updatedAtMs);
  w.uint(17, o.lastSequence);
  w.end(at);
}

function writeOrderEvent(field: number, inst: Instrument, e: PairOrderEvent): void {
  const k = wireOf(inst);
  const at = w.begin(field);
  w.raw(k.symbolField);
  w.uint(2, e.sequence);
  w.uint(3, e.orderId);
  w.string(4, e.clientOrderId);
  w.uint(5, STATUS_TO_WIRE[e.status]);
  w.int(6, e.timestampMs);
  let body: number;
  switch (e.type) {
    case 'accepted':
      body = w.begin(10);
      w.uint(1, SIDE_TO_WIRE[e.side]);
      if (e.price !== 0) price(2, k, e.price);
      quantity(3, k, e.quantity);
      break;
    case 'filled':
      body = w.begin(11);
      w.uint(1, e.tradeId);
      price(2, k, e.price);
      quantity(3, k, e.quantity);
      quantity(4, k, e.remaining);
      w.uint(5, e.liquidity === 'maker' ? Liquidity.LIQUIDITY_MAKER : Liquidity.LIQUIDITY_TAKER);
      break;
    case 'cancelled':
      body = w.begin(12);
      quantity(1, k, e.quantity);
      quantity(2, k, e.remaining);
      w.uint(3, e.reason);
      break;
    case 'replaced':
      body = w.begin(13);
      price(1, k, e.price);
      quantity(2, k, e.remaining);
      w.bool(3, e.priorityKept);
      break;
  }
  w.end(body);
  w.end(at);
}

function writeItemError(field: number, error: ItemError): void {
  const at = w.begin(field);
  w.int(1, error.code);
  w.int(2, error.rejectReason);
  w.string(3, error.field);
  w.string(4, error.message);
  w.end(at);
}

/** `{ order = 1; repeated OrderEvent events = 2 }`: SubmitOrderResponse, CancelOrderResponse, ReplaceOrderResponse. */
export function encodeOrderAnswer(inst: Instrument, order: OrderRecord | undefined, events: readonly PairOrderEvent[]): Buffer {
  w.reset();
  if (order !== undefined) writeOrder(1, inst, order);
  for (const e of events) writeOrderEvent(2, inst, e);
  return w.take();
}

/** Where findField found an answer's order (reused: no array per result). */
const orderAt: [number, number] = [0, 0];

/** One item of SubmitOrderBatchResponse: its error, and the answer (order and events) when there is one. */
export interface BatchItem {
  error: ItemError | undefined;
  answer: Uint8Array | undefined;
}

/** SubmitOrderBatchResponse: `results = 1` of BatchItemResult `{ error = 1; order = 2; repeated events = 3 }`. */
export function encodeBatchResponse(items: readonly BatchItem[]): Buffer {
  w.reset();
  for (const item of items) {
    const at = w.begin(1);
    if (item.error !== undefined) writeItemError(1, item.error);
    // The answer's order (1) and events (2) are the item's fields 2 and 3.
    if (item.answer !== undefined) w.fieldsOf(item.answer, 1);
    w.end(at);
  }
  return w.take();
}

/** One OrderFlowMessage of a reply: a command's result, or order events of one pair. */
export type FlowPart =
  | { kind: 'result'; correlationId: string; error: ItemError | undefined; answer: Uint8Array | undefined; order: OrderRecord | undefined; inst: Instrument | undefined }
  /** `answer`, when set, is a SubmitOrderResponse whose events are exactly `events`: they are copied from it, not encoded again. */
  | { kind: 'events'; inst: Instrument; events: readonly PairOrderEvent[]; answer: Uint8Array | undefined };

/**
 * OrderFlowResponse: `messages = 1` of OrderFlowMessage `{ result = 1 | event = 2 }`; a result is
 * CommandResult `{ correlation_id = 1; error = 2; order = 3 }`, its order taken from a new order's
 * answer or written from the record (cancel, replace).
 */
export function encodeFlowResponse(parts: readonly FlowPart[]): Buffer {
  w.reset();
  for (const part of parts) {
    if (part.kind === 'events') {
      // Each event an OrderFlowMessage (event = 2): the answer's events (its field 2) copied as they are.
      if (part.answer !== undefined) {
        w.eachAsMessage(part.answer, 2, 1);
        continue;
      }
      for (const e of part.events) {
        const at = w.begin(1);
        writeOrderEvent(2, part.inst, e);
        w.end(at);
      }
      continue;
    }
    const at = w.begin(1);
    const result = w.begin(1);
    w.string(1, part.correlationId);
    if (part.error !== undefined) writeItemError(2, part.error);
    if (part.answer !== undefined && findField(part.answer, 1, orderAt)) w.bytesOf(3, part.answer, orderAt[0], orderAt[1]);
    else if (part.order !== undefined && part.inst !== undefined) writeOrder(3, part.inst, part.order);
    w.end(result);
    w.end(at);
  }
  return w.take();
}
