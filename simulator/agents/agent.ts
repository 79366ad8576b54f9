/**
 * What every simulated trader shares: its account, its own Random, the orders it believes are live
 * (kept from its results and its own order events), its position and cash. Agents are pure: they
 * read a PairContext and a virtual time, push SimCommands, and change only their own state. Every
 * price and quantity they produce is clamped to the pair's band and limits, so a healthy run has no
 * INVALID_ARGUMENT.
 */
import type { Instrument } from '../../server/core/instrument.ts';
import { OrderType, Side, TimeInForce, type Lots, type PriceTicks } from '../../server/core/types.ts';
import type { Random } from '../random.ts';
import { isClosed, type AgentKind, type PairContext, type SimCommand, type SimOrderEvent, type SimResult, type SimOrderStatus } from '../sim-types.ts';

/** An order the agent sent and has not seen closed. */
export interface TrackedOrder {
  readonly clientOrderId: string;
  readonly side: Side;
  price: PriceTicks;
  remaining: Lots;
  /** The submit's result has arrived (OK). */
  acknowledged: boolean;
  /** A cancel or replace is in flight: leave the order alone until it is answered. */
  busy: boolean;
  lastSequence: number;
}

export abstract class Agent {
  /** Live and in-flight orders by client order id, in the order they were sent. */
  readonly orders = new Map<string, TrackedOrder>();
  /** Signed base position in lots. */
  position = 0;
  /** Quote cash in tick×lot units, exact: the part that fits a safe integer, and the overflow as bigint (bigint per fill is slow). */
  private cashSmall = 0;
  private cashBig = 0n;
  commandsSent = 0;
  fills = 0;
  private counter = 0;

  constructor(
    /** The account name (also the API key's account over gRPC). */
    readonly name: string,
    readonly kind: AgentKind,
    readonly instrument: Instrument,
    protected readonly rng: Random,
    /** Prefix of this agent's client order ids; unique per agent and run. */
    private readonly idPrefix: string,
  ) {}

  /** Signed quote cash in tick×lot units (price ticks × lots) from this agent's fills, exact. */
  get cash(): bigint {
    return this.cashBig + BigInt(this.cashSmall);
  }

  get pair(): string {
    return this.instrument.symbol;
  }

  /** Decide what to do at virtual time `nowMs`; push zero or more commands. */
  abstract act(nowMs: number, ctx: PairContext, out: SimCommand[]): void;

  /** The answer to one of this agent's commands. */
  onResult(r: SimResult): void {
    const c = r.command;
    const o = this.orders.get(c.clientOrderId);
    if (o === undefined) return;
    if (c.kind === 'submit') {
      if (r.code !== 'OK' || r.order === undefined) {
        this.orders.delete(c.clientOrderId);
        return;
      }
      o.acknowledged = true;
      this.applyState(o, r.order.status, r.order.remaining, r.order.price, r.order.lastSequence);
      return;
    }
    o.busy = false;
    if (r.code === 'OK' && r.order !== undefined) {
      this.applyState(o, r.order.status, r.order.remaining, r.order.price, r.order.lastSequence);
    } else if (r.code === 'NOT_FOUND' || c.kind === 'cancel') {
      // Already closed (filled before the cancel arrived), or the cancel's fate is unknown: stop tracking.
      this.orders.delete(c.clientOrderId);
    }
  }

  /** An event of one of this agent's own orders (fills also move position and cash). */
  onOrderEvent(e: SimOrderEvent): void {
    if (e.type === 'fill') {
      this.fills++;
      const sign = e.side === Side.Buy ? -1 : 1;
      this.position -= sign * e.quantity;
      const n = e.price * e.quantity;
      if (Number.isSafeInteger(n) && Number.isSafeInteger(this.cashSmall + sign * n)) this.cashSmall += sign * n;
      else this.cashBig += BigInt(sign) * BigInt(e.price) * BigInt(e.quantity);
    }
    const o = this.orders.get(e.clientOrderId);
    if (o === undefined) return;
    if (e.sequence < o.lastSequence) return;
    o.lastSequence = e.sequence;
    o.remaining = e.remaining;
    if (isClosed(e.status)) this.orders.delete(e.clientOrderId);
  }

  private applyState(o: TrackedOrder, status: SimOrderStatus, remaining: Lots, price: PriceTicks, sequence: number): void {
    if (sequence < o.lastSequence) return; // an event already told us something newer
    o.lastSequence = sequence;
    o.remaining = remaining;
    o.price = price;
    if (isClosed(status)) this.orders.delete(o.clientOrderId);
  }

