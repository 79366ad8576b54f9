/**
 * Issue 7 item 6: one account cannot hold unbounded open orders, and ListOpenOrders answers in pages
 * that fit a default client. Scaled down: a cap of 50 per pair, pages of 20 (the defaults are 10,000
 * and 5,000).
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimeInForce } from '../server/adapters/grpc/generated/trading/v1/types.ts';
import { failure, limitOrder, startHarness, unary, type Harness } from './grpc-harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ maxOpenOrdersPerAccount: 50 });
});
afterAll(async () => {
  await h.close();
});

const list = async (account: string, pageSize: number, pageToken = '', pair = 'BTCUSDT') => {
  const res = await unary(h.orders.listOpenOrders.bind(h.orders), { pair, page: { pageSize, pageToken } }, account);
  return { orders: res.orders, nextPageToken: res.nextPage?.pageToken ?? '' };
};

describe('per-account open-order cap', () => {
  it('a batch of 80 resting orders: 50 rest, 30 are refused with FAILED_PRECONDITION naming the limit; IOC still trades; another account is unaffected', async () => {
    const orders = Array.from({ length: 80 }, (_, i) => limitOrder('buy', String(1000 + i), '0.01'));
    const res = await unary(h.orders.submitOrderBatch.bind(h.orders), { orders }, 'hoarder');
    const refused = res.results.filter((r) => r.error !== undefined);
    expect(res.results.filter((r) => r.error === undefined)).toHaveLength(50);
    expect(refused).toHaveLength(30);
    expect(refused[0]!.error).toMatchObject({ code: status.FAILED_PRECONDITION, field: 'pair' });
    expect(refused[0]!.error!.message).toContain('MAX_OPEN_ORDERS_PER_ACCOUNT 50');
    const one = await failure(unary(h.orders.submitOrder.bind(h.orders), limitOrder('buy', '900', '0.01'), 'hoarder'));
    expect(one.code).toBe(status.FAILED_PRECONDITION);
    expect(one.details).toMatch(/^pair: this account has 50 open orders in BTCUSDT/);
    // Orders that never rest are not limited, nor is another pair or another account.
    const ioc = await unary(h.orders.submitOrder.bind(h.orders), limitOrder('sell', '2000', '0.01', { timeInForce: TimeInForce.TIME_IN_FORCE_IOC }), 'hoarder');
    expect(ioc.order).toBeDefined();
    await unary(h.orders.submitOrder.bind(h.orders), limitOrder('buy', '10', '0.01', { pair: 'ETHUSDT' }), 'hoarder');
    await unary(h.orders.submitOrder.bind(h.orders), limitOrder('buy', '900', '0.01'), 'bystander');
    // Cancelling makes room again.
    const first = (await list('hoarder', 1)).orders[0]!;
    await unary(h.orders.cancelOrder.bind(h.orders), { pair: 'BTCUSDT', order: { $case: 'orderId', value: first.orderId } }, 'hoarder');
    await unary(h.orders.submitOrder.bind(h.orders), limitOrder('buy', '901', '0.01'), 'hoarder');
  });
});

describe('ListOpenOrders pages', () => {
  it('pages of 20 walk all 50 orders once, in ascending order id, across pairs when no pair is given', async () => {
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await list('hoarder', 20, token, '');
      seen.push(...page.orders.map((o) => `${o.pair}:${o.orderId}`));
      token = page.nextPageToken;
      pages++;
    } while (token !== '' && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(51); // 50 BTCUSDT + 1 ETHUSDT
    expect(new Set(seen).size).toBe(51);
    expect(seen.at(-1)).toMatch(/^ETHUSDT:/);
    const btc = seen.filter((s) => s.startsWith('BTCUSDT:')).map((s) => Number(s.split(':')[1]));
    expect(btc).toEqual([...btc].sort((a, b) => a - b));
  });

  it('page_size 0 means the default page (everything here); a full last page has no token; bad values are INVALID_ARGUMENT', async () => {
    const all = await list('hoarder', 0);
    expect(all.orders).toHaveLength(50);
    expect(all.nextPageToken).toBe('');
    expect((await list('hoarder', 50)).nextPageToken).toBe('');
    expect((await list('hoarder', 49)).nextPageToken).not.toBe('');
    const big = await failure(list('hoarder', 5001));
    expect(big.code).toBe(status.INVALID_ARGUMENT);
    expect(big.metadata.get('x-field')).toEqual(['page_size']);
    const bad = await failure(list('hoarder', 10, 'x'.repeat(10_000)));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details.length).toBeLessThan(200);
    expect((await failure(list('hoarder', 10, 'ETHUSDT:1'))).code).toBe(status.INVALID_ARGUMENT); // token of another listing
  });
});
