/**
 * trading.v1.OrdersService: order entry for one authenticated account. Parses requests (codec.ts),
 * applies them to the pair, and renders results; business outcomes (IOC remainder, FOK not fillable)
 * are OK responses, core rejections leave through errors.ts. Unary, batch and stream share one path
 * per command kind so they cannot disagree.
 */
import type { Metadata, ServerDuplexStream } from '@grpc/grpc-js';
import { RejectCode } from '../../core/reasons.ts';
import type { TradingPair, CommandResult as PairCommandResult } from '../../pairs/trading-pair.ts';
import type { TradingPairs } from '../../pairs/trading-pairs.ts';
import { ValidationError } from '../../pairs/errors.ts';
import { checkAdmission, checkDeadline, logIfUnexpected, unary, type CallContext } from './call-context.ts';
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
import { RejectionError, ResourceExhaustedError, UnavailableError, describeError, describeRejection, toItemError, toStatus, type ErrorFacts } from './errors.ts';
import type {
  BatchItemResult,
  CancelOrderRequest,
  CommandResult,
  OrderCommand,
  OrderFlowMessage,
  OrderFlowRequest,
  OrderFlowResponse,
  OrdersServiceServer,
  ReplaceOrderRequest,
  SubmitOrderRequest,
} from './generated/trading/v1/orders.ts';
import type { Order, OrderEvent } from './generated/trading/v1/types.ts';

interface Applied {
  pair: TradingPair;
  result: PairCommandResult;
}

