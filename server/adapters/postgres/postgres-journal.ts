/**
 * The Journal port on PostgreSQL with group commit: appends queue in submission order, one writer
 * drains the queue in batches (one transaction, one multi-row INSERT per table via unnest), and every
 * caller whose entries the transaction covered is resolved after COMMIT, in submission order.
 *
 * Outage semantics (the contract the pair wiring relies on):
 * - A failed or too-slow write (connect error, lost connection, writeTimeoutMs exceeded, any SQL
 *   error) makes the journal *unavailable*: every append still waiting is rejected with
 *   UnavailableError('postgresql', ...), and so is every append made while unavailable, at once.
 * - Rejected or not, the entries stay queued, in order, and the writer retries (backoff from
 *   retryDelayMs up to maxRetryDelayMs) until they commit; then the journal is available again
 *   (onStatusChange fires) and waitForDurable() promises resolve. Nothing is dropped while the
 *   process lives; a crash before the retry succeeds loses exactly those unacknowledged entries.
 * - A timed-out write may still have committed on the server. Entries that were in a failed attempt
 *   are therefore looked up before they are inserted again and skipped when present (this relies on
 *   the pair being single-writer, which the deployment guarantees), so nothing is written twice.
 *
 * Sequences: per pair gap-free from 1. append() checks them against what this process queued
 * before (JournalSequenceError at once, nothing queued), and each transaction checks the first
 * sequence of every pair against the stored head (a stale or second writer): the offending pair's
 * queued entries are rejected with JournalSequenceError and dropped, the others go on.
 */
import type { Pool, PoolClient } from 'pg';
import type { Command } from '../../core/commands.ts';
import { CommandKind } from '../../core/commands.ts';
import { UnavailableError } from '../../ports/errors.ts';
import {
  JournalClosedError,
  JournalSequenceError,
  type Journal,
  type JournalEntry,
  type JournaledCommand,
  type JournalStatus,
  type OrderRow,
} from '../../ports/journal.ts';

export interface PostgresJournalOptions {
  /**
   * How long the first entry of a batch waits for company before the write starts. Higher gives
   * bigger batches (throughput) at the cost of every ack's latency. While a write is in flight, new
   * entries wait for it anyway and go in the next batch without this delay.
   * @default 2
   */
  maxDelayMs?: number;
  /** Most entries per transaction. @default 1000 */
  maxBatch?: number;
  /** A write (connect + transaction) slower than this fails and counts as an outage. @default 2000 */
  writeTimeoutMs?: number;
  /** First retry delay after a failed write; doubles per failure. @default 50 */
  retryDelayMs?: number;
  /** Cap of the retry delay. @default 1000 */
  maxRetryDelayMs?: number;
  /**
   * Fault-injection seam for tests and chaos drills: awaited right after COMMIT returned, inside
   * the write timeout, so a drill can make a committed write look failed (the ambiguous case).
   * @default undefined
   */
  afterCommit?: () => Promise<void>;
}

export const DEFAULT_MAX_DELAY_MS = 2;
export const DEFAULT_MAX_BATCH = 1000;

type CompiledJournalOptions = Readonly<Required<Omit<PostgresJournalOptions, 'afterCommit'>> & Pick<PostgresJournalOptions, 'afterCommit'>>;

function compileJournalOptions(raw: PostgresJournalOptions): CompiledJournalOptions {
  const check = (field: 'maxDelayMs' | 'maxBatch' | 'writeTimeoutMs' | 'retryDelayMs' | 'maxRetryDelayMs', fallback: number, min: number): number => {
    const v = raw[field] ?? fallback;
    if (!Number.isSafeInteger(v) || v < min) throw new Error(`journal option ${field} must be an integer >= ${min}, got ${v}`);
    return v;
  };
  return Object.freeze({
    maxDelayMs: check('maxDelayMs', DEFAULT_MAX_DELAY_MS, 0),
    maxBatch: check('maxBatch', DEFAULT_MAX_BATCH, 1),
    writeTimeoutMs: check('writeTimeoutMs', 2000, 1),
    retryDelayMs: check('retryDelayMs', 50, 1),
    maxRetryDelayMs: check('maxRetryDelayMs', 1000, 1),
    afterCommit: raw.afterCommit,
  });
}