  // ---- helpers for subclasses ----

  protected nextClientOrderId(): string {
    return `${this.idPrefix}${(++this.counter).toString(36)}`;
  }

  protected clampPrice(p: number): PriceTicks {
    return Math.min(this.instrument.maxPriceTicks, Math.max(this.instrument.minPriceTicks, Math.round(p)));
  }

  protected clampQuantity(q: number): Lots {
    return Math.min(this.instrument.maxQuantityLots, Math.max(this.instrument.minQuantityLots, Math.round(q)));
  }

  protected limit(out: SimCommand[], side: Side, price: number, quantity: number, tif: TimeInForce = TimeInForce.GTC, postOnly = false): string {
    const clientOrderId = this.nextClientOrderId();
    const p = this.clampPrice(price);
    const q = this.clampQuantity(quantity);
    out.push({ kind: 'submit', pair: this.pair, clientOrderId, side, type: OrderType.Limit, tif, postOnly: postOnly && tif === TimeInForce.GTC, price: p, quantity: q });
    if (tif === TimeInForce.GTC) this.orders.set(clientOrderId, { clientOrderId, side, price: p, remaining: q, acknowledged: false, busy: false, lastSequence: 0 });
    this.commandsSent++;
    return clientOrderId;
  }

  protected market(out: SimCommand[], side: Side, quantity: number): void {
    out.push({ kind: 'submit', pair: this.pair, clientOrderId: this.nextClientOrderId(), side, type: OrderType.Market, tif: TimeInForce.IOC, postOnly: false, price: 0, quantity: this.clampQuantity(quantity) });
    this.commandsSent++;
  }

  /** Cancels a tracked, acknowledged, idle order; false when it is not in that state. */
  protected cancel(out: SimCommand[], clientOrderId: string): boolean {
    const o = this.orders.get(clientOrderId);
    if (o === undefined || !o.acknowledged || o.busy) return false;
    o.busy = true;
    out.push({ kind: 'cancel', pair: this.pair, clientOrderId });
    this.commandsSent++;
    return true;
  }

  /** Moves a tracked, acknowledged, idle order to a new price (and open quantity); false when nothing would change or it is busy. */
  protected replace(out: SimCommand[], clientOrderId: string, price: number, quantity: number): boolean {
    const o = this.orders.get(clientOrderId);
    if (o === undefined || !o.acknowledged || o.busy) return false;
    const p = this.clampPrice(price);
    const q = this.clampQuantity(quantity);
    if (p === o.price && q === o.remaining) return false; // REPLACE_NO_CHANGE otherwise
    o.busy = true;
    out.push({ kind: 'replace', pair: this.pair, clientOrderId, price: p, quantity: q });
    this.commandsSent++;
    return true;
  }

  /** How many tracked orders are acknowledged and idle (no allocation: agents call this every turn). */
  protected idleCount(): number {
    let n = 0;
    for (const o of this.orders.values()) if (o.acknowledged && !o.busy) n++;
    return n;
  }

  /** The k-th acknowledged, idle order, oldest first (k < idleCount()). */
  protected idleAt(k: number): TrackedOrder | undefined {
    for (const o of this.orders.values()) if (o.acknowledged && !o.busy && k-- === 0) return o;
    return undefined;
  }

  /** Acknowledged, idle orders, oldest first. */
  protected idleOrders(): TrackedOrder[] {
    const r: TrackedOrder[] = [];
    for (const o of this.orders.values()) if (o.acknowledged && !o.busy) r.push(o);
    return r;
  }

  /**
   * Where uninformed flow centres its prices: the fair value blurred by ±`blurHalfSpreads` half spreads.
   * Centring on the book's own mid instead lets resting flow anchor a stale book when the server is slow
   * (seen over gRPC under saturation: the book stopped following the value); the value keeps it honest.
   */
  protected reference(ctx: PairContext, blurHalfSpreads = 2): PriceTicks {
    const blur = blurHalfSpreads * Agent.halfSpread(ctx);
    return ctx.fairValue + this.rng.intBetween(-blur, blur);
  }

  /** Typical half spread of the pair in ticks: 2.5 bp of the fair value's start, at least 1 tick. */
  protected static halfSpread(ctx: PairContext): number {
    return Math.max(1, Math.floor(ctx.fairValue / 40_000));
  }
}
