/**
 * One trading pair's control: numbers orders, applies commands to the book (through ServingBook),
 * stamps per-pair sequences on order events and market-data deltas, keeps the order registry, and hands
 * each command's publication to its subscribers (pair-subscribers.ts). Logic only: integers in, integers out; time comes from the injected Clock.
 * Single-writer: every method runs to completion before the next starts.
 *
 * Durability hooks (the adapter does the I/O): with a CommandRecorder set, every command that reached
 * the book gets the next command sequence and a journal entry (command, account name, clock reading,
 * order/trade projection rows, pair-projection.ts), and its publication (market data, order events) is handed to the
 * recorder instead of being fanned out, to be released by `publish()` once durable. `replay()` applies
 * a journaled command with its recorded order id and timestamp and publishes nothing; `exportSnapshot()`
 * / `restoreSnapshot()` move the whole pair state to and from the PairSnapshot shape.
 */
import { CommandKind, type Command, type NewOrderCommand } from '../core/commands.ts';
import type { EventSink } from '../core/events.ts';
import type { Instrument } from '../core/instrument.ts';
import type { DepthLevel, Outcome, Rejection } from '../core/order-book.ts';
import { RejectCode, type CancelReason } from '../core/reasons.ts';
import type { JournalEntry, PairSnapshot, SnapshotOrder, SnapshotToSave, TradeRow } from '../ports/journal.ts';
import { Side, type AccountId, type Lots, type OrderId, type OrderType, type PriceTicks, type StpMode, type TimeInForce } from '../core/types.ts';
import { UNKNOWN_ORDER, reject } from '../core/validation.ts';
import type { Clock } from '../ports/clock.ts';
import { OrderRegistry, newOrderFields, type NewOrderFields, type OrderRecord, type OrderRegistryOptions, type OrderStatus } from './order-registry.ts';
import type { ServingBook, ServingBookFactory } from './serving-book.ts';
import { recordOfRow, snapshotOrder, touchedOrderRows, tradeRow } from './pair-projection.ts';
import { PairSubscribers, type AccountListener, type MarketDataListener } from './pair-subscribers.ts';

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

/** What one command publishes: its market-data delta (when the public book changed) and every order event it caused. */
export interface Publication {
  readonly sender: AccountId;
  readonly delta: MarketDataDelta | undefined;
  readonly events: OrderEvent[];
}

/**
 * Receives each command that reached the book, synchronously, right after it was applied. While a
 * recorder is set the pair does not publish by itself: the recorder calls `pair.publish(publication)`
 * once `entry` is durable, in sequence order.
 */
export interface CommandRecorder {
  record(pair: TradingPair, entry: JournalEntry, publication: Publication): void;
}

/** A journaled command that cannot be replayed on this state (wrong sequence or order id): recovery stops. */
export class ReplayError extends Error {
  constructor(
    readonly pair: string,
    readonly sequence: number,
    detail: string,
  ) {
    super(`replay of ${pair} at command ${sequence}: ${detail}`);
    this.name = 'ReplayError';
  }
}

export interface TradingPairOptions extends OrderRegistryOptions {
  instrument: Instrument;
  createBook: ServingBookFactory;
  clock: Clock;
  /** Called when a subscriber throws; the subscriber is removed. @default ignore */
  onSubscriberError?: (error: unknown) => void;
  /** The name of an interned account, for journal entries and snapshots. @default the id as text */
  accountName?: (account: AccountId) => string;
}

/** Reading every level: a depth request of 0 means "all". */
const ALL_LEVELS = Number.MAX_SAFE_INTEGER;

export class TradingPair {
  readonly instrument: Instrument;
  readonly symbol: string;
  private readonly book: ServingBook;
  private readonly registry: OrderRegistry;
  private readonly clock: Clock;

  private lastOrderId = 0;
  private eventSequence = 0;
  private marketDataSequence = 0;
  private lastTradeId = 0;
  /** Commands that reached the book: the journal sequence of the last one. */
  private commandSequence = 0;
  private recorder: CommandRecorder | undefined;
  private replaying = false;
  /** recorder set and not replaying: collect projection rows. */
  private recording = false;
  private readonly accountName: (account: AccountId) => string;

  private readonly subscribers: PairSubscribers;

  // Per-command scratch state, reset by begin().
  private nowMs = 0;
  private pendingNew: NewOrderFields | undefined;
  private commandEvents: OrderEvent[] = [];
  private levelChanges: LevelChange[] = [];
  private trades: TradeTick[] = [];
  private publicChange = false;
  /** Orders the command changed and its trades (only while recording). */
  private touched: OrderId[] = [];
  private tradeRows: TradeRow[] = [];
  private readonly sink: EventSink;

