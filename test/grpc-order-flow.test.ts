// OrdersService.OrderFlow, the batched bidirectional stream, through a real grpc-js client.
import { status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderCommand, OrderFlowRequest, OrderFlowResponse } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { Liquidity, OrderStatus, RejectReason } from '../server/adapters/grpc/generated/trading/v1/types.ts';
import { UNKNOWN_TOKEN } from '../server/adapters/grpc/session-authenticator.ts';
import { asAccount, bearer, harnessAuth, harnessStore, limitOrder, login, startHarness, unary, type Harness } from './grpc-harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

interface Flow {
  stream: ClientDuplexStream<OrderFlowRequest, OrderFlowResponse>;
  responses: OrderFlowResponse[];
  next(n: number): Promise<void>;
  finished: Promise<{ code: number; details: string }>;
}

async function openFlow(account: string | undefined): Promise<Flow> {
  const stream = h.orders.orderFlow(await asAccount(account));
  const responses: OrderFlowResponse[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  stream.on('data', (r: OrderFlowResponse) => {
    responses.push(r);
    for (const w of waiters) if (responses.length >= w.n) w.resolve();
  });
  const finished = new Promise<{ code: number; details: string }>((resolve) => {
    stream.on('status', (s: { code: number; details: string }) => resolve(s));
    stream.on('error', (e: ServiceError) => resolve({ code: e.code, details: e.details }));
  });
  return {
    stream,
    responses,
    finished,
    next: (n) =>
      new Promise((resolve, reject) => {
        if (responses.length >= n) return resolve();
        waiters.push({ n, resolve });
        setTimeout(() => reject(new Error(`timed out waiting for ${n} responses, have ${responses.length}`)), 5_000);
      }),
  };
}

const submitCmd = (correlationId: string, ...args: Parameters<typeof limitOrder>): OrderCommand => ({
  correlationId,
  command: { $case: 'submit', value: limitOrder(...args) },
});

describe('OrderFlow', () => {
  it('answers a batch with one response: each command’s events, then its result, in order', async () => {
    const flow = await openFlow('flow-a');
    flow.stream.write({
      commands: [
        submitCmd('s1', 'sell', '40000.00', '1', { clientOrderId: 'f-1' }),
        submitCmd('s2', 'sell', '40000.001', '1'),
        { correlationId: 'c1', command: { $case: 'cancel', value: { pair: 'BTCUSDT', order: { $case: 'clientOrderId', value: 'f-1' } } } },
        { correlationId: 'r1', command: { $case: 'replace', value: { pair: 'BTCUSDT', order: { $case: 'orderId', value: '987654' }, price: '1.00', quantity: '' } } },
        { correlationId: 'x1', command: undefined },
      ],
    });
    await flow.next(1);
    const messages = flow.responses[0]!.messages.map((m) =>
      m.message?.$case === 'result'
        ? ['result', m.message.value.correlationId, m.message.value.error?.code ?? 0, m.message.value.order?.status ?? 0]
        : ['event', m.message?.value.event?.$case],
    );
    expect(messages).toEqual([
      ['event', 'accepted'],
      ['result', 's1', 0, OrderStatus.ORDER_STATUS_NEW],
      ['result', 's2', status.INVALID_ARGUMENT, 0],
      ['event', 'cancelled'],
      ['result', 'c1', 0, OrderStatus.ORDER_STATUS_CANCELLED],
      ['result', 'r1', status.NOT_FOUND, 0],
      ['result', 'x1', status.INVALID_ARGUMENT, 0],
    ]);
    const s2 = flow.responses[0]!.messages[2]!.message;
    expect(s2?.$case === 'result' && s2.value.error).toEqual({
      code: status.INVALID_ARGUMENT,
      rejectReason: RejectReason.REJECT_REASON_INVALID_PRICE,
      field: 'price',
      message: 'price: 40000.001 is not a multiple of the tick size 0.01',
    });
    flow.stream.end();
    expect((await flow.finished).code).toBe(status.OK);
  });

  it('streams fills of resting orders caused by other accounts', async () => {
    const flow = await openFlow('flow-maker');
    flow.stream.write({ commands: [submitCmd('m1', 'buy', '20000.00', '1', { pair: 'ETHUSDT' })] });
    await flow.next(1);
    const result = flow.responses[0]!.messages.find((m) => m.message?.$case === 'result')?.message;
    const makerId = result?.$case === 'result' ? result.value.order?.orderId : undefined;
    expect(makerId).toBeDefined();
    await unary(h.orders.submitOrder.bind(h.orders), limitOrder('sell', '20000.00', '0.3', { pair: 'ETHUSDT' }), 'flow-taker');
    await flow.next(2);
    const fill = flow.responses[1]!.messages[0]!.message;
    expect(fill?.$case).toBe('event');
    expect(fill?.$case === 'event' && fill.value).toMatchObject({
      pair: 'ETHUSDT',
      orderId: makerId,
      status: OrderStatus.ORDER_STATUS_PARTIALLY_FILLED,
      event: { $case: 'filled', value: { quantity: '0.3000', remainingQuantity: '0.7000', liquidity: Liquidity.LIQUIDITY_MAKER } },
    });
    flow.stream.end();
    await flow.finished;
  });

  it('carries many commands per message (the high-rate path)', async () => {
    const flow = await openFlow('flow-bulk');
    const commands = Array.from({ length: 500 }, (_, i) => submitCmd(`b${i}`, 'buy', `${1000 + (i % 50)}.00`, '0.01', { pair: 'SOLUSDT' }));
    flow.stream.write({ commands: commands.slice(0, 250) });
    flow.stream.write({ commands: commands.slice(250) });
    await flow.next(2);
    const results = flow.responses.flatMap((r) => r.messages).filter((m) => m.message?.$case === 'result');
    expect(results).toHaveLength(500);
    expect(results.every((m) => m.message?.$case === 'result' && m.message.value.error === undefined)).toBe(true);
    expect(results.map((m) => (m.message?.$case === 'result' ? m.message.value.correlationId : ''))).toEqual(commands.map((c) => c.correlationId));
    expect(h.pairs.get('SOLUSDT')!.openOrderCount).toBe(500);
    flow.stream.end();
    await flow.finished;
  });

  it('a stream without a session token ends with UNAUTHENTICATED', async () => {
    const flow = await openFlow(undefined);
    expect((await flow.finished).code).toBe(status.UNAUTHENTICATED);
  });

  it('a message with more than 1000 commands ends the stream with INVALID_ARGUMENT', async () => {
    const flow = await openFlow('flow-big');
    flow.stream.write({ commands: Array.from({ length: 1001 }, (_, i) => submitCmd(`${i}`, 'buy', '1.00', '1')) });
    const end = await flow.finished;
    expect(end.code).toBe(status.INVALID_ARGUMENT);
    expect(end.details).toMatch(/^commands: /);
    expect(h.pairs.get('BTCUSDT')!.listOpenOrders(h.pairs.accounts.intern('flow-big'))).toEqual([]);
  });
});

describe('OrderFlow and the session behind it', () => {
  it('a stream whose session is logged out ends with UNAUTHENTICATED before its next message is applied', async () => {
    // Re-check the session before every message (the service default is at most once a second).
    const strict = await startHarness({ sessions: { store: harnessStore, authenticator: harnessAuth, sessionTtlMs: 86_400_000, rateLimitBurst: 1_000_000_000, streamRecheckMs: 0 } });
    try {
      const { token } = await login(strict, 'flow-logout');
      const stream = strict.orders.orderFlow(bearer(token));
      const first = new Promise<OrderFlowResponse>((resolve) => stream.once('data', resolve));
      const ended = new Promise<ServiceError>((resolve) => stream.on('error', resolve));
      stream.write({ commands: [submitCmd('before', 'buy', '1.00', '1')] });
      const reply = await first;
      expect(reply.messages.some((m) => m.message?.$case === 'result' && m.message.value.error === undefined)).toBe(true);

      await new Promise<void>((resolve, reject) => strict.sessions.logout({}, bearer(token), (err) => (err ? reject(err) : resolve())));
      stream.write({ commands: [submitCmd('after', 'buy', '1.00', '2')] });
      const err = await ended;
      expect(err.code).toBe(status.UNAUTHENTICATED);
      expect(err.details).toBe(UNKNOWN_TOKEN);
      const account = strict.pairs.accounts.intern('flow-logout');
      expect(strict.pairs.get('BTCUSDT')!.listOpenOrders(account).map((o) => o.quantity)).toEqual([100000]);
    } finally {
      await strict.close();
    }
  });
});
