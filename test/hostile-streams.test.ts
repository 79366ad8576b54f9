/**
 * Issue 7 item 1: clients that open streams and never read them cannot grow server memory. Real
 * grpc-js clients pause their streams (no HTTP/2 window is granted once their buffers fill) while the
 * book changes and the account trades; each stream is ended once its queued bytes pass a (scaled down)
 * limit, the server's queued-bytes counter stays within the bound, and a probe call is answered
 * throughout. Plus the stream-count limits: per account (OrderFlow), per peer and in total.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { credentials, status, type ClientDuplexStream, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { MarketDataServiceClient, type MarketDataUpdate } from '../server/adapters/grpc/generated/trading/v1/market_data.ts';
import { OrdersServiceClient, type OrderFlowRequest, type OrderFlowResponse } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { MESSAGE_OVERHEAD_BYTES } from '../server/adapters/grpc/stream-limits.ts';
import type { NewOrderRequest } from '../server/pairs/trading-pair.ts';
import { TimeInForce } from '../server/adapters/grpc/generated/trading/v1/types.ts';
import { asAccount, limitOrder, startHarness, unary, type Harness } from './grpc-harness.ts';

let h: Harness | undefined;
const clients: { close(): void }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await h?.close();
  h = undefined;
});

const PER_STREAM = 64 * 1024;
/**
 * A client that never reads: it grants no HTTP/2 window, so the server cannot send it a byte. (A
 * paused grpc-js stream alone is not that: grpc-js keeps taking DATA into its own memory and the
 * window stays open, so a server that writes fast enough is never held up by it.)
 */
const NO_WINDOW = { 'grpc-node.flow_control_window': 0 };

/** Resting orders at distinct prices: each one is a market-data delta (a new level). */
function restingOrder(i: number): NewOrderRequest {
  const buy = i % 2 === 0;
  return { clientOrderId: '', side: buy ? 0 : 1, type: 0, tif: 0, postOnly: false, price: buy ? 1_000_000 - i : 2_000_000 + i, quantity: 1, stp: 0 } as NewOrderRequest;
}

const statuses = new WeakMap<object, Promise<ServiceError>>();
/** Records the stream's final status from the start (grpc-js emits 'status' even while the stream is paused). */
function watched<T extends ClientReadableStream<unknown> | ClientDuplexStream<unknown, unknown>>(stream: T): T {
  statuses.set(stream, new Promise((resolve) => stream.on('status', (s: ServiceError) => resolve(s))));
  stream.on('error', () => {});
  return stream;
}
/** Waits for the stream's end status, reading (resuming) whatever is left. */
function endStatus(stream: ClientReadableStream<unknown> | ClientDuplexStream<unknown, unknown>): Promise<ServiceError> {
  if (!statuses.has(stream)) watched(stream);
  stream.on('data', () => {});
  stream.resume();
  return statuses.get(stream)!;
}

async function probeBook(harness: Harness): Promise<void> {
  const res = await unary(harness.marketData.getOrderBook.bind(harness.marketData), { pair: 'ETHUSDT', depth: 5 });
  expect(res.book?.pair).toBe('ETHUSDT');
}

