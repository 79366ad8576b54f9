/**
 * Every order of one pair as the API reports it: status, filled and open quantity, client order id,
 * owner. Fed by the book's events (it never asks the book), it answers GetOrder (open and recently
 * closed orders), ListOpenOrders and client-order-id lookups. Closed orders are kept for a bounded
 * number, oldest evicted first. Pure state; no clock or I/O.
 */
import type { CancelReason } from '../core/reasons.ts';
import type { AccountId, Lots, OrderId, OrderType, PriceTicks, Side, StpMode, TimeInForce } from '../core/types.ts';

export type OrderStatus = 'new' | 'partially_filled' | 'filled' | 'cancelled' | 'rejected';

export interface OrderRecord {
  orderId: OrderId;
  account: AccountId;
  /** '' when the client gave none. */
  clientOrderId: string;
  side: Side;
  type: OrderType;
  tif: TimeInForce;
  postOnly: boolean;
  stp: StpMode;
  /** Limit price in ticks; 0 for market orders. */
  price: PriceTicks;
  /** Ordered lots; after a replace, filled + the new open quantity. */
  quantity: Lots;
  filled: Lots;
  /** Lots still open in the book; 0 once closed. */
  remaining: Lots;
  status: OrderStatus;
  /** 0 when none. */
  cancelReason: CancelReason | 0;
  createdAtMs: number;
  updatedAtMs: number;
  /** Pair event sequence of the last event that changed the order. */
  lastSequence: number;
}

/** Fields an order has before the book numbers its fills; what `accepted` needs besides the event. */
export type NewOrderFields = Pick<OrderRecord, 'orderId' | 'account' | 'clientOrderId' | 'side' | 'type' | 'tif' | 'postOnly' | 'stp' | 'price' | 'quantity'>;

export interface OrderRegistryOptions {
  /**
   * Closed (filled or cancelled) orders kept for GetOrder and client-order-id uniqueness, per pair.
   * Raising it costs about 300 bytes per order of heap; lowering it makes GetOrder forget sooner.
   * @default 100_000
   */
  maxClosedOrders?: number;
}

export const DEFAULT_MAX_CLOSED_ORDERS = 100_000;

export class OrderRegistry {
  private readonly orders = new Map<OrderId, OrderRecord>();
  /** account → client order id → order id, for open and retained closed orders. */
  private readonly byClientId = new Map<AccountId, Map<string, OrderId>>();
  /** account → its open order ids (insertion order is ascending id: ids are assigned ascending). */
  private readonly openByAccount = new Map<AccountId, Set<OrderId>>();
  /** Closed order ids, oldest first (Set keeps insertion order, so eviction is O(1)). */
  /**
   * Closed order ids, oldest first, as a queue from `closedHead` (an array, not a Set: V8 leaves deleted
   * Set entries as holes that values().next() scans past, which made each eviction O(retention)).
   */
  private closed: OrderId[] = [];
  private closedHead = 0;
  private readonly maxClosedOrders: number;

  constructor(options: OrderRegistryOptions = {}) {
    const max = options.maxClosedOrders ?? DEFAULT_MAX_CLOSED_ORDERS;
    if (!Number.isSafeInteger(max) || max < 0) throw new Error(`maxClosedOrders must be a non-negative integer, got ${max}`);
    this.maxClosedOrders = max;
  }

  /** The order if it exists (open or retained) and belongs to `account`. */
  get(account: AccountId, orderId: OrderId): OrderRecord | undefined {
    const o = this.orders.get(orderId);
    return o !== undefined && o.account === account ? o : undefined;
  }

  /** The order if it is kept, whoever owns it (journal projections, snapshots). */
  find(orderId: OrderId): OrderRecord | undefined {
    return this.orders.get(orderId);
  }

  findByClientOrderId(account: AccountId, clientOrderId: string): OrderRecord | undefined {
    const id = this.byClientId.get(account)?.get(clientOrderId);
    return id === undefined ? undefined : this.orders.get(id);
  }

  isClientOrderIdUsed(account: AccountId, clientOrderId: string): boolean {
    return this.byClientId.get(account)?.has(clientOrderId) ?? false;
  }

  /** Open orders of `account`, ascending order id. */
  listOpen(account: AccountId): OrderRecord[] {
    const ids = this.openByAccount.get(account);
    if (ids === undefined) return [];
    const out: OrderRecord[] = [];
    for (const id of ids) out.push(this.orders.get(id)!);
    return out.sort((a, b) => a.orderId - b.orderId);
  }

  get openCount(): number {
    return this.orders.size - this.closedCount;
  }

  get closedCount(): number {
    return this.closed.length - this.closedHead;
  }

  // ---- snapshots ----

  /**
   * Every order kept, for a snapshot: the open ones (ascending id) and the retained closed ones in
   * eviction order (oldest closed first), so a restore evicts exactly as this registry would have.
   */
  retained(): { open: OrderRecord[]; closed: OrderRecord[] } {
    const open: OrderRecord[] = [];
    for (const o of this.orders.values()) if (o.status !== 'filled' && o.status !== 'cancelled') open.push(o);
    open.sort((a, b) => a.orderId - b.orderId);
    const closed: OrderRecord[] = [];
    for (let i = this.closedHead; i < this.closed.length; i++) closed.push(this.orders.get(this.closed[i]!)!);
    return { open, closed };
  }

