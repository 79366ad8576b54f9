/**
 * One trading pair's control: numbers orders, applies commands to the book (through ServingBook),
 * stamps per-pair sequences on order events and market-data deltas, keeps the order registry, and fans
 * events out to subscribers. Logic only: integers in, integers out; time comes from the injected Clock.
 * Single-writer: every method runs to completion before the next starts.
 */
import { CommandKind, type Command } from '../core/commands.ts';
import type { EventSink } from '../core/events.ts';
import type { Instrument } from '../core/instrument.ts';
import type { DepthLevel, Outcome, Rejection } from '../core/order-book.ts';
import { RejectCode, type CancelReason } from '../core/reasons.ts';
import { Side, type AccountId, type Lots, type OrderId, type OrderType, type PriceTicks, type StpMode, type TimeInForce } from '../core/types.ts';
import { UNKNOWN_ORDER, reject } from '../core/validation.ts';
import type { Clock } from '../ports/clock.ts';
import { OrderRegistry, type NewOrderFields, type OrderRecord, type OrderRegistryOptions, type OrderStatus } from './order-registry.ts';
import type { ServingBook, ServingBookFactory } from './serving-book.ts';

/** Fields common to every order event. */
interface OrderEventBase {
  /** Pair event sequence; both sides of a trade share one. */
  sequence: number;
  orderId: OrderId;
  account: AccountId;
  clientOrderId: string;
  /** The order's status after this event. */
  status: OrderStatus;
  timestampMs: number;
}
export type OrderEvent =
  | (OrderEventBase & { type: 'accepted'; side: Side; price: PriceTicks; quantity: Lots })
  | (OrderEventBase & { type: 'filled'; tradeId: number; price: PriceTicks; quantity: Lots; remaining: Lots; liquidity: 'maker' | 'taker' })
  | (OrderEventBase & { type: 'cancelled'; quantity: Lots; remaining: Lots; reason: CancelReason })
  | (OrderEventBase & { type: 'replaced'; price: PriceTicks; remaining: Lots; priorityKept: boolean });

export interface LevelChange {
  side: Side;
  price: PriceTicks;
  /** 0 removes the level. */
  quantity: Lots;
  orderCount: number;
}

export interface TradeTick {
  tradeId: number;
  price: PriceTicks;
  quantity: Lots;
  takerSide: Side;
  timestampMs: number;
}

/** Everything one command did to the public book; sequences are contiguous per pair. */
export interface MarketDataDelta {
  sequence: number;
  levels: LevelChange[];
  trades: TradeTick[];
}

export interface BookSnapshot {
  /** The market-data sequence this snapshot is current to. */
  sequence: number;
  bids: DepthLevel[];
  asks: DepthLevel[];
}

export interface NewOrderRequest {
  clientOrderId: string;
  side: Side;
  type: OrderType;
  tif: TimeInForce;
  postOnly: boolean;
  /** Ticks; 0 for market orders. */
  price: PriceTicks;
  quantity: Lots;
  stp: StpMode;
}

/** What a command did, as seen by the account that sent it. */
export interface CommandResult {
  outcome: Outcome;
  /** The order's state after the command (a copy). For a new order the engine refused: status 'rejected'. */
  order: OrderRecord | undefined;
  /** Events of the sender's own orders caused by the command, in order. */
  events: OrderEvent[];
}

export interface CancelAllResult {
  outcome: Outcome;
  /** The cancelled orders (copies), ascending id. */
  orders: OrderRecord[];
  events: OrderEvent[];
}

export type MarketDataListener = (delta: MarketDataDelta) => void;
/** Receives, after each command, the events of one account's orders that the command caused. */
export type AccountListener = (events: OrderEvent[]) => void;

export interface TradingPairOptions extends OrderRegistryOptions {
  instrument: Instrument;
  createBook: ServingBookFactory;
  clock: Clock;
  /** Called when a subscriber throws; the subscriber is removed. @default ignore */
  onSubscriberError?: (error: unknown) => void;
}

