// OrdersService unary and batch calls through a real grpc-js client against an in-process server.
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CancelAllOrdersRequest,
  CancelOrderRequest,
  GetOrderRequest,
  ReplaceOrderRequest,
  SubmitOrderBatchRequest,
  SubmitOrderRequest,
} from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import {
  CancelReason,
  Liquidity,
  OrderStatus,
  OrderType,
  RejectReason,
  Side,
  StpMode,
  TimeInForce,
} from '../server/adapters/grpc/generated/trading/v1/types.ts';
import { failure, limitOrder, startHarness, unary, type Harness } from './grpc-harness.ts';
import { MISSING_TOKEN } from '../server/adapters/grpc/session-authenticator.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

// Each test uses its own accounts and pair, or cleans up, so they can share one server.
const submit = (req: SubmitOrderRequest, account?: string, deadline?: Date) =>
  unary(h.orders.submitOrder.bind(h.orders), req, account, deadline ? { deadline } : {});
const cancel = (req: CancelOrderRequest, account?: string) => unary(h.orders.cancelOrder.bind(h.orders), req, account);
const replace = (req: ReplaceOrderRequest, account?: string) => unary(h.orders.replaceOrder.bind(h.orders), req, account);
const getOrder = (req: GetOrderRequest, account?: string) => unary(h.orders.getOrder.bind(h.orders), req, account);
const listOpen = (pair: string, account?: string) => unary(h.orders.listOpenOrders.bind(h.orders), { pair, page: undefined }, account);
const cancelAll = (req: CancelAllOrdersRequest, account?: string) => unary(h.orders.cancelAllOrders.bind(h.orders), req, account);
const batch = (req: SubmitOrderBatchRequest, account?: string) => unary(h.orders.submitOrderBatch.bind(h.orders), req, account);
const book = (pair = 'BTCUSDT') => unary(h.marketData.getOrderBook.bind(h.marketData), { pair, depth: 0 });
const byId = (pair: string, orderId: string) => ({ pair, order: { $case: 'orderId' as const, value: orderId } });
const byClientId = (pair: string, clientOrderId: string) => ({ pair, order: { $case: 'clientOrderId' as const, value: clientOrderId } });

