/**
 * Every order of one pair as the API reports it: status, filled and open quantity, client order id,
 * owner. Fed by the book's events (it never asks the book), it answers GetOrder (open and recently
 * closed orders), ListOpenOrders and client-order-id lookups. Closed orders are kept for a bounded
 * number per account and in total; an account's closed orders are only ever pushed out by its own
 * (per-account cap) or, at the total cap, by those of the account holding the most — so no flood by
 * one account evicts another's recent orders. Pure state; no clock or I/O.
 *
 * The two lookups that only queries read (client order id → order, open orders per account) are built
 * on first use from the orders kept, then maintained: a replay of a journal from its start, which asks
 * neither, then skips a string-keyed map insert and delete per order (a fifth of the registry's replay
 * time, measured) and builds them once, for the orders still kept. The result is the same map: a
 * client order id is held by at most one kept order of an account (submit refuses one in use), so the
 * kept orders alone determine it.
 */
import type { NewOrderCommand } from '../core/commands.ts';
import type { ForgottenClientOrdersSnapshot, JournalOrderStatus } from '../ports/journal.ts';
import type { CancelReason } from '../core/reasons.ts';
import type { AccountId, Lots, OrderId, OrderType, PriceTicks, Side, StpMode, TimeInForce } from '../core/types.ts';
import { ForgottenClientOrders } from './forgotten-client-orders.ts';
import { OrderTable } from './order-table.ts';

/** An order's status: the journal's vocabulary (ports/journal.ts defines it, since ports cannot import pairs). */
export type OrderStatus = JournalOrderStatus;

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

/** The registry fields of a new-order command (live and replayed alike); the core command has no client order id. */
export function newOrderFields(cmd: NewOrderCommand, clientOrderId: string): NewOrderFields {
  return { orderId: cmd.orderId, account: cmd.account, clientOrderId, side: cmd.side, type: cmd.type, tif: cmd.tif, postOnly: cmd.postOnly, stp: cmd.stp, price: cmd.price, quantity: cmd.quantity };
}

export interface OrderRegistryOptions {
  /**
   * Closed (filled or cancelled) orders kept for GetOrder and client-order-id uniqueness, per pair.
   * Raising it costs about 300 bytes per order of heap; lowering it makes GetOrder forget sooner.
   * @default 100_000
   */
  maxClosedOrders?: number;
  /**
   * Closed orders kept per account and pair; beyond it the account's own oldest closed order is
   * forgotten (the orders table still answers for its client order id).
   * @default 10_000
   */
  maxClosedOrdersPerAccount?: number;
  /**
   * Bits of the filter of forgotten client order ids (ForgottenClientOrders; a power of two, allocated at
   * the first eviction): more bits, fewer needless client-order-archive queries once many are forgotten.
   * 0: no filter (nothing asks: no orders table), and every id counts as possibly forgotten.
   * @default 2^23 (1 MiB)
   */
  forgottenFilterBits?: number;
}

export const DEFAULT_MAX_CLOSED_ORDERS = 100_000;
export const DEFAULT_MAX_CLOSED_ORDERS_PER_ACCOUNT = 10_000;

/** One account's retained closed orders, oldest first, as a queue from `head`. */
interface ClosedQueue {
  ids: OrderId[];
  head: number;
}

export class OrderRegistry {
  private readonly orders: OrderTable<OrderRecord>;
  /** account → client order id → order id, for open and retained closed orders. */
  private readonly byClientId = new Map<AccountId, Map<string, OrderId>>();
  /** account → its open order ids (listOpen sorts them). */
  private readonly openByAccount = new Map<AccountId, Set<OrderId>>();
  /** Closed order ids, oldest first (Set keeps insertion order, so eviction is O(1)). */
  /**
   * Closed order ids, oldest first, as a queue from `closedHead` (an array, not a Set: V8 leaves deleted
   * Set entries as holes that values().next() scans past, which made each eviction O(retention)).
   */
  private closed: OrderId[] = [];
  private closedHead = 0;
  /** Retained closed orders (entries of `closed` evicted out of order are skipped: no longer in `orders`). */
  private closedRetained = 0;
  /** account → its retained closed orders, oldest first. */
  private readonly closedByAccount = new Map<AccountId, ClosedQueue>();
  /** Accounts that closed orders since the last trim. */
  private recentlyClosed: AccountId[] = [];
  /** The account believed to hold the most closed orders (checked before use). */
  private largest: AccountId | undefined;
  private readonly maxClosedOrders: number;
  private readonly maxClosedOrdersPerAccount: number;
  /** The client order ids of the closed orders forgotten (evicted), in this registry's life or before its snapshot. */
  private forgotten: ForgottenClientOrders | null;
  private readonly forgottenFilterBits: number | undefined;
  /** Restored from a snapshot that did not keep the filter: what was evicted before it is unknown. */
  private forgottenUnknown = false;
  /** byClientId and openByAccount are built (see the module comment); until then they are empty and not maintained. */
  private indexed = false;