/** Reading every level: a depth request of 0 means "all". */
const ALL_LEVELS = Number.MAX_SAFE_INTEGER;

export class TradingPair {
  readonly instrument: Instrument;
  readonly symbol: string;
  private readonly book: ServingBook;
  private readonly registry: OrderRegistry;
  private readonly clock: Clock;
  private readonly onSubscriberError: (error: unknown) => void;

  private lastOrderId = 0;
  private eventSequence = 0;
  private marketDataSequence = 0;
  private lastTradeId = 0;

  private readonly marketDataListeners = new Set<MarketDataListener>();
  private readonly accountListeners = new Map<AccountId, Set<AccountListener>>();

  // Per-command scratch state, reset by begin().
  private nowMs = 0;
  private pendingNew: NewOrderFields | undefined;
  private commandEvents: OrderEvent[] = [];
  private levelChanges: LevelChange[] = [];
  private trades: TradeTick[] = [];
  private publicChange = false;
  private readonly sink: EventSink;

  constructor(options: TradingPairOptions) {
    this.instrument = options.instrument;
    this.symbol = options.instrument.symbol;
    this.book = options.createBook(options.instrument);
    this.registry = new OrderRegistry(options);
    this.clock = options.clock;
    this.onSubscriberError = options.onSubscriberError ?? (() => {});
    this.sink = this.createSink();
  }

  get implementation(): string {
    return this.book.implementation;
  }

  // ---- commands ----

  submit(account: AccountId, req: NewOrderRequest): CommandResult {
    if (req.clientOrderId !== '' && this.registry.isClientOrderIdUsed(account, req.clientOrderId)) {
      const r = reject(RejectCode.DuplicateOrderId, 'client_order_id', `client order id ${JSON.stringify(req.clientOrderId)} is already used`);
      return { outcome: r, order: undefined, events: [] };
    }
    const orderId = ++this.lastOrderId;
    const fields: NewOrderFields = { orderId, account, ...req };
    this.begin();
    this.pendingNew = fields;
    const outcome = this.applyToBook({ kind: CommandKind.NewOrder, orderId, account, side: req.side, type: req.type, tif: req.tif, postOnly: req.postOnly, price: req.price, quantity: req.quantity, stp: req.stp });
    const events = this.finish(account);
    if (!outcome.ok) {
      const rejected: OrderRecord = { ...fields, filled: 0, remaining: 0, status: 'rejected', cancelReason: 0, createdAtMs: this.nowMs, updatedAtMs: this.nowMs, lastSequence: this.eventSequence };
      return { outcome, order: rejected, events };
    }
    return { outcome, order: this.copy(account, orderId), events };
  }

  cancel(account: AccountId, orderId: OrderId): CommandResult {
    this.begin();
    const outcome = this.applyToBook({ kind: CommandKind.Cancel, orderId, account });
    const events = this.finish(account);
    return { outcome, order: outcome.ok ? this.copy(account, orderId) : undefined, events };
  }

  /** `price` / `quantity` undefined keep the order's current price / open quantity. */
  replace(account: AccountId, orderId: OrderId, price: PriceTicks | undefined, quantity: Lots | undefined): CommandResult {
    if (price === undefined || quantity === undefined) {
      const current = this.registry.get(account, orderId);
      if (current === undefined || current.remaining === 0) return { outcome: UNKNOWN_ORDER(orderId), order: undefined, events: [] };
      price ??= current.price;
      quantity ??= current.remaining;
    }
    this.begin();
    const outcome = this.applyToBook({ kind: CommandKind.Replace, orderId, account, price, quantity });
    const events = this.finish(account);
    return { outcome, order: outcome.ok ? this.copy(account, orderId) : undefined, events };
  }

