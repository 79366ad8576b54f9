/**
 * Issue 7 item 10: OrderFlow delivers each event of the account's orders exactly once per stream, as
 * the (changed) contract says, whichever call caused it: this stream's commands (in their reply), the
 * account's unary and batch calls, other accounts' trades. A client reading both unary responses and
 * the stream de-duplicates by (pair, sequence, order_id), which is unique per event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderFlowResponse, SubmitOrderResponse } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import type { OrderEvent } from '../server/adapters/grpc/generated/trading/v1/types.ts';
import { asAccount, limitOrder, startHarness, unary, type Harness } from './grpc-harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const key = (e: OrderEvent): string => `${e.pair}/${e.sequence}/${e.orderId}`;

describe('OrderFlow events, once each', () => {
  it('unary, batch, flow and others’ fills: every event once on the stream; unary events appear there exactly once more', async () => {
    const stream = h.orders.orderFlow(await asAccount('evt-owner'));
    const seen: string[] = [];
    let results = 0;
    stream.on('data', (r: OrderFlowResponse) => {
      for (const m of r.messages) {
        if (m.message?.$case === 'event') seen.push(key(m.message.value));
        else results++;
      }
    });
    stream.on('error', () => {});
    // Let the stream open before trading.
    await new Promise((r) => setTimeout(r, 100));
    const unaryEvents: string[] = [];
    const a = await unary<unknown, SubmitOrderResponse>(h.orders.submitOrder.bind(h.orders) as never, limitOrder('sell', '500.00', '0.10', { pair: 'SOLUSDT' }), 'evt-owner');
    unaryEvents.push(...a.events.map(key));
    const b = await unary<unknown, { results: { events: OrderEvent[] }[] }>(h.orders.submitOrderBatch.bind(h.orders) as never, { orders: [limitOrder('sell', '501.00', '0.10', { pair: 'SOLUSDT' })] }, 'evt-owner');
    unaryEvents.push(...b.results.flatMap((r) => r.events.map(key)));
    // Another account takes both: fills of the owner's resting orders.
    await unary(h.orders.submitOrder.bind(h.orders), limitOrder('buy', '501.00', '0.20', { pair: 'SOLUSDT' }), 'evt-taker');
    // A command on the stream itself.
    stream.write({ commands: [{ correlationId: 'c1', command: { $case: 'submit', value: limitOrder('sell', '502.00', '0.10', { pair: 'SOLUSDT' }) } }] });
    for (let i = 0; i < 300 && (results < 1 || seen.length < 5); i++) await new Promise((r) => setTimeout(r, 10));
    stream.end();
    expect(results).toBe(1);
    expect(new Set(seen).size).toBe(seen.length); // nothing twice on the stream
    for (const k of unaryEvents) expect(seen.filter((s) => s === k)).toHaveLength(1);
    // accepted ×3 (unary, batch, flow) + 2 fills of the owner's orders.
    expect(seen.length).toBeGreaterThanOrEqual(5);
  });
});

describe('OrderFlow events of others, coalesced', () => {
  it('the fills of one batch from another account reach the stream in one message, in order, each once', async () => {
    const stream = h.orders.orderFlow(await asAccount('coalesce-owner'));
    const messages: OrderEvent[][] = [];
    stream.on('data', (r: OrderFlowResponse) => messages.push(r.messages.flatMap((m) => (m.message?.$case === 'event' ? [m.message.value] : []))));
    stream.on('error', () => {});
    await new Promise((r) => setTimeout(r, 100));
    const prices = ['600.00', '601.00', '602.00', '603.00', '604.00']; // a book no other test here trades
    await unary(h.orders.submitOrderBatch.bind(h.orders) as never, { orders: prices.map((p) => limitOrder('sell', p, '0.10', { pair: 'ETHUSDT' })) }, 'coalesce-owner');
    // The owner's own batch: its accepted events reach the stream too (once per turn, maybe after the reply).
    for (let i = 0; i < 300 && messages.flat().filter((e) => e.event?.$case === 'accepted').length < 5; i++) await new Promise((r) => setTimeout(r, 10));
    const before = messages.length;
    // Five takers in one batch: five commands, each filling one of the owner's orders.
    await unary(h.orders.submitOrderBatch.bind(h.orders) as never, { orders: prices.map((p) => limitOrder('buy', p, '0.10', { pair: 'ETHUSDT' })) }, 'coalesce-taker');
    for (let i = 0; i < 300 && messages.slice(before).flat().filter((e) => e.event?.$case === 'filled').length < 5; i++) await new Promise((r) => setTimeout(r, 10));
    stream.end();
    const after = messages.slice(before).filter((m) => m.length > 0);
    expect(after).toHaveLength(1); // one message, not one per command
    const fills = after[0]!.filter((e) => e.event?.$case === 'filled');
    expect(fills.map((e) => e.event?.$case === 'filled' && e.event.value.price)).toEqual(prices);
    const sequences = after[0]!.map((e) => Number(e.sequence));
    expect([...sequences].sort((x, y) => x - y)).toEqual(sequences);
  });
});
