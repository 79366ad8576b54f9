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
 * Fencing (cluster mode, `fence` set): every entry is stamped at append() with the token under which
 * this replica holds its pair, and the write locks the pair's lease row (FOR SHARE) and checks owner and
 * token in the same statement that inserts the entries, so a replica that lost the pair (paused,
 * partitioned) can never commit for it, and a takeover waits for a write that holds the row. A fenced
 * pair is not an outage: its queued entries are rejected with JournalFencedError and dropped (never
 * retried), `onFenced` listeners are told, the other pairs of the batch are written.
 *
 * Sequences: per pair gap-free from 1. append() checks them against what this process queued
 * before (JournalSequenceError at once, nothing queued), and each transaction checks the first
 * sequence of every pair against the stored head (a stale or second writer): the offending pair's
 * queued entries are rejected with JournalSequenceError and dropped, the others go on.
 */
import { performance } from 'node:perf_hooks';
import type { Pool, PoolClient } from 'pg';
import { UnavailableError } from '../../ports/errors.ts';
import {
  JournalClosedError,
  JournalFencedError,
  JournalSequenceError,
  type JournalFence,
  type Journal,
  type JournalEntry,
  type JournalStatus,
} from '../../ports/journal.ts';
import { columnsOf, JournalChunk } from './journal-write-columns.ts';

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
  /** Cluster mode: the replica and its fencing tokens, checked by every write. @default undefined (single process) */
  fence?: JournalFence;
}

export const DEFAULT_MAX_DELAY_MS = 2;
/** Committed chunks a journal keeps to reuse their buffers, and the largest it keeps (bytes). */
const SPARE_CHUNKS = 2;
const SPARE_CHUNK_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_BATCH = 1000;

type CompiledJournalOptions = Readonly<Required<Omit<PostgresJournalOptions, 'afterCommit' | 'fence'>> & Pick<PostgresJournalOptions, 'afterCommit' | 'fence'>>;

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
    fence: raw.fence,
  });
}

/** One append() call's promise, settled once even when its entries span chunks and batches. */
interface Waiter {
  /** Chunks holding entries of the call that are not committed yet. */
  remaining: number;
  settled: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Queued entries of one pair, already encoded (JournalChunk): what waits for the transaction is their
 * bytes, not the entries. The queue's last chunk takes the next append of its pair until a write takes
 * it (sealed) or it holds maxBatch entries; a batch is whole chunks.
 */
interface QueuedChunk {
  chunk: JournalChunk;
  /** The append() calls with entries in this chunk. */
  waiters: Waiter[];
  /** Taken by a write: nothing is added any more. */
  sealed: boolean;
  /** Was in a write whose outcome is unknown (it may have committed: all of it or none, one statement). */
  inFailedAttempt: boolean;
  /** The pair's fencing token at append (cluster mode only). */
  token: number | undefined;
}

/** What a write found instead of committing: a stale head (sequence error) or pairs refused by the fence. */
interface WriteOutcome {
  sequenceError?: JournalSequenceError;
  fenced?: JournalFencedError[];
}

interface DurableWaiter {
  sequence: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** One write attempt (one transaction): its entries, how long it took, whether it committed. */
export type JournalWriteListener = (entries: number, seconds: number, committed: boolean) => void;

/** Counters for tests and metrics. */
export interface JournalStats {
  /** Committed write transactions. */
  transactions: number;
  /** Entries committed. */
  entries: number;
  /** Failed write attempts. */
  failedWrites: number;
  /** Entries refused by the fence (cluster mode), dropped. */
  fencedEntries: number;
  /** Entries found already committed when retried after an ambiguous failure. */
  skippedAlreadyWritten: number;
}

export { serializeCommand } from './journal-write-columns.ts';

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

export class PostgresJournal implements Journal {
  private readonly options: CompiledJournalOptions;
  private readonly queue: QueuedChunk[] = [];
  /** Entries in the queue's chunks. */
  private queuedEntries = 0;
  /** Entries a new chunk is sized for: about what the last write took (a chunk that grows copies its bytes). */
  private chunkCapacity = 64;
  /** Committed chunks kept for reuse (their buffers), at most SPARE_CHUNKS of at most SPARE_CHUNK_BYTES each. */
  private readonly spare: JournalChunk[] = [];
  /** Last sequence queued (or committed) per pair by this process; unknown pairs are checked by the database. */
  private readonly lastQueued = new Map<string, number>();
  private readonly durable = new Map<string, number>();
  private readonly durableWaiters = new Map<string, DurableWaiter[]>();
  private readonly listeners = new Set<(status: JournalStatus) => void>();
  private readonly writeListeners = new Set<JournalWriteListener>();
  private readonly fencedListeners = new Set<(error: JournalFencedError) => void>();
  private pairIdleWaiters: Array<{ pair: string; resolve: () => void }> = [];
  /** Pairs refused by the fence, until setHead() starts them again (a new ownership). */
  private readonly fencedPairs = new Map<string, JournalFencedError>();