  cancelAll(account: AccountId, side: Side | undefined): CancelAllResult {
    this.begin();
    const outcome = this.applyToBook({ kind: CommandKind.CancelAll, account, side });
    const events = this.finish(account);
    const orders: OrderRecord[] = [];
    for (const e of events) if (e.type === 'cancelled') orders.push(this.copy(account, e.orderId)!);
    return { outcome, orders, events };
  }

  // ---- queries ----

  getOrder(account: AccountId, orderId: OrderId): OrderRecord | undefined {
    return this.copy(account, orderId);
  }

  findByClientOrderId(account: AccountId, clientOrderId: string): OrderRecord | undefined {
    const o = this.registry.findByClientOrderId(account, clientOrderId);
    return o === undefined ? undefined : { ...o };
  }

  /** Resolves a client order id to its order id, or a NOT_FOUND-class rejection naming client_order_id. */
  resolveClientOrderId(account: AccountId, clientOrderId: string): OrderId | Rejection {
    const o = this.registry.findByClientOrderId(account, clientOrderId);
    if (o === undefined) return reject(RejectCode.UnknownOrder, 'client_order_id', `no order with client order id ${JSON.stringify(clientOrderId)} for this account`);
    return o.orderId;
  }

  listOpenOrders(account: AccountId): OrderRecord[] {
    return this.registry.listOpen(account).map((o) => ({ ...o }));
  }

  get openOrderCount(): number {
    return this.registry.openCount;
  }

  /** L2 snapshot; `depth` 0 means every level. */
  snapshot(depth: number): BookSnapshot {
    const n = depth === 0 ? ALL_LEVELS : depth;
    return { sequence: this.marketDataSequence, bids: this.book.depth(Side.Buy, n), asks: this.book.depth(Side.Sell, n) };
  }

  get sequences(): { event: number; marketData: number; lastOrderId: number } {
    return { event: this.eventSequence, marketData: this.marketDataSequence, lastOrderId: this.lastOrderId };
  }

  // ---- subscriptions ----

  /** Snapshot and subscription in one step, so the first delta is exactly snapshot.sequence + 1. */
  subscribeMarketData(depth: number, listener: MarketDataListener): { snapshot: BookSnapshot; unsubscribe: () => void } {
    const snapshot = this.snapshot(depth);
    this.marketDataListeners.add(listener);
    return { snapshot, unsubscribe: () => this.marketDataListeners.delete(listener) };
  }

  subscribeAccount(account: AccountId, listener: AccountListener): () => void {
    let set = this.accountListeners.get(account);
    if (set === undefined) this.accountListeners.set(account, (set = new Set()));
    set.add(listener);
    return () => {
      const s = this.accountListeners.get(account);
      if (s === undefined) return;
      s.delete(listener);
      if (s.size === 0) this.accountListeners.delete(account);
    };
  }

  get marketDataSubscriberCount(): number {
    return this.marketDataListeners.size;
  }

  // ---- internals ----

  /** The only call into the book. */
  private applyToBook(cmd: Command): Outcome {
    try {
      return this.book.apply(cmd, this.sink);
    } finally {
      this.pendingNew = undefined;
    }
  }

  private copy(account: AccountId, orderId: OrderId): OrderRecord | undefined {
    const o = this.registry.get(account, orderId);
    return o === undefined ? undefined : { ...o };
  }

  private begin(): void {
    this.registry.trimClosed();
    this.nowMs = this.clock.nowMs();
    this.commandEvents = [];
    this.levelChanges = [];
    this.trades = [];
    this.publicChange = false;
  }

