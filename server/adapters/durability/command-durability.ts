/**
 * Ack after durable, for every pair of the process: the CommandRecorder the pairs hand each applied
 * command to, and the gate the gRPC layer asks before and after applying one. Owns no socket itself;
 * it drives the Journal port (PostgreSQL group commit in production) and decides what leaves the process
 * and when. Must not apply commands or read the environment.
 *
 * - Every command that reached a book arrives here synchronously (TradingPair.finish) with its journal
 *   entry and its publication (market-data delta, order events). Entries recorded in the same turn of
 *   the event loop go to the journal in one append() call (an OrderFlow message of 100 orders is one
 *   call); the journal's group commit then shares transactions between calls.
 * - Publications are held per pair, in sequence order, and released (pair.publish) only once the
 *   journal reports their sequence durable. Replies wait for `settled(pair)`: the pair's last command
 *   at the time of the reply is durable and its publication released, so a reply never shows state
 *   that a crash could take back, and a client sees its order events before its result.
 * - Outage: when the journal is unavailable, `checkWritable` refuses every new command (UNAVAILABLE
 *   naming PostgreSQL, nothing applied). Commands already applied whose append was rejected are
 *   answered UNAVAILABLE "applied, not yet durable" (the client checks by client order id later);
 *   their entries stay queued in the journal, and their publications are released when
 *   `waitForDurable` resolves after PostgreSQL is back.
 * - A pair whose recovery failed, or whose journal refused a sequence (a second writer, a bug), is
 *   fenced: every call on it is refused with the reason, the other pairs keep trading.
 */
import { UnavailableError } from '../../ports/errors.ts';
import { JournalClosedError, JournalFencedError, JournalSequenceError, type Journal, type JournalEntry, type JournalStatus } from '../../ports/journal.ts';
import type { CommandRecorder, Publication, TradingPair } from '../../pairs/trading-pair.ts';
import type { DurabilityGate } from '../grpc/durability-gate.ts';

/** The Journal port plus what recovery tells it (PostgresJournal has it). */
export interface DurableJournal extends Journal {
  /** The pair's committed head after recovery, so the first append is checked in process. */
  setHead(pair: string, sequence: number): void;
  /** Cluster mode: resolves when none of the pair's entries is queued or being written. */
  pairIdle?(pair: string): Promise<void>;
  /** Cluster mode: told once per pair whose entries the fence refused. */
  onFenced?(listener: (error: JournalFencedError) => void): () => void;
}

export interface CommandDurabilityLogger {
  info(message: string): void;
  error(message: string, error?: unknown): void;
}

interface HeldPublication {
  sequence: number;
  publication: Publication;
}

interface AckWaiter {
  sequence: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** One pair's held publications and waiting replies. */
class PairLog {
  /** Held publications, oldest first, from `head`. */
  held: HeldPublication[] = [];
  head = 0;
  /** Last sequence whose publication was released (everything up to it is durable). */
  released = 0;
  /** Highest sequence whose append was rejected as unavailable and is not durable yet (0: none). */
  failedThrough = 0;
  waiters: AckWaiter[] = [];
  /** Why the pair refuses every call (recovery failed, journal refused a sequence); undefined when fine. */
  fenced: string | undefined;
  /** Cluster mode: the replica no longer serves the pair; every call gets this error (until attached again). */
  refusal: Error | undefined;
  /**
   * Commands the pair's state holds beyond its last stored snapshot: those replayed at recovery
   * (attach) plus those recorded since. A crash loop therefore still reaches the threshold.
   */
  sinceSnapshot = 0;
  snapshotInFlight = false;
  constructor(readonly pair: TradingPair) {}
}

/** A reply whose command was applied but whose journal write failed: what the client is told. */
export function notDurableError(pair: string, detail: string): UnavailableError {
  return new UnavailableError(
    'postgresql',
    `${pair}: the command was applied but is not yet durable (${detail}); it is kept and will be written when PostgreSQL is back — check its fate by client_order_id before resending`,
  );
}

export class CommandDurability implements CommandRecorder, DurabilityGate {
  private readonly logs = new Map<string, PairLog>();
  private batch: JournalEntry[] = [];
  private batchLogs = new Set<PairLog>();
  private flushScheduled = false;
  private available = true;
  private lastError: string | undefined;
  private readonly unsubscribe: () => void;
  private readonly flushBound = () => this.flush();
  /** Called for each pair whose command count since its last snapshot reached the threshold. */
  onSnapshotDue: ((pair: TradingPair) => void) | undefined;

  constructor(
    private readonly journal: DurableJournal,
    private readonly logger: CommandDurabilityLogger,
    /** Commands per pair between snapshots (0: only the timer takes them). */
    private readonly snapshotEveryCommands = 0,
  ) {
    const status = journal.status();
    this.available = status.available;
    this.lastError = status.lastError;
    this.unsubscribe = journal.onStatusChange((s) => this.statusChanged(s));
  }