  private available = true;
  private lastError: string | undefined;
  private writing = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  /** The pending timer fires without delay (a full batch is waiting). */
  private timerIsImmediate = false;
  private retryDelayMs: number;
  private idleResolvers: Array<() => void> = [];

  readonly stats: JournalStats = { transactions: 0, entries: 0, failedWrites: 0, fencedEntries: 0, skippedAlreadyWritten: 0 };

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
    const fence = this.options.fence;
    const tokens = new Map<string, number | undefined>();
    if (fence !== undefined) {
      for (const pair of next.keys()) {
        const token = fence.tokenOf(pair);
        if (token === undefined) return Promise.reject(new JournalFencedError(pair, undefined));
        tokens.set(pair, token);
      }
    }
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const waiter: Waiter = { remaining: 0, settled: false, resolve, reject };
    try {
      if (next.size === 1) this.enqueue(entries, waiter, tokens.get(entries[0]!.pair), true);
      else for (const pair of next.keys()) this.enqueue(entries.filter((e) => e.pair === pair), waiter, tokens.get(pair), false);
    } catch (err) {
      // A value that does not fit its column (a bug in the caller): nothing of the call stays queued.
      this.unqueue(waiter);
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    for (const [pair, seq] of next) this.lastQueued.set(pair, seq);
    if (!this.available) {
      // Kept and retried, but the caller learns now that it is not durable yet.
      this.settle(waiter, new UnavailableError('postgresql', `journal writes are failing (${this.lastError}); the command is kept and will be written when PostgreSQL is back`));
    } else {
      this.schedule();
    }
    return promise;
  }

  /**
   * Encodes one pair's entries of a call into the queue's last chunk when `share` and it may take them,
   * else into a new chunk. A value that does not fit its column throws with the queue as it was.
   */
  private enqueue(entries: readonly JournalEntry[], waiter: Waiter, token: number | undefined, share: boolean): void {
    const tail = this.queue[this.queue.length - 1];
    const pair = entries[0]!.pair;
    if (share && tail !== undefined && !tail.sealed && tail.chunk.pair === pair && tail.token === token && tail.chunk.count + entries.length <= this.options.maxBatch) {
      tail.chunk.add(entries);
      tail.waiters.push(waiter);
      waiter.remaining++;
    } else {
      const reused = this.spare.pop();
      reused?.reset(pair);
      const chunk = reused ?? new JournalChunk(pair, Math.max(entries.length, this.chunkCapacity));
      try {
        chunk.add(entries);
      } catch (err) {
        if (reused !== undefined) this.spare.push(reused);
        throw err;
      }
      this.queue.push({ chunk, waiters: [waiter], sealed: false, inFailedAttempt: false, token });
      waiter.remaining++;
    }
    this.queuedEntries += entries.length;
  }

  /** Takes a refused call's chunks back out of the queue (a call of several pairs shares none: they are the last ones). */
  private unqueue(waiter: Waiter): void {
    while (this.queue.length > 0 && this.queue[this.queue.length - 1]!.waiters[0] === waiter) this.queuedEntries -= this.queue.pop()!.chunk.count;
  }

