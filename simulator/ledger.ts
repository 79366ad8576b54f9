/**
 * What a simulation run knows for certain about its own orders, for drills to check against the service
 * afterwards (GetOrder / ListOpenOrders / the `orders` and `trades` tables), by client order id:
 * - `orders`: every order whose submit was acknowledged (OK), with its last known state (filled quantity,
 *   status, price after replaces), whether a cancel of it was acknowledged, and the trade ids of the
 *   fills the client saw;
 * - `fills`: every fill event of an own order the client saw, once per (pair, trade id, order id);
 * - `unacknowledged`: every command that did not get an OK (an error result, or no answer at all: the
 *   stream broke or the run stopped), with its code. Their fate is refused or unknown, never assumed.
 * Money is exact: decimal strings formatted from integer ticks and lots.
 */
import { fromSteps } from '../server/core/decimal.ts';
import type { Instrument } from '../server/core/instrument.ts';
import { OrderType, Side } from '../server/core/types.ts';
import type { SimCommand, SimOrderEvent, SimOrderState, SimOrderStatus, SimResult } from './sim-types.ts';

export interface LedgerEntry {
  account: string;
  pair: string;
  clientOrderId: string;
  /** Server order id (decimal string). */
  orderId: string;
  side: 'buy' | 'sell';
  type: 'limit' | 'market';
  /** Limit price (after the last acknowledged replace); absent for market orders. */
  price?: string;
  /** Ordered quantity as last reported (after a replace: filled + new open). */
  quantity: string;
  filledQuantity: string;
  /** Open quantity as last reported ("0" once closed). */
  remainingQuantity: string;
  /** Last known status: new | partially_filled | filled | cancelled. */
  status: string;
  /** A cancel of this order was acknowledged. */
  cancelled: boolean;
  /** Acknowledged replaces of this order. */
  replaces: number;
  /** Trade ids of this order's fills the client saw, in order. */
  tradeIds: string[];
  /** Pair event sequence of the last change seen. */
  lastSequence: number;
}

export interface LedgerFill {
  pair: string;
  tradeId: string;
  account: string;
  clientOrderId: string;
  orderId: string;
  side: 'buy' | 'sell';
  price: string;
  quantity: string;
  liquidity: 'maker' | 'taker';
}

export interface UnacknowledgedCommand {
  account: string;
  pair: string;
  kind: SimCommand['kind'];
  clientOrderId: string;
  /** gRPC code name of the error, or "NO_ANSWER" when no result arrived (stream broke, run stopped). */
  code: string;
  message: string;
  /** Whether the service may have applied it: true for NO_ANSWER and for UNAVAILABLE "applied, not yet durable". */
  fateUnknown: boolean;
}

export interface Ledger {
  orders: LedgerEntry[];
  fills: LedgerFill[];
  unacknowledged: UnacknowledgedCommand[];
  /** Acknowledged commands by kind. */
  acknowledged: { submits: number; cancels: number; replaces: number };
}

const STATUS_RANK: Record<SimOrderStatus, number> = { new: 0, partially_filled: 1, filled: 2, cancelled: 2, rejected: 2 };
/** Upper bound on unacknowledged records kept (a long outage must not grow the client without bound). */
const MAX_UNACKNOWLEDGED = 1_000_000;

export class LedgerRecorder {
  private readonly entries = new Map<string, LedgerEntry>();
  /** Events seen before the submit's acknowledgement (or without one), by key. */
  private readonly early = new Map<string, SimOrderEvent[]>();
  private readonly fillKeys = new Set<string>();
  private readonly fills: LedgerFill[] = [];
  private readonly unacked: UnacknowledgedCommand[] = [];
  droppedUnacknowledged = 0;
  private readonly counts = { submits: 0, cancels: 0, replaces: 0 };

  constructor(private readonly instruments: ReadonlyMap<string, Instrument>) {}

  private key(account: string, pair: string, clientOrderId: string): string {
    return `${pair}\u0000${account}\u0000${clientOrderId}`;
  }

  private price(pair: string, ticks: number): string {
    return fromSteps(ticks, this.instruments.get(pair)!.tick);
  }

  private qty(pair: string, lots: number): string {
    return fromSteps(lots, this.instruments.get(pair)!.lot);
  }

