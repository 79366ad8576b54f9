/**
 * The command journal (event-sourcing style) and what recovery reads back: ports only, no I/O.
 *
 * The books are deterministic, so the journal holds the *commands* each pair applied, in order, and
 * replaying them on top of a snapshot regenerates the book, the order registry, the event and
 * market-data sequences and every event. Each entry also carries the projection rows the command
 * produced (order upserts, trades), written in the same transaction, so `orders` and `trades` are
 * queryable by operators without replaying anything.
 *
 * Account ids are interned per process (pairs/account-ids.ts), so an entry never relies on the
 * integer: it carries the account NAME, and the journaled command has no `account` field.
 */
import type { CancelAllCommand, CancelCommand, Command, NewOrderCommand, ReplaceCommand } from '../core/commands.ts';
import type { Lots, OrderId, OrderType, PriceTicks, Side, StpMode, TimeInForce } from '../core/types.ts';

/** A core command without its process-local account id (the entry's `account` names the owner). */
export type JournaledCommand =
  | Omit<NewOrderCommand, 'account'>
  | Omit<CancelCommand, 'account'>
  | Omit<ReplaceCommand, 'account'>
  | Omit<CancelAllCommand, 'account'>;

/** An order's status; the order registry (pairs/order-registry.ts `OrderStatus`) uses this one. */
export type JournalOrderStatus = 'new' | 'partially_filled' | 'filled' | 'cancelled' | 'rejected';

/** The state of one order after a command, as the `orders` table keeps it (an upsert by pair + order id). */
export interface OrderRow {
  orderId: OrderId;
  account: string;
  /** '' when the client gave none. */
  clientOrderId: string;
  side: Side;
  type: OrderType;
  tif: TimeInForce;
  postOnly: boolean;
  stp: StpMode;
  /** Ticks; 0 for market orders. */
  price: PriceTicks;
  /** Ordered lots (after a replace: filled + the new open quantity). */
  quantity: Lots;
  filled: Lots;
  remaining: Lots;
  status: JournalOrderStatus;
  /** CancelReason, 0 when none. */
  cancelReason: number;
  createdAtMs: number;
  updatedAtMs: number;
}

/** One trade, as the `trades` table keeps it. */
export interface TradeRow {
  /** Per pair, ascending, assigned by the pair. */
  tradeId: number;
  makerOrderId: OrderId;
  makerAccount: string;
  takerOrderId: OrderId;
  takerAccount: string;
  takerSide: Side;
  price: PriceTicks;
  quantity: Lots;
  timestampMs: number;
}

/** One command a pair applied, with what it produced. */
export interface JournalEntry {
  /** Pair symbol. */
  pair: string;
  /** Per-pair command sequence: 1, 2, 3, ... with no gap. */
  sequence: number;
  /**
   * The command as the book received it (order id assigned). A full core `Command` may be passed; its
   * `account` integer is never written, the adapter serializes the other fields only.
   */
  command: JournaledCommand | Command;
  /** The account NAME that sent the command. */
  account: string;
  /** The client order id of a new order ('' when none or not a new order). */
  clientOrderId: string;
  /** The pair clock reading the command was applied with (replay must use the same). */
  timestampMs: number;
  /** Orders whose state the command changed, their state after it. */
  orders: readonly OrderRow[];
  trades: readonly TradeRow[];
}

/** An entry as recovery reads it back: the command without an account id, the projection rows omitted. */
export interface JournalRecord {
  pair: string;
  sequence: number;
  command: JournaledCommand;
  account: string;
  clientOrderId: string;
  timestampMs: number;
}

/** What the owner can observe about the journal's health. */
export interface JournalStatus {
  /** false from the first failed write until a write succeeds again. */
  available: boolean;
  /** Entries handed to append() and not yet committed (kept across outages). */
  pendingEntries: number;
  /** Why the last write failed; undefined while available. */
  lastError: string | undefined;
}

export interface Journal {
  /**
   * Queues the entries (in the given order, after everything queued before) and resolves once they
   * are committed: group commit, so one transaction covers many callers.
   *
   * Rejects with:
   * - `JournalSequenceError` at once, queuing nothing of this call, when a pair's sequences would
   *   not follow on gap-free (a bug in the caller).
   * - `UnavailableError('postgresql', ...)` when a write fails or exceeds the write timeout, or at
   *   once while the journal is unavailable. The entries are NOT dropped: they stay queued, are
   *   retried in order until they commit, and `waitForDurable` resolves when they do.
   * - `JournalClosedError` after close() began.
   */
  append(entries: readonly JournalEntry[]): Promise<void>;
  /**
   * Resolves when `pair`'s entries up to `sequence` are committed; waits through outages (never
   * rejects for one), rejects only with `JournalClosedError` if the journal closes first.
   */
  waitForDurable(pair: string, sequence: number): Promise<void>;
  /** Highest committed sequence of `pair` known to this process (0 when none yet). */
  durableSequence(pair: string): number;
  status(): JournalStatus;
  /** Called on each change of `available` (both ways). Returns an unsubscribe function. */
  onStatusChange(listener: (status: JournalStatus) => void): () => void;
}

/** One order in a snapshot: its row as the `orders` table keeps it (account by name), plus what the registry needs besides. */
export interface SnapshotOrder extends OrderRow {
  /** Pair event sequence of the last event that changed the order. */
  lastSequence: number;
}

