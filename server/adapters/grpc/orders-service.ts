/**
 * trading.v1.OrdersService: order entry for one authenticated account. Parses requests (codec.ts),
 * applies them to the pair, and renders results; business outcomes (IOC remainder, FOK not fillable)
 * are OK responses, core rejections leave through errors.ts. Unary, batch and stream share one path
 * per command kind so they cannot disagree; the OrderFlow stream's state machine (reading, pipelining,
 * replies in order) is order-flow-stream.ts, driving these paths.
 *
 * With session hooks (order-session-hooks.ts) every call, batch and flow message first takes its cost
 * from the account's rate limit, and new orders with a client_order_id are idempotent: an identical
 * resubmission is answered with the original result and never creates a second order (see
 * order-idempotency.ts and the proto comments). All awaiting happens before or after a command is
 * applied, never during: applying stays synchronous, so the pair stays single-writer.
 *
 * With a DurabilityGate (PostgreSQL journal) a pair refuses commands while the journal is unavailable
 * (UNAVAILABLE naming PostgreSQL, nothing applied), and every reply — unary, batch, OrderFlow — leaves
 * only once the journal holds everything the pair applied up to it (ack after durable). A command applied
 * whose journal write then failed is answered UNAVAILABLE "applied, not yet durable": the client learns
 * its fate later by client_order_id. Reads reply only with durable state. Idempotency records go to the
 * session store after durability, so a restart never finds a record of an order the journal lost.
 */
import type { Metadata } from '@grpc/grpc-js';
import { OrderType, TimeInForce, type AccountId } from '../../core/types.ts';
import { RejectCode } from '../../core/reasons.ts';
import { validateCancelAll, validateOrderTerms } from '../../core/validation.ts';
import type { ClientOrderArchive } from '../../ports/client-order-archive.ts';
import type { TradingPair, CommandResult as PairCommandResult } from '../../pairs/trading-pair.ts';
import type { TradingPairs } from '../../pairs/trading-pairs.ts';
import { ValidationError } from '../../pairs/errors.ts';
import { checkDeadline, logIfUnexpected, unaryAsync, type CallContext } from './call-context.ts';
import {
  MAX_BATCH_ITEMS,
  orderEventToWire,
  orderToWire,
  parseNewOrder,
  parseOptionalSide,
  parsePrice,
  parseQuantity,
  resolveOrderRef,
  resolvePair,
} from './codec.ts';
import { LimitReachedError, RejectionError, describeError, describeRejection, toItemError, type ErrorFacts } from './errors.ts';
import { echo } from './echo.ts';
import type { OrderSessionHooks } from './order-session-hooks.ts';
import { CallAnswers, OrderIdempotency, type PreparedSubmit, type SubmitAnswer } from './order-idempotency.ts';
import { itemPairs, settleAll, type DurabilityGate } from './durability-gate.ts';
import { createOrderFlow, type FlowResult } from './order-flow-stream.ts';
import { encodeBatchResponse, encodeOrderAnswer, type BatchItem } from './order-wire.ts';
import type { Pending } from './maybe-pending.ts';
import { encodedAs } from './raw-responses.ts';
import type {
  CancelOrderRequest,
  CancelOrderResponse,
  OrderCommand,
  OrdersServiceServer,
  ReplaceOrderRequest,
  SubmitOrderBatchResponse,
  SubmitOrderRequest,
  SubmitOrderResponse,
} from './generated/trading/v1/orders.ts';
import type { Order } from './generated/trading/v1/types.ts';

interface Applied {
  pair: TradingPair;
  result: PairCommandResult;
}

/** Most orders in one ListOpenOrders response (also what page_size 0 means). */
export const MAX_PAGE_SIZE = 5000;

function parsePageSize(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_PAGE_SIZE) throw new ValidationError('page_size', `must be 0 (meaning ${MAX_PAGE_SIZE}) to ${MAX_PAGE_SIZE}, got ${n}`);
  return n === 0 ? MAX_PAGE_SIZE : n;
}

/** A page token is `PAIR:ORDER_ID` of the last order of the previous page (opaque to clients). */
function parsePageToken(token: string, selected: readonly TradingPair[]): { pair: string; orderId: number } | undefined {
  if (token === '') return undefined;
  const m = /^([A-Z0-9]{2,20}):(\d{1,16})$/.exec(token);
  if (m === null || !selected.some((p) => p.symbol === m[1])) throw new ValidationError('page_token', `is not a next_page_token of this listing, got ${echo(token, 32)}`);
  return { pair: m[1]!, orderId: Number(m[2]) };
}