  /**
   * Starts journaling `pair`: from now on it defers its publications to this recorder.
   * `commandsSinceSnapshot` is what recovery replayed after the pair's last snapshot (its state is
   * that far beyond it); when it reaches the threshold a snapshot is due at once, so that a service
   * killed again soon after starting does not replay the same journal again (and ever more of it).
   */
  attach(pair: TradingPair, commandsSinceSnapshot = 0): void {
    const log = new PairLog(pair);
    log.released = pair.lastCommandSequence;
    log.sinceSnapshot = commandsSinceSnapshot;
    this.logs.set(pair.symbol, log);
    pair.setRecorder(this);
    if (this.snapshotEveryCommands > 0 && commandsSinceSnapshot >= this.snapshotEveryCommands) this.onSnapshotDue?.(pair);
  }

  /**
   * Stops journaling a pair (delisted): it no longer defers publications here. The caller waited for
   * `settled` first, so nothing of it is held.
   */
  detach(pair: TradingPair): void {
    const log = this.logs.get(pair.symbol);
    if (log === undefined || log.pair !== pair) return;
    this.logs.delete(pair.symbol);
    this.batchLogs.delete(log);
    pair.setRecorder(undefined);
  }

  /** Refuses every call on the pair from now on, with `reason` (recovery failed, journal refused a sequence). */
  fence(pair: string, reason: string): void {
    const log = this.logs.get(pair);
    if (log === undefined) return;
    log.fenced = reason;
    const err = new UnavailableError('postgresql', `${pair} is stopped: ${reason}`);
    for (const w of log.waiters.splice(0)) w.reject(err);
  }

  /**
   * Cluster mode: the pair left this replica (lease lost, handed over). Every new call on it gets
   * `error` from now on; the replies still waiting are told their command was applied but its fate is
   * unknown (never acknowledged: its journal entry is written only if the fence still lets it). attach()
   * starts the pair again.
   */
  release(pair: string, error: Error): void {
    const log = this.logs.get(pair);
    if (log === undefined) return;
    log.refusal = error;
    const fate = new UnavailableError('cluster', `${pair} left this replica before the command was durable; it was applied here and may or may not be journaled — check its fate by client_order_id on the pair's owner before resending`);
    for (const w of log.waiters.splice(0)) w.reject(fate);
  }

  /** Why the pair is fenced, or undefined. */
  fencedReason(pair: string): string | undefined {
    return this.logs.get(pair)?.fenced;
  }

  get isAvailable(): boolean {
    return this.available;
  }

  /** Per-pair counters for status pages: last applied, released (durable and published), held. */
  pairStatus(pair: string): { applied: number; durable: number; held: number; fenced: string | undefined } | undefined {
    const log = this.logs.get(pair);
    if (log === undefined) return undefined;
    return { applied: log.pair.lastCommandSequence, durable: log.released, held: log.held.length - log.head, fenced: log.fenced };
  }

  // ---- the gate the gRPC layer asks ----

  /** Throws UnavailableError when `pair` cannot take a command now; nothing has been applied then. */
  checkWritable(pair: TradingPair): void {
    const log = this.logs.get(pair.symbol);
    if (log?.refusal !== undefined) throw log.refusal;
    if (log?.fenced !== undefined) throw new UnavailableError('postgresql', `${pair.symbol} is stopped: ${log.fenced}`);
    if (!this.available) {
      throw new UnavailableError(
        'postgresql',
        `PostgreSQL is unreachable (${this.lastError ?? 'journal writes failing'}); ${pair.symbol} takes no commands until journal writes succeed again — nothing was applied, retry later`,
      );
    }
  }

  /** Throws when the pair's state must not be read (fenced: recovery failed). */
  checkReadable(pair: TradingPair): void {
    const log = this.logs.get(pair.symbol);
    if (log?.refusal !== undefined) throw log.refusal;
    if (log?.fenced !== undefined) throw new UnavailableError('postgresql', `${pair.symbol} is stopped: ${log.fenced}`);
  }

  /**
   * undefined when everything `pair` applied so far is durable and published; otherwise a promise
   * that resolves when it is, or rejects with UnavailableError when its journal write failed (the
   * command stays applied and queued: "applied, not yet durable").
   */
  settled(pair: TradingPair): Promise<void> | undefined {
    const log = this.logs.get(pair.symbol);
    if (log === undefined) return undefined;
    const sequence = pair.lastCommandSequence;
    if (sequence <= log.released) return undefined;
    if (log.refusal !== undefined) return Promise.reject(log.refusal);
    if (log.fenced !== undefined) return Promise.reject(new UnavailableError('postgresql', `${pair.symbol} is stopped: ${log.fenced}`));
    if (sequence <= log.failedThrough) return Promise.reject(notDurableError(pair.symbol, this.lastError ?? 'journal write failed'));
    return new Promise<void>((resolve, reject) => log.waiters.push({ sequence, resolve, reject }));
  }

  isDurable(pair: TradingPair, sequence: number): boolean {
    const log = this.logs.get(pair.symbol);
    return log === undefined || sequence <= log.released;
  }

  // ---- CommandRecorder ----