  waitForDurable(pair: string, sequence: number): Promise<void> {
    if ((this.durable.get(pair) ?? 0) >= sequence) return Promise.resolve();
    if (this.closed) return Promise.reject(new JournalClosedError());
    const fenced = this.fencedPairs.get(pair);
    if (fenced !== undefined) return Promise.reject(fenced);
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
    return { available: this.available, pendingEntries: this.queuedEntries, lastError: this.lastError };
  }

  /** Told after every write attempt (metrics): entries in it, seconds it took, whether it committed. */
  onWrite(listener: JournalWriteListener): () => void {
    this.writeListeners.add(listener);
    return () => this.writeListeners.delete(listener);
  }

  private notifyWrite(entries: number, startedAt: number, ok: boolean): void {
    const seconds = (performance.now() - startedAt) / 1000;
    for (const l of this.writeListeners) l(entries, seconds, ok);
  }

  /** Told once per pair refused by the fence (cluster mode): the pair must step down. */
  onFenced(listener: (error: JournalFencedError) => void): () => void {
    this.fencedListeners.add(listener);
    return () => this.fencedListeners.delete(listener);
  }

  /**
   * Resolves when none of `pair`'s entries is queued or being written (committed, or dropped by the
   * fence): a replica taking a pair over again waits for it before it rebuilds the pair from the journal.
   */
  pairIdle(pair: string): Promise<void> {
    if (!this.queue.some((q) => q.chunk.pair === pair)) return Promise.resolve();
    return new Promise((resolve) => this.pairIdleWaiters.push({ pair, resolve }));
  }

  private wakePairIdle(): void {
    if (this.pairIdleWaiters.length === 0) return;
    const queued = new Set(this.queue.map((q) => q.chunk.pair));
    this.pairIdleWaiters = this.pairIdleWaiters.filter((w) => {
      if (queued.has(w.pair)) return true;
      w.resolve();
      return false;
    });
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
    if (this.queue.some((q) => q.chunk.pair === pair)) throw new Error(`setHead(${pair}) while entries of the pair are queued`);
    this.lastQueued.set(pair, sequence);
    this.durable.set(pair, sequence);
    this.fencedPairs.delete(pair);
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
    if (this.closed) return this.queuedEntries;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flushed(), new Promise<void>((r) => (timer = setTimeout(r, drainTimeoutMs)))]);
    clearTimeout(timer);
    const left = this.queuedEntries;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const err = new JournalClosedError();
    for (const q of this.queue.splice(0)) for (const w of q.waiters) this.settle(w, err);
    this.queuedEntries = 0;
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
      if (this.queuedEntries < this.options.maxBatch || !this.available || this.timerIsImmediate) return;
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const delay = this.queuedEntries >= this.options.maxBatch ? 0 : this.options.maxDelayMs;
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
    // Whole chunks, up to maxBatch entries (at least one chunk).
    let end = 0;
    let entries = 0;
    while (end < this.queue.length && (end === 0 || entries + this.queue[end]!.chunk.count <= this.options.maxBatch)) {
      this.queue[end]!.sealed = true;
      entries += this.queue[end++]!.chunk.count;
    }
    const batch = this.queue.slice(0, end);
    this.chunkCapacity = Math.min(this.options.maxBatch, Math.max(64, Math.ceil(entries * 1.25)));
    let failed = false;
    const startedAt = performance.now();
    try {
      const outcome = await this.writeWithTimeout(batch);
      this.notifyWrite(entries, startedAt, outcome.sequenceError === undefined);
      this.queue.splice(0, batch.length);
      this.queuedEntries -= entries;
      if (outcome.fenced !== undefined) this.dropFenced(outcome.fenced, batch);
      else if (outcome.sequenceError !== undefined) this.dropPair(outcome.sequenceError, batch);
      else this.committed(batch);
    } catch (err) {
      failed = true;
      this.notifyWrite(entries, startedAt, false);
      this.failed(batch, err);
    } finally {
      this.writing = false;
    }
    this.wakePairIdle();
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

