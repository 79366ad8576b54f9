import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileInstrument, DEFAULT_INSTRUMENTS } from '../../core/instrument.ts';
import { OrderType, Side, StpMode, TimeInForce } from '../../core/types.ts';
import type { OrderRecord, OrderStatus } from '../../pairs/order-registry.ts';
import type { OrderEvent as PairOrderEvent } from '../../pairs/trading-pair.ts';
import { orderEventToWire, orderToWire } from './codec.ts';
import { CommandResult, OrderFlowResponse, SubmitOrderBatchResponse, SubmitOrderResponse, type OrderFlowMessage } from './generated/trading/v1/orders.ts';
import { Order, type ItemError } from './generated/trading/v1/types.ts';
import { encodeBatchResponse, encodeFlowResponse, encodeOrderAnswer } from './order-wire.ts';
import { findField, ProtoWriter } from './proto-writer.ts';

// The shipped instruments, and steps that take the other paths of the decimal writing: a tick of 25 units
// (products past 2^53 fall back to the formatter's string), whole-number lots (scale 0), and the finest
// scale a step may have (18: zero padding).
const instruments = [
  ...DEFAULT_INSTRUMENTS,
  { ...DEFAULT_INSTRUMENTS[0]!, symbol: 'ODDSTEPS', tickSize: '0.25', lotSize: '5' },
  { ...DEFAULT_INSTRUMENTS[0]!, symbol: 'WHOLETICKS', tickSize: '5', lotSize: '0.1' },
  { ...DEFAULT_INSTRUMENTS[0]!, symbol: 'FINESTEPS', tickSize: '0.000000000000000001', lotSize: '0.000000000000000003' },
].map(compileInstrument);
const runs = Math.round(300 * Number(process.env.PROPERTY_RUNS_SCALE ?? 1));