  record(pair: TradingPair, entry: JournalEntry, publication: Publication): void {
    const log = this.logs.get(pair.symbol)!;
    log.held.push({ sequence: entry.sequence, publication });
    this.batch.push(entry);
    this.batchLogs.add(log);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushBound);
    }
    log.sinceSnapshot++;
    if (this.snapshotEveryCommands > 0 && log.sinceSnapshot >= this.snapshotEveryCommands && !log.snapshotInFlight) this.onSnapshotDue?.(pair);
  }

  /** A snapshot of the pair was taken at its current sequence (the counter restarts). */
  snapshotTaken(pair: string, inFlight: boolean): void {
    const log = this.logs.get(pair);
    if (log === undefined) return;
    if (inFlight) log.sinceSnapshot = 0;
    log.snapshotInFlight = inFlight;
  }

  commandsSinceSnapshot(pair: string): number {
    return this.logs.get(pair)?.sinceSnapshot ?? 0;
  }

  close(): void {
    this.unsubscribe();
  }

  // ---- internals ----

  private flush(): void {
    this.flushScheduled = false;
    const entries = this.batch;
    const logs = this.batchLogs;
    this.batch = [];
    this.batchLogs = new Set();
    if (entries.length === 0) return;
    const through = new Map<PairLog, number>();
    for (const e of entries) through.set(this.logs.get(e.pair)!, e.sequence);
    this.journal.append(entries).then(
      () => {
        for (const log of logs) this.pump(log);
      },
      (err: unknown) => this.appendFailed(through, err),
    );
  }

  /** Releases what the journal reports durable, in order, then the replies waiting for it. */
  private pump(log: PairLog): void {
    const durable = this.journal.durableSequence(log.pair.symbol);
    const held = log.held;
    let i = log.head;
    while (i < held.length && held[i]!.sequence <= durable) {
      const h = held[i]!;
      i++;
      log.released = h.sequence;
      try {
        log.pair.publish(h.publication);
      } catch (err) {
        this.logger.error(`publishing ${log.pair.symbol} command ${h.sequence} failed`, err);
      }
    }
    if (i >= held.length) {
      log.held = [];
      log.head = 0;
    } else if (i > 1024 && i * 2 > held.length) {
      log.held = held.slice(i);
      log.head = 0;
    } else {
      log.head = i;
    }
    if (log.released >= log.failedThrough) log.failedThrough = 0;
    let w = 0;
    const waiters = log.waiters;
    while (w < waiters.length && waiters[w]!.sequence <= log.released) waiters[w++]!.resolve();
    if (w > 0) waiters.splice(0, w);
  }

  private appendFailed(through: Map<PairLog, number>, err: unknown): void {
    if (err instanceof UnavailableError) {
      // Kept and retried by the journal: tell the waiting replies now, release when durable.
      for (const [log, sequence] of through) {
        log.failedThrough = Math.max(log.failedThrough, sequence);
        const e = notDurableError(log.pair.symbol, err.detail);
        let w = 0;
        while (w < log.waiters.length && log.waiters[w]!.sequence <= log.failedThrough) log.waiters[w++]!.reject(e);
        if (w > 0) log.waiters.splice(0, w);
        this.journal.waitForDurable(log.pair.symbol, sequence).then(
          () => this.pump(log),
          () => {}, // closed while waiting: shutting down
        );
      }
      return;
    }
    if (err instanceof JournalFencedError) {
      // The fenced pair steps down (its waiters get the refusal then); the other pairs of the same
      // append were put back in the queue by the journal: release them once written.
      for (const [log, sequence] of through) {
        this.journal.waitForDurable(log.pair.symbol, sequence).then(
          () => this.pump(log),
          () => {}, // the fenced pair, or closed while waiting
        );
      }
      return;
    }
    if (err instanceof JournalClosedError) {
      const e = new UnavailableError('server', 'the service is shutting down; the command was applied but may not be durable — check its fate by client_order_id after restart');
      for (const log of through.keys()) for (const w of log.waiters.splice(0)) w.reject(e);
      return;
    }
    // A sequence refused by the journal (a second writer or a bug) or anything unexpected: the pair's
    // memory no longer matches its journal, so it stops rather than acknowledge what is not stored.
    const reason = err instanceof JournalSequenceError ? `journal refused its sequence (${err.message})` : `journal append failed unexpectedly (${err instanceof Error ? err.message : String(err)})`;
    for (const log of through.keys()) {
      this.logger.error(`${log.pair.symbol}: ${reason}; the pair is stopped until restart`, err);
      this.fence(log.pair.symbol, `${reason}; restart the service to recover it from the journal`);
    }
  }

  private statusChanged(s: JournalStatus): void {
    if (s.available === this.available) return;
    this.available = s.available;
    this.lastError = s.lastError;
    if (s.available) this.logger.info(`journal: PostgreSQL writes succeed again; ${s.pendingEntries} entries pending, trading resumes`);
    else this.logger.error(`journal: PostgreSQL writes failing (${s.lastError}); every pair refuses new commands until it is back`);
  }
}