  private committed(batch: QueuedChunk[]): void {
    this.retryDelayMs = this.options.retryDelayMs;
    this.stats.transactions += 1;
    const heads = new Map<string, number>();
    for (const q of batch) {
      this.stats.entries += q.chunk.count;
      heads.set(q.chunk.pair, q.chunk.lastSequence);
      for (const w of q.waiters) if (--w.remaining === 0) this.settle(w, undefined);
      // The statement is done with its buffers.
      if (this.spare.length < SPARE_CHUNKS && q.chunk.capacity <= SPARE_CHUNK_BYTES) this.spare.push(q.chunk);
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

  private failed(batch: QueuedChunk[], err: unknown): void {
    this.stats.failedWrites += 1;
    for (const q of batch) q.inFailedAttempt = true;
    const detail = describe(err);
    const error = new UnavailableError('postgresql', `journal write failed: ${detail}; the command is kept and will be written when PostgreSQL is back`, { cause: err });
    // Every caller still waiting learns it now; the entries stay queued.
    for (const q of this.queue) for (const w of q.waiters) this.settle(w, error);
    if (this.available) this.setAvailable(false, detail);
    else this.lastError = detail;
  }

  /** The database's head of `pair` does not precede our first entry: reject and drop all of the pair's queued entries. */
  private dropPair(e: JournalSequenceError, batch: QueuedChunk[]): void {
    // The batch was not written; put it back, minus the pair.
    this.requeue(batch);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const q = this.queue[i]!;
      if (q.chunk.pair !== e.pair) continue;
      this.queue.splice(i, 1);
      this.queuedEntries -= q.chunk.count;
      for (const w of q.waiters) this.settle(w, e);
    }
    this.lastQueued.delete(e.pair);
  }

  /**
   * Pairs refused by the fence: their queued entries are rejected and dropped, never retried (an
   * outage is retried; a lost lease is not). The rest of the batch goes back to the queue as it was.
   */
  private dropFenced(fenced: JournalFencedError[], batch: QueuedChunk[]): void {
    this.retryDelayMs = this.options.retryDelayMs;
    this.requeue(batch);
    const byPair = new Map(fenced.map((e) => [e.pair, e]));
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const q = this.queue[i]!;
      const e = byPair.get(q.chunk.pair);
      if (e === undefined) continue;
      this.queue.splice(i, 1);
      this.queuedEntries -= q.chunk.count;
      this.stats.fencedEntries += q.chunk.count;
      for (const w of q.waiters) this.settle(w, e);
    }
    for (const e of fenced) {
      this.lastQueued.delete(e.pair);
      this.fencedPairs.set(e.pair, e);
      for (const w of this.durableWaiters.get(e.pair) ?? []) w.reject(e);
      this.durableWaiters.delete(e.pair);
      for (const l of this.fencedListeners) {
        try {
          l(e);
        } catch {
          // A listener's failure must not stop the writer.
        }
      }
    }
    if (!this.available) this.setAvailable(true, undefined); // the database answered
  }