  constructor(options: OrderRegistryOptions = {}) {
    const max = options.maxClosedOrders ?? DEFAULT_MAX_CLOSED_ORDERS;
    if (!Number.isSafeInteger(max) || max < 0) throw new Error(`maxClosedOrders must be a non-negative integer, got ${max}`);
    this.maxClosedOrders = max;
    const perAccount = options.maxClosedOrdersPerAccount ?? Math.min(DEFAULT_MAX_CLOSED_ORDERS_PER_ACCOUNT, max);
    if (!Number.isSafeInteger(perAccount) || perAccount < 0) throw new Error(`maxClosedOrdersPerAccount must be a non-negative integer, got ${perAccount}`);
    this.maxClosedOrdersPerAccount = perAccount;
    this.forgottenFilterBits = options.forgottenFilterBits;
    this.forgotten = this.newFilter();
    this.orders = new OrderTable();
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
    if (!this.indexed) this.buildIndexes();
    const id = this.byClientId.get(account)?.get(clientOrderId);
    return id === undefined ? undefined : this.orders.get(id);
  }

  isClientOrderIdUsed(account: AccountId, clientOrderId: string): boolean {
    if (!this.indexed) this.buildIndexes();
    return this.byClientId.get(account)?.has(clientOrderId) ?? false;
  }

  /** Open orders of `account`, ascending order id. */
  listOpen(account: AccountId): OrderRecord[] {
    if (!this.indexed) this.buildIndexes();
    const ids = this.openByAccount.get(account);
    if (ids === undefined) return [];
    const out: OrderRecord[] = [];
    for (const id of ids) out.push(this.orders.get(id)!);
    return out.sort((a, b) => a.orderId - b.orderId);
  }

  /**
   * Whether `clientOrderId` of `account` could have been used by an order this registry no longer holds
   * (a closed order evicted: the filter says so, with rare false positives), or is unknown (restored from a
   * snapshot without the filter). False means "not here" is the whole truth: a replay from the start
   * evicts exactly as the live pair did, and a snapshot keeps the filter.
   */
  mayHaveForgotten(account: AccountId | undefined, clientOrderId: string): boolean {
    if (this.forgottenUnknown || this.forgotten === null) return true;
    return account !== undefined && this.forgotten.mayHold(account, clientOrderId);
  }

  /** The filter of forgotten client order ids, for a snapshot; undefined when it is incomplete (see mayHaveForgotten). */
  forgottenState(): ForgottenClientOrdersSnapshot | undefined {
    return this.forgottenUnknown ? undefined : this.forgotten?.state();
  }

  private newFilter(): ForgottenClientOrders | null {
    return this.forgottenFilterBits === 0 ? null : new ForgottenClientOrders(this.forgottenFilterBits);
  }

  /** Open orders of one account (O(1)). */
  openCountOf(account: AccountId): number {
    if (!this.indexed) this.buildIndexes();
    return this.openByAccount.get(account)?.size ?? 0;
  }

  get openCount(): number {
    return this.orders.size - this.closedCount;
  }

  get closedCount(): number {
    return this.closedRetained;
  }

  /** Retained closed orders of one account. */
  closedCountOf(account: AccountId): number {
    const q = this.closedByAccount.get(account);
    return q === undefined ? 0 : q.ids.length - q.head;
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
    return { open, closed: this.retainedClosed() };
  }

  /**
   * The retained closed orders alone, in eviction order: what a snapshot writer takes in its synchronous
   * step (the open ones it reads from the book), without walking every order kept.
   */
  retainedClosed(): OrderRecord[] {
    const closed = new Array<OrderRecord>(this.closedRetained);
    let n = 0;
    for (let i = this.closedHead; i < this.closed.length; i++) {
      const o = this.orders.get(this.closed[i]!);
      if (o !== undefined && (o.status === 'filled' || o.status === 'cancelled')) closed[n++] = o;
    }
    closed.length = n;
    return closed;
  }

  /**
   * Replaces the whole content with `retained()` output (snapshot restore); the records are kept as given.
   * `forgotten` is the snapshot's filter (`forgottenState()`, kept at its own size); without a readable one
   * every client order id counts as possibly forgotten from now on. `'none'`: nothing was ever forgotten
   * (an empty registry, rebuilt from nothing).
   */
  restore(open: readonly OrderRecord[], closed: readonly OrderRecord[], forgotten: ForgottenClientOrdersSnapshot | 'none' | undefined): void {
    this.orders.clear();
    this.byClientId.clear();
    this.openByAccount.clear();
    this.closed = [];
    this.closedHead = 0;
    this.closedRetained = 0;
    this.closedByAccount.clear();
    this.recentlyClosed = [];
    this.largest = undefined;
    this.indexed = false;
    if (forgotten === 'none' || this.forgottenFilterBits === 0) {
      // Nothing forgotten yet, or no filter (every id counts as possibly forgotten anyway).
      this.forgotten = this.newFilter();
      this.forgottenUnknown = false;
    } else {
      const kept = ForgottenClientOrders.fromState(forgotten);
      this.forgotten = kept ?? this.newFilter();
      this.forgottenUnknown = kept === undefined;
    }
    const index = (o: OrderRecord): void => {
      if (this.orders.has(o.orderId)) throw new Error(`order ${o.orderId} appears twice in the restored registry`);
      this.orders.set(o.orderId, o);
    };
    for (const o of [...open].sort((a, b) => a.orderId - b.orderId)) index(o);
    for (const o of closed) {
      index(o);
      this.pushClosed(o);
    }
    this.recentlyClosed = [];
  }

