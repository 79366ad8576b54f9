/**
 * This replica in a cluster (CLUSTER_MODE=postgres): the PairOwnership coordinator plus what a pair's
 * arrival and departure do to the service — the lifecycle. Every replica constructs every pair, but
 * serves only those it owns:
 * - takeover: wait until no entry of the pair from an earlier ownership is still queued, restore its
 *   migration/breaker state (pair_state), reset it and recover it from latest snapshot + journal exactly
 *   as at start-up, attach it to the journal at its head; only then does the gate let calls through.
 * - step-down (lease lost, fenced, hand-over): refuse calls at once (PairNotOwnedError), tell waiting
 *   replies their fate is unknown, end the pair's market-data streams with the same status.
 * - hand-over (placement moved it, or SIGTERM): after the step-down, wait for its journal, snapshot it,
 *   then the coordinator releases the lease.
 */
import type { ClusterConfig } from '../../config.ts';
import type { OrderBookManager } from '../../pairs/order-book-manager.ts';
import type { PairControls } from '../../pairs/pair-controls.ts';
import type { TradingPairs } from '../../pairs/trading-pairs.ts';
import { PairNotOwnedError } from '../../ports/errors.ts';
import type { RecoveryStore } from '../../ports/journal.ts';
import type { PairOwnershipStore } from '../../ports/pair-ownership-store.ts';
import type { PairStateStore } from '../../ports/pair-state-store.ts';
import type { CommandDurability, DurableJournal } from '../durability/command-durability.ts';
import { PairControlPersistence } from '../durability/pair-control-persistence.ts';
import { recoverOnePair, type PairSnapshotter } from '../durability/pair-recovery.ts';
import type { BindableFence } from './bindable-fence.ts';
import { PairOwnership, type ClusterStatus, type OwnershipChange, type PairLifecycle } from './pair-ownership.ts';

export interface ClusterNodeOptions {
  config: ClusterConfig;
  store: PairOwnershipStore;
  fence: BindableFence;
  pairs: TradingPairs;
  managers: ReadonlyMap<string, OrderBookManager>;
  control: Pick<PairControls, 'has' | 'get' | 'pairs'>;
  pairState: PairStateStore;
  durability: CommandDurability;
  journal: DurableJournal;
  recovery: RecoveryStore;
  snapshotter: PairSnapshotter;
  /** Ends the pair's market-data streams with `reason`. */
  endStreamsOf(pair: string, reason: Error): void;
  logger: PairOwnershipLogger;
  onChange(pair: string, change: OwnershipChange): void;
}

type PairOwnershipLogger = ConstructorParameters<typeof PairOwnership>[0]['logger'];

export class ClusterNode {
  private ownership: PairOwnership | undefined;

  constructor(private readonly o: ClusterNodeOptions) {
    o.journal.onFenced?.((e) => {
      o.logger.error(`cluster: the journal's fence refused ${e.pair}'s queued entries (fencing token ${e.token ?? 'none'}): another replica holds the pair; they were never acknowledged`, undefined, {
        event: 'journal_fenced',
        pair: e.pair,
        fencing_token: e.token,
      });
      this.ownership?.fenced(e.pair, e.token);
    });
  }

  /** Joins the cluster once gRPC listens: the first tick acquires this replica's share (recovered in the background). */
  async start(grpcAddress: string, adminAddress: string): Promise<void> {
    const c = this.o.config;
    const ownership = new PairOwnership({
      store: this.o.store,
      replicaId: c.replicaId,
      grpcAddress: c.advertiseGrpc ?? grpcAddress,
      adminAddress: c.advertiseAdmin ?? adminAddress,
      pairs: this.o.pairs.list().map((p) => p.symbol),
      leaseMs: c.leaseMs,
      renewMs: c.renewMs,
      placement: c.placement,
      staticOwners: c.staticOwners,
      lifecycle: this.lifecycle(),
      logger: this.o.logger,
      onChange: (pair, change) => this.o.onChange(pair, change),
    });
    this.ownership = ownership;
    this.o.fence.bind(ownership);
    await ownership.start();
  }

  /** Hands every pair over (snapshot, release) and leaves the member list. */
  async stop(): Promise<void> {
    await this.ownership?.stop();
  }

  /** Throws PairNotOwnedError unless this replica serves `pair` now (the gate's check). */
  check(pair: string): void {
    if (this.ownership === undefined) throw new PairNotOwnedError(pair, undefined, undefined, this.o.config.renewMs);
    this.ownership.check(pair);
  }

  serves(pair: string): boolean {
    return this.ownership?.isServing(pair) ?? false;
  }

  /** Holds the pair's lease (serving, recovering it, or handing it over): its snapshots are this replica's to take. */
  holds(pair: string): boolean {
    return this.ownership?.tokenOf(pair) !== undefined;
  }

  status(): ClusterStatus | { mode: 'postgres'; replica_id: string; starting: true } {
    return this.ownership?.status() ?? { mode: 'postgres', replica_id: this.o.config.replicaId, starting: true };
  }

  /** The control plane of the pairs this replica serves (what it saves to pair_state). */
  servedControl(): Pick<PairControls, 'has' | 'get' | 'pairs'> {
    const c = this.o.control;
    return { has: (p) => c.has(p) && this.serves(p), get: (p) => c.get(p), pairs: () => c.pairs().filter((p) => this.serves(p)) };
  }

  private lifecycle(): PairLifecycle {
    const o = this.o;
    return {
      takeOver: async (symbol) => {
        const pair = o.pairs.get(symbol)!;
        const manager = o.managers.get(symbol)!;
        await o.journal.pairIdle?.(symbol);
        // Its migration and breaker state moves with it (pair_state), before the replay like at start-up.
        const c = o.control;
        await new PairControlPersistence(o.pairState, { has: (p) => p === symbol && c.has(p), get: (p) => c.get(p), pairs: () => [symbol] }, o.logger).restore();
        manager.beginReplay();
        try {
          pair.reset();
          o.snapshotter.lastStored.delete(symbol);
          const r = await recoverOnePair({ pairs: o.pairs, recovery: o.recovery, journal: o.journal, durability: o.durability, logger: o.logger, nowMs: () => Date.now() }, pair);
          o.snapshotter.noteRecovered({ pairs: [r], unknownPairs: [], durationMs: r.durationMs });
          if (r.error !== undefined) throw new Error(r.error);
        } finally {
          manager.endReplay();
        }
      },
      stepDown: (symbol, error) => {
        o.durability.release(symbol, error);
        o.endStreamsOf(symbol, error);
      },
      handOver: async (symbol) => {
        await o.journal.pairIdle?.(symbol);
        await o.snapshotter.take(o.pairs.get(symbol)!);
      },
    };
  }
}
