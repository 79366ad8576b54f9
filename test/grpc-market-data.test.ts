// MarketDataService and InstrumentsService through a real grpc-js client against an in-process server.
import { status, type ClientReadableStream } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MarketDataUpdate } from '../server/adapters/grpc/generated/trading/v1/market_data.ts';
import type { SubmitOrderRequest } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { Side } from '../server/adapters/grpc/generated/trading/v1/types.ts';
import { failure, limitOrder, startHarness, unary, type Harness } from './grpc-harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const submit = (req: SubmitOrderRequest, account: string) => unary(h.orders.submitOrder.bind(h.orders), req, account);
const getBook = (pair: string, depth: number) => unary(h.marketData.getOrderBook.bind(h.marketData), { pair, depth });

/** Collects a stream's messages; `next(n)` waits until n have arrived. */
function collect(stream: ClientReadableStream<MarketDataUpdate>) {
  const got: MarketDataUpdate[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let ended: Error | undefined;
  stream.on('data', (m: MarketDataUpdate) => {
    got.push(m);
    for (const w of waiters.filter((w) => got.length >= w.n)) w.resolve();
  });
  stream.on('error', (e: Error) => (ended = e));
  return {
    got,
    get error() {
      return ended;
    },
    next: (n: number) =>
      new Promise<void>((resolve, reject) => {
        if (got.length >= n) return resolve();
        waiters.push({ n, resolve });
        setTimeout(() => reject(new Error(`timed out waiting for ${n} messages, have ${got.length}`)), 5_000);
      }),
  };
}

describe('MarketDataService', () => {
  it('GetOrderBook returns aggregated levels, best first, limited by depth, with the current sequence', async () => {
    await submit(limitOrder('buy', '100.00', '1', { pair: 'ETHUSDT' }), 'md-a');
    await submit(limitOrder('buy', '100.00', '2', { pair: 'ETHUSDT' }), 'md-b');
    await submit(limitOrder('buy', '99.00', '1', { pair: 'ETHUSDT' }), 'md-a');
    await submit(limitOrder('sell', '101.50', '0.5', { pair: 'ETHUSDT' }), 'md-a');
    const full = (await getBook('ETHUSDT', 0)).book!;
    expect(full).toEqual({
      pair: 'ETHUSDT',
      sequence: '4',
      bids: [
        { price: '100.00', quantity: '3.0000', orderCount: 2 },
        { price: '99.00', quantity: '1.0000', orderCount: 1 },
      ],
      asks: [{ price: '101.50', quantity: '0.5000', orderCount: 1 }],
    });
    const top = (await getBook('ETHUSDT', 1)).book!;
    expect(top.bids).toHaveLength(1);
    expect(top.sequence).toBe('4');
  });

  it('GetOrderBook errors: INVALID_ARGUMENT for depth, NOT_FOUND for the pair', async () => {
    const bad = await failure(getBook('ETHUSDT', 5001));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.metadata.get('x-field')).toEqual(['depth']);
    expect((await failure(getBook('XXXUSDT', 1))).code).toBe(status.NOT_FOUND);
  });

  it('StreamMarketData sends a snapshot, then level deltas and trades with contiguous sequence numbers', async () => {
    await submit(limitOrder('sell', '30000.00', '1'), 'md-maker');
    const stream = h.marketData.streamMarketData({ pair: 'BTCUSDT', depth: 0 });
    const c = collect(stream);
    await c.next(1);
    const first = c.got[0]!;
    expect(first.update?.$case).toBe('snapshot');
    const snapshotSeq = Number(first.sequence);
    expect(first.update?.$case === 'snapshot' && first.update.value.asks).toEqual([{ price: '30000.00', quantity: '1.00000', orderCount: 1 }]);

    await submit(limitOrder('buy', '29000.00', '2'), 'md-maker'); // a new bid level
    await submit(limitOrder('buy', '30000.00', '0.4'), 'md-taker'); // a trade
    await unary(h.orders.cancelAllOrders.bind(h.orders), { pair: 'BTCUSDT', side: Side.SIDE_UNSPECIFIED }, 'md-maker'); // two removals
    await c.next(4);
    const deltas = c.got.slice(1);
    expect(deltas.map((d) => Number(d.sequence))).toEqual([snapshotSeq + 1, snapshotSeq + 2, snapshotSeq + 3]);
    expect(deltas.map((d) => d.update?.$case)).toEqual(['delta', 'delta', 'delta']);
    const [bid, trade, cancelAll] = deltas.map((d) => (d.update?.$case === 'delta' ? d.update.value : undefined));
    expect(bid).toEqual({ levels: [{ side: Side.SIDE_BUY, price: '29000.00', quantity: '2.00000', orderCount: 1 }], trades: [] });
    expect(trade?.levels).toEqual([{ side: Side.SIDE_SELL, price: '30000.00', quantity: '0.60000', orderCount: 1 }]);
    expect(trade?.trades).toMatchObject([{ tradeId: '1', price: '30000.00', quantity: '0.40000', takerSide: Side.SIDE_BUY }]);
    expect(cancelAll?.levels).toEqual([
      { side: Side.SIDE_SELL, price: '30000.00', quantity: '0.00000', orderCount: 0 },
      { side: Side.SIDE_BUY, price: '29000.00', quantity: '0.00000', orderCount: 0 },
    ]);
    stream.cancel();
  });

  it('a rejected order publishes nothing, so the sequence has no gap for it', async () => {
    const stream = h.marketData.streamMarketData({ pair: 'SOLUSDT', depth: 5 });
    const c = collect(stream);
    await c.next(1);
    const s0 = Number(c.got[0]!.sequence);
    await failure(submit(limitOrder('buy', '1.0001', '1', { pair: 'SOLUSDT' }), 'md-x'));
    await submit(limitOrder('buy', '1.000', '1', { pair: 'SOLUSDT' }), 'md-x');
    await c.next(2);
    expect(Number(c.got[1]!.sequence)).toBe(s0 + 1);
    stream.cancel();
  });

  it('StreamMarketData for an unknown pair ends with NOT_FOUND', async () => {
    const stream = h.marketData.streamMarketData({ pair: 'NOPE', depth: 0 });
    const err = await new Promise<{ code: number }>((resolve) => stream.on('error', resolve));
    expect(err.code).toBe(status.NOT_FOUND);
  });
});

describe('InstrumentsService', () => {
  it('lists every pair with its steps, limits and band as decimals', async () => {
    const res = await unary(h.instruments.listInstruments.bind(h.instruments), {});
    expect(res.instruments.map((i) => i.pair)).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
    expect(res.instruments[0]).toEqual({
      pair: 'BTCUSDT',
      baseAsset: 'BTC',
      quoteAsset: 'USDT',
      tickSize: '0.01',
      lotSize: '0.00001',
      minQuantity: '0.00001',
      maxQuantity: '9000.00000',
      minPrice: '0.01',
      maxPrice: '1000000.00',
      marketProtectionBps: 500,
    });
  });
});