  /** Builds the lookups from the orders kept. */
  private buildIndexes(): void {
    this.indexed = true;
    this.byClientId.clear();
    this.openByAccount.clear();
    for (const o of this.orders.values()) {
      if (o.clientOrderId !== '') this.indexClientOrderId(o);
      if (o.status !== 'filled' && o.status !== 'cancelled') this.addOpen(o);
    }
  }

  private indexClientOrderId(o: OrderRecord): void {
    let m = this.byClientId.get(o.account);
    if (m === undefined) this.byClientId.set(o.account, (m = new Map()));
    m.set(o.clientOrderId, o.orderId);
  }

  private addOpen(o: OrderRecord): void {
    let open = this.openByAccount.get(o.account);
    if (open === undefined) this.openByAccount.set(o.account, (open = new Set()));
    open.add(o.orderId);
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
    if (this.indexed) {
      if (o.clientOrderId !== '') this.indexClientOrderId(o);
      this.addOpen(o);
    }
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
    const open = this.indexed ? this.openByAccount.get(o.account) : undefined;
    if (open !== undefined) {
      open.delete(o.orderId);
      if (open.size === 0) this.openByAccount.delete(o.account);
    }
    this.pushClosed(o);
    this.recentlyClosed.push(o.account);
  }

  private pushClosed(o: OrderRecord): void {
    this.closed.push(o.orderId);
    this.closedRetained++;
    let q = this.closedByAccount.get(o.account);
    if (q === undefined) this.closedByAccount.set(o.account, (q = { ids: [], head: 0 }));
    q.ids.push(o.orderId);
    if (this.largest === undefined || this.closedCountOf(o.account) > this.closedCountOf(this.largest)) this.largest = o.account;
  }

  /**
   * Forgets the oldest closed orders beyond the retention. Called between commands, not inside one, so
   * a command's result can still read every order it closed.
   */
  trimClosed(): void {
    if (this.recentlyClosed.length > 0) {
      const accounts = this.recentlyClosed;
      this.recentlyClosed = [];
      for (const a of accounts) while (this.closedCountOf(a) > this.maxClosedOrdersPerAccount) this.evictOldestOf(a);
    }
    while (this.closedRetained > this.maxClosedOrders) {
      const victim = this.largestAccount();
      if (victim === undefined) break;
      this.evictOldestOf(victim);
    }
    // Drop the global queue's evicted prefix (entries no longer retained).
    while (this.closedHead < this.closed.length && !this.isRetainedClosed(this.closed[this.closedHead]!)) this.closedHead++;
    // Compact when evicted entries (a prefix, or out of order from the middle) outnumber the retained ones.
    if (this.closed.length - this.closedHead > 2 * this.closedRetained + 4096) {
      this.closed = this.closed.slice(this.closedHead).filter((id) => this.isRetainedClosed(id));
      this.closedHead = 0;
    }
  }

  private isRetainedClosed(id: OrderId): boolean {
    const o = this.orders.get(id);
    return o !== undefined && (o.status === 'filled' || o.status === 'cancelled');
  }

  /**
   * The account with the most retained closed orders, ties broken by the lowest oldest order id: a pure
   * function of the retained orders, so a pair restored from a snapshot evicts exactly as the original.
   * O(1) while one account holds the majority (a flood), else one scan of the accounts.
   */
  private largestAccount(): AccountId | undefined {
    const known = this.largest;
    if (known !== undefined && this.closedCountOf(known) * 2 > this.closedRetained) return known;
    let best: AccountId | undefined;
    let bestCount = 0;
    let bestOldest = Infinity;
    for (const [a, q] of this.closedByAccount) {
      const n = q.ids.length - q.head;
      const oldest = q.ids[q.head]!;
      if (n > bestCount || (n === bestCount && oldest < bestOldest)) {
        best = a;
        bestCount = n;
        bestOldest = oldest;
      }
    }
    this.largest = best;
    return best;
  }

  private evictOldestOf(account: AccountId): void {
    const q = this.closedByAccount.get(account);
    if (q === undefined || q.head >= q.ids.length) return;
    const id = q.ids[q.head++]!;
    if (q.head >= q.ids.length) this.closedByAccount.delete(account);
    else if (q.head > 1024 && q.head * 2 > q.ids.length) {
      q.ids = q.ids.slice(q.head);
      q.head = 0;
    }
    this.closedRetained--;
    const o = this.orders.get(id);
    if (o !== undefined && o.clientOrderId !== '') this.forgotten?.add(account, o.clientOrderId);
    this.orders.delete(id);
    if (this.indexed && o !== undefined && o.clientOrderId !== '') {
      const m = this.byClientId.get(o.account);
      if (m !== undefined && m.get(o.clientOrderId) === id) {
        m.delete(o.clientOrderId);
        if (m.size === 0) this.byClientId.delete(o.account);
      }
    }
  }
}