describe('unread streams are bounded in bytes (issue 7 item 1)', () => {
  it('StreamMarketData: 30 streams that never read are ended as slow consumers; queued bytes stay bounded', async () => {
    h = await startHarness({ streamLimits: { maxQueuedBytesPerStream: PER_STREAM, slowConsumerGraceMs: 50 } });
    const pair = h.pairs.get('BTCUSDT')!;
    const streams: ClientReadableStream<MarketDataUpdate>[] = [];
    for (let i = 0; i < 30; i++) {
      const c = new MarketDataServiceClient(h.address, credentials.createInsecure(), NO_WINDOW);
      clients.push(c);
      const s = watched(c.streamMarketData({ pair: 'BTCUSDT', depth: 0 }));
      s.pause();
      streams.push(s);
    }
    await until(() => h!.server.streamGovernor.openStreams === 30);
    let maxQueued = 0;
    // 6,000 deltas, 100 per turn of the event loop, so the server really writes between them.
    for (let round = 0; round < 60; round++) {
      for (let k = 0; k < 100; k++) pair.submit(1, restingOrder(round * 100 + k));
      maxQueued = Math.max(maxQueued, h.server.streamGovernor.queuedBytes);
      await new Promise((r) => setImmediate(r));
      if (round % 20 === 0) await probeBook(h);
    }
    // Bound: every stream at most its limit plus the one message that crossed it.
    expect(maxQueued).toBeLessThanOrEqual(30 * (PER_STREAM + 4096 + MESSAGE_OVERHEAD_BYTES));
    await until(() => h!.server.streamGovernor.openStreams === 0);
    expect(h.server.streamGovernor.slowConsumersEnded).toBe(30);
    expect(h.server.streamGovernor.queuedBytes).toBe(0);
    const ends = await Promise.all(streams.map(endStatus));
    for (const e of ends) expect(e.code).toBe(status.RESOURCE_EXHAUSTED);
    await probeBook(h);
  }, 60_000);

  it('OrderFlow: streams of an account that never read while it trades are ended; the account trades on', async () => {
    h = await startHarness({ streamLimits: { maxQueuedBytesPerStream: PER_STREAM, slowConsumerGraceMs: 50 } });
    const md = await asAccount('flooder');
    const streams: ClientDuplexStream<OrderFlowRequest, OrderFlowResponse>[] = [];
    for (let i = 0; i < 8; i++) {
      const c = new OrdersServiceClient(h.address, credentials.createInsecure(), NO_WINDOW);
      clients.push(c);
      const s = watched(c.orderFlow(md));
      s.pause();
      streams.push(s);
    }
    await until(() => h!.server.streamGovernor.openStreams === 8);
    let maxQueued = 0;
    // The account rests 200 orders a round and another account fills them: every fill is an event of the
    // account's orders caused by someone else, which goes to each of its 8 unread streams.
    for (let round = 0; round < 30 && h.server.streamGovernor.openStreams > 0; round++) {
      const orders = Array.from({ length: 200 }, (_, k) => limitOrder(k % 2 === 0 ? 'buy' : 'sell', k % 2 === 0 ? String(10_000 - round - k / 1000) : String(20_000 + round + k / 1000), '0.001'));
      await unary(h.orders.submitOrderBatch.bind(h.orders), { orders }, 'flooder');
      const sweeps = [limitOrder('sell', '1', '0.1', { timeInForce: TimeInForce.TIME_IN_FORCE_IOC }), limitOrder('buy', '500000', '0.1', { timeInForce: TimeInForce.TIME_IN_FORCE_IOC })];
      await unary(h.orders.submitOrderBatch.bind(h.orders), { orders: sweeps }, 'taker');
      maxQueued = Math.max(maxQueued, h.server.streamGovernor.queuedBytes);
    }
    expect(maxQueued).toBeLessThanOrEqual(8 * (PER_STREAM + 64 * 1024 + MESSAGE_OVERHEAD_BYTES));
    await until(() => h!.server.streamGovernor.openStreams === 0);
    expect(h.server.streamGovernor.slowConsumersEnded).toBe(8);
    const ends = await Promise.all(streams.map(endStatus));
    for (const e of ends) expect(e.code).toBe(status.RESOURCE_EXHAUSTED);
    // The account itself is fine: unary calls still work.
    const rest = await unary(h.orders.submitOrder.bind(h.orders), limitOrder('buy', '9000', '0.001'), 'flooder');
    expect(rest.order?.orderId).toBeTruthy();
    const res = await unary(h.orders.listOpenOrders.bind(h.orders), { pair: 'BTCUSDT', page: undefined }, 'flooder');
    expect(res.orders.length).toBeGreaterThan(0);
  }, 60_000);

  it('the total queued-bytes limit ends streams that are behind even when each is below its own limit', async () => {
    h = await startHarness({ streamLimits: { maxQueuedBytesPerStream: 1024 * 1024, maxQueuedBytesTotal: 256 * 1024, slowConsumerGraceMs: 0 } });
    const pair = h.pairs.get('BTCUSDT')!;
    for (let i = 0; i < 10; i++) {
      const c = new MarketDataServiceClient(h.address, credentials.createInsecure(), NO_WINDOW);
      clients.push(c);
      const s = c.streamMarketData({ pair: 'BTCUSDT', depth: 0 });
      s.on('error', () => {});
      s.pause();
    }
    await until(() => h!.server.streamGovernor.openStreams === 10);
    let maxQueued = 0;
    for (let round = 0; round < 40; round++) {
      for (let k = 0; k < 100; k++) pair.submit(1, restingOrder(round * 100 + k));
      maxQueued = Math.max(maxQueued, h.server.streamGovernor.queuedBytes);
      await new Promise((r) => setImmediate(r));
    }
    expect(maxQueued).toBeLessThanOrEqual(256 * 1024 + 10 * (4096 + MESSAGE_OVERHEAD_BYTES));
    await until(() => h!.server.streamGovernor.openStreams === 0);
  }, 60_000);
});

describe('stream counts are bounded (issue 7 item 1)', () => {
  it('OrderFlow streams per account: the one beyond the limit is refused with RESOURCE_EXHAUSTED; another account is not affected', async () => {
    h = await startHarness({ streamLimits: { maxStreamsPerAccount: 2 } });
    const md = await asAccount('many-streams');
    const open = [h.orders.orderFlow(md), h.orders.orderFlow(md)];
    for (const s of open) s.on('error', () => {});
    await until(() => h!.server.streamGovernor.openStreams === 2);
    const third = await endStatus(h.orders.orderFlow(md));
    expect(third.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(third.details).toContain('GRPC_MAX_STREAMS_PER_ACCOUNT');
    const other = h.orders.orderFlow(await asAccount('someone-else'));
    other.on('error', () => {});
    await until(() => h!.server.streamGovernor.openStreams === 3);
    for (const s of [...open, other]) s.cancel();
    await until(() => h!.server.streamGovernor.openStreams === 0);
  });

  it('streams per peer and in total: refused beyond the limit, counted down when they end', async () => {
    h = await startHarness({ streamLimits: { maxStreamsPerPeer: 3, maxStreams: 5 } });
    const open = [0, 1, 2].map(() => h!.marketData.streamMarketData({ pair: 'BTCUSDT', depth: 1 }));
    for (const s of open) s.on('error', () => {});
    await until(() => h!.server.streamGovernor.openStreams === 3);
    const fourth = await endStatus(h.marketData.streamMarketData({ pair: 'BTCUSDT', depth: 1 }));
    expect(fourth.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(fourth.details).toContain('GRPC_MAX_STREAMS_PER_PEER');
    open[0]!.cancel();
    await until(() => h!.server.streamGovernor.openStreams === 2);
    const again = h.marketData.streamMarketData({ pair: 'BTCUSDT', depth: 1 });
    again.on('error', () => {});
    await until(() => h!.server.streamGovernor.openStreams === 3);
    for (const s of [...open, again]) s.cancel();
    await until(() => h!.server.streamGovernor.openStreams === 0);
  });
});

/** Polls `cond` (bounded: 20 s) — waits for an outcome, asserts no timing. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not reached within 20 s');
}