  constructor(options: TradingPairOptions) {
    this.instrument = options.instrument;
    this.symbol = options.instrument.symbol;
    this.book = options.createBook(options.instrument);
    this.registry = new OrderRegistry(options);
    this.clock = options.clock;
    this.subscribers = new PairSubscribers(options.onSubscriberError ?? (() => {}));
    this.accountName = options.accountName ?? ((account) => String(account));
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
    const cmd: NewOrderCommand = { kind: CommandKind.NewOrder, orderId, account, side: req.side, type: req.type, tif: req.tif, postOnly: req.postOnly, price: req.price, quantity: req.quantity, stp: req.stp };
    const fields = newOrderFields(cmd, req.clientOrderId);
    this.begin(this.clock.nowMs());
    this.pendingNew = fields;
    const outcome = this.applyToBook(cmd);
    if (!outcome.ok) {
      // A refused new order still consumed its order id: it is journaled (with this row) so replay numbers the same.
      const rejected: OrderRecord = { ...fields, filled: 0, remaining: 0, status: 'rejected', cancelReason: 0, createdAtMs: this.nowMs, updatedAtMs: this.nowMs, lastSequence: this.eventSequence };
      const events = this.finish(account, cmd, req.clientOrderId, rejected);
      return { outcome, order: rejected, events };
    }
    const events = this.finish(account, cmd, req.clientOrderId, undefined);
    return { outcome, order: this.copy(account, orderId), events };
  }

  cancel(account: AccountId, orderId: OrderId): CommandResult {
    this.begin(this.clock.nowMs());
    const cmd: Command = { kind: CommandKind.Cancel, orderId, account };
    const outcome = this.applyToBook(cmd);
    const events = this.finish(account, cmd, '', undefined);
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
    this.begin(this.clock.nowMs());
    const cmd: Command = { kind: CommandKind.Replace, orderId, account, price, quantity };
    const outcome = this.applyToBook(cmd);
    const events = this.finish(account, cmd, '', undefined);
    return { outcome, order: outcome.ok ? this.copy(account, orderId) : undefined, events };
  }

  cancelAll(account: AccountId, side: Side | undefined): CancelAllResult {
    this.begin(this.clock.nowMs());
    const cmd: Command = { kind: CommandKind.CancelAll, account, side };
    const outcome = this.applyToBook(cmd);
    const events = this.finish(account, cmd, '', undefined);
    const orders: OrderRecord[] = [];
    for (const e of events) if (e.type === 'cancelled') orders.push(this.copy(account, e.orderId)!);
    return { outcome, orders, events };
  }

  // ---- durability: recorder, replay, snapshots ----

  /** Sets (or clears) the recorder; from then on the pair journals and defers its publications. */
  setRecorder(recorder: CommandRecorder | undefined): void {
    this.recorder = recorder;
    this.recording = recorder !== undefined;
  }

  /** The journal sequence of the last command that reached the book (0 before any). */
  get lastCommandSequence(): number {
    return this.commandSequence;
  }

  /** Fans a recorded command's publication out to subscribers (the recorder calls it once durable). */
  publish(publication: Publication): void {
    this.subscribers.fanOut(publication.sender, publication.delta, publication.events, ownEvents(publication.events, publication.sender));
  }

  /**
   * Applies a journaled command exactly as it was applied live: the recorded order id (checked to be
   * the next one) and clock reading, the same registry and sequence effects, nothing published or
   * recorded. `cmd.account` is the account id interned in this process.
   */
  replay(sequence: number, cmd: Command, clientOrderId: string, timestampMs: number): void {
    if (sequence !== this.commandSequence + 1) throw new ReplayError(this.symbol, sequence, `expected command ${this.commandSequence + 1}`);
    if (cmd.kind === CommandKind.NewOrder && cmd.orderId !== this.lastOrderId + 1)
      throw new ReplayError(this.symbol, sequence, `new order id ${cmd.orderId} does not follow ${this.lastOrderId}`);
    this.replaying = true;
    this.recording = false;
    try {
      this.begin(timestampMs);
      if (cmd.kind === CommandKind.NewOrder) {
        this.lastOrderId = cmd.orderId;
        this.pendingNew = newOrderFields(cmd, clientOrderId);
      }
      this.applyToBook(cmd);
      this.finish(cmd.account, cmd, clientOrderId, undefined);
    } finally {
      this.replaying = false;
      this.recording = this.recorder !== undefined;
    }
  }

  /** The whole pair state after command `lastCommandSequence`, accounts by name. */
  exportSnapshot(takenAtMs: number): PairSnapshot {
    const { closedOrders: closed, ...rest } = this.snapshotToSave(takenAtMs);
    const closedOrders = new Array<SnapshotOrder>(closed.count);
    for (let i = 0; i < closed.count; i++) closedOrders[i] = closed.order(i);
    return { ...rest, closedOrders };
  }