/** One append() call's promise, settled once even when its entries span batches. */
interface Waiter {
  remaining: number;
  settled: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface QueuedEntry {
  entry: JournalEntry;
  waiter: Waiter;
  /** Was in a write whose outcome is unknown (it may have committed). */
  inFailedAttempt: boolean;
}

interface DurableWaiter {
  sequence: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Counters for tests and metrics. */
export interface JournalStats {
  /** Committed write transactions. */
  transactions: number;
  /** Entries committed. */
  entries: number;
  /** Failed write attempts. */
  failedWrites: number;
  /** Entries found already committed when retried after an ambiguous failure. */
  skippedAlreadyWritten: number;
}

/** The command's fields without the process-local account id, in a fixed shape per kind. */
export function serializeCommand(cmd: JournaledCommand | Command): Record<string, unknown> {
  switch (cmd.kind) {
    case CommandKind.NewOrder:
      return { kind: cmd.kind, orderId: cmd.orderId, side: cmd.side, type: cmd.type, tif: cmd.tif, postOnly: cmd.postOnly, price: cmd.price, quantity: cmd.quantity, stp: cmd.stp };
    case CommandKind.Cancel:
      return { kind: cmd.kind, orderId: cmd.orderId };
    case CommandKind.Replace:
      return { kind: cmd.kind, orderId: cmd.orderId, price: cmd.price, quantity: cmd.quantity };
    case CommandKind.CancelAll:
      return { kind: cmd.kind, side: cmd.side ?? null };
    default:
      throw new Error(`unknown command kind ${(cmd as { kind: unknown }).kind}`);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

export class PostgresJournal implements Journal {
  private readonly options: CompiledJournalOptions;
  private readonly queue: QueuedEntry[] = [];
  /** Last sequence queued (or committed) per pair by this process; unknown pairs are checked by the database. */
  private readonly lastQueued = new Map<string, number>();
  private readonly durable = new Map<string, number>();
  private readonly durableWaiters = new Map<string, DurableWaiter[]>();
  private readonly listeners = new Set<(status: JournalStatus) => void>();

  private available = true;
  private lastError: string | undefined;
  private writing = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  /** The pending timer fires without delay (a full batch is waiting). */
  private timerIsImmediate = false;
  private retryDelayMs: number;
  private idleResolvers: Array<() => void> = [];

  readonly stats: JournalStats = { transactions: 0, entries: 0, failedWrites: 0, skippedAlreadyWritten: 0 };

  constructor(
    private readonly pool: Pool,
    options: PostgresJournalOptions = {},
  ) {
    this.options = compileJournalOptions(options);
    this.retryDelayMs = this.options.retryDelayMs;
  }

  append(entries: readonly JournalEntry[]): Promise<void> {
    if (this.closed) return Promise.reject(new JournalClosedError());
    if (entries.length === 0) return Promise.resolve();
    // Check the whole call before queuing any of it, so a bad call changes nothing.
    const next = new Map<string, number>();
    for (const e of entries) {
      const last = next.get(e.pair) ?? this.lastQueued.get(e.pair);
      if (!Number.isSafeInteger(e.sequence) || e.sequence < 1 || (last !== undefined && e.sequence !== last + 1)) {
        return Promise.reject(new JournalSequenceError(e.pair, last === undefined ? 1 : last + 1, e.sequence));
      }
      next.set(e.pair, e.sequence);
    }
    for (const [pair, seq] of next) this.lastQueued.set(pair, seq);

    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { remaining: entries.length, settled: false, resolve, reject };
      for (const entry of entries) this.queue.push({ entry, waiter, inFailedAttempt: false });
      if (!this.available) {
        // Kept and retried, but the caller learns now that it is not durable yet.
        this.settle(waiter, new UnavailableError('postgresql', `journal writes are failing (${this.lastError}); the command is kept and will be written when PostgreSQL is back`));
        return;
      }
      this.schedule();
    });
  }

  waitForDurable(pair: string, sequence: number): Promise<void> {
    if ((this.durable.get(pair) ?? 0) >= sequence) return Promise.resolve();
    if (this.closed) return Promise.reject(new JournalClosedError());
    return new Promise<void>((resolve, reject) => {
      let list = this.durableWaiters.get(pair);
      if (list === undefined) this.durableWaiters.set(pair, (list = []));
      list.push({ sequence, resolve, reject });
    });
  }

  durableSequence(pair: string): number {
    return this.durable.get(pair) ?? 0;
  }

  status(): JournalStatus {
    return { available: this.available, pendingEntries: this.queue.length, lastError: this.lastError };
  }

  onStatusChange(listener: (status: JournalStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Tells the journal the pair's committed head (from recovery), so the first append of a pair is
   * checked in process too, and durableSequence() starts right.
   */
  setHead(pair: string, sequence: number): void {
    if (this.queue.some((q) => q.entry.pair === pair)) throw new Error(`setHead(${pair}) while entries of the pair are queued`);
    this.lastQueued.set(pair, sequence);
    this.durable.set(pair, sequence);
  }

  /** Resolves when the queue is empty (everything committed), waiting through outages. */
  flushed(): Promise<void> {
    if (this.queue.length === 0 && !this.writing) return Promise.resolve();
    return new Promise((resolve) => this.idleResolvers.push(resolve));
  }

  /**
   * Stops taking appends and waits up to `drainTimeoutMs` for the queue to commit; whatever is left
   * is rejected with JournalClosedError. Returns how many entries were left unwritten. Does not end
   * the pool (its owner does).
   */
  async close(drainTimeoutMs = 5000): Promise<number> {
    if (this.closed) return this.queue.length;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flushed(), new Promise<void>((r) => (timer = setTimeout(r, drainTimeoutMs)))]);
    clearTimeout(timer);
    const left = this.queue.length;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const err = new JournalClosedError();
    for (const q of this.queue.splice(0)) this.settle(q.waiter, err);
    for (const list of this.durableWaiters.values()) for (const w of list) w.reject(err);
    this.durableWaiters.clear();
    for (const r of this.idleResolvers.splice(0)) r();
    return left;
  }

  // ---- the writer ----

  private schedule(): void {
    if (this.writing || this.queue.length === 0) return;
    if (this.timer !== undefined) {
      // A full batch does not wait out the delay.
      if (this.queue.length < this.options.maxBatch || !this.available || this.timerIsImmediate) return;
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const delay = this.queue.length >= this.options.maxBatch ? 0 : this.options.maxDelayMs;
    this.timerIsImmediate = delay === 0;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerIsImmediate = false;
      void this.writeNext();
    }, delay);
  }

