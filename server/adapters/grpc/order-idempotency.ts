/**
 * Idempotency of new orders by client_order_id, for OrdersService: looking a client order id up
 * (registry, this call's own answers, the session store's fast path, the `orders` table), answering a
 * resubmission with the original result, and recording first results. No applying here: the handlers
 * (orders-service.ts) ask `original()` right before they submit, synchronously.
 *
 * A new order with a client_order_id is looked for first in the pair's order registry (open and
 * retained closed orders; after a restart it holds what recovery replayed from the journal), then in
 * the first answers on record: earlier in the same call (batch, flow message) and in the session
 * store's fast path (kept IDEMPOTENCY_TTL_MS, also for orders the registry no longer retains). Found
 * with the same fields, the original result is the answer (the first response byte for byte when on
 * record; from the registry alone, the order's current state without events) and nothing is applied. Found with
 * different fields: ALREADY_EXISTS. A submission the engine rejected created no order, so a retry of it
 * is a new attempt. Every read is repeated synchronously right before applying, so two resubmissions
 * racing each other still make one order.
 */
import type { Rejection } from '../../core/order-book.ts';
import { RejectCode } from '../../core/reasons.ts';
import type { AccountId } from '../../core/types.ts';
import type { OrderRecord } from '../../pairs/order-registry.ts';
import { recordOfRow } from '../../pairs/pair-projection.ts';
import type { NewOrderRequest, OrderEvent as PairOrderEvent, TradingPair } from '../../pairs/trading-pair.ts';
import type { TradingPairs } from '../../pairs/trading-pairs.ts';
import type { ClientOrderArchive } from '../../ports/client-order-archive.ts';
import type { OrderRow } from '../../ports/journal.ts';
import type { Logger } from './call-context.ts';
import { RejectionError, describeError, type ErrorFacts } from './errors.ts';
import { SubmitOrderResponse } from './generated/trading/v1/orders.ts';
import type { InProcessClientOrders } from '../../ports/session-store.ts';
import type { OrderSessionHooks } from './order-session-hooks.ts';
import type { Pending } from './maybe-pending.ts';
import { encodeOrderAnswer } from './order-wire.ts';
import { findField } from './proto-writer.ts';

/** The request fields that must match for a resubmission to count as the same order. */
export function fingerprint(o: Pick<NewOrderRequest, 'side' | 'type' | 'tif' | 'postOnly' | 'price' | 'quantity' | 'stp'>): string {
  return `${o.side}.${o.type}.${o.tif}.${o.postOnly ? 1 : 0}.${o.price}.${o.quantity}.${o.stp}`;
}

/**
 * Tags of the fast-path record `<tag>|<fingerprint>|<SubmitOrderResponse bytes>`: `o1` carries the bytes
 * in base64 (what goes to Redis), `o2` as a latin1 string, one character per byte (the in-process store:
 * a quarter smaller and a plain copy to make, and the records are most of what an order leaves on the
 * heap). Both read back anywhere: a latin1 string survives a UTF-8 round trip unchanged.
 */
const BASE64_TAG = 'o1';
const LATIN1_TAG = 'o2';

/** A first answer as sent (SubmitOrderResponse bytes, order-wire.ts), with the fields it was for. */
export interface OriginalSubmission {
  fingerprint: string;
  answer: Buffer;
}

function encodeOriginal(original: OriginalSubmission, inProcess: boolean): string {
  return inProcess ? `${LATIN1_TAG}|${original.fingerprint}|${original.answer.toString('latin1')}` : `${BASE64_TAG}|${original.fingerprint}|${original.answer.toString('base64')}`;
}