export function createOrdersService(
  ctx: CallContext,
  pairs: TradingPairs,
  hooks?: OrderSessionHooks,
  durability?: DurabilityGate,
  archive?: ClientOrderArchive,
): OrdersServiceServer {
  const idempotency = new OrderIdempotency({ pairs, logger: ctx.logger, hooks, archive });

  /** Refuses a command on `pair` now (journal down, pair stopped); nothing has been applied. */
  const writable = (pair: TradingPair): TradingPair => {
    durability?.checkWritable(pair);
    return pair;
  };
  /**
   * Waits for the pairs of applied items; undefined when every one is durable, else the facts of the
   * failure (items not durable report it).
   */
  const settleItems = async (items: readonly ({ pair: TradingPair } | undefined)[]): Promise<ErrorFacts | undefined> => {
    const wait = settleAll(durability, itemPairs(items));
    if (wait === undefined) return undefined;
    try {
      await wait;
      return undefined;
    } catch (err) {
      return describeError(err);
    }
  };
  /** Until everything `pair` applied so far is durable; done at once without a journal. */
  const settled = (pair: TradingPair): Pending => durability?.settled(pair);

  /** The account name the call acts for (checked by the authenticator). */
  const callerOf = (call: { metadata: Metadata }): string => ctx.authenticator.authenticate(call.metadata);
  /** For reads: an account never seen has no orders, and reading must not grow the table. */
  const knownAccountOf = (name: string): number => pairs.accounts.find(name) ?? 0;

  /** Takes the call's cost from the account's rate limit; done at once without hooks or with an in-process store. */
  const admit = (name: string, cost: number, call: { getDeadline(): Date | number }): Pending => {
    if (hooks === undefined || cost === 0) return undefined;
    const wait = hooks.admit(name, cost);
    // The wait may have outlived the deadline; nothing is applied then.
    return wait?.then(() => checkDeadline(ctx, call));
  };

  // ---- one command each; they throw for bad input and return core outcomes as values ----

  /** Phase 1 (sync): parse and validate; reads nothing asynchronous. */
  const parseSubmit = (req: SubmitOrderRequest): PreparedSubmit => {
    ctx.checkNewOrders(req.pair);
    const pair = resolvePair(pairs, req.pair);
    const order = parseNewOrder(pair.instrument, req);
    // Refused before the pair numbers the order: a bad enum or price rule consumes nothing.
    const invalid = validateOrderTerms(order);
    if (invalid !== undefined) throw new RejectionError(invalid);
    return idempotency.prepare(pair, order);
  };

  /**
   * Phase 3 (sync): the idempotency decision against everything known now, then the submit. `earlier`
   * holds this call's own new orders by pair and client order id.
   */
  const applySubmit = (account: AccountId, p: PreparedSubmit, earlier: CallAnswers): SubmitAnswer => {
    const known = idempotency.original(account, p, earlier);
    if (known !== undefined) return known;
    const { pair, order } = p;
    // An order that may rest counts against the account's open-order cap (IOC/FOK/market never rest).
    if (order.tif === TimeInForce.GTC && order.type === OrderType.Limit) {
      const open = pair.openOrderCountOf(account);
      if (open >= ctx.maxOpenOrdersPerAccount)
        throw new LimitReachedError(
          'pair',
          `this account has ${open} open orders in ${pair.symbol}, the most allowed (MAX_OPEN_ORDERS_PER_ACCOUNT ${ctx.maxOpenOrdersPerAccount}); cancel some before placing more resting orders; nothing was applied`,
        );
    }
    const result = writable(pair).submit(account, order);
    const answer = encodeOrderAnswer(pair.instrument, result.order, result.events);
    if (!result.outcome.ok) return { pair, answer, events: result.events, clientOrderId: order.clientOrderId, rejection: result.outcome, remember: undefined };
    return { pair, answer, events: result.events, clientOrderId: order.clientOrderId, rejection: undefined, remember: idempotency.first(p, answer, earlier) };
  };

  const cancel = (account: number, req: CancelOrderRequest): Applied => {
    const pair = writable(resolvePair(pairs, req.pair));
    const orderId = resolveOrderRef(pair, account, req.order);
    return { pair, result: pair.cancel(account, orderId) };
  };

  const replace = (account: number, req: ReplaceOrderRequest): Applied => {
    ctx.checkNewOrders(req.pair);
    const pair = writable(resolvePair(pairs, req.pair));
    const orderId = resolveOrderRef(pair, account, req.order);
    const price = req.price === '' ? undefined : parsePrice(pair.instrument, req.price);
    const quantity = req.quantity === '' ? undefined : parseQuantity(pair.instrument, req.quantity);
    return { pair, result: pair.replace(account, orderId, price, quantity) };
  };

  /** Unary form (CancelOrderResponse, ReplaceOrderResponse: one shape): a rejection is the call's error. */
  const respond = ({ pair, result }: Applied): CancelOrderResponse => {
    if (!result.outcome.ok) throw new RejectionError(result.outcome);
    return encodedAs(encodeOrderAnswer(pair.instrument, result.order, result.events));
  };

  /** Item form: errors are data. */
  const itemOutcome = (what: string, run: () => Applied): { error: ErrorFacts | undefined; applied: Applied | undefined } => {
    try {
      const applied = run();
      return { error: applied.result.outcome.ok ? undefined : describeRejection(applied.result.outcome), applied };
    } catch (err) {
      logIfUnexpected(ctx, what, err);
      return { error: describeError(err), applied: undefined };
    }
  };

  /** Phases 1-2 for many submissions at once: parse each (errors kept per item), then read their records in parallel. */
  const prepareSubmits = async (name: string, what: string, reqs: readonly (SubmitOrderRequest | undefined)[]): Promise<(PreparedSubmit | ErrorFacts | undefined)[]> => {
    const prepared = reqs.map((req): PreparedSubmit | ErrorFacts | undefined => {
      if (req === undefined) return undefined;
      try {
        return parseSubmit(req);
      } catch (err) {
        logIfUnexpected(ctx, what, err);
        return describeError(err);
      }
    });
    return idempotency.lookUpAll(name, prepared);
  };

  /** Phase 3 for one prepared item: the answer, or the error as data. */
  const applyItem = (what: string, account: AccountId, p: PreparedSubmit | ErrorFacts, earlier: CallAnswers): { error: ErrorFacts | undefined; answer: SubmitAnswer | undefined } => {
    if (!('pair' in p)) return { error: p, answer: undefined };
    try {
      const answer = applySubmit(account, p, earlier);
      return { error: answer.rejection && describeRejection(answer.rejection), answer };
    } catch (err) {
      logIfUnexpected(ctx, what, err);
      return { error: describeError(err), answer: undefined };
    }
  };

  const runFlowCommand = (
    account: number,
    cmd: OrderCommand,
    prepared: PreparedSubmit | ErrorFacts | undefined,
    earlier: CallAnswers,
  ): { result: FlowResult; answer: SubmitAnswer | undefined; pair: TradingPair | undefined } => {
    if (cmd.command?.$case === 'submit' && prepared !== undefined) {
      const { error, answer } = applyItem('OrderFlow command', account, prepared, earlier);
      const result: FlowResult = { kind: 'result', correlationId: cmd.correlationId, error: error && toItemError(error), answer: answer?.answer, order: undefined, inst: undefined };
      return { result, answer, pair: answer?.pair };
    }
    const { error, applied } = itemOutcome('OrderFlow command', () => {
      switch (cmd.command?.$case) {
        case 'cancel':
          return cancel(account, cmd.command.value);
        case 'replace':
          return replace(account, cmd.command.value);
        default:
          throw new ValidationError('command', 'one of submit, cancel or replace is required');
      }
    });
    const result: FlowResult = { kind: 'result', correlationId: cmd.correlationId, error: error && toItemError(error), answer: undefined, order: applied?.result.order, inst: applied?.pair.instrument };
    return { result, answer: undefined, pair: applied?.pair };
  };

  return {
    submitOrder: unaryAsync(ctx, 'SubmitOrder', async (req: SubmitOrderRequest, call) => {
      const name = callerOf(call);
      await admit(name, 1, call);
      const prepared = parseSubmit(req);
      await idempotency.lookUp(name, prepared);
      checkDeadline(ctx, call);
      const answer = applySubmit(pairs.accounts.intern(name), prepared, new CallAnswers());
      await settled(answer.pair);
      if (answer.rejection !== undefined) throw new RejectionError(answer.rejection);
      await idempotency.rememberAll(name, [answer]);
      return encodedAs<SubmitOrderResponse>(answer.answer);
    }),

    cancelOrder: unaryAsync(ctx, 'CancelOrder', async (req: CancelOrderRequest, call) => {
      const name = callerOf(call);
      await admit(name, 1, call);
      const applied = cancel(pairs.accounts.intern(name), req);
      await settled(applied.pair);
      return respond(applied);
    }),

    replaceOrder: unaryAsync(ctx, 'ReplaceOrder', async (req: ReplaceOrderRequest, call) => {
      const name = callerOf(call);
      await admit(name, 1, call);
      const applied = replace(pairs.accounts.intern(name), req);
      await settled(applied.pair);
      return respond(applied);
    }),

    getOrder: unaryAsync(ctx, 'GetOrder', async (req, call) => {
      const name = callerOf(call);
      await admit(name, 1, call);
      const account = knownAccountOf(name);
      const pair = resolvePair(pairs, req.pair);
      durability?.checkReadable(pair);
      const orderId = resolveOrderRef(pair, account, req.order);
      const order = pair.getOrder(account, orderId);
      await settled(pair); // what was read is durable before it is shown
      if (order === undefined) throw new RejectionError({ ok: false, code: RejectCode.UnknownOrder, field: 'order_id', reason: `no order ${orderId} for this account` });
      return { order: orderToWire(pair.instrument, order) };
    }),

    listOpenOrders: unaryAsync(ctx, 'ListOpenOrders', async (req, call) => {
      const name = callerOf(call);
      await admit(name, 1, call);
      const account = knownAccountOf(name);
      const selected = req.pair === '' ? pairs.list() : [resolvePair(pairs, req.pair)];
      const pageSize = parsePageSize(req.page?.pageSize ?? 0);
      const after = parsePageToken(req.page?.pageToken ?? '', selected);
      for (const pair of selected) durability?.checkReadable(pair);
      const orders: Order[] = [];
      let nextPageToken = '';
      let started = after === undefined;
      outer: for (const pair of selected) {
        if (!started && pair.symbol !== after!.pair) continue;
        for (const o of pair.listOpenOrders(account)) {
          if (!started && o.orderId <= after!.orderId) continue;
          if (orders.length === pageSize) {
            const last = orders[orders.length - 1]!;
            nextPageToken = `${last.pair}:${last.orderId}`;
            break outer;
          }
          orders.push(orderToWire(pair.instrument, o));
        }
        started = true;
      }
      await settleAll(durability, selected);
      return { orders, nextPage: nextPageToken === '' ? undefined : { pageToken: nextPageToken } };
    }),

    cancelAllOrders: unaryAsync(ctx, 'CancelAllOrders', async (req, call) => {
      const name = callerOf(call);
      await admit(name, 1, call);
      const account = pairs.accounts.intern(name);
      const pair = writable(resolvePair(pairs, req.pair));
      const side = parseOptionalSide(req.side);
      const invalid = validateCancelAll({ side });
      if (invalid !== undefined) throw new RejectionError(invalid);
      const r = pair.cancelAll(account, side);
      await settled(pair);
      if (!r.outcome.ok) throw new RejectionError(r.outcome);
      return { orders: r.orders.map((o) => orderToWire(pair.instrument, o)), events: r.events.map((e) => orderEventToWire(pair.instrument, e)) };
    }),

    submitOrderBatch: unaryAsync(ctx, 'SubmitOrderBatch', async (req, call) => {
      const name = callerOf(call);
      if (req.orders.length === 0 || req.orders.length > MAX_BATCH_ITEMS) throw new ValidationError('orders', `must hold 1 to ${MAX_BATCH_ITEMS} orders, got ${req.orders.length}`);
      await admit(name, req.orders.length, call);
      const prepared = await prepareSubmits(name, 'SubmitOrderBatch item', req.orders);
      checkDeadline(ctx, call);
      const account = pairs.accounts.intern(name);
      const earlier = new CallAnswers();
      const answers: (SubmitAnswer | undefined)[] = [];
      /** Per item: its pair and that pair's last command sequence right after the item (durability check). */
      const applied: ({ pair: TradingPair; sequence: number } | undefined)[] = [];
      const results: BatchItem[] = prepared.map((p) => {
        const { error, answer } = applyItem('SubmitOrderBatch item', account, p!, earlier);
        answers.push(answer);
        applied.push(answer && { pair: answer.pair, sequence: answer.pair.lastCommandSequence });
        return { error: error && toItemError(error), answer: answer?.answer };
      });
      const failure = await settleItems(applied);
      if (failure !== undefined) {
        // Items whose journal write failed: applied, not yet durable. Their first results are not remembered.
        for (let i = 0; i < results.length; i++) {
          const a = applied[i];
          if (a === undefined || durability!.isDurable(a.pair, a.sequence)) continue;
          results[i]!.error = toItemError(failure);
          answers[i] = undefined;
        }
      }
      await idempotency.rememberAll(name, answers);
      return encodedAs<SubmitOrderBatchResponse>(encodeBatchResponse(results));
    }),

    orderFlow: createOrderFlow(ctx, pairs, { callerOf, admit, prepareSubmits, run: runFlowCommand, rememberAll: (name, answers) => idempotency.rememberAll(name, answers) }, hooks, durability),
  };
}