  /** A command's answer (any code). */
  onResult(account: string, r: SimResult): void {
    const c = r.command;
    if (r.code !== 'OK') {
      this.recordUnacknowledged(account, c, r.code, r.message);
      return;
    }
    const key = this.key(account, c.pair, c.clientOrderId);
    if (c.kind === 'submit') {
      this.counts.submits++;
      const o = r.order;
      if (o === undefined) return;
      const entry: LedgerEntry = {
        account,
        pair: c.pair,
        clientOrderId: c.clientOrderId,
        orderId: o.orderId,
        side: c.side === Side.Buy ? 'buy' : 'sell',
        type: c.type === OrderType.Market ? 'market' : 'limit',
        ...(c.type === OrderType.Market ? {} : { price: this.price(c.pair, o.price) }),
        quantity: this.qty(c.pair, o.quantity),
        filledQuantity: this.qty(c.pair, o.filled),
        remainingQuantity: this.qty(c.pair, o.remaining),
        status: o.status,
        cancelled: false,
        replaces: 0,
        tradeIds: [],
        lastSequence: o.lastSequence,
      };
      this.entries.set(key, entry);
      const early = this.early.get(key);
      if (early !== undefined) {
        this.early.delete(key);
        for (const e of early) this.applyEvent(entry, e);
      }
      return;
    }
    const entry = this.entries.get(key);
    if (c.kind === 'cancel') {
      this.counts.cancels++;
      if (entry !== undefined) entry.cancelled = true;
    } else {
      this.counts.replaces++;
      if (entry !== undefined) entry.replaces++;
    }
    if (entry !== undefined && r.order !== undefined) this.applyState(entry, r.order);
  }

  /** A command that never got an answer (stream broken, run stopped). */
  onNoAnswer(account: string, c: SimCommand, why: string): void {
    this.recordUnacknowledged(account, c, 'NO_ANSWER', why);
  }

  /** An event of an own order (fills are recorded once per trade id and order). */
  onEvent(account: string, e: SimOrderEvent): void {
    if (e.type === 'fill') {
      const fk = `${e.pair}\u0000${e.tradeId}\u0000${e.orderId}`;
      if (this.fillKeys.has(fk)) return;
      this.fillKeys.add(fk);
      this.fills.push({
        pair: e.pair,
        tradeId: e.tradeId,
        account,
        clientOrderId: e.clientOrderId,
        orderId: e.orderId,
        side: e.side === Side.Buy ? 'buy' : 'sell',
        price: this.price(e.pair, e.price),
        quantity: this.qty(e.pair, e.quantity),
        liquidity: e.liquidity,
      });
    }
    const key = this.key(account, e.pair, e.clientOrderId);
    const entry = this.entries.get(key);
    if (entry !== undefined) this.applyEvent(entry, e);
    else {
      let list = this.early.get(key);
      if (list === undefined) this.early.set(key, (list = []));
      list.push(e);
    }
  }

  private applyEvent(entry: LedgerEntry, e: SimOrderEvent): void {
    if (e.type === 'fill' && !entry.tradeIds.includes(e.tradeId)) {
      entry.tradeIds.push(e.tradeId);
      // A fill at or before the last state we hold is already counted in it (the submit's result
      // carries the state after its own fills); only a later one adds.
      if (e.sequence > entry.lastSequence) entry.filledQuantity = this.qty(entry.pair, this.lots(entry.pair, entry.filledQuantity) + e.quantity);
    }
    if (e.sequence <= entry.lastSequence) return;
    entry.lastSequence = e.sequence;
    entry.remainingQuantity = this.qty(entry.pair, e.remaining);
    if (STATUS_RANK[e.status as SimOrderStatus] >= STATUS_RANK[entry.status as SimOrderStatus]) entry.status = e.status;
  }

  private applyState(entry: LedgerEntry, o: SimOrderState): void {
    if (o.lastSequence < entry.lastSequence) return;
    entry.lastSequence = o.lastSequence;
    if (entry.type === 'limit') entry.price = this.price(entry.pair, o.price);
    entry.quantity = this.qty(entry.pair, o.quantity);
    entry.filledQuantity = this.qty(entry.pair, o.filled);
    entry.remainingQuantity = this.qty(entry.pair, o.remaining);
    entry.status = o.status;
  }

  private lots(pair: string, text: string): number {
    // Inverse of qty(): text came from fromSteps, so it is an exact multiple of the lot.
    const lot = this.instruments.get(pair)!.lot;
    const [i, f = ''] = text.split('.');
    const units = BigInt(i! + f.padEnd(lot.scale, '0'));
    return Number(units / lot.units);
  }

  private recordUnacknowledged(account: string, c: SimCommand, code: string, message: string): void {
    if (this.unacked.length >= MAX_UNACKNOWLEDGED) {
      this.droppedUnacknowledged++;
      return;
    }
    const fateUnknown = code === 'NO_ANSWER' || code === 'DEADLINE_EXCEEDED' || (code === 'UNAVAILABLE' && /not yet durable/.test(message));
    this.unacked.push({ account, pair: c.pair, kind: c.kind, clientOrderId: c.clientOrderId, code, message: message.slice(0, 200), fateUnknown });
  }

  /** Acknowledged orders so far (live objects; copy before mutating). */
  get size(): number {
    return this.entries.size;
  }

  snapshot(): Ledger {
    return {
      orders: [...this.entries.values()].map((e) => ({ ...e, tradeIds: [...e.tradeIds] })),
      fills: [...this.fills],
      unacknowledged: [...this.unacked],
      acknowledged: { ...this.counts },
    };
  }
}
