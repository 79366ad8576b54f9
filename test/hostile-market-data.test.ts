/**
 * Issue 7 item 4: unauthenticated market-data reads are bounded per peer. Scaled down: a 4,000-level
 * book and a budget of 20 at once, 5 per second; a full-depth snapshot costs 1 + 1 per 1000 levels.
 * 60 pipelined depth-0 calls: the first few are answered, the rest refused with RESOURCE_EXHAUSTED and
 * a retry hint, without walking the book; the full-depth snapshot is cached per book state and a
 * change is seen by the next call.
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewOrderRequest } from '../server/pairs/trading-pair.ts';
import { startHarness, unary, type Harness } from './grpc-harness.ts';

let h: Harness;
let offsetMs = 0;
beforeAll(async () => {
  h = await startHarness({ marketDataLimits: { callsPerSecondPerPeer: 5, burstPerPeer: 20 }, nowMs: () => Date.now() + offsetMs });
  const pair = h.pairs.get('BTCUSDT')!;
  for (let i = 0; i < 4000; i++) {
    const buy = i % 2 === 0;
    pair.submit(1, { clientOrderId: '', side: buy ? 0 : 1, type: 0, tif: 0, postOnly: false, price: buy ? 1_000_000 - i : 2_000_000 + i, quantity: 1, stp: 0 } as NewOrderRequest);
  }
});
afterAll(async () => {
  await h.close();
});

describe('market data per peer', () => {
  it('60 pipelined full-depth snapshots of a 4,000-level book: 4 answered (cost 5 each of a burst of 20), 56 refused with a retry hint', async () => {
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => unary(h.marketData.getOrderBook.bind(h.marketData), { pair: 'BTCUSDT', depth: 0 })));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as ServiceError);
    expect(ok).toHaveLength(4);
    for (const e of refused) {
      expect(e.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(e.details).toMatch(/^market data rate limit exceeded for this address; retry after \d+ ms$/);
    }
    const first = (ok[0] as PromiseFulfilledResult<{ book?: { bids: unknown[]; asks: unknown[] } }>).value.book!;
    expect(first.bids.length + first.asks.length).toBe(4000);
  });

  it('the budget refills; a book change is in the next (re-built) full snapshot', async () => {
    offsetMs += 10_000; // 10 s later: refilled to the burst
    const before = await unary(h.marketData.getOrderBook.bind(h.marketData), { pair: 'BTCUSDT', depth: 0 });
    h.pairs.get('BTCUSDT')!.submit(1, { clientOrderId: '', side: 0, type: 0, tif: 0, postOnly: false, price: 1_500_000, quantity: 1, stp: 0 } as NewOrderRequest);
    const after = await unary(h.marketData.getOrderBook.bind(h.marketData), { pair: 'BTCUSDT', depth: 0 });
    expect(after.book!.bids.length).toBe(before.book!.bids.length + 1);
    expect(Number(after.book!.sequence)).toBeGreaterThan(Number(before.book!.sequence));
    // Small depths cost 1 each.
    for (let i = 0; i < 5; i++) await unary(h.marketData.getOrderBook.bind(h.marketData), { pair: 'ETHUSDT', depth: 10 });
  });
});