  private async writeNext(): Promise<void> {
    if (this.writing || this.queue.length === 0) return;
    this.writing = true;
    const batch = this.queue.slice(0, this.options.maxBatch);
    let failed = false;
    try {
      const outcome = await this.writeWithTimeout(batch);
      this.queue.splice(0, batch.length);
      if (outcome.sequenceError !== undefined) this.dropPair(outcome.sequenceError, batch);
      else this.committed(batch);
    } catch (err) {
      failed = true;
      this.failed(batch, err);
    } finally {
      this.writing = false;
    }
    if (this.closed && this.queue.length === 0) {
      for (const r of this.idleResolvers.splice(0)) r();
      return;
    }
    if (failed) {
      const delay = this.retryDelayMs;
      this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.options.maxRetryDelayMs);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.writeNext();
      }, delay);
      return;
    }
    if (this.queue.length > 0) {
      // Entries that arrived during the write have waited long enough: go now (group commit).
      void this.writeNext();
    } else {
      for (const r of this.idleResolvers.splice(0)) r();
    }
  }

  private committed(batch: QueuedEntry[]): void {
    this.retryDelayMs = this.options.retryDelayMs;
    this.stats.transactions += 1;
    this.stats.entries += batch.length;
    const heads = new Map<string, number>();
    for (const q of batch) {
      heads.set(q.entry.pair, q.entry.sequence);
      q.waiter.remaining -= 1;
      if (q.waiter.remaining === 0) this.settle(q.waiter, undefined);
    }
    for (const [pair, seq] of heads) {
      this.durable.set(pair, seq);
      const list = this.durableWaiters.get(pair);
      if (list === undefined) continue;
      const still = list.filter((w) => {
        if (w.sequence <= seq) {
          w.resolve();
          return false;
        }
        return true;
      });
      if (still.length === 0) this.durableWaiters.delete(pair);
      else this.durableWaiters.set(pair, still);
    }
    if (!this.available) this.setAvailable(true, undefined);
  }

  private failed(batch: QueuedEntry[], err: unknown): void {
    this.stats.failedWrites += 1;
    for (const q of batch) q.inFailedAttempt = true;
    const detail = describe(err);
    const error = new UnavailableError('postgresql', `journal write failed: ${detail}; the command is kept and will be written when PostgreSQL is back`, { cause: err });
    // Every caller still waiting learns it now; the entries stay queued.
    for (const q of this.queue) this.settle(q.waiter, error);
    if (this.available) this.setAvailable(false, detail);
    else this.lastError = detail;
  }

  /** The database's head of `pair` does not precede our first entry: reject and drop all of the pair's queued entries. */
  private dropPair(e: JournalSequenceError, batch: QueuedEntry[]): void {
    // The batch was not written; put it back, minus the pair.
    this.queue.unshift(...batch);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const q = this.queue[i]!;
      if (q.entry.pair !== e.pair) continue;
      this.queue.splice(i, 1);
      this.settle(q.waiter, e);
    }
    this.lastQueued.delete(e.pair);
  }

  private settle(waiter: Waiter, err: Error | undefined): void {
    if (waiter.settled) return;
    waiter.settled = true;
    if (err === undefined) waiter.resolve();
    else waiter.reject(err);
  }

  private setAvailable(available: boolean, lastError: string | undefined): void {
    this.available = available;
    this.lastError = lastError;
    const status = this.status();
    for (const l of this.listeners) {
      try {
        l(status);
      } catch {
        // A listener's failure must not stop the writer.
      }
    }
  }

  /**
   * Runs the transaction; if it takes longer than writeTimeoutMs, destroys its connection (so the
   * pool never reuses it and the server aborts an uncommitted transaction) and fails.
   */
  private async writeWithTimeout(batch: QueuedEntry[]): Promise<{ sequenceError?: JournalSequenceError }> {
    let client: PoolClient | undefined;
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        if (client !== undefined) destroyConnection(client);
        reject(new Error(`write exceeded ${this.options.writeTimeoutMs} ms`));
      }, this.options.writeTimeoutMs);
    });
    const work = (async () => {
      const c = await this.pool.connect();
      // A checked-out client reports a dropped connection as an 'error' event; the failing query
      // already tells us, and an unheard event would crash the process.
      const ignore = () => {};
      c.on('error', ignore);
      if (timedOut) {
        c.release(true);
        throw new Error('connected after the write timed out');
      }
      client = c;
      try {
        const r = await this.transaction(c, batch);
        if (this.options.afterCommit !== undefined) await this.options.afterCommit();
        c.off('error', ignore);
        c.release();
        return r;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        c.release(err instanceof Error ? err : true);
        throw err;
      }
    })();
    work.catch(() => {}); // after a timeout nobody awaits it
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async transaction(c: PoolClient, batch: QueuedEntry[]): Promise<{ sequenceError?: JournalSequenceError }> {
    await c.query('BEGIN');
    let entries = batch.map((q) => q.entry);
    if (batch.some((q) => q.inFailedAttempt)) {
      // An earlier attempt may have committed before its connection died: skip what is there.
      const { rows } = await c.query<{ pair: string; sequence: string }>(
        'SELECT j.pair, j.sequence FROM journal j JOIN unnest($1::text[], $2::bigint[]) AS b(pair, sequence) ON j.pair = b.pair AND j.sequence = b.sequence',
        [entries.map((e) => e.pair), entries.map((e) => e.sequence)],
      );
      if (rows.length > 0) {
        const present = new Set(rows.map((r) => `${r.pair}\u0000${r.sequence}`));
        entries = entries.filter((e) => !present.has(`${e.pair}\u0000${e.sequence}`));
        this.stats.skippedAlreadyWritten += rows.length;
      }
    }
    if (entries.length === 0) {
      await c.query('COMMIT');
      return {};
    }
    // Gap check against the stored head of every pair in the batch (index-only, one round trip).
    const first = new Map<string, number>();
    for (const e of entries) if (!first.has(e.pair)) first.set(e.pair, e.sequence);
    const pairs = [...first.keys()];
    const { rows: heads } = await c.query<{ pair: string; head: string | null }>(
      'SELECT p.pair, (SELECT max(j.sequence) FROM journal j WHERE j.pair = p.pair) AS head FROM unnest($1::text[]) AS p(pair)',
      [pairs],
    );
    for (const h of heads) {
      const head = h.head === null ? 0 : Number(h.head);
      const f = first.get(h.pair)!;
      if (f !== head + 1) {
        await c.query('ROLLBACK');
        return { sequenceError: new JournalSequenceError(h.pair, head + 1, f) };
      }
    }

    await c.query(
      `INSERT INTO journal (pair, sequence, command, account, client_order_id, timestamp_ms)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::jsonb[], $4::text[], $5::text[], $6::bigint[])`,
      [
        entries.map((e) => e.pair),
        entries.map((e) => e.sequence),
        entries.map((e) => JSON.stringify(serializeCommand(e.command))),
        entries.map((e) => e.account),
        entries.map((e) => e.clientOrderId),
        entries.map((e) => e.timestampMs),
      ],
    );

    // Orders: last state per (pair, order) in this batch; ON CONFLICT may touch a row only once per statement.
    const latest = new Map<string, { pair: string; sequence: number; row: OrderRow }>();
    for (const e of entries) for (const row of e.orders) latest.set(`${e.pair}\u0000${row.orderId}`, { pair: e.pair, sequence: e.sequence, row });
    if (latest.size > 0) {
      const o = [...latest.values()];
      await c.query(
        `INSERT INTO orders (pair, order_id, account, client_order_id, side, order_type, tif, post_only, stp, price_ticks, quantity_lots,
                             filled_lots, remaining_lots, status, cancel_reason, journal_sequence, created_at, updated_at)
         SELECT pair, order_id, account, client_order_id, side, order_type, tif, post_only, stp, price_ticks, quantity_lots,
                filled_lots, remaining_lots, status, cancel_reason, journal_sequence,
                to_timestamp(created_ms / 1000.0), to_timestamp(updated_ms / 1000.0)
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::smallint[], $6::smallint[], $7::smallint[], $8::boolean[], $9::smallint[],
                     $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::text[], $15::smallint[], $16::bigint[], $17::bigint[], $18::bigint[])
              AS t(pair, order_id, account, client_order_id, side, order_type, tif, post_only, stp, price_ticks, quantity_lots,
                   filled_lots, remaining_lots, status, cancel_reason, journal_sequence, created_ms, updated_ms)
         ON CONFLICT (pair, order_id) DO UPDATE SET
           price_ticks = EXCLUDED.price_ticks, quantity_lots = EXCLUDED.quantity_lots, filled_lots = EXCLUDED.filled_lots,
           remaining_lots = EXCLUDED.remaining_lots, status = EXCLUDED.status, cancel_reason = EXCLUDED.cancel_reason,
           journal_sequence = EXCLUDED.journal_sequence, updated_at = EXCLUDED.updated_at`,
        [
          o.map((x) => x.pair),
          o.map((x) => x.row.orderId),
          o.map((x) => x.row.account),
          o.map((x) => x.row.clientOrderId),
          o.map((x) => x.row.side),
          o.map((x) => x.row.type),
          o.map((x) => x.row.tif),
          o.map((x) => x.row.postOnly),
          o.map((x) => x.row.stp),
          o.map((x) => x.row.price),
          o.map((x) => x.row.quantity),
          o.map((x) => x.row.filled),
          o.map((x) => x.row.remaining),
          o.map((x) => x.row.status),
          o.map((x) => x.row.cancelReason),
          o.map((x) => x.sequence),
          o.map((x) => x.row.createdAtMs),
          o.map((x) => x.row.updatedAtMs),
        ],
      );
    }

    const t: Array<{ pair: string; sequence: number; row: JournalEntry['trades'][number] }> = [];
    for (const e of entries) for (const row of e.trades) t.push({ pair: e.pair, sequence: e.sequence, row });
    if (t.length > 0) {
      await c.query(
        `INSERT INTO trades (pair, trade_id, maker_order_id, maker_account, taker_order_id, taker_account, taker_side, price_ticks, quantity_lots, journal_sequence, created_at)
         SELECT pair, trade_id, maker_order_id, maker_account, taker_order_id, taker_account, taker_side, price_ticks, quantity_lots, journal_sequence, to_timestamp(ts / 1000.0)
         FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::smallint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[])
              AS t(pair, trade_id, maker_order_id, maker_account, taker_order_id, taker_account, taker_side, price_ticks, quantity_lots, journal_sequence, ts)`,
        [
          t.map((x) => x.pair),
          t.map((x) => x.row.tradeId),
          t.map((x) => x.row.makerOrderId),
          t.map((x) => x.row.makerAccount),
          t.map((x) => x.row.takerOrderId),
          t.map((x) => x.row.takerAccount),
          t.map((x) => x.row.takerSide),
          t.map((x) => x.row.price),
          t.map((x) => x.row.quantity),
          t.map((x) => x.sequence),
          t.map((x) => x.row.timestampMs),
        ],
      );
    }
    await c.query('COMMIT');
    return {};
  }
}

/**
 * Closes a connection now, whatever it is doing. pg has no public "abort" for a client; destroying
 * its socket makes the pending query fail at once and the server abort an uncommitted transaction.
 */
function destroyConnection(client: PoolClient): void {
  const stream = (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream;
  if (stream?.destroy !== undefined) stream.destroy();
}