  /**
   * The same state with the closed orders left to read (ClosedOrderReader): what a snapshot writer
   * takes, so the synchronous step copies only the resting orders. A closed record changes no more, but
   * `order(i)` checks its last event against the snapshot's all the same and throws if it moved on.
   */
  snapshotToSave(takenAtMs: number): SnapshotToSave {
    const resting = this.book.restingOrders();
    const closed = this.registry.retainedClosed();
    const openCount = this.registry.openCount;
    if (openCount !== resting.length) throw new Error(`${this.symbol}: registry has ${openCount} open orders, the book ${resting.length}`);
    const orders = resting.map((r) => {
      const o = this.registry.find(r.orderId);
      if (o === undefined || o.remaining !== r.remaining || o.price !== r.price) throw new Error(`${this.symbol}: resting order ${r.orderId} does not match the registry`);
      return snapshotOrder(o, this.accountName);
    });
    const { symbol, accountName, eventSequence } = this;
    return {
      pair: symbol,
      sequence: this.commandSequence,
      lastOrderId: this.lastOrderId,
      lastTradeId: this.lastTradeId,
      eventSequence,
      marketDataSequence: this.marketDataSequence,
      orders,
      forgottenClientOrders: this.registry.forgottenState(),
      closedOrders: {
        count: closed.length,
        order(i) {
          const o = closed[i];
          if (o === undefined) throw new RangeError(`${symbol}: closed order index ${i} is outside 0..${closed.length - 1}`);
          if (o.lastSequence > eventSequence) throw new Error(`${symbol}: closed order ${o.orderId} changed at event ${o.lastSequence}, after the snapshot (event ${eventSequence})`);
          return snapshotOrder(o, accountName);
        },
      },
      takenAtMs,
    };
  }

  /**
   * Forgets the whole state (book, registry, sequences), keeping subscribers and the recorder: a replica
   * that takes a pair over again rebuilds it from snapshot + journal, never from what it held before.
   */
  reset(): void {
    this.book.load([]);
    this.registry.restore([], [], 'none');
    this.lastOrderId = this.eventSequence = this.marketDataSequence = this.lastTradeId = this.commandSequence = 0;
  }

  /** Loads a snapshot into a pair that has applied nothing yet; `intern` turns account names into ids. */
  restoreSnapshot(snapshot: PairSnapshot, intern: (name: string) => AccountId): void {
    if (this.commandSequence !== 0 || this.lastOrderId !== 0) throw new Error(`${this.symbol}: a snapshot restores only into a fresh pair`);
    if (snapshot.pair !== this.symbol) throw new Error(`snapshot of ${snapshot.pair} cannot restore ${this.symbol}`);
    const toRecord = (o: SnapshotOrder): OrderRecord => recordOfRow(o, intern(o.account), o.lastSequence);
    const open = snapshot.orders.map(toRecord);
    const closed = (snapshot.closedOrders ?? []).map(toRecord);
    this.book.load(open.map((o) => ({ orderId: o.orderId, account: o.account, side: o.side, price: o.price, remaining: o.remaining, stp: o.stp, postOnly: o.postOnly })));
    this.registry.restore(open, closed, snapshot.forgottenClientOrders);
    this.commandSequence = snapshot.sequence;
    this.lastOrderId = snapshot.lastOrderId;
    this.lastTradeId = snapshot.lastTradeId;
    this.eventSequence = snapshot.eventSequence;
    this.marketDataSequence = snapshot.marketDataSequence;
  }