/** A pair's whole state after command `sequence`: enough to restore without replaying earlier commands. */
export interface PairSnapshot {
  pair: string;
  /** The last journal sequence included. */
  sequence: number;
  lastOrderId: number;
  lastTradeId: number;
  eventSequence: number;
  marketDataSequence: number;
  /**
   * Resting orders, bids first then asks, each side in priority order (as OrderBook.forEachOrder
   * yields them), so `OrderBook.load()` restores queue priority.
   */
  orders: SnapshotOrder[];
  /**
   * Closed (filled, cancelled) orders the pair's registry still retains, oldest closed first, so
   * GetOrder and client-order-id lookups answer after a restart exactly as before it. Absent in
   * snapshots that keep none.
   */
  closedOrders?: SnapshotOrder[];
  /**
   * The registry's filter of forgotten client order ids (pairs/forgotten-client-orders.ts), so a restored
   * pair asks the orders table only about ids it may have forgotten. Absent in snapshots written before it
   * or by a pair that did not know its own (restored without it): every id is then asked about.
   */
  forgottenClientOrders?: ForgottenClientOrdersSnapshot;
  takenAtMs: number;
}

/** The filter's state; the pair checks it when restoring and ignores one it cannot read. */
export interface ForgottenClientOrdersSnapshot {
  /** Size of the bit array, a power of two. */
  bits: number;
  /** Bit positions per id. */
  hashes: number;
  /** Ids added so far (the false-positive rate follows from it). */
  added: number;
  /** The bit array, base64; '' while nothing was added. */
  data: string;
}

/**
 * A snapshot as a pair hands it over to be saved: its closed orders read one by one instead of copied
 * into an array. A pair retains up to 100,000 of them, and copying them all in one synchronous step held
 * the event loop for 27-49 ms per snapshot; the writer reads them in the slices it writes anyway.
 */
export interface SnapshotToSave extends Omit<PairSnapshot, 'closedOrders'> {
  closedOrders: ClosedOrderReader;
}

/**
 * The closed orders of a snapshot, oldest closed first. A closed order never changes, so reading one
 * after the pair moved on still gives its state at the snapshot's sequence; `order()` throws if one did
 * change (the snapshot then fails and the next one is taken as usual).
 */
export interface ClosedOrderReader {
  readonly count: number;
  order(index: number): SnapshotOrder;
}

export interface RecoveryStore {
  /**
   * The newest snapshot of `pair`, or undefined when none. Throws `CorruptSnapshotError` when its
   * checksum does not match (fail closed: recovery must not start from a damaged state).
   */
  latestSnapshot(pair: string): Promise<PairSnapshot | undefined>;
  /** Stores a snapshot (with a checksum); recovery starts from the newest one. */
  saveSnapshot(snapshot: PairSnapshot | SnapshotToSave): Promise<void>;
  /**
   * The pair's journal after `sequence`, ascending, in batches of at most `batchSize`. Throws
   * `JournalGapError` if a sequence is missing (fail closed).
   */
  entriesAfter(pair: string, sequence: number, batchSize?: number): AsyncIterable<JournalRecord[]>;
  /** Highest journaled sequence of `pair` (0 when none). */
  lastSequence(pair: string): Promise<number>;
  /** Every pair that has journal entries or snapshots. */
  recordedPairs(): Promise<string[]>;
}

/** The caller handed a sequence that does not follow the pair's last one: a bug, never retried. */
export class JournalSequenceError extends Error {
  constructor(
    readonly pair: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`journal of ${pair}: expected sequence ${expected}, got ${actual}`);
    this.name = 'JournalSequenceError';
  }
}

/** The stored journal misses a sequence: recovery stops rather than build a wrong state. */
export class JournalGapError extends Error {
  constructor(
    readonly pair: string,
    readonly expected: number,
    readonly found: number,
  ) {
    super(`journal of ${pair} has a gap: expected sequence ${expected}, found ${found}`);
    this.name = 'JournalGapError';
  }
}

/** A stored snapshot does not match its checksum (or cannot be read): recovery stops. */
export class CorruptSnapshotError extends Error {
  constructor(
    readonly pair: string,
    readonly snapshotId: string,
    readonly detail: string,
  ) {
    super(`snapshot ${snapshotId} of ${pair} is corrupt: ${detail}`);
    this.name = 'CorruptSnapshotError';
  }
}

/**
 * Cluster mode: which replica this journal writes for and the fencing token under which it holds each
 * pair. Every append is stamped with the pair's token at append time, and the write checks it against
 * the pair's lease row in the same transaction (docs/cluster.md).
 */
export interface JournalFence {
  readonly replicaId: string;
  /** The token this replica holds the pair with now; undefined when it does not own it. */
  tokenOf(pair: string): number | undefined;
}

/**
 * The pair's lease is no longer held by this replica with the token its entries were made under (another
 * replica took it over, or it was released). Never retried: the pair's queued entries are dropped (their
 * commands were never acknowledged) and the pair must step down.
 */
export class JournalFencedError extends Error {
  constructor(
    readonly pair: string,
    /** The token the refused entries were stamped with (undefined: the pair was not owned at append). */
    readonly token: number | undefined,
  ) {
    super(`journal of ${pair}: refused by the fence — this replica no longer owns the pair${token === undefined ? '' : ` with fencing token ${token}`}`);
    this.name = 'JournalFencedError';
  }
}

export class JournalClosedError extends Error {
  constructor() {
    super('journal is closed');
    this.name = 'JournalClosedError';
  }
}
