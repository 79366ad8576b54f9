/**
 * trading.v1.OrdersService: order entry for one authenticated account. Parses requests (codec.ts),
 * applies them to the pair, and renders results; business outcomes (IOC remainder, FOK not fillable)
 * are OK responses, core rejections leave through errors.ts. Unary, batch and stream share one path
 * per command kind so they cannot disagree.
 *
 * With session hooks (order-session-hooks.ts) every call, batch and flow message first takes its cost
 * from the account's rate limit, and new orders with a client_order_id are idempotent: an identical
 * resubmission is answered with the original result and never creates a second order (see
 * "Idempotency" below and the proto comments). All awaiting happens before or after a command is
 * applied, never during: applying stays synchronous, so the pair stays single-writer.
 *
 * With a DurabilityGate (PostgreSQL journal) a pair refuses commands while the journal is unavailable
 * (UNAVAILABLE naming PostgreSQL, nothing applied), and every reply — unary, batch, OrderFlow — leaves
 * only once the journal holds everything the pair applied up to it (ack after durable). A command applied
 * whose journal write then failed is answered UNAVAILABLE "applied, not yet durable": the client learns
 * its fate later by client_order_id. Reads reply only with durable state. Idempotency records go to the
 * session store after durability, so a restart never finds a record of an order the journal lost.
 */
import { status, type Metadata, type ServerDuplexStream } from '@grpc/grpc-js';
import { OrderType, TimeInForce, type AccountId } from '../../core/types.ts';
import type { Rejection } from '../../core/order-book.ts';
import { RejectCode } from '../../core/reasons.ts';
import type { OrderRecord } from '../../pairs/order-registry.ts';
import type { ClientOrderArchive } from '../../ports/client-order-archive.ts';
import type { OrderRow } from '../../ports/journal.ts';
import type { NewOrderRequest, OrderEvent as PairOrderEvent, TradingPair, CommandResult as PairCommandResult } from '../../pairs/trading-pair.ts';
import type { TradingPairs } from '../../pairs/trading-pairs.ts';
import { ValidationError } from '../../pairs/errors.ts';
import { checkAdmission, checkDeadline, logIfUnexpected, unaryAsync, type CallContext } from './call-context.ts';
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
import { LimitReachedError, RejectionError, ResourceExhaustedError, UnavailableError, describeError, describeRejection, toItemError, toStatus, type ErrorFacts } from './errors.ts';
import { OrderFlowResponse, SubmitOrderResponse } from './generated/trading/v1/orders.ts';
import { endSlowStream, type StreamTicket } from './stream-limits.ts';
import { echo } from './echo.ts';
import type { OrderSessionHooks } from './order-session-hooks.ts';
import { settleAll, type DurabilityGate } from './durability-gate.ts';
import type {
  BatchItemResult,
  CancelOrderRequest,
  CommandResult,
  OrderCommand,
  OrderFlowMessage,
  OrderFlowRequest,
  OrdersServiceServer,
  ReplaceOrderRequest,
  SubmitOrderRequest,
} from './generated/trading/v1/orders.ts';
import type { Order, OrderEvent } from './generated/trading/v1/types.ts';

interface Applied {
  pair: TradingPair;
  result: PairCommandResult;
}

// ---- Idempotency ----
//
// A new order with a client_order_id is looked for first in the pair's order registry (open and
// retained closed orders; after a restart it holds what recovery replayed from the journal), then in
// the first answers on record: earlier in the same call (batch, flow message) and in the session
// store's fast path (kept IDEMPOTENCY_TTL_MS, also for orders the registry no longer retains). Found
// with the same fields, the original result is the answer (the first response byte for byte when on
// record; from the registry alone, the order's current state without events) and nothing is applied. Found with
// different fields: ALREADY_EXISTS. A submission the engine rejected created no order, so a retry of it
// is a new attempt. Every read is repeated synchronously right before applying, so two resubmissions
// racing each other still make one order.

/** The request fields that must match for a resubmission to count as the same order. */
function fingerprint(o: Pick<NewOrderRequest, 'side' | 'type' | 'tif' | 'postOnly' | 'price' | 'quantity' | 'stp'>): string {
  return `${o.side}.${o.type}.${o.tif}.${o.postOnly ? 1 : 0}.${o.price}.${o.quantity}.${o.stp}`;
}

/** Version tag of the fast-path record: `o1|<fingerprint>|<SubmitOrderResponse, base64>`. */
const RECORD_TAG = 'o1';