  /** A batch that was not written goes back to the head of the queue. */
  private requeue(batch: QueuedChunk[]): void {
    this.queue.unshift(...batch);
    for (const q of batch) this.queuedEntries += q.chunk.count;
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
  private async writeWithTimeout(batch: QueuedChunk[]): Promise<WriteOutcome> {
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

  private async transaction(c: PoolClient, batch: QueuedChunk[]): Promise<WriteOutcome> {
    // The common case is ONE statement: data-modifying CTEs insert the journal rows, upsert the orders
    // and insert the trades only if every pair's first sequence follows its stored head, all in the
    // statement's own implicit transaction (atomic, committed when it returns). One round trip instead
    // of six (BEGIN, head check, three INSERTs, COMMIT) is what bounds group-commit throughput on a busy
    // machine, where every round trip waits to be scheduled. A retry after an ambiguous failure takes the
    // explicit transaction below, which first skips what an earlier attempt may have committed.
    const fence = fenceParams(this.options.fence, batch);
    if (!batch.some((q) => q.inFailedAttempt)) return this.writeInOneStatement(c, batch.map((q) => q.chunk), fence);

    await c.query('BEGIN');
    if (fence !== undefined) {
      const { rows: held } = await c.query<{ pair: string }>(
        `SELECT o.pair FROM pair_owners o JOIN unnest($1::text[], $2::bigint[]) AS f(pair, token) ON o.pair = f.pair AND o.fencing_token = f.token
         WHERE o.owner = $3 FOR SHARE OF o`,
        [fence.pairs, fence.tokens, fence.replicaId],
      );
      const fenced = refusedByFence(fence, new Set(held.map((r) => r.pair)));
      if (fenced.length > 0) {
        await c.query('ROLLBACK');
        return { fenced };
      }
    }
    // An earlier attempt may have committed before its connection died: skip what is there. Every attempt
    // wrote whole chunks in one transaction, so a chunk is there entirely or not at all: its first entry tells.
    let chunks = batch.map((q) => q.chunk);
    const { rows } = await c.query<{ pair: string; sequence: string }>(
      'SELECT j.pair, j.sequence FROM journal j JOIN unnest($1::text[], $2::bigint[]) AS b(pair, sequence) ON j.pair = b.pair AND j.sequence = b.sequence',
      [chunks.map((k) => k.pair), chunks.map((k) => k.firstSequence)],
    );
    if (rows.length > 0) {
      const present = new Set(rows.map((r) => `${r.pair}\u0000${r.sequence}`));
      const skipped = chunks.filter((k) => present.has(`${k.pair}\u0000${k.firstSequence}`));
      for (const k of skipped) this.stats.skippedAlreadyWritten += k.count;
      chunks = chunks.filter((k) => !skipped.includes(k));
    }
    if (chunks.length === 0) {
      await c.query('COMMIT');
      return {};
    }
    const params = columnsOf(chunks);
    const { rows: heads } = await c.query<{ pair: string; head: string | null }>(
      'SELECT p.pair, (SELECT max(j.sequence) FROM journal j WHERE j.pair = p.pair) AS head FROM unnest($1::text[]) AS p(pair)',
      [params.firstPairs],
    );
    for (const h of heads) {
      const head = h.head === null ? 0 : Number(h.head);
      const f = params.firstSequence.get(h.pair)!;
      if (f !== head + 1) {
        await c.query('ROLLBACK');
        return { sequenceError: new JournalSequenceError(h.pair, head + 1, f) };
      }
    }
    await c.query(`${INSERT_JOURNAL} SELECT * FROM ${JOURNAL_ROWS}`, params.journal);
    if (params.orderCount > 0) await c.query(`${INSERT_ORDERS} SELECT ${ORDER_COLUMNS_FROM_ROWS} FROM ${orderRows(1)} ${UPSERT_ORDERS}`, params.orders);
    if (params.tradeCount > 0) await c.query(`${INSERT_TRADES} SELECT ${TRADE_COLUMNS_FROM_ROWS} FROM ${tradeRows(1)}`, params.trades);
    await c.query('COMMIT');
    return {};
  }

  /** The batch in one atomic statement (see transaction()); a head mismatch inserts nothing. */
  private async writeInOneStatement(c: PoolClient, chunks: JournalChunk[], fence: FenceParams | undefined): Promise<WriteOutcome> {
    const p = columnsOf(chunks);
    // A named statement: PostgreSQL parses and plans it once per connection, not once per batch (with
    // small batches under load that was a large part of the server's work per transaction).
    const { rows } = await c.query<{ pair: string; first: string; head: string | null; ok: boolean; held: boolean }>({
      name: fence === undefined ? 'journal_write' : 'journal_write_fenced',
      text: fence === undefined ? ONE_STATEMENT_WRITE : ONE_STATEMENT_WRITE_FENCED,
      values: [
        p.firstPairs,
        p.firstPairs.map((pair) => p.firstSequence.get(pair)!),
        ...p.journal,
        ...p.orders,
        ...p.trades,
        ...(fence === undefined ? [] : [fence.pairs, fence.tokens, fence.replicaId]),
      ],
    });
    if (rows.length > 0 && rows[0]!.ok === false) {
      if (fence !== undefined) {
        const fenced = refusedByFence(fence, new Set(rows.filter((r) => r.held).map((r) => r.pair)));
        if (fenced.length > 0) return { fenced };
      }
      for (const r of rows) {
        const head = r.head === null ? 0 : Number(r.head);
        if (Number(r.first) !== head + 1) return { sequenceError: new JournalSequenceError(r.pair, head + 1, Number(r.first)) };
      }
    }
    return {};
  }
}

/** The distinct (pair, token) stamps of a batch, for the fence check. */
interface FenceParams {
  replicaId: string;
  pairs: string[];
  tokens: number[];
}

function fenceParams(fence: JournalFence | undefined, batch: readonly QueuedChunk[]): FenceParams | undefined {
  if (fence === undefined) return undefined;
  const seen = new Set<string>();
  const out: FenceParams = { replicaId: fence.replicaId, pairs: [], tokens: [] };
  for (const q of batch) {
    const key = `${q.chunk.pair}\u0000${q.token}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.pairs.push(q.chunk.pair);
    out.tokens.push(q.token ?? -1);
  }
  return out;
}

/** The stamps the lease rows did not confirm (a pair stamped with two tokens fails with both). */
function refusedByFence(fence: FenceParams, held: ReadonlySet<string>): JournalFencedError[] {
  const counts = new Map<string, number>();
  for (const pair of fence.pairs) counts.set(pair, (counts.get(pair) ?? 0) + 1);
  const out: JournalFencedError[] = [];
  fence.pairs.forEach((pair, i) => {
    if (!held.has(pair) || counts.get(pair)! > 1) out.push(new JournalFencedError(pair, fence.tokens[i]));
  });
  const unique = new Map(out.map((e) => [e.pair, e]));
  return [...unique.values()];
}

const INSERT_JOURNAL = 'INSERT INTO journal (pair, sequence, command, account, client_order_id, timestamp_ms)';
const JOURNAL_ROWS = 'unnest($1::text[], $2::bigint[], $3::json[], $4::text[], $5::text[], $6::bigint[])';
function journalRows(from: number): string {
  const a = (i: number) => `$${from + i}`;
  return `unnest(${a(0)}::text[], ${a(1)}::bigint[], ${a(2)}::json[], ${a(3)}::text[], ${a(4)}::text[], ${a(5)}::bigint[])`;
}

const INSERT_ORDERS = `INSERT INTO orders (pair, order_id, account, client_order_id, side, order_type, tif, post_only, stp, price_ticks, quantity_lots,
                             filled_lots, remaining_lots, status, cancel_reason, journal_sequence, created_at, updated_at)`;
const ORDER_COLUMNS_FROM_ROWS = `pair, order_id, account, client_order_id, side, order_type, tif, post_only, stp, price_ticks, quantity_lots,
                filled_lots, remaining_lots, status, cancel_reason, journal_sequence,
                to_timestamp(created_ms / 1000.0), to_timestamp(updated_ms / 1000.0)`;
function orderRows(from: number): string {
  const a = (i: number) => `$${from + i}`;
  return `unnest(${a(0)}::text[], ${a(1)}::bigint[], ${a(2)}::text[], ${a(3)}::text[], ${a(4)}::smallint[], ${a(5)}::smallint[], ${a(6)}::smallint[], ${a(7)}::boolean[], ${a(8)}::smallint[],
                     ${a(9)}::bigint[], ${a(10)}::bigint[], ${a(11)}::bigint[], ${a(12)}::bigint[], ${a(13)}::text[], ${a(14)}::smallint[], ${a(15)}::bigint[], ${a(16)}::bigint[], ${a(17)}::bigint[])
              AS t(pair, order_id, account, client_order_id, side, order_type, tif, post_only, stp, price_ticks, quantity_lots,
                   filled_lots, remaining_lots, status, cancel_reason, journal_sequence, created_ms, updated_ms)`;
}
const UPSERT_ORDERS = `ON CONFLICT (pair, order_id) DO UPDATE SET
           price_ticks = EXCLUDED.price_ticks, quantity_lots = EXCLUDED.quantity_lots, filled_lots = EXCLUDED.filled_lots,
           remaining_lots = EXCLUDED.remaining_lots, status = EXCLUDED.status, cancel_reason = EXCLUDED.cancel_reason,
           journal_sequence = EXCLUDED.journal_sequence, updated_at = EXCLUDED.updated_at`;

const INSERT_TRADES =
  'INSERT INTO trades (pair, trade_id, maker_order_id, maker_account, taker_order_id, taker_account, taker_side, price_ticks, quantity_lots, journal_sequence, created_at)';
const TRADE_COLUMNS_FROM_ROWS = 'pair, trade_id, maker_order_id, maker_account, taker_order_id, taker_account, taker_side, price_ticks, quantity_lots, journal_sequence, to_timestamp(ts / 1000.0)';
function tradeRows(from: number): string {
  const a = (i: number) => `$${from + i}`;
  return `unnest(${a(0)}::text[], ${a(1)}::bigint[], ${a(2)}::bigint[], ${a(3)}::text[], ${a(4)}::bigint[], ${a(5)}::text[], ${a(6)}::smallint[], ${a(7)}::bigint[], ${a(8)}::bigint[], ${a(9)}::bigint[], ${a(10)}::bigint[])
              AS t(pair, trade_id, maker_order_id, maker_account, taker_order_id, taker_account, taker_side, price_ticks, quantity_lots, journal_sequence, ts)`;
}

/**
 * The common write, one statement: data-modifying CTEs insert the journal rows, upsert the orders and
 * insert the trades only if every pair's first sequence follows its stored head (and, fenced, every
 * pair's lease is still held). Parameters: heads $1-$2, journal $3-$8, orders $9-$26, trades $27-$37,
 * fence $38-$40. The fence locks each pair's lease row FOR SHARE where owner and token still match: a
 * takeover's UPDATE waits for this statement, and one that committed first leaves the row unmatched.
 */
function oneStatementWrite(fenced: boolean): string {
  const held = fenced
    ? `held AS (
        SELECT o.pair FROM pair_owners o JOIN unnest($38::text[], $39::bigint[]) AS f(pair, token) ON o.pair = f.pair AND o.fencing_token = f.token
        WHERE o.owner = $40 FOR SHARE OF o
      ),`
    : '';
  const fenceOk = fenced ? ' AND (SELECT count(*) FROM held) = cardinality($38::text[])' : '';
  return `
      WITH heads AS (
        SELECT h.pair, h.first, (SELECT max(j.sequence) FROM journal j WHERE j.pair = h.pair) AS head
        FROM unnest($1::text[], $2::bigint[]) AS h(pair, first)
      ),
      ${held}
      ok AS (SELECT coalesce(bool_and(first = coalesce(head, 0) + 1), true)${fenceOk} AS ok FROM heads),
      j AS (${INSERT_JOURNAL} SELECT r.* FROM ${journalRows(3)} AS r WHERE (SELECT ok FROM ok)),
      o AS (${INSERT_ORDERS} SELECT ${ORDER_COLUMNS_FROM_ROWS} FROM ${orderRows(9)} WHERE (SELECT ok FROM ok) ${UPSERT_ORDERS}),
      t AS (${INSERT_TRADES} SELECT ${TRADE_COLUMNS_FROM_ROWS} FROM ${tradeRows(27)} WHERE (SELECT ok FROM ok))
      SELECT heads.pair, heads.first, heads.head, (SELECT ok FROM ok) AS ok${fenced ? ', heads.pair IN (SELECT pair FROM held) AS held' : ', true AS held'} FROM heads`;
}
const ONE_STATEMENT_WRITE = oneStatementWrite(false);
const ONE_STATEMENT_WRITE_FENCED = oneStatementWrite(true);

/**
 * Closes a connection now, whatever it is doing. pg has no public "abort" for a client; destroying
 * its socket makes the pending query fail at once and the server abort an uncommitted transaction.
 */
function destroyConnection(client: PoolClient): void {
  const stream = (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream;
  if (stream?.destroy !== undefined) stream.destroy();
}