  /** Replaces the whole content with `retained()` output (snapshot restore); the records are kept as given. */
  restore(open: readonly OrderRecord[], closed: readonly OrderRecord[]): void {
    this.orders.clear();
    this.byClientId.clear();
    this.openByAccount.clear();
    this.closed = [];
    this.closedHead = 0;
    const index = (o: OrderRecord): void => {
      if (this.orders.has(o.orderId)) throw new Error(`order ${o.orderId} appears twice in the restored registry`);
      this.orders.set(o.orderId, o);
      if (o.clientOrderId === '') return;
      let m = this.byClientId.get(o.account);
      if (m === undefined) this.byClientId.set(o.account, (m = new Map()));
      m.set(o.clientOrderId, o.orderId);
    };
    for (const o of [...open].sort((a, b) => a.orderId - b.orderId)) {
      index(o);
      let set = this.openByAccount.get(o.account);
      if (set === undefined) this.openByAccount.set(o.account, (set = new Set()));
      set.add(o.orderId);
    }
    for (const o of closed) {
      index(o);
      this.closed.push(o.orderId);
    }
  }

  // ---- updates, driven by the book's events ----

  accepted(fields: NewOrderFields, sequence: number, nowMs: number): OrderRecord {
    // Every field written out (no spread) so all records share one V8 shape; this runs once per order.
    const o: OrderRecord = {
      orderId: fields.orderId,
      account: fields.account,
      clientOrderId: fields.clientOrderId,
      side: fields.side,
      type: fields.type,
      tif: fields.tif,
      postOnly: fields.postOnly,
      stp: fields.stp,
      price: fields.price,
      quantity: fields.quantity,
      filled: 0,
      remaining: fields.quantity,
      status: 'new',
      cancelReason: 0,
      createdAtMs: nowMs,
      updatedAtMs: nowMs,
      lastSequence: sequence,
    };
    this.orders.set(o.orderId, o);
    if (o.clientOrderId !== '') {
      let m = this.byClientId.get(o.account);
      if (m === undefined) this.byClientId.set(o.account, (m = new Map()));
      m.set(o.clientOrderId, o.orderId);
    }
    let open = this.openByAccount.get(o.account);
    if (open === undefined) this.openByAccount.set(o.account, (open = new Set()));
    open.add(o.orderId);
    return o;
  }

  filled(orderId: OrderId, quantity: Lots, remaining: Lots, sequence: number, nowMs: number): OrderRecord | undefined {
    const o = this.orders.get(orderId);
    if (o === undefined) return undefined;
    o.filled += quantity;
    o.remaining = remaining;
    this.touch(o, sequence, nowMs);
    if (remaining === 0) this.close(o, 'filled');
    else o.status = 'partially_filled';
    return o;
  }

  /** `quantity` lots left the book; the order closes when nothing stays open. */
  cancelled(orderId: OrderId, quantity: Lots, reason: CancelReason, sequence: number, nowMs: number): OrderRecord | undefined {
    const o = this.orders.get(orderId);
    if (o === undefined) return undefined;
    o.remaining = Math.max(0, o.remaining - quantity);
    o.cancelReason = reason;
    this.touch(o, sequence, nowMs);
    if (o.remaining === 0) this.close(o, 'cancelled');
    return o;
  }

  replaced(orderId: OrderId, price: PriceTicks, remaining: Lots, sequence: number, nowMs: number): OrderRecord | undefined {
    const o = this.orders.get(orderId);
    if (o === undefined) return undefined;
    o.price = price;
    o.remaining = remaining;
    o.quantity = o.filled + remaining;
    this.touch(o, sequence, nowMs);
    return o;
  }

  private touch(o: OrderRecord, sequence: number, nowMs: number): void {
    o.lastSequence = sequence;
    o.updatedAtMs = nowMs;
  }

  private close(o: OrderRecord, status: 'filled' | 'cancelled'): void {
    if (o.status === 'filled' || o.status === 'cancelled') return;
    o.status = status;
    o.remaining = 0;
    const open = this.openByAccount.get(o.account);
    if (open !== undefined) {
      open.delete(o.orderId);
      if (open.size === 0) this.openByAccount.delete(o.account);
    }
    this.closed.push(o.orderId);
  }

  /**
   * Forgets the oldest closed orders beyond the retention. Called between commands, not inside one, so
   * a command's result can still read every order it closed.
   */
  trimClosed(): void {
    while (this.closedCount > this.maxClosedOrders) this.evictOldestClosed();
    if (this.closedHead > 4096 && this.closedHead * 2 > this.closed.length) {
      this.closed = this.closed.slice(this.closedHead);
      this.closedHead = 0;
    }
  }

  private evictOldestClosed(): void {
    const id = this.closed[this.closedHead++]!;
    const o = this.orders.get(id);
    this.orders.delete(id);
    if (o !== undefined && o.clientOrderId !== '') {
      const m = this.byClientId.get(o.account);
      if (m !== undefined && m.get(o.clientOrderId) === id) {
        m.delete(o.clientOrderId);
        if (m.size === 0) this.byClientId.delete(o.account);
      }
    }
  }
}