interface OriginalSubmission {
  fingerprint: string;
  response: SubmitOrderResponse;
}

function encodeOriginal(original: OriginalSubmission): string {
  return `${RECORD_TAG}|${original.fingerprint}|${Buffer.from(SubmitOrderResponse.encode(original.response).finish()).toString('base64')}`;
}

/** undefined for a record this version cannot read (treated as absent: the registry still answers). */
function decodeOriginal(record: string): OriginalSubmission | undefined {
  const first = record.indexOf('|');
  const second = record.indexOf('|', first + 1);
  if (first < 0 || second < 0 || record.slice(0, first) !== RECORD_TAG) return undefined;
  try {
    return { fingerprint: record.slice(first + 1, second), response: SubmitOrderResponse.decode(Buffer.from(record.slice(second + 1), 'base64')) };
  } catch {
    return undefined;
  }
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

/** An order the `orders` table holds, as the registry would (the event sequence is not kept there: 0). */
function archivedRecord(account: AccountId, row: OrderRow): OrderRecord {
  return { ...row, account, cancelReason: row.cancelReason as OrderRecord['cancelReason'], lastSequence: 0 };
}

function duplicateWithOtherFields(clientOrderId: string, orderId: string | number): RejectionError {
  return new RejectionError({
    ok: false,
    code: RejectCode.DuplicateOrderId,
    field: 'client_order_id',
    reason: `client order id ${JSON.stringify(clientOrderId)} is already used by order ${orderId} with different fields; use a new client order id (or GetOrder to see that order)`,
  });
}

/** A submission parsed and checked for idempotency, before it is applied. */
interface PreparedSubmit {
  pair: TradingPair;
  order: NewOrderRequest;
  fingerprint: string;
  /** The fast-path record read for its client order id (undefined: none, or no client order id). */
  recorded: OriginalSubmission | undefined;
  /** The order the `orders` table holds for its client order id (asked only when nothing faster knows it). */
  archived: OrderRow | undefined;
}

/** The answer to one submission: what to send, and the record to remember (new orders with a client order id). */
interface SubmitAnswer {
  pair: TradingPair;
  response: SubmitOrderResponse;
  /** Set when the engine refused the order: a unary call fails with it, an item reports it. */
  rejection: Rejection | undefined;
  remember: OriginalSubmission | undefined;
}

/**
 * An account's events reach each of its OrderFlow streams as the same array: encoded once for all of
 * them (the wire message depends only on the pair and the events).
 */
const encodedEventMessages = new WeakMap<readonly PairOrderEvent[], Buffer>();
function eventMessages(pair: TradingPair, events: readonly PairOrderEvent[]): OrderFlowMessage[] {
  return events.map((e) => ({ message: { $case: 'event', value: orderEventToWire(pair.instrument, e) } }));
}
function encodedEvents(pair: TradingPair, events: readonly PairOrderEvent[]): Buffer {
  let buf = encodedEventMessages.get(events);
  if (buf === undefined) encodedEventMessages.set(events, (buf = Buffer.from(OrderFlowResponse.encode({ messages: eventMessages(pair, events) }).finish())));
  return buf;
}

/** OrderFlow replies waiting for durability per stream before the stream stops reading. */
const MAX_PENDING_FLOW_REPLIES = 64;

function* itemPairs(items: readonly ({ pair: TradingPair } | undefined)[]): Iterable<TradingPair> {
  for (const i of items) if (i !== undefined) yield i.pair;
}

export function createOrdersService(
  ctx: CallContext,
  pairs: TradingPairs,
  hooks?: OrderSessionHooks,
  durability?: DurabilityGate,
  archive?: ClientOrderArchive,
): OrdersServiceServer {
  /**
   * Phase 2b (async): the `orders` table, for client order ids neither the registry nor the fast path
   * knows (one query per pair). Throws UnavailableError when the database cannot answer: without it a
   * retry could not be told from a new order.
   */
  const readArchived = async (name: string, prepared: readonly (PreparedSubmit | ErrorFacts | undefined)[]): Promise<void> => {
    if (archive === undefined) return;
    const account = pairs.accounts.find(name);
    const byPair = new Map<TradingPair, PreparedSubmit[]>();
    for (const p of prepared) {
      if (p === undefined || !('pair' in p)) continue;
      const cid = p.order.clientOrderId;
      if (cid === '' || p.recorded !== undefined) continue;
      if (account !== undefined && p.pair.findByClientOrderId(account, cid) !== undefined) continue;
      // Nothing of this account was ever forgotten here: the registry's "not found" is the whole truth.
      if (!p.pair.mayHaveForgottenClientOrders(account)) continue;
      let list = byPair.get(p.pair);
      if (list === undefined) byPair.set(p.pair, (list = []));
      list.push(p);
    }
    await Promise.all(
      [...byPair].map(async ([pair, list]) => {
        const found = await archive.findByClientOrderIds(pair.symbol, name, list.map((p) => p.order.clientOrderId));
        for (const p of list) p.archived = found.get(p.order.clientOrderId);
      }),
    );
  };

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
  /** Waits until everything `pair` applied so far is durable; resolves at once without a journal. */
  const settled = async (pair: TradingPair): Promise<void> => {
    const p = durability?.settled(pair);
    if (p !== undefined) await p;
  };

  /** The account name the call acts for (checked by the authenticator). */
  const callerOf = (call: { metadata: Metadata }): string => ctx.authenticator.authenticate(call.metadata);
  /** For reads: an account never seen has no orders, and reading must not grow the table. */
  const knownAccountOf = (name: string): number => pairs.accounts.find(name) ?? 0;

  /** Takes the call's cost from the account's rate limit; resolves at once without hooks. */
  const admit = async (name: string, cost: number, call: { getDeadline(): Date | number }): Promise<void> => {
    if (hooks === undefined || cost === 0) return;
    await hooks.admit(name, cost);
    checkDeadline(ctx, call); // the wait may have outlived the deadline; nothing is applied then
  };

  // ---- one command each; they throw for bad input and return core outcomes as values ----

  /** Phase 1 (sync): parse and validate; reads nothing asynchronous. */
  const parseSubmit = (req: SubmitOrderRequest): PreparedSubmit => {
    ctx.checkNewOrders(req.pair);
    const pair = resolvePair(pairs, req.pair);
    const order = parseNewOrder(pair.instrument, req);
    return { pair, order, fingerprint: fingerprint(order), recorded: undefined, archived: undefined };
  };

  /** Phase 2 (async): the fast-path record of the client order id, if any. Failure to read is not fatal. */
  const readRecorded = async (name: string, p: PreparedSubmit): Promise<void> => {
    if (hooks === undefined || p.order.clientOrderId === '') return;
    try {
      const raw = await hooks.lookupClientOrder(name, p.pair.symbol, p.order.clientOrderId);
      p.recorded = raw === undefined ? undefined : decodeOriginal(raw);
    } catch (err) {
      // Redis down beyond what the resilient store absorbs: the registry still guards against a second order.
      ctx.logger.error(`client order id lookup failed for ${p.pair.symbol}; the order registry alone decides`, err);
    }
  };

  /**
   * Phase 3 (sync): the idempotency decision against everything known now, then the submit. `earlier`
   * holds this call's own new orders by pair and client order id.
   */
  const applySubmit = (account: AccountId, p: PreparedSubmit, earlier: Map<string, OriginalSubmission>): SubmitAnswer => {
    const { pair, order } = p;
    const cid = order.clientOrderId;
    if (cid !== '') {
      // The first answer as sent, when this call or the session store still has it (with the fields it had).
      const original = earlier.get(`${pair.symbol}\n${cid}`) ?? p.recorded;
      // The registry first: it is the pair's own truth (after a restart, what recovery replayed).
      const existing: OrderRecord | undefined = pair.findByClientOrderId(account, cid);
      if (existing !== undefined) {
        // Compared with the submitted fields when on record: a replace since then changed price/quantity.
        if ((original?.fingerprint ?? fingerprint(existing)) !== p.fingerprint) throw duplicateWithOtherFields(cid, existing.orderId);
        return { pair, response: original?.response ?? { order: orderToWire(pair.instrument, existing), events: [] }, rejection: undefined, remember: undefined };
      }
      // Not retained by the registry any more (closed and evicted), but still within the idempotency TTL.
      if (original !== undefined) {
        if (original.fingerprint !== p.fingerprint) throw duplicateWithOtherFields(cid, original.response.order?.orderId ?? '?');
        return { pair, response: original.response, rejection: undefined, remember: undefined };
      }
      // Only the orders table still knows it: its current state, without events.
      const archived = p.archived;
      if (archived !== undefined) {
        if (fingerprint(archived) !== p.fingerprint) throw duplicateWithOtherFields(cid, archived.orderId);
        return { pair, response: { order: orderToWire(pair.instrument, archivedRecord(account, archived)), events: [] }, rejection: undefined, remember: undefined };
      }
    }
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
    const response: SubmitOrderResponse = {
      order: result.order && orderToWire(pair.instrument, result.order),
      events: result.events.map((e) => orderEventToWire(pair.instrument, e)),
    };
    if (!result.outcome.ok) return { pair, response, rejection: result.outcome, remember: undefined };
    const remember = cid === '' ? undefined : { fingerprint: p.fingerprint, response };
    if (remember !== undefined) earlier.set(`${pair.symbol}\n${cid}`, remember);
    return { pair, response, rejection: undefined, remember };
  };

  /** Phase 4 (async): records first results in the fast path. A failure is logged; the registry still guards. */
  const rememberAll = async (name: string, answers: readonly (SubmitAnswer | undefined)[]): Promise<void> => {
    if (hooks === undefined) return;
    const writes: Promise<unknown>[] = [];
    for (const a of answers) {
      if (a?.remember === undefined) continue;
      const cid = a.response.order?.clientOrderId ?? '';
      if (cid === '') continue;
      writes.push(
        hooks.rememberClientOrder(name, a.pair.symbol, cid, encodeOriginal(a.remember)).catch((err: unknown) => {
          ctx.logger.error(`could not record client order id for ${a.pair.symbol} in the session store`, err);
        }),
      );
    }
    if (writes.length > 0) await Promise.all(writes);
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
    if (hooks !== undefined) {
      const reads: Promise<void>[] = [];
      for (const p of prepared) if (p !== undefined && 'pair' in p && p.order.clientOrderId !== '') reads.push(readRecorded(name, p));
      if (reads.length > 0) await Promise.all(reads);
    }
    try {
      await readArchived(name, prepared);
    } catch (err) {
      // The database cannot say whether these ids were used: those submissions are refused, nothing applied.
      const facts = describeError(err);
      return prepared.map((p) => (p !== undefined && 'pair' in p && p.order.clientOrderId !== '' && p.recorded === undefined && p.archived === undefined ? facts : p));
    }
    return prepared;
  };

  /** Phase 3 for one prepared item: the answer, or the error as data. */
  const applyItem = (what: string, account: AccountId, p: PreparedSubmit | ErrorFacts, earlier: Map<string, OriginalSubmission>): { error: ErrorFacts | undefined; answer: SubmitAnswer | undefined } => {
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
    earlier: Map<string, OriginalSubmission>,
  ): { result: CommandResult; answer: SubmitAnswer | undefined; pair: TradingPair | undefined } => {
    if (cmd.command?.$case === 'submit' && prepared !== undefined) {
      const { error, answer } = applyItem('OrderFlow command', account, prepared, earlier);
      return { result: { correlationId: cmd.correlationId, error: error && toItemError(error), order: answer?.response.order }, answer, pair: answer?.pair };
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
    const order = applied?.result.order;
    return { result: { correlationId: cmd.correlationId, error: error && toItemError(error), order: order && orderToWire(applied.pair.instrument, order) }, answer: undefined, pair: applied?.pair };
  };

  return {
    submitOrder: unaryAsync(ctx, 'SubmitOrder', async (req: SubmitOrderRequest, call) => {
      const name = callerOf(call);
      await admit(name, 1, call);
      const prepared = parseSubmit(req);
      await readRecorded(name, prepared);
      await readArchived(name, [prepared]);
      checkDeadline(ctx, call);
      const answer = applySubmit(pairs.accounts.intern(name), prepared, new Map());
      await settled(answer.pair);
      if (answer.rejection !== undefined) throw new RejectionError(answer.rejection);
      await rememberAll(name, [answer]);
      return answer.response;
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
      const earlier = new Map<string, OriginalSubmission>();
      const answers: (SubmitAnswer | undefined)[] = [];
      /** Per item: its pair and that pair's last command sequence right after the item (durability check). */
      const applied: ({ pair: TradingPair; sequence: number } | undefined)[] = [];
      const results: BatchItemResult[] = prepared.map((p) => {
        const { error, answer } = applyItem('SubmitOrderBatch item', account, p!, earlier);
        answers.push(answer);
        applied.push(answer && { pair: answer.pair, sequence: answer.pair.lastCommandSequence });
        return { error: error && toItemError(error), order: answer?.response.order, events: answer?.response.events ?? [] };
      });
      const failure = await settleItems(applied);
      if (failure !== undefined) {
        // Items whose journal write failed: applied, not yet durable. Their first results are not remembered.
        for (let i = 0; i < results.length; i++) {
          const a = applied[i];
          if (a === undefined || durability!.isDurable(a.pair, a.sequence)) continue;
          results[i] = { ...results[i]!, error: toItemError(failure) };
          answers[i] = undefined;
        }
      }
      await rememberAll(name, answers);
      return { results };
    }),

    orderFlow: (call: ServerDuplexStream<OrderFlowRequest, OrderFlowResponse>) => {
      let name: string;
      let account: number;
      let ticket: StreamTicket;
      try {
        checkAdmission(ctx, call);
        name = callerOf(call);
        account = pairs.accounts.intern(name);
        ticket = ctx.streams.admit('OrderFlow', call.getPeer(), name);
      } catch (err) {
        call.emit('error', toStatus(err));
        return;
      }
      let closed = false;
      /** When the stream's session was last known live (the interceptor checked it as the stream opened). */
      let sessionCheckedAtMs = ctx.nowMs();
      /** Messages of the batch being applied; events land here so they precede their command's result. */
      let batch: OrderFlowMessage[] | undefined;
      /** Requests received but not yet applied: applied strictly in order, one at a time. */
      const inbox: OrderFlowRequest[] = [];
      let working = false;
      let writeBlocked = false;
      /** Messages read ahead while one is being applied; beyond this, reading pauses. */
      const MAX_READ_AHEAD = 8;

      /**
       * With a journal, a message's reply waits for durability while the next messages are applied
       * (pipelined); replies leave in order through `replyTail`. Order events published meanwhile are
       * buffered and sent ahead of the next reply, so a command's events still precede its result.
       */
      let replyTail: Promise<void> = Promise.resolve();
      let pendingReplies = 0;
      let heldEvents: OrderFlowMessage[] = [];

      const updateFlow = (): void => {
        if (closed) return;
        if (writeBlocked || inbox.length >= MAX_READ_AHEAD || pendingReplies >= MAX_PENDING_FLOW_REPLIES) call.pause();
        else call.resume();
      };

      const outbox = ctx.streams.outbox(call, (reason) => {
        if (closed) return;
        abandon();
        endSlowStream(call, () => call.emit('error', toStatus(reason)), ctx.streams.limits.slowConsumerGraceMs);
      });
      const writeEncoded = (message: Buffer): void => {
        if (closed) return;
        if (!outbox.write(message)) return;
        if (call.writableNeedDrain) {
          writeBlocked = true; // stop reading commands until the client reads results
          updateFlow();
        }
        if (call.writableLength > ctx.maxQueuedMessages) close(new ResourceExhaustedError('slow consumer: too many messages queued; stream ended'));
      };
      const write = (response: OrderFlowResponse): void => {
        if (!closed) writeEncoded(Buffer.from(OrderFlowResponse.encode(response).finish()));
      };
      call.on('drain', () => {
        writeBlocked = false;
        updateFlow();
      });

      const unsubscribe = pairs.subscribeAccount(account, (pair, events) => {
        if (closed) return;
        if (batch !== undefined) batch.push(...eventMessages(pair, events));
        else if (pendingReplies > 0) heldEvents.push(...eventMessages(pair, events));
        else writeEncoded(encodedEvents(pair, events));
      });
      const unregister = ctx.registerStream((reason) => close(reason));

      function close(reason?: Error): void {
        if (closed) return;
        closed = true;
        inbox.length = 0;
        unsubscribe();
        unregister();
        outbox.release();
        ticket.release();
        if (reason === undefined) call.end();
        else call.emit('error', toStatus(reason));
      }
      function abandon(): void {
        if (closed) return;
        closed = true;
        inbox.length = 0;
        unsubscribe();
        unregister();
        outbox.release();
        ticket.release();
      }

      /** One flow message: admission, rate limit, records, then every command applied synchronously, then the reply. */
      const handle = async (req: OrderFlowRequest): Promise<void> => {
        if (ctx.isShuttingDown()) throw new UnavailableError('server', 'server is shutting down; commands not applied');
        checkDeadline(ctx, call);
        if (req.commands.length > MAX_BATCH_ITEMS) throw new ValidationError('commands', `must hold at most ${MAX_BATCH_ITEMS} commands, got ${req.commands.length}`);
        const commands = req.commands;
        let prepared: (PreparedSubmit | ErrorFacts | undefined)[] = [];
        if (hooks !== undefined) {
          try {
            // A stream outlives logouts and expiry: its session is checked again when due. Gone →
            // UnauthenticatedError, which ends the stream (below, by rethrowing).
            if (hooks.revalidate !== undefined && ctx.nowMs() - sessionCheckedAtMs >= hooks.streamRecheckMs) {
              await hooks.revalidate(call.metadata);
              sessionCheckedAtMs = ctx.nowMs();
            }
            await admit(name, commands.length, call);
          } catch (err) {
            // A refused message is answered, not fatal: every command reports the refusal (with the retry
            // hint in its message), or that the session store could not be asked. Nothing was applied.
            if (closed) return;
            const facts = describeError(err);
            if (facts.code !== status.RESOURCE_EXHAUSTED && facts.code !== status.UNAVAILABLE) throw err;
            write({ messages: commands.map((c) => ({ message: { $case: 'result', value: { correlationId: c.correlationId, error: toItemError(facts), order: undefined } } })) });
            return;
          }
        }
        const anySubmit = commands.some((c) => c.command?.$case === 'submit');
        if (anySubmit) prepared = await prepareSubmits(name, 'OrderFlow command', commands.map((c) => (c.command?.$case === 'submit' ? c.command.value : undefined)));
        if (closed) return;
        if (ctx.isShuttingDown()) throw new UnavailableError('server', 'server is shutting down; commands not applied');
        checkDeadline(ctx, call);
        const earlier = new Map<string, OriginalSubmission>();
        const answers: (SubmitAnswer | undefined)[] = [];
        const applied: ({ pair: TradingPair; sequence: number; result: CommandResult } | undefined)[] = [];
        batch = [];
        let messages: OrderFlowMessage[];
        try {
          for (let i = 0; i < commands.length; i++) {
            const { result, answer, pair } = runFlowCommand(account, commands[i]!, prepared[i], earlier);
            answers.push(answer);
            applied.push(pair && { pair, sequence: pair.lastCommandSequence, result });
            batch.push({ message: { $case: 'result', value: result } });
          }
        } finally {
          messages = batch;
          batch = undefined;
        }
        const wait = settleAll(durability, itemPairs(applied));
        // Awaited only once the replies before it are out: marked handled now, or a journal failure that
        // rejects it meanwhile is an unhandled rejection that kills the process (found by the chaos drill
        // postgres-reset-peer). The `await wait` below still sees the rejection.
        wait?.catch(() => {});
        if (wait === undefined && pendingReplies === 0) {
          write({ messages });
          await rememberAll(name, answers);
          return;
        }
        pendingReplies++;
        replyTail = replyTail.then(async () => {
          let failure: ErrorFacts | undefined;
          try {
            await wait;
          } catch (err) {
            failure = describeError(err);
          }
          if (failure !== undefined) {
            // Applied, not yet durable: those results carry UNAVAILABLE and are not remembered.
            for (let i = 0; i < applied.length; i++) {
              const a = applied[i];
              if (a === undefined || durability!.isDurable(a.pair, a.sequence)) continue;
              a.result.error = toItemError(failure);
              answers[i] = undefined;
            }
          }
          pendingReplies--;
          const out = heldEvents.length > 0 ? [...heldEvents, ...messages] : messages;
          heldEvents = [];
          write({ messages: out });
          updateFlow();
          await rememberAll(name, answers);
        }).catch((err: unknown) => {
          logIfUnexpected(ctx, 'OrderFlow reply', err);
          close(err instanceof Error ? err : new Error(String(err)));
        });
      };

      /** The client half-closed: the stream ends once what it sent is applied and answered. */
      let ended = false;
      const pump = (): void => {
        if (working || closed) return;
        const req = inbox.shift();
        if (req === undefined) {
          if (ended) void replyTail.then(() => close());
          return;
        }
        working = true;
        updateFlow();
        handle(req).then(
          () => {
            working = false;
            pump();
          },
          (err: unknown) => {
            working = false;
            logIfUnexpected(ctx, 'OrderFlow message', err);
            close(err instanceof Error ? err : new Error(String(err)));
          },
        );
      };

      call.on('data', (req: OrderFlowRequest) => {
        if (closed) return;
        inbox.push(req);
        updateFlow();
        pump();
      });
      call.on('end', () => {
        // Commands already received are still applied and answered before the stream ends.
        ended = true;
        pump();
      });
      call.on('cancelled', abandon);
      call.on('error', abandon);
    },
  };
}