  /** Digest of the served book (OrderBook.stateHash), for audits and recovery checks. */
  stateHash(): string {
    return this.book.stateHash();
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

  /** See OrderRegistry.mayHaveForgotten: whether the orders table must be asked about a client order id. */
  mayHaveForgottenClientOrder(account: AccountId | undefined, clientOrderId: string): boolean {
    return this.registry.mayHaveForgotten(account, clientOrderId);
  }

  /** Open orders of one account in this pair (O(1)); the per-account open-order cap reads it. */
  openOrderCountOf(account: AccountId): number {
    return this.registry.openCountOf(account);
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
    // With a recorder, deltas are published once durable, so some already in the snapshot may still
    // arrive: skip them, the first one delivered is snapshot.sequence + 1.
    return { snapshot, unsubscribe: this.subscribers.subscribeMarketData(snapshot.sequence, listener) };
  }

  subscribeAccount(account: AccountId, listener: AccountListener): () => void {
    return this.subscribers.subscribeAccount(account, listener);
  }

  get marketDataSubscriberCount(): number {
    return this.subscribers.marketDataCount;
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

  private begin(nowMs: number): void {
    this.registry.trimClosed();
    this.nowMs = nowMs;
    this.publicChange = false;
    // Replay fast path: the sink collects no events, level changes or trades (nothing is published), so
    // the (empty) scratch arrays are kept.
    if (this.replaying) return;
    this.commandEvents = [];
    this.levelChanges = [];
    this.trades = [];
    if (this.recording) {
      this.touched = [];
      this.tradeRows = [];
    }
  }

  /**
   * Numbers the command, then publishes its market data and order events after the book has finished
   * (a throwing subscriber cannot leave the book half-updated) or, with a recorder, hands them over
   * with the journal entry; returns the sender's own events (none when replaying).
   */
  private finish(sender: AccountId, cmd: Command, clientOrderId: string, rejected: OrderRecord | undefined): OrderEvent[] {
    this.commandSequence++;
    if (this.replaying) {
      if (this.publicChange) ++this.marketDataSequence;
      return [];
    }
    const delta: MarketDataDelta | undefined = this.publicChange ? { sequence: ++this.marketDataSequence, levels: this.levelChanges, trades: this.trades } : undefined;
    const all = this.commandEvents;
    const mine = ownEvents(all, sender);
    if (this.recorder !== undefined) {
      this.recorder.record(this, this.journalEntry(sender, cmd, clientOrderId, rejected), { sender, delta, events: all });
      return mine;
    }
    this.subscribers.fanOut(sender, delta, all, mine);
    return mine;
  }

  private journalEntry(sender: AccountId, cmd: Command, clientOrderId: string, rejected: OrderRecord | undefined): JournalEntry {
    return {
      pair: this.symbol,
      sequence: this.commandSequence,
      command: cmd,
      account: this.accountName(sender),
      clientOrderId: cmd.kind === CommandKind.NewOrder ? clientOrderId : '',
      timestampMs: this.nowMs,
      orders: touchedOrderRows(this.registry, this.touched, rejected, this.accountName),
      trades: this.tradeRows,
    };
  }

  private createSink(): EventSink {
    const registry = this.registry;
    return {
      accepted: (orderId, account, side, price, quantity) => {
        const fields = this.pendingNew;
        if (fields === undefined || fields.orderId !== orderId) return; // only new orders are accepted
        const seq = ++this.eventSequence;
        const o = registry.accepted(fields, seq, this.nowMs);
        if (this.replaying) return;
        if (this.recording) this.touched.push(orderId);
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
        this.publicChange = true;
        if (this.replaying) return;
        this.commandEvents.push(
          { type: 'filled', sequence: seq, orderId: takerOrderId, account: takerAccount, clientOrderId: taker?.clientOrderId ?? '', status: taker?.status ?? 'partially_filled', timestampMs: ts, tradeId, price, quantity, remaining: takerRemaining, liquidity: 'taker' },
          { type: 'filled', sequence: seq, orderId: makerOrderId, account: makerAccount, clientOrderId: maker?.clientOrderId ?? '', status: maker?.status ?? 'partially_filled', timestampMs: ts, tradeId, price, quantity, remaining: makerRemaining, liquidity: 'maker' },
        );
        this.trades.push({ tradeId, price, quantity, takerSide, timestampMs: ts });
        if (this.recording) {
          this.touched.push(takerOrderId, makerOrderId);
          this.tradeRows.push(tradeRow(tradeId, makerOrderId, makerAccount, takerOrderId, takerAccount, takerSide, price, quantity, ts, this.accountName));
        }
      },
      cancelled: (orderId, account, _side, _price, quantity, reason) => {
        const seq = ++this.eventSequence;
        const o = registry.cancelled(orderId, quantity, reason, seq, this.nowMs);
        if (this.replaying) return;
        if (this.recording) this.touched.push(orderId);
        this.commandEvents.push({ type: 'cancelled', sequence: seq, orderId, account, clientOrderId: o?.clientOrderId ?? '', status: o?.status ?? 'cancelled', timestampMs: this.nowMs, quantity, remaining: o?.remaining ?? 0, reason });
      },
      replaced: (orderId, account, _side, price, quantity, priorityKept) => {
        const seq = ++this.eventSequence;
        const o = registry.replaced(orderId, price, quantity, seq, this.nowMs);
        if (this.replaying) return;
        if (this.recording) this.touched.push(orderId);
        this.commandEvents.push({ type: 'replaced', sequence: seq, orderId, account, clientOrderId: o?.clientOrderId ?? '', status: o?.status ?? 'new', timestampMs: this.nowMs, price, remaining: quantity, priorityKept });
      },
      level: (side, price, quantity, orderCount) => {
        this.publicChange = true;
        if (this.replaying) return;
        this.levelChanges.push({ side, price, quantity, orderCount });
      },
    };
  }
}

/** The events of `sender`'s own orders, in order. */
function ownEvents(all: OrderEvent[], sender: AccountId): OrderEvent[] {
  let own: OrderEvent[] | undefined;
  for (const e of all) if (e.account === sender) (own ??= []).push(e);
  return own ?? [];
}
