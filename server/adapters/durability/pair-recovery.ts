/**
 * Start-up recovery and periodic snapshots of the pairs, over the RecoveryStore port. Recovery runs
 * before the gRPC server listens: per recorded pair, the latest snapshot (checksum-verified) is
 * restored, the journal after it is replayed through TradingPair.replay (same order ids, same clock
 * readings, nothing published), and the journal is told the pair's head. A corrupt snapshot, a gap or
 * a command that does not replay stops THAT pair (fenced, with the reason) — never silently.
 */
import { CommandKind, type Command } from '../../core/commands.ts';
import type { AccountId } from '../../core/types.ts';
import type { JournaledCommand, RecoveryStore, SnapshotToSave } from '../../ports/journal.ts';
import type { TradingPairs } from '../../pairs/trading-pairs.ts';
import type { TradingPair } from '../../pairs/trading-pair.ts';
import type { CommandDurability, CommandDurabilityLogger, DurableJournal } from './command-durability.ts';

export interface PairRecoveryReport {
  pair: string;
  /** Sequence of the snapshot recovery started from (0: none). */
  snapshotSequence: number;
  /** When that snapshot was taken (epoch ms) and how many resting orders it held; absent without one. */
  snapshotTakenAtMs?: number;
  snapshotOrders?: number;
  /** Journal entries replayed after it. */
  replayed: number;
  /** The pair's head after recovery. */
  sequence: number;
  durationMs: number;
  /** Set when the pair failed to recover and is fenced. */
  error?: string;
}

export interface RecoveryReport {
  pairs: PairRecoveryReport[];
  /** Pairs found in the journal that this process does not trade (kept, not served). */
  unknownPairs: string[];
  durationMs: number;
}

export interface RecoverOptions {
  pairs: TradingPairs;
  recovery: RecoveryStore;
  journal: DurableJournal;
  durability: CommandDurability;
  logger: CommandDurabilityLogger;
  nowMs: () => number;
  /** Journal rows per read. @default 5000 */
  batchSize?: number;
}

/** Recovers every pair the store knows, then attaches every pair to the durability layer. */
export async function recoverPairs(o: RecoverOptions): Promise<RecoveryReport> {
  const started = o.nowMs();
  const recorded = await o.recovery.recordedPairs();
  const report: RecoveryReport = { pairs: [], unknownPairs: [], durationMs: 0 };
  const failed = new Map<string, string>();
  for (const symbol of recorded) {
    const pair = o.pairs.get(symbol);
    if (pair === undefined) {
      report.unknownPairs.push(symbol);
      o.logger.error(`recovery: the journal holds pair ${symbol}, which this service does not trade; its records are kept, not served`);
      continue;
    }
    const r = await recoverPair(o, pair);
    report.pairs.push(r);
    if (r.error !== undefined) failed.set(symbol, r.error);
  }
  const replayedAfterSnapshot = new Map(report.pairs.map((r) => [r.pair, r.replayed]));
  for (const pair of o.pairs.list()) {
    o.durability.attach(pair, replayedAfterSnapshot.get(pair.symbol) ?? 0);
    const reason = failed.get(pair.symbol);
    if (reason !== undefined) o.durability.fence(pair.symbol, `recovery failed: ${reason}`);
  }
  report.durationMs = o.nowMs() - started;
  return report;
}

/**
 * Recovers one pair that nothing else writes meanwhile — listed at runtime (not yet served), or just
 * acquired by this replica in cluster mode (holding nothing: TradingPair.reset() first) — from its
 * snapshot and journal (empty for a new symbol) exactly as at start-up, then attaches it to the
 * durability layer at the journal head (fenced when recovery failed, like at start-up).
 */
export async function recoverOnePair(o: Omit<RecoverOptions, 'pairs'> & { pairs: Pick<TradingPairs, 'accounts'> }, pair: TradingPair): Promise<PairRecoveryReport> {
  const r = await recoverPair(o, pair);
  o.durability.attach(pair, r.replayed);
  if (r.error !== undefined) o.durability.fence(pair.symbol, `recovery failed: ${r.error}`);
  return r;
}