describe('OrdersService', () => {
  it('submits a limit order, then gets it by order id and by client order id, and lists it as open', async () => {
    const res = await submit(limitOrder('buy', '50000.10', '0.5', { clientOrderId: 'a-1' }), 'acct-get');
    expect(res.order).toMatchObject({
      pair: 'BTCUSDT',
      clientOrderId: 'a-1',
      side: Side.SIDE_BUY,
      type: OrderType.ORDER_TYPE_LIMIT,
      timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
      price: '50000.10',
      quantity: '0.50000',
      filledQuantity: '0.00000',
      remainingQuantity: '0.50000',
      status: OrderStatus.ORDER_STATUS_NEW,
    });
    expect(res.events.map((e) => e.event?.$case)).toEqual(['accepted']);
    const id = res.order!.orderId;
    expect((await getOrder(byId('BTCUSDT', id), 'acct-get')).order?.clientOrderId).toBe('a-1');
    expect((await getOrder(byClientId('BTCUSDT', 'a-1'), 'acct-get')).order?.orderId).toBe(id);
    expect((await listOpen('', 'acct-get')).orders.map((o) => o.orderId)).toEqual([id]);
    expect((await listOpen('BTCUSDT', 'acct-get')).orders.map((o) => o.orderId)).toEqual([id]);
    expect((await listOpen('ETHUSDT', 'acct-get')).orders).toEqual([]);
    await cancelAll({ pair: 'BTCUSDT', side: Side.SIDE_UNSPECIFIED }, 'acct-get');
  });

  it('matches a crossing order: taker FILLED with its fill, maker PARTIALLY_FILLED', async () => {
    const maker = await submit(limitOrder('sell', '60000.00', '1', { pair: 'ETHUSDT' }), 'acct-maker');
    const taker = await submit(limitOrder('buy', '60001.00', '0.25', { pair: 'ETHUSDT' }), 'acct-taker');
    expect(taker.order).toMatchObject({ status: OrderStatus.ORDER_STATUS_FILLED, filledQuantity: '0.2500', remainingQuantity: '0.0000' });
    const fill = taker.events.find((e) => e.event?.$case === 'filled');
    expect(fill?.event).toMatchObject({ value: { price: '60000.00', quantity: '0.2500', liquidity: Liquidity.LIQUIDITY_TAKER } });
    const m = await getOrder(byId('ETHUSDT', maker.order!.orderId), 'acct-maker');
    expect(m.order).toMatchObject({ status: OrderStatus.ORDER_STATUS_PARTIALLY_FILLED, filledQuantity: '0.2500', remainingQuantity: '0.7500' });
    await cancelAll({ pair: 'ETHUSDT', side: Side.SIDE_UNSPECIFIED }, 'acct-maker');
  });

  it('cancels and replaces by order id and by client order id', async () => {
    const a = await submit(limitOrder('buy', '100.00', '1', { clientOrderId: 'r-1' }), 'acct-cr');
    const r1 = await replace({ ...byClientId('BTCUSDT', 'r-1'), price: '', quantity: '0.4' }, 'acct-cr');
    expect(r1.order).toMatchObject({ price: '100.00', quantity: '0.40000', remainingQuantity: '0.40000' });
    expect(r1.events[0]?.event).toMatchObject({ $case: 'replaced', value: { priorityKept: true } });
    const r2 = await replace({ ...byId('BTCUSDT', a.order!.orderId), price: '99.50', quantity: '' }, 'acct-cr');
    expect(r2.order).toMatchObject({ price: '99.50', remainingQuantity: '0.40000' });
    expect(r2.events[0]?.event).toMatchObject({ $case: 'replaced', value: { priorityKept: false } });
    const c = await cancel(byClientId('BTCUSDT', 'r-1'), 'acct-cr');
    expect(c.order).toMatchObject({ status: OrderStatus.ORDER_STATUS_CANCELLED, cancelReason: CancelReason.CANCEL_REASON_USER_REQUESTED });
    // closed orders stay visible to GetOrder
    expect((await getOrder(byId('BTCUSDT', a.order!.orderId), 'acct-cr')).order?.status).toBe(OrderStatus.ORDER_STATUS_CANCELLED);
  });

  it('a replace that changes nothing is FAILED_PRECONDITION', async () => {
    const a = await submit(limitOrder('buy', '100.00', '1'), 'acct-nochange');
    const err = await failure(replace({ ...byId('BTCUSDT', a.order!.orderId), price: '100.00', quantity: '1' }, 'acct-nochange'));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.metadata.get('x-reject-reason')).toEqual([String(RejectReason.REJECT_REASON_REPLACE_NO_CHANGE)]);
    await cancelAll({ pair: 'BTCUSDT', side: Side.SIDE_UNSPECIFIED }, 'acct-nochange');
  });

  it('cancel-all cancels one side of one account only', async () => {
    await submit(limitOrder('buy', '10.00', '1'), 'acct-ca');
    await submit(limitOrder('buy', '11.00', '1'), 'acct-ca');
    const sell = await submit(limitOrder('sell', '900000.00', '1'), 'acct-ca');
    const other = await submit(limitOrder('buy', '12.00', '1'), 'acct-ca-other');
    const res = await cancelAll({ pair: 'BTCUSDT', side: Side.SIDE_BUY }, 'acct-ca');
    expect(res.orders).toHaveLength(2);
    expect(res.orders.every((o) => o.cancelReason === CancelReason.CANCEL_REASON_CANCEL_ALL)).toBe(true);
    expect((await listOpen('BTCUSDT', 'acct-ca')).orders.map((o) => o.orderId)).toEqual([sell.order!.orderId]);
    expect((await listOpen('BTCUSDT', 'acct-ca-other')).orders.map((o) => o.orderId)).toEqual([other.order!.orderId]);
    await cancelAll({ pair: 'BTCUSDT', side: Side.SIDE_UNSPECIFIED }, 'acct-ca');
    await cancelAll({ pair: 'BTCUSDT', side: Side.SIDE_UNSPECIFIED }, 'acct-ca-other');
  });

  it('an unfillable FOK order is OK with status CANCELLED, not an error', async () => {
    const res = await submit(limitOrder('buy', '1.00', '1', { pair: 'SOLUSDT', timeInForce: TimeInForce.TIME_IN_FORCE_FOK }), 'acct-fok');
    expect(res.order).toMatchObject({ status: OrderStatus.ORDER_STATUS_CANCELLED, cancelReason: CancelReason.CANCEL_REASON_FOK_NOT_FILLABLE });
  });

  it('a market order on an empty side is CANCELLED for lack of liquidity, with an empty price', async () => {
    const res = await submit(limitOrder('buy', '', '1', { pair: 'SOLUSDT', type: OrderType.ORDER_TYPE_MARKET }), 'acct-mkt');
    expect(res.order).toMatchObject({ price: '', timeInForce: TimeInForce.TIME_IN_FORCE_IOC, status: OrderStatus.ORDER_STATUS_CANCELLED, cancelReason: CancelReason.CANCEL_REASON_MARKET_NO_LIQUIDITY });
  });

  describe('bad input is INVALID_ARGUMENT naming the field and changes nothing', () => {
    const cases: [string, SubmitOrderRequest, string, RejectReason][] = [
      ['price off the tick', limitOrder('buy', '100.001', '1'), 'price: 100.001 is not a multiple of the tick size 0.01', RejectReason.REJECT_REASON_INVALID_PRICE],
      ['quantity off the lot', limitOrder('buy', '100.00', '0.000001'), 'quantity: 0.000001 is not a multiple of the lot size 0.00001', RejectReason.REJECT_REASON_INVALID_QUANTITY],
      ['price not a decimal', limitOrder('buy', '1e5', '1'), 'price: must be a non-negative decimal string like "12.5", got "1e5"', RejectReason.REJECT_REASON_INVALID_PRICE],
      ['negative quantity', limitOrder('buy', '100.00', '-1'), 'quantity: must be a non-negative decimal string like "12.5", got "-1"', RejectReason.REJECT_REASON_INVALID_QUANTITY],
      ['price above the band', limitOrder('buy', '2000000.00', '1'), 'price: 2000000.00 is outside the price band [0.01, 1000000.00]', RejectReason.REJECT_REASON_PRICE_OUT_OF_BAND],
      ['zero quantity', limitOrder('buy', '100.00', '0'), 'quantity: must be positive (a multiple of the lot size 0.00001)', RejectReason.REJECT_REASON_INVALID_QUANTITY],
      ['no side', limitOrder('buy', '100.00', '1', { side: Side.SIDE_UNSPECIFIED }), 'side: must be SIDE_BUY or SIDE_SELL', RejectReason.REJECT_REASON_INVALID_SIDE],
      ['no type', limitOrder('buy', '100.00', '1', { type: OrderType.ORDER_TYPE_UNSPECIFIED }), 'type: must be ORDER_TYPE_LIMIT or ORDER_TYPE_MARKET', RejectReason.REJECT_REASON_INVALID_ORDER_TYPE],
      ['limit without price', limitOrder('buy', '', '1'), 'price: is required for LIMIT orders', RejectReason.REJECT_REASON_INVALID_PRICE],
      ['market with price', limitOrder('buy', '100.00', '1', { type: OrderType.ORDER_TYPE_MARKET }), 'price: must be empty for MARKET orders', RejectReason.REJECT_REASON_INVALID_PRICE],
      ['post-only IOC', limitOrder('buy', '100.00', '1', { postOnly: true, timeInForce: TimeInForce.TIME_IN_FORCE_IOC }), 'post_only: post-only orders must be GTC', RejectReason.REJECT_REASON_INVALID_POST_ONLY],
      ['bad client order id', limitOrder('buy', '100.00', '1', { clientOrderId: 'x'.repeat(65) }), 'client_order_id: must be 1-64 printable ASCII characters', RejectReason.REJECT_REASON_INVALID_CLIENT_ORDER_ID],
      ['malformed pair', limitOrder('buy', '100.00', '1', { pair: 'btc-usdt' }), 'pair: "btc-usdt" is not a pair symbol (2-20 upper-case letters or digits)', RejectReason.REJECT_REASON_INVALID_PAIR],
    ];
    it.each(cases)('%s', async (_name, req, message, reason) => {
      const before = await book();
      const seqBefore = h.pairs.get('BTCUSDT')!.sequences;
      const err = await failure(submit(req, 'acct-bad'));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toBe(message);
      expect(err.metadata.get('x-field')).toEqual([message.split(':')[0]]);
      expect(err.metadata.get('x-reject-reason')).toEqual([String(reason)]);
      expect(await book()).toEqual(before);
      expect(h.pairs.get('BTCUSDT')!.sequences.event).toBe(seqBefore.event);
      expect((await listOpen('', 'acct-bad')).orders).toEqual([]);
    });
  });

  it('a post-only order that would take is FAILED_PRECONDITION', async () => {
    await submit(limitOrder('sell', '5000.00', '1', { pair: 'SOLUSDT' }), 'acct-po-maker');
    const err = await failure(submit(limitOrder('buy', '5000.00', '1', { pair: 'SOLUSDT', postOnly: true }), 'acct-po'));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toBe('price: post-only order would take liquidity');
    await cancelAll({ pair: 'SOLUSDT', side: Side.SIDE_UNSPECIFIED }, 'acct-po-maker');
  });

  it('an identical resubmission of a client order id answers the original order; different fields are ALREADY_EXISTS', async () => {
    const first = await submit(limitOrder('buy', '1.00', '1', { clientOrderId: 'dup' }), 'acct-dup');
    const again = await submit(limitOrder('buy', '1.00', '1', { clientOrderId: 'dup' }), 'acct-dup');
    expect(again.order).toEqual(first.order);
    const err = await failure(submit(limitOrder('buy', '1.01', '1', { clientOrderId: 'dup' }), 'acct-dup'));
    expect(err.code).toBe(status.ALREADY_EXISTS);
    expect(err.metadata.get('x-field')).toEqual(['client_order_id']);
    const cancelled = await cancelAll({ pair: 'BTCUSDT', side: Side.SIDE_UNSPECIFIED }, 'acct-dup');
    expect(cancelled.orders).toHaveLength(1);
  });

  describe('NOT_FOUND', () => {
    it('for an unknown pair', async () => {
      const err = await failure(submit(limitOrder('buy', '1.00', '1', { pair: 'DOGEUSDT' }), 'acct-nf'));
      expect(err.code).toBe(status.NOT_FOUND);
      expect(err.details).toBe('pair: unknown pair DOGEUSDT');
      expect(err.metadata.get('x-reject-reason')).toEqual([String(RejectReason.REJECT_REASON_UNKNOWN_PAIR)]);
      expect((await failure(getOrder(byId('DOGEUSDT', '1'), 'acct-nf'))).code).toBe(status.NOT_FOUND);
    });
    it('for unknown orders, by id and by client order id', async () => {
      expect((await failure(cancel(byId('BTCUSDT', '999999'), 'acct-nf'))).code).toBe(status.NOT_FOUND);
      expect((await failure(getOrder(byId('BTCUSDT', '999999'), 'acct-nf'))).code).toBe(status.NOT_FOUND);
      const err = await failure(replace({ ...byClientId('BTCUSDT', 'nope'), price: '1.00', quantity: '' }, 'acct-nf'));
      expect(err.code).toBe(status.NOT_FOUND);
      expect(err.metadata.get('x-field')).toEqual(['client_order_id']);
    });
    it('for an order id of 0, which is INVALID_ARGUMENT rather', async () => {
      const err = await failure(cancel(byId('BTCUSDT', '0'), 'acct-nf'));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.metadata.get('x-field')).toEqual(['order_id']);
    });
  });

  it("one account cannot see, cancel or replace another account's order", async () => {
    const mine = await submit(limitOrder('buy', '2.00', '1', { clientOrderId: 'secret' }), 'acct-owner');
    const id = mine.order!.orderId;
    expect((await failure(getOrder(byId('BTCUSDT', id), 'acct-intruder'))).code).toBe(status.NOT_FOUND);
    expect((await failure(getOrder(byClientId('BTCUSDT', 'secret'), 'acct-intruder'))).code).toBe(status.NOT_FOUND);
    expect((await failure(cancel(byId('BTCUSDT', id), 'acct-intruder'))).code).toBe(status.NOT_FOUND);
    expect((await failure(replace({ ...byId('BTCUSDT', id), price: '3.00', quantity: '' }, 'acct-intruder'))).code).toBe(status.NOT_FOUND);
    expect((await listOpen('', 'acct-intruder')).orders).toEqual([]);
    expect((await cancelAll({ pair: 'BTCUSDT', side: Side.SIDE_UNSPECIFIED }, 'acct-intruder')).orders).toEqual([]);
    expect((await getOrder(byId('BTCUSDT', id), 'acct-owner')).order?.status).toBe(OrderStatus.ORDER_STATUS_NEW);
    await cancel(byId('BTCUSDT', id), 'acct-owner');
  });

  it('a call without a session token is UNAUTHENTICATED', async () => {
    const err = await failure(submit(limitOrder('buy', '1.00', '1'), undefined));
    expect(err.code).toBe(status.UNAUTHENTICATED);
    expect(err.details).toBe(MISSING_TOKEN);
    expect((await failure(listOpen('', undefined))).code).toBe(status.UNAUTHENTICATED);
  });

  it('a call whose deadline has already passed is not applied', async () => {
    const before = h.pairs.get('BTCUSDT')!.sequences;
    const err = await failure(submit(limitOrder('buy', '1.00', '1'), 'acct-late', new Date(Date.now() - 1_000)));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(h.pairs.get('BTCUSDT')!.sequences).toEqual(before);
  });

  describe('SubmitOrderBatch', () => {
    it('applies items in order with positional results; a bad item fails alone', async () => {
      const res = await batch(
        {
          orders: [
            limitOrder('sell', '70000.00', '0.1', { clientOrderId: 'b-1' }),
            limitOrder('sell', '70000.005', '0.1'),
            limitOrder('buy', '70000.00', '0.1', { pair: 'NOPE' }),
            limitOrder('buy', '70000.00', '0.04', { stpMode: StpMode.STP_MODE_NONE }), // self-trade allowed
            limitOrder('buy', '70000.00', '0', { clientOrderId: 'b-zero' }),
          ],
        },
        'acct-batch',
      );
      expect(res.results.map((r) => [r.error?.code ?? 0, r.order?.status])).toEqual([
        [0, OrderStatus.ORDER_STATUS_NEW],
        [status.INVALID_ARGUMENT, undefined],
        [status.NOT_FOUND, undefined],
        [0, OrderStatus.ORDER_STATUS_FILLED],
        [status.INVALID_ARGUMENT, OrderStatus.ORDER_STATUS_REJECTED],
      ]);
      expect(res.results[1]!.error).toMatchObject({ field: 'price', rejectReason: RejectReason.REJECT_REASON_INVALID_PRICE, message: 'price: 70000.005 is not a multiple of the tick size 0.01' });
      // a self-trade: the account owns both sides, so it gets the taker's and the maker's fill
      expect(res.results[3]!.events.map((e) => [e.event?.$case, e.orderId])).toEqual([
        ['accepted', res.results[3]!.order!.orderId],
        ['filled', res.results[3]!.order!.orderId],
        ['filled', res.results[0]!.order!.orderId],
      ]);
      const first = await getOrder(byClientId('BTCUSDT', 'b-1'), 'acct-batch');
      expect(first.order).toMatchObject({ status: OrderStatus.ORDER_STATUS_PARTIALLY_FILLED, remainingQuantity: '0.06000' });
      await cancelAll({ pair: 'BTCUSDT', side: Side.SIDE_UNSPECIFIED }, 'acct-batch');
    });

    it('a client order id repeated in one batch: the same fields answer the first answer (its fills too), other fields are ALREADY_EXISTS, another pair is its own', async () => {
      await submit(limitOrder('sell', '3.00', '1'), 'acct-batch-rep-maker');
      const res = await batch(
        {
          orders: [
            limitOrder('buy', '3.00', '1', { clientOrderId: 'rep' }),
            limitOrder('buy', '3.00', '1', { clientOrderId: 'rep' }),
            limitOrder('buy', '3.01', '1', { clientOrderId: 'rep' }),
            limitOrder('buy', '3.00', '1', { clientOrderId: 'rep', pair: 'ETHUSDT' }),
          ],
        },
        'acct-batch-rep',
      );
      expect(res.results.map((r) => r.error?.code ?? 0)).toEqual([0, 0, status.ALREADY_EXISTS, 0]);
      // The first answer as it was sent, events included: the order filled against the maker at once.
      expect(res.results[0]!.order).toMatchObject({ status: OrderStatus.ORDER_STATUS_FILLED });
      expect(res.results[0]!.events.map((e) => e.event?.$case)).toEqual(['accepted', 'filled']);
      expect(res.results[1]!.order).toEqual(res.results[0]!.order);
      expect(res.results[1]!.events).toEqual(res.results[0]!.events);
      expect(res.results[2]!.error).toMatchObject({ field: 'client_order_id' });
      expect(res.results[3]!.order).toMatchObject({ pair: 'ETHUSDT', clientOrderId: 'rep', status: OrderStatus.ORDER_STATUS_NEW });
      expect((await listOpen('ETHUSDT', 'acct-batch-rep')).orders).toHaveLength(1);
      await cancelAll({ pair: 'ETHUSDT', side: Side.SIDE_UNSPECIFIED }, 'acct-batch-rep');
    });

    it('an empty batch is INVALID_ARGUMENT on orders', async () => {
      const err = await failure(batch({ orders: [] }, 'acct-batch'));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.metadata.get('x-field')).toEqual(['orders']);
    });
  });
});

describe('deadlines checked on the server', () => {
  it('a call the server sees as expired is DEADLINE_EXCEEDED and not applied', async () => {
    // The server's clock runs an hour ahead, so every deadline is already past when the handler runs.
    const late = await startHarness({ nowMs: () => Date.now() + 3_600_000 });
    try {
      const err = await failure(
        unary(late.orders.submitOrder.bind(late.orders), limitOrder('buy', '1.00', '1'), 'acct', { deadline: new Date(Date.now() + 30_000) }),
      );
      expect(err.code).toBe(status.DEADLINE_EXCEEDED);
      expect(err.details).toMatch(/not applied/);
      expect(late.pairs.get('BTCUSDT')!.sequences).toEqual({ event: 0, marketData: 0, lastOrderId: 0 });
      // without a deadline the same call is applied
      await unary(late.orders.submitOrder.bind(late.orders), limitOrder('buy', '1.00', '1'), 'acct');
      expect(late.pairs.get('BTCUSDT')!.sequences.lastOrderId).toBe(1);
    } finally {
      await late.close();
    }
  });
});