export function createOrdersService(ctx: CallContext, pairs: TradingPairs): OrdersServiceServer {
  /** The account id the call acts for; allocating it on first sight. */
  const accountOf = (call: { metadata: Metadata }): number => pairs.accounts.intern(ctx.authenticator.authenticate(call.metadata));
  /** For reads: an account never seen has no orders, and reading must not grow the table. */
  const knownAccountOf = (call: { metadata: Metadata }): number =>
    pairs.accounts.find(ctx.authenticator.authenticate(call.metadata)) ?? 0;

  // ---- one command each; they throw for bad input and return core outcomes as values ----

  const submit = (account: number, req: SubmitOrderRequest): Applied => {
    ctx.checkNewOrders();
    const pair = resolvePair(pairs, req.pair);
    const order = parseNewOrder(pair.instrument, req);
    return { pair, result: pair.submit(account, order) };
  };

  const cancel = (account: number, req: CancelOrderRequest): Applied => {
    const pair = resolvePair(pairs, req.pair);
    const orderId = resolveOrderRef(pair, account, req.order);
    return { pair, result: pair.cancel(account, orderId) };
  };

  const replace = (account: number, req: ReplaceOrderRequest): Applied => {
    ctx.checkNewOrders();
    const pair = resolvePair(pairs, req.pair);
    const orderId = resolveOrderRef(pair, account, req.order);
    const price = req.price === '' ? undefined : parsePrice(pair.instrument, req.price);
    const quantity = req.quantity === '' ? undefined : parseQuantity(pair.instrument, req.quantity);
    return { pair, result: pair.replace(account, orderId, price, quantity) };
  };

  /** Unary form: a rejection is the call's error. */
  const respond = ({ pair, result }: Applied): { order: Order | undefined; events: OrderEvent[] } => {
    if (!result.outcome.ok) throw new RejectionError(result.outcome);
    return { order: result.order && orderToWire(pair.instrument, result.order), events: result.events.map((e) => orderEventToWire(pair.instrument, e)) };
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

  const runFlowCommand = (account: number, cmd: OrderCommand): CommandResult => {
    const { error, applied } = itemOutcome('OrderFlow command', () => {
      switch (cmd.command?.$case) {
        case 'submit':
          return submit(account, cmd.command.value);
        case 'cancel':
          return cancel(account, cmd.command.value);
        case 'replace':
          return replace(account, cmd.command.value);
        default:
          throw new ValidationError('command', 'one of submit, cancel or replace is required');
      }
    });
    const order = applied?.result.order;
    return { correlationId: cmd.correlationId, error: error && toItemError(error), order: order && orderToWire(applied.pair.instrument, order) };
  };

  return {
    submitOrder: unary(ctx, 'SubmitOrder', (req: SubmitOrderRequest, call) => respond(submit(accountOf(call), req))),

    cancelOrder: unary(ctx, 'CancelOrder', (req: CancelOrderRequest, call) => respond(cancel(accountOf(call), req))),

    replaceOrder: unary(ctx, 'ReplaceOrder', (req: ReplaceOrderRequest, call) => respond(replace(accountOf(call), req))),

    getOrder: unary(ctx, 'GetOrder', (req, call) => {
      const account = knownAccountOf(call);
      const pair = resolvePair(pairs, req.pair);
      const orderId = resolveOrderRef(pair, account, req.order);
      const order = pair.getOrder(account, orderId);
      if (order === undefined) throw new RejectionError({ ok: false, code: RejectCode.UnknownOrder, field: 'order_id', reason: `no order ${orderId} for this account` });
      return { order: orderToWire(pair.instrument, order) };
    }),

    listOpenOrders: unary(ctx, 'ListOpenOrders', (req, call) => {
      const account = knownAccountOf(call);
      const selected = req.pair === '' ? pairs.list() : [resolvePair(pairs, req.pair)];
      const orders: Order[] = [];
      for (const pair of selected) for (const o of pair.listOpenOrders(account)) orders.push(orderToWire(pair.instrument, o));
      return { orders };
    }),

    cancelAllOrders: unary(ctx, 'CancelAllOrders', (req, call) => {
      const account = accountOf(call);
      const pair = resolvePair(pairs, req.pair);
      const side = parseOptionalSide(req.side);
      const r = pair.cancelAll(account, side);
      if (!r.outcome.ok) throw new RejectionError(r.outcome);
      return { orders: r.orders.map((o) => orderToWire(pair.instrument, o)), events: r.events.map((e) => orderEventToWire(pair.instrument, e)) };
    }),

    submitOrderBatch: unary(ctx, 'SubmitOrderBatch', (req, call) => {
      const account = accountOf(call);
      if (req.orders.length === 0 || req.orders.length > MAX_BATCH_ITEMS) throw new ValidationError('orders', `must hold 1 to ${MAX_BATCH_ITEMS} orders, got ${req.orders.length}`);
      const results: BatchItemResult[] = req.orders.map((item) => {
        const { error, applied } = itemOutcome('SubmitOrderBatch item', () => submit(account, item));
        if (applied === undefined) return { error: error && toItemError(error), order: undefined, events: [] };
        const { pair, result } = applied;
        return {
          error: error && toItemError(error),
          order: result.order && orderToWire(pair.instrument, result.order),
          events: result.events.map((e) => orderEventToWire(pair.instrument, e)),
        };
      });
      return { results };
    }),

    orderFlow: (call: ServerDuplexStream<OrderFlowRequest, OrderFlowResponse>) => {
      let account: number;
      try {
        checkAdmission(ctx, call);
        account = accountOf(call);
      } catch (err) {
        call.emit('error', toStatus(err));
        return;
      }
      let closed = false;
      /** Messages of the batch being applied; events land here so they precede their command's result. */
      let batch: OrderFlowMessage[] | undefined;

      const write = (response: OrderFlowResponse): void => {
        if (closed) return;
        if (!call.write(response)) call.pause(); // stop reading commands until the client reads results
        if (call.writableLength > ctx.maxQueuedMessages) close(new ResourceExhaustedError('the client reads too slowly; stream ended'));
      };
      call.on('drain', () => {
        if (!closed) call.resume();
      });

      const unsubscribe = pairs.subscribeAccount(account, (pair, events) => {
        const messages: OrderFlowMessage[] = events.map((e) => ({ message: { $case: 'event', value: orderEventToWire(pair.instrument, e) } }));
        if (batch !== undefined) batch.push(...messages);
        else write({ messages });
      });
      const unregister = ctx.registerStream((reason) => close(reason));

      function close(reason?: Error): void {
        if (closed) return;
        closed = true;
        unsubscribe();
        unregister();
        if (reason === undefined) call.end();
        else call.emit('error', toStatus(reason));
      }
      const abandon = (): void => {
        if (closed) return;
        closed = true;
        unsubscribe();
        unregister();
      };

      call.on('data', (req: OrderFlowRequest) => {
        if (closed) return;
        try {
          if (ctx.isShuttingDown()) throw new UnavailableError('server', 'server is shutting down; commands not applied');
          checkDeadline(ctx, call);
          if (req.commands.length > MAX_BATCH_ITEMS) throw new ValidationError('commands', `must hold at most ${MAX_BATCH_ITEMS} commands, got ${req.commands.length}`);
        } catch (err) {
          close(err as Error);
          return;
        }
        batch = [];
        for (const cmd of req.commands) batch.push({ message: { $case: 'result', value: runFlowCommand(account, cmd) } });
        const messages = batch;
        batch = undefined;
        write({ messages });
      });
      call.on('end', () => close());
      call.on('cancelled', abandon);
      call.on('error', abandon);
    },
  };
}