/** undefined for a record this version cannot read (treated as absent: the registry still answers). */
function decodeOriginal(record: string): OriginalSubmission | undefined {
  const first = record.indexOf('|');
  const second = record.indexOf('|', first + 1);
  if (first < 0 || second < 0) return undefined;
  const tag = record.slice(0, first);
  if (tag !== BASE64_TAG && tag !== LATIN1_TAG) return undefined;
  const answer = Buffer.from(record.slice(second + 1), tag === BASE64_TAG ? 'base64' : 'latin1');
  try {
    findField(answer, 0, [0, 0]); // no field 0: walks the whole message, throws unless it is well formed
  } catch {
    return undefined;
  }
  return { fingerprint: record.slice(first + 1, second), answer };
}

/** The order id of a recorded answer, for the message that names it (a rare path: decoded then). */
function orderIdOf(original: OriginalSubmission): string {
  return SubmitOrderResponse.decode(original.answer).order?.orderId ?? '?';
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
export interface PreparedSubmit {
  pair: TradingPair;
  order: NewOrderRequest;
  fingerprint: string;
  /** The fast-path record read for its client order id (undefined: none, or no client order id). */
  recorded: OriginalSubmission | undefined;
  /** The order the `orders` table holds for its client order id (asked only when nothing faster knows it). */
  archived: OrderRow | undefined;
}

/** The answer to one submission: what to send, and the record to remember (new orders with a client order id). */
export interface SubmitAnswer {
  pair: TradingPair;
  /** SubmitOrderResponse bytes (order-wire.ts): sent as they are, or copied into a batch item / flow result. */
  answer: Buffer;
  /**
   * The pair's events the answer's `events` were encoded from, when the order was applied now (the same
   * array the pair pushed to the account's subscribers, so a flow can copy them from `answer`);
   * undefined for an answer on record.
   */
  events: readonly PairOrderEvent[] | undefined;
  clientOrderId: string;
  /** Set when the engine refused the order: a unary call fails with it, an item reports it. */
  rejection: Rejection | undefined;
  remember: OriginalSubmission | undefined;
}

/**
 * The first answers of one call (batch, flow message), by pair, then client order id: no key string is
 * built per order (a concatenation to flatten and hash on every lookup and again on every record), and
 * a unary call, which records one answer, builds no Map until it does.
 */
export class CallAnswers {
  /** Built on the first answer recorded. */
  private byPair: Map<TradingPair, Map<string, OriginalSubmission>> | undefined;

  get(pair: TradingPair, clientOrderId: string): OriginalSubmission | undefined {
    return this.byPair?.get(pair)?.get(clientOrderId);
  }

  set(pair: TradingPair, clientOrderId: string, original: OriginalSubmission): void {
    const byPair = (this.byPair ??= new Map());
    let m = byPair.get(pair);
    if (m === undefined) byPair.set(pair, (m = new Map()));
    m.set(clientOrderId, original);
  }
}

export interface OrderIdempotencyOptions {
  pairs: TradingPairs;
  logger: Logger;
  /** The session store's fast path. @default none: the registry (and archive) alone decide */
  hooks?: OrderSessionHooks;
  /** The `orders` table, for client order ids the registry forgot. @default none */
  archive?: ClientOrderArchive;
}

export class OrderIdempotency {
  private readonly pairs: TradingPairs;
  private readonly logger: Logger;
  private readonly hooks: OrderSessionHooks | undefined;
  private readonly archive: ClientOrderArchive | undefined;

  constructor(o: OrderIdempotencyOptions) {
    this.pairs = o.pairs;
    this.logger = o.logger;
    this.hooks = o.hooks;
    this.archive = o.archive;
  }

  /** A parsed submission, not yet looked up. */
  prepare(pair: TradingPair, order: NewOrderRequest): PreparedSubmit {
    return { pair, order, fingerprint: fingerprint(order), recorded: undefined, archived: undefined };
  }

  /**
   * Phase 2 for one submission (unary): fast path, then the archive; rejects with UnavailableError when
   * the archive cannot answer. Done at once (undefined) when neither has to be waited for.
   */
  lookUp(name: string, p: PreparedSubmit): Pending {
    const recorded = this.readRecorded(name, p);
    return recorded === undefined ? this.readArchived(name, [p]) : recorded.then(() => this.readArchived(name, [p]));
  }

  /**
   * Phase 2 for many submissions at once (batch, flow message): their records read in parallel. When the
   * archive cannot answer, the submissions it had to answer become that error (refused, nothing applied).
   */
  async lookUpAll(name: string, prepared: (PreparedSubmit | ErrorFacts | undefined)[]): Promise<(PreparedSubmit | ErrorFacts | undefined)[]> {
    const hooks = this.hooks;
    if (hooks?.clientOrdersNow !== undefined) {
      for (const p of prepared) if (p !== undefined && 'pair' in p && p.order.clientOrderId !== '') this.readRecordedNow(hooks.clientOrdersNow, name, p);
    } else if (hooks !== undefined) {
      const reads: Pending[] = [];
      for (const p of prepared) if (p !== undefined && 'pair' in p && p.order.clientOrderId !== '') reads.push(this.readRecorded(name, p));
      if (reads.length > 0) await Promise.all(reads);
    }
    try {
      await this.readArchived(name, prepared);
    } catch (err) {
      // The database cannot say whether these ids were used: those submissions are refused, nothing applied.
      const facts = describeError(err);
      return prepared.map((p) => (p !== undefined && 'pair' in p && p.order.clientOrderId !== '' && p.recorded === undefined && p.archived === undefined ? facts : p));
    }
    return prepared;
  }

  /**
   * Phase 3 (sync, right before applying): the original answer when this client order id was already
   * used with the same fields; throws RejectionError (ALREADY_EXISTS) when used with other fields;
   * undefined for a new order.
   */
  original(account: AccountId, p: PreparedSubmit, earlier: CallAnswers): SubmitAnswer | undefined {
    const { pair } = p;
    const cid = p.order.clientOrderId;
    if (cid === '') return undefined;
    // The first answer as sent, when this call or the session store still has it (with the fields it had).
    const original = earlier.get(pair, cid) ?? p.recorded;
    // The registry first: it is the pair's own truth (after a restart, what recovery replayed).
    const existing: OrderRecord | undefined = pair.findByClientOrderId(account, cid);
    if (existing !== undefined) {
      // Compared with the submitted fields when on record: a replace since then changed price/quantity.
      if ((original?.fingerprint ?? fingerprint(existing)) !== p.fingerprint) throw duplicateWithOtherFields(cid, existing.orderId);
      return { pair, answer: original?.answer ?? encodeOrderAnswer(pair.instrument, existing, []), events: undefined, clientOrderId: cid, rejection: undefined, remember: undefined };
    }
    // Not retained by the registry any more (closed and evicted), but still within the idempotency TTL.
    if (original !== undefined) {
      if (original.fingerprint !== p.fingerprint) throw duplicateWithOtherFields(cid, orderIdOf(original));
      return { pair, answer: original.answer, events: undefined, clientOrderId: cid, rejection: undefined, remember: undefined };
    }
    // Only the orders table still knows it: its current state, without events.
    const archived = p.archived;
    if (archived !== undefined) {
      if (fingerprint(archived) !== p.fingerprint) throw duplicateWithOtherFields(cid, archived.orderId);
      return { pair, answer: encodeOrderAnswer(pair.instrument, recordOfRow(archived, account, 0), []), events: undefined, clientOrderId: cid, rejection: undefined, remember: undefined };
    }
    return undefined;
  }

  /** The record to remember for a new order's first answer (and this call's later items see it); undefined without a client order id. */
  first(p: PreparedSubmit, answer: Buffer, earlier: CallAnswers): OriginalSubmission | undefined {
    const cid = p.order.clientOrderId;
    if (cid === '') return undefined;
    const remember = { fingerprint: p.fingerprint, answer };
    earlier.set(p.pair, cid, remember);
    return remember;
  }

  /**
   * Phase 4: records first results in the fast path (at once in an in-process store; else resolves when
   * written). A failure is logged, never thrown; the registry still guards.
   */
  rememberAll(name: string, answers: readonly (SubmitAnswer | undefined)[]): Pending {
    const hooks = this.hooks;
    if (hooks === undefined) return undefined;
    const now = hooks.clientOrdersNow;
    const writes: Promise<unknown>[] = [];
    for (const a of answers) {
      if (a?.remember === undefined || a.clientOrderId === '') continue;
      if (now !== undefined) {
        try {
          now.rememberClientOrderNow(name, a.pair.symbol, a.clientOrderId, encodeOriginal(a.remember, true));
        } catch (err) {
          this.logger.error(`could not record client order id for ${a.pair.symbol} in the session store`, err);
        }
        continue;
      }
      writes.push(
        hooks.rememberClientOrder(name, a.pair.symbol, a.clientOrderId, encodeOriginal(a.remember, false)).catch((err: unknown) => {
          this.logger.error(`could not record client order id for ${a.pair.symbol} in the session store`, err);
        }),
      );
    }
    return writes.length === 0 ? undefined : Promise.all(writes);
  }

  /** readRecorded for a store in this process. */
  private readRecordedNow(now: InProcessClientOrders, name: string, p: PreparedSubmit): void {
    try {
      const raw = now.lookupClientOrderNow(name, p.pair.symbol, p.order.clientOrderId);
      p.recorded = raw === undefined ? undefined : decodeOriginal(raw);
    } catch (err) {
      this.lookupFailed(p, err);
    }
  }

  private lookupFailed(p: PreparedSubmit, err: unknown): void {
    // Redis down beyond what the resilient store absorbs: the registry still guards against a second order.
    this.logger.error(`client order id lookup failed for ${p.pair.symbol}; the order registry alone decides`, err);
  }

  /** The fast-path record of the client order id, if any. Failure to read is not fatal. */
  private readRecorded(name: string, p: PreparedSubmit): Pending {
    const hooks = this.hooks;
    if (hooks === undefined || p.order.clientOrderId === '') return undefined;
    if (hooks.clientOrdersNow !== undefined) {
      this.readRecordedNow(hooks.clientOrdersNow, name, p);
      return undefined;
    }
    return hooks.lookupClientOrder(name, p.pair.symbol, p.order.clientOrderId).then(
      (raw) => {
        p.recorded = raw === undefined ? undefined : decodeOriginal(raw);
      },
      (err: unknown) => this.lookupFailed(p, err),
    );
  }

  /**
   * The `orders` table, for client order ids neither the registry nor the fast path knows (one query
   * per pair). Throws UnavailableError when the database cannot answer: without it a retry could not be
   * told from a new order.
   */
  private readArchived(name: string, prepared: readonly (PreparedSubmit | ErrorFacts | undefined)[]): Pending {
    const archive = this.archive;
    if (archive === undefined) return undefined;
    const account = this.pairs.accounts.find(name);
    const byPair = new Map<TradingPair, PreparedSubmit[]>();
    for (const p of prepared) {
      if (p === undefined || !('pair' in p)) continue;
      const cid = p.order.clientOrderId;
      if (cid === '' || p.recorded !== undefined) continue;
      if (account !== undefined && p.pair.findByClientOrderId(account, cid) !== undefined) continue;
      // This id of this account was never forgotten here: the registry's "not found" is the whole truth.
      if (!p.pair.mayHaveForgottenClientOrder(account, cid)) continue;
      let list = byPair.get(p.pair);
      if (list === undefined) byPair.set(p.pair, (list = []));
      list.push(p);
    }
    if (byPair.size === 0) return undefined;
    return Promise.all(
      [...byPair].map(async ([pair, list]) => {
        const found = await archive.findByClientOrderIds(pair.symbol, name, list.map((p) => p.order.clientOrderId));
        for (const p of list) p.archived = found.get(p.order.clientOrderId);
      }),
    );
  }
}