  /**
   * Publishes the command's market data and order events, after the book has finished (a throwing
   * subscriber cannot leave the book half-updated), and returns the sender's own events.
   */
  private finish(sender: AccountId): OrderEvent[] {
    if (this.publicChange) {
      const delta: MarketDataDelta = { sequence: ++this.marketDataSequence, levels: this.levelChanges, trades: this.trades };
      for (const listener of this.marketDataListeners) {
        try {
          listener(delta);
        } catch (err) {
          this.marketDataListeners.delete(listener);
          this.onSubscriberError(err);
        }
      }
    }
    const all = this.commandEvents;
    let own: OrderEvent[] | undefined;
    let others: Map<AccountId, OrderEvent[]> | undefined;
    for (const e of all) {
      if (e.account === sender) (own ??= []).push(e);
      else if (this.accountListeners.has(e.account)) {
        others ??= new Map();
        let list = others.get(e.account);
        if (list === undefined) others.set(e.account, (list = []));
        list.push(e);
      }
    }
    const mine = own ?? [];
    if (mine.length > 0) this.notifyAccount(sender, mine);
    if (others !== undefined) for (const [account, events] of others) this.notifyAccount(account, events);
    return mine;
  }

  private notifyAccount(account: AccountId, events: OrderEvent[]): void {
    const set = this.accountListeners.get(account);
    if (set === undefined) return;
    for (const listener of set) {
      try {
        listener(events);
      } catch (err) {
        set.delete(listener);
        this.onSubscriberError(err);
      }
    }
  }

  private createSink(): EventSink {
    const registry = this.registry;
    return {
      accepted: (orderId, account, side, price, quantity) => {
        const fields = this.pendingNew;
        if (fields === undefined || fields.orderId !== orderId) return; // only new orders are accepted
        const seq = ++this.eventSequence;
        const o = registry.accepted(fields, seq, this.nowMs);
        this.commandEvents.push({ type: 'accepted', sequence: seq, orderId, account, clientOrderId: o.clientOrderId, status: o.status, timestampMs: this.nowMs, side, price, quantity });
      },
      rejected: () => {
        // A rejection changes nothing; the Outcome carries it to the caller.
      },
      fill: (makerOrderId, makerAccount, takerOrderId, takerAccount, takerSide, price, quantity, makerRemaining, takerRemaining) => {
        const seq = ++this.eventSequence;
        const tradeId = ++this.lastTradeId;
        const ts = this.nowMs;
        const maker = registry.filled(makerOrderId, quantity, makerRemaining, seq, ts);
        const taker = registry.filled(takerOrderId, quantity, takerRemaining, seq, ts);
        this.commandEvents.push(
          { type: 'filled', sequence: seq, orderId: takerOrderId, account: takerAccount, clientOrderId: taker?.clientOrderId ?? '', status: taker?.status ?? 'partially_filled', timestampMs: ts, tradeId, price, quantity, remaining: takerRemaining, liquidity: 'taker' },
          { type: 'filled', sequence: seq, orderId: makerOrderId, account: makerAccount, clientOrderId: maker?.clientOrderId ?? '', status: maker?.status ?? 'partially_filled', timestampMs: ts, tradeId, price, quantity, remaining: makerRemaining, liquidity: 'maker' },
        );
        this.trades.push({ tradeId, price, quantity, takerSide, timestampMs: ts });
        this.publicChange = true;
      },
      cancelled: (orderId, account, _side, _price, quantity, reason) => {
        const seq = ++this.eventSequence;
        const o = registry.cancelled(orderId, quantity, reason, seq, this.nowMs);
        this.commandEvents.push({ type: 'cancelled', sequence: seq, orderId, account, clientOrderId: o?.clientOrderId ?? '', status: o?.status ?? 'cancelled', timestampMs: this.nowMs, quantity, remaining: o?.remaining ?? 0, reason });
      },
      replaced: (orderId, account, _side, price, quantity, priorityKept) => {
        const seq = ++this.eventSequence;
        const o = registry.replaced(orderId, price, quantity, seq, this.nowMs);
        this.commandEvents.push({ type: 'replaced', sequence: seq, orderId, account, clientOrderId: o?.clientOrderId ?? '', status: o?.status ?? 'new', timestampMs: this.nowMs, price, remaining: quantity, priorityKept });
      },
      level: (side, price, quantity, orderCount) => {
        this.levelChanges.push({ side, price, quantity, orderCount });
        this.publicChange = true;
      },
    };
  }
}