const id = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const ms = fc.oneof(fc.constant(0), fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 }));
const lots = fc.oneof(fc.integer({ min: 0, max: 10_000_000_000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const cid = fc.oneof(fc.constant(''), fc.stringMatching(/^[\x20-\x7e]{1,64}$/));
const status = fc.constantFrom<OrderStatus>('new', 'partially_filled', 'filled', 'cancelled', 'rejected');
const inst = fc.constantFrom(...instruments);

const order: fc.Arbitrary<OrderRecord> = fc.record({
  orderId: id,
  account: fc.nat(),
  clientOrderId: cid,
  side: fc.constantFrom(Side.Buy, Side.Sell),
  type: fc.constantFrom(OrderType.Limit, OrderType.Market),
  tif: fc.constantFrom(TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK),
  postOnly: fc.boolean(),
  stp: fc.constantFrom(StpMode.None, StpMode.CancelTaker, StpMode.CancelMaker, StpMode.CancelBoth, StpMode.DecrementAndCancel),
  price: lots,
  quantity: lots,
  filled: lots,
  remaining: lots,
  status,
  cancelReason: fc.integer({ min: 0, max: 9 }) as fc.Arbitrary<OrderRecord['cancelReason']>,
  createdAtMs: ms,
  updatedAtMs: ms,
  lastSequence: id,
});

const base = { sequence: id, orderId: id, clientOrderId: cid, status, timestampMs: ms };
const event: fc.Arbitrary<PairOrderEvent> = fc.oneof(
  fc.record({ ...base, type: fc.constant('accepted' as const), side: fc.constantFrom(Side.Buy, Side.Sell), price: fc.oneof(fc.constant(0), lots), quantity: lots }),
  fc.record({ ...base, type: fc.constant('filled' as const), tradeId: id, price: lots, quantity: lots, remaining: lots, liquidity: fc.constantFrom('maker' as const, 'taker' as const) }),
  fc.record({ ...base, type: fc.constant('cancelled' as const), quantity: lots, remaining: lots, reason: fc.integer({ min: 1, max: 9 }) as fc.Arbitrary<1> }),
  fc.record({ ...base, type: fc.constant('replaced' as const), price: lots, remaining: lots, priorityKept: fc.boolean() }),
) as fc.Arbitrary<PairOrderEvent>;

const itemError: fc.Arbitrary<ItemError> = fc.record({
  code: fc.integer({ min: 0, max: 16 }),
  rejectReason: fc.constantFrom(0, 1001, 1005, 2002, 3001),
  field: fc.constantFrom('', 'price', 'client_order_id'),
  // Non-ASCII and long texts take the UTF-8 and multi-byte-length paths.
  message: fc.oneof(fc.string({ maxLength: 20 }), fc.string({ minLength: 100, maxLength: 400 }), fc.constant('prix: ¤ hors bande — 10 €')),
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('order-wire: the same bytes as the generated encoder', () => {
  it('order answers (SubmitOrderResponse / CancelOrderResponse / ReplaceOrderResponse)', () => {
    fc.assert(
      fc.property(inst, fc.option(order, { nil: undefined }), fc.array(event, { maxLength: 6 }), (i, o, events) => {
        const expected = SubmitOrderResponse.encode({ order: o && orderToWire(i, o), events: events.map((e) => orderEventToWire(i, e)) }).finish();
        const bytes = encodeOrderAnswer(i, o, events);
        expect(hex(bytes)).toBe(hex(expected));
        const at: [number, number] = [0, 0];
        expect(findField(bytes, 1, at)).toBe(o !== undefined);
        if (o !== undefined) expect(hex(bytes.subarray(at[0], at[1]))).toBe(hex(Order.encode(orderToWire(i, o)).finish()));
      }),
      { numRuns: runs },
    );
  });

  it('batch responses renumber an answer into BatchItemResult', () => {
    fc.assert(
      fc.property(inst, fc.array(fc.record({ error: fc.option(itemError, { nil: undefined }), order: fc.option(order, { nil: undefined }), events: fc.array(event, { maxLength: 3 }) }), { maxLength: 5 }), (i, items) => {
        const expected = SubmitOrderBatchResponse.encode({
          results: items.map((it) => ({ error: it.error, order: it.order && orderToWire(i, it.order), events: it.events.map((e) => orderEventToWire(i, e)) })),
        }).finish();
        const bytes = encodeBatchResponse(items.map((it) => ({ error: it.error, answer: it.order === undefined && it.events.length === 0 ? undefined : encodeOrderAnswer(i, it.order, it.events) })));
        expect(hex(bytes)).toBe(hex(expected));
      }),
      { numRuns: runs },
    );
  });

  it('flow responses: results (order from an answer or a record) and pushed events (encoded, or copied from an answer)', () => {
    const part = fc.oneof(
      fc.record({ kind: fc.constant('result' as const), correlationId: fc.oneof(fc.constant(''), fc.string({ maxLength: 40 })), error: fc.option(itemError, { nil: undefined }), order: fc.option(order, { nil: undefined }), fromAnswer: fc.boolean() }),
      fc.record({ kind: fc.constant('events' as const), events: fc.array(event, { minLength: 1, maxLength: 4 }), fromAnswer: fc.boolean(), answerOrder: fc.option(order, { nil: undefined }) }),
    );
    fc.assert(
      fc.property(inst, fc.array(part, { maxLength: 6 }), (i, parts) => {
        const expected = OrderFlowResponse.encode({
          messages: parts.flatMap((p): OrderFlowMessage[] =>
            p.kind === 'events'
              ? p.events.map((e) => ({ message: { $case: 'event' as const, value: orderEventToWire(i, e) } }))
              : [{ message: { $case: 'result' as const, value: CommandResult.fromPartial({ correlationId: p.correlationId, error: p.error, order: p.order && orderToWire(i, p.order) }) } }],
          ),
        }).finish();
        const bytes = encodeFlowResponse(
          parts.map((p) =>
            p.kind === 'events'
              ? { kind: 'events', inst: i, events: p.events, answer: p.fromAnswer ? encodeOrderAnswer(i, p.answerOrder, p.events) : undefined }
              : p.fromAnswer
                ? { kind: 'result', correlationId: p.correlationId, error: p.error, answer: p.order && encodeOrderAnswer(i, p.order, []), order: undefined, inst: undefined }
                : { kind: 'result', correlationId: p.correlationId, error: p.error, answer: undefined, order: p.order, inst: i },
          ),
        );
        expect(hex(bytes)).toBe(hex(expected));
      }),
      { numRuns: runs },
    );
  });

  it('grows its buffer and length-prefixes nested messages of any size', () => {
    const w = new ProtoWriter(4);
    for (const size of [0, 1, 127, 128, 16_383, 16_384, 300_000]) {
      w.reset();
      const at = w.begin(1);
      w.string(2, 'x'.repeat(size));
      w.end(at);
      const bytes = w.take();
      const expected = CommandResult.encode({ correlationId: '', error: undefined, order: undefined }).finish(); // empty message
      expect(expected.length).toBe(0);
      // field 1 (len) → field 2 (len) → size bytes of 'x'
      let p = 1;
      let outer = 0;
      for (let scale = 1; ; scale *= 128) {
        const b = bytes[p++]!;
        outer += (b & 0x7f) * scale;
        if (b < 0x80) break;
      }
      expect(p + outer).toBe(bytes.length);
      expect(bytes.subarray(bytes.length - size).toString()).toBe('x'.repeat(size));
    }
  });

  it('refuses malformed bytes with RangeError, never reads past the end', () => {
    const good = encodeOrderAnswer(instruments[0]!, undefined, []);
    expect(good.length).toBe(0);
    for (const bad of [[0x0a], [0x0a, 0x05, 0x01], [0x08, 0x01], [0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]]) expect(() => findField(Uint8Array.from(bad), 0, [0, 0])).toThrow(RangeError);
  });

  it('writes negative int32 values in ten bytes, as proto3 does', () => {
    const bytes = encodeBatchResponse([{ error: { code: -1, rejectReason: 0, field: '', message: '' }, answer: undefined }]);
    expect(hex(bytes)).toBe(hex(SubmitOrderBatchResponse.encode({ results: [{ error: { code: -1, rejectReason: 0, field: '', message: '' }, order: undefined, events: [] }] }).finish()));
  });
});