async function recoverPair(o: Omit<RecoverOptions, 'pairs'> & { pairs: Pick<TradingPairs, 'accounts'> }, pair: TradingPair): Promise<PairRecoveryReport> {
  const started = o.nowMs();
  const symbol = pair.symbol;
  let snapshotSequence = 0;
  let snapshotInfo: { snapshotTakenAtMs: number; snapshotOrders: number } | undefined;
  let replayed = 0;
  let last = 0;
  try {
    const snapshot = await o.recovery.latestSnapshot(symbol);
    const head = await o.recovery.lastSequence(symbol);
    if (snapshot !== undefined) {
      if (snapshot.sequence > head) throw new Error(`snapshot covers command ${snapshot.sequence} but the journal ends at ${head}`);
      pair.restoreSnapshot(snapshot, (name) => o.pairs.accounts.intern(name));
      snapshotSequence = snapshot.sequence;
      snapshotInfo = { snapshotTakenAtMs: snapshot.takenAtMs, snapshotOrders: snapshot.orders.length };
      last = snapshot.sequence;
    }
    const accounts = o.pairs.accounts;
    for await (const batch of o.recovery.entriesAfter(symbol, last, o.batchSize ?? 5000)) {
      for (const r of batch) {
        pair.replay(r.sequence, withAccount(r.command, accounts.intern(r.account)), r.clientOrderId, r.timestampMs);
        last = r.sequence;
        replayed++;
      }
    }
    if (last !== head) throw new Error(`replay ended at command ${last} but the journal head is ${head}`);
    o.journal.setHead(symbol, last);
    const durationMs = o.nowMs() - started;
    o.logger.info(`recovery: ${symbol} restored to command ${last} (snapshot ${snapshotSequence}, ${replayed} replayed) in ${durationMs} ms`);
    return { pair: symbol, snapshotSequence, ...snapshotInfo, replayed, sequence: last, durationMs };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    o.logger.error(`recovery: ${symbol} FAILED after command ${last}: ${error}; the pair is stopped (fail closed), the other pairs trade`, err);
    return { pair: symbol, snapshotSequence, replayed, sequence: last, durationMs: o.nowMs() - started, error };
  }
}

/**
 * The journaled command with this process's account id, built field by field (one object shape per
 * kind; a spread of the decoded row was a measurable share of replay time).
 */
function withAccount(c: JournaledCommand, account: AccountId): Command {
  switch (c.kind) {
    case CommandKind.NewOrder:
      return { kind: c.kind, orderId: c.orderId, account, side: c.side, type: c.type, tif: c.tif, postOnly: c.postOnly, price: c.price, quantity: c.quantity, stp: c.stp };
    case CommandKind.Cancel:
      return { kind: c.kind, orderId: c.orderId, account };
    case CommandKind.Replace:
      return { kind: c.kind, orderId: c.orderId, account, price: c.price, quantity: c.quantity };
    case CommandKind.CancelAll:
      return { kind: c.kind, account, side: c.side };
    default:
      throw new Error(`unknown command kind ${String((c as { kind: unknown }).kind)}`);
  }
}

export interface SnapshotterOptions {
  recovery: RecoveryStore;
  journal: DurableJournal;
  durability: CommandDurability;
  logger: CommandDurabilityLogger;
  nowMs: () => number;
}

/**
 * Takes a pair's snapshot in memory at once (consistent: between two commands), waits until the
 * journal holds every command it covers (a snapshot never gets ahead of the journal), then stores it.
 * One snapshot per pair in flight.
 */
export class PairSnapshotter {
  /** Last stored snapshot per pair, for status pages: taken by this process, or loaded at recovery. */
  readonly lastStored = new Map<string, { sequence: number; atMs: number; orders: number; loadedAtStart: boolean }>();
  failures = 0;
  constructor(private readonly o: SnapshotterOptions) {}

  /** Records the snapshots recovery started from, so status shows them before this process takes one. */
  noteRecovered(report: RecoveryReport): void {
    for (const r of report.pairs) {
      if (r.snapshotSequence > 0 && r.snapshotTakenAtMs !== undefined && !this.lastStored.has(r.pair)) {
        this.lastStored.set(r.pair, { sequence: r.snapshotSequence, atMs: r.snapshotTakenAtMs, orders: r.snapshotOrders ?? 0, loadedAtStart: true });
      }
    }
  }

  /** Forgets a delisted pair. */
  forget(pair: string): void {
    this.lastStored.delete(pair);
  }

  /** Snapshots `pair` now unless one is in flight or nothing happened since the last. */
  async take(pair: TradingPair): Promise<SnapshotToSave | undefined> {
    const status = this.o.durability.pairStatus(pair.symbol);
    if (status === undefined || status.fenced !== undefined) return undefined;
    if ((this.lastStored.get(pair.symbol)?.sequence ?? -1) === pair.lastCommandSequence) return undefined;
    if (this.inFlight.has(pair.symbol)) return undefined;
    this.inFlight.add(pair.symbol);
    this.o.durability.snapshotTaken(pair.symbol, true);
    try {
      const snapshot = pair.snapshotToSave(this.o.nowMs());
      await this.o.journal.waitForDurable(pair.symbol, snapshot.sequence);
      await this.o.recovery.saveSnapshot(snapshot);
      this.lastStored.set(pair.symbol, { sequence: snapshot.sequence, atMs: snapshot.takenAtMs, orders: snapshot.orders.length, loadedAtStart: false });
      return snapshot;
    } catch (err) {
      this.failures++;
      this.o.logger.error(`snapshot of ${pair.symbol} failed (recovery replays more until the next one succeeds)`, err);
      return undefined;
    } finally {
      this.inFlight.delete(pair.symbol);
      this.o.durability.snapshotTaken(pair.symbol, false);
    }
  }

  private readonly inFlight = new Set<string>();
}
