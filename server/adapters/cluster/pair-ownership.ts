/**
 * One replica's side of pair ownership (CLUSTER_MODE=postgres, docs/cluster.md): heartbeats, lease
 * renewal, placement, takeover, hand-over and step-down. Every OWNERSHIP_RENEW_MS one tick (never two at
 * once) heartbeats, renews the leases held, re-reads members and leases, and acquires the free pairs the
 * placement gives this replica, or hands over those it gives a live other.
 *
 * Safety: a lease is renewed only while not expired (by PostgreSQL's clock). Locally each held pair has a
 * deadline, SAFE_FRACTION of the lease after the renewal was SENT (by the monotonic clock): past it the
 * pair stops serving at once (the gate checks it on every call, a timer every CHECK_MS), before the lease
 * can expire in PostgreSQL; a paused process therefore never serves a pair someone else may have taken.
 * The journal's fence (postgres-journal.ts) makes it impossible anyway: this is what keeps a resumed
 * replica from even applying a command it could not journal.
 */
import { performance } from 'node:perf_hooks';
import { PairNotOwnedError } from '../../ports/errors.ts';
import type { JournalFence } from '../../ports/journal.ts';
import type { ClusterMember, PairLease, PairOwnershipStore } from '../../ports/pair-ownership-store.ts';
import { placePairs, type PlacementMode } from './placement.ts';

/** Part of the lease after which a replica that could not renew stops serving (before it can expire). */
export const SAFE_FRACTION = 0.8;
/** How often the local deadlines are checked between ticks (also on every call through the gate). */
export const CHECK_MS = 100;

/** Why a pair changed hands on this replica (`trading_ownership_changes_total{reason}`). */
export type OwnershipChange = 'acquired' | 'lease_lost' | 'fenced' | 'handed_over' | 'released' | 'recovery_failed';

/** What the service does when a pair arrives or leaves (TradingService wires it). */
export interface PairLifecycle {
  /** Rebuilds the pair from snapshot + journal and attaches it at the journal head; throws if it cannot. */
  takeOver(pair: string): Promise<void>;
  /** Stops serving at once: commands refused, waiting replies and streams ended with `error`. */
  stepDown(pair: string, error: PairNotOwnedError): void;
  /** Before a graceful release (stepped down already): waits until the pair's journal is written, snapshots it. */
  handOver(pair: string): Promise<void>;
}

export interface PairOwnershipOptions {
  store: PairOwnershipStore;
  replicaId: string;
  grpcAddress: string;
  adminAddress: string;
  pairs: readonly string[];
  leaseMs: number;
  renewMs: number;
  placement: PlacementMode;
  staticOwners: ReadonlyMap<string, string>;
  lifecycle: PairLifecycle;
  logger: { info(message: string, fields?: Record<string, unknown>): void; error(message: string, error?: unknown, fields?: Record<string, unknown>): void };
  onChange?: (pair: string, change: OwnershipChange) => void;
  /** Monotonic milliseconds. @default performance.now */
  nowMs?: () => number;
}

interface Held {
  token: number;
  /** Monotonic ms after which the pair must not be served (renewal sent + SAFE_FRACTION of the lease). */
  validUntil: number;
  /** Recovered and attached: commands are taken. */
  serving: boolean;
  /** Being handed over (no longer serving, lease kept until its journal is written). */
  leaving: boolean;
}

export interface ClusterStatus {
  mode: 'postgres';
  replica_id: string;
  replicas: { replica_id: string; grpc_address: string; admin_address: string; heartbeat_age_ms: number; live: boolean; pairs: string[] }[];
  pairs: { pair: string; owner: string | null; fencing_token: number; lease_age_ms: number | null; lease_remaining_ms: number; serving_here: boolean }[];
}

export class PairOwnership implements JournalFence {
  readonly replicaId: string;
  private readonly held = new Map<string, Held>();
  private members: ClusterMember[] = [];
  private leases = new Map<string, PairLease>();
  private readonly nowMs: () => number;
  private timers: NodeJS.Timeout[] = [];
  private ticking: Promise<void> | undefined;
  private stopped = false;
  private readonly busy = new Set<string>();

  constructor(private readonly o: PairOwnershipOptions) {
    this.replicaId = o.replicaId;
    this.nowMs = o.nowMs ?? (() => performance.now());
  }

  /** First tick (so the replica owns its share before it reports ready), then the timers. */
  async start(): Promise<void> {
    await this.o.store.ensurePairs(this.o.pairs);
    await this.tickOnce();
    const tick = setInterval(() => void this.tickOnce(), this.o.renewMs);
    const check = setInterval(() => this.expireOverdue(), Math.min(CHECK_MS, this.o.renewMs));
    tick.unref();
    check.unref();
    this.timers = [tick, check];
  }

  /** JournalFence: the token this replica holds the pair with (also while handing it over). */
  tokenOf(pair: string): number | undefined {
    return this.held.get(pair)?.token;
  }

  /** Serving the pair now (owned, recovered, within its local deadline). */
  isServing(pair: string): boolean {
    const h = this.held.get(pair);
    return h !== undefined && h.serving && this.nowMs() < h.validUntil;
  }

  /** Throws PairNotOwnedError naming the owner unless this replica serves the pair now. */
  check(pair: string): void {
    const h = this.held.get(pair);
    if (h !== undefined && h.serving) {
      if (this.nowMs() < h.validUntil) return;
      this.lose(pair, 'lease_lost', 'lease not renewed in time');
    }
    throw this.notOwned(pair);
  }

  /** The error a call for `pair` gets here: the owner as last read, or none. */
  notOwned(pair: string): PairNotOwnedError {
    const lease = this.leases.get(pair);
    const owner = lease?.owner !== undefined && lease.owner !== this.replicaId && lease.leaseRemainingMs > 0 ? lease.owner : undefined;
    const address = owner === undefined ? undefined : this.members.find((m) => m.replicaId === owner)?.grpcAddress;
    return new PairNotOwnedError(pair, owner, address, this.o.renewMs);
  }

  /** The journal refused the pair's entries (fence): someone else holds it; step down if the token is ours. */
  fenced(pair: string, token: number | undefined): void {
    const h = this.held.get(pair);
    if (h === undefined || (token !== undefined && h.token !== token)) return;
    this.lose(pair, 'fenced', 'the journal refused its entries (another replica holds the lease)');
  }

  /** `/admin/cluster/status`, from the last tick's reads. */
  status(): ClusterStatus {
    const owners = new Map<string, string[]>();
    for (const l of this.leases.values()) if (l.owner !== undefined && l.leaseRemainingMs > 0) owners.set(l.owner, [...(owners.get(l.owner) ?? []), l.pair]);
    return {
      mode: 'postgres',
      replica_id: this.replicaId,
      replicas: this.members.map((m) => ({
        replica_id: m.replicaId,
        grpc_address: m.grpcAddress,
        admin_address: m.adminAddress,
        heartbeat_age_ms: m.heartbeatAgeMs,
        live: m.heartbeatAgeMs < this.o.leaseMs,
        pairs: owners.get(m.replicaId) ?? [],
      })),
      pairs: [...this.leases.values()].map((l) => ({
        pair: l.pair,
        owner: l.owner ?? null,
        fencing_token: l.fencingToken,
        lease_age_ms: l.leaseAgeMs ?? null,
        lease_remaining_ms: l.leaseRemainingMs,
        serving_here: this.isServing(l.pair),
      })),
    };
  }

  /**
   * Graceful stop: every pair stepped down, its journal written and snapshotted, its lease released
   * (owner NULL, expired now) so another replica takes it at its next tick; then this replica leaves.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.ticking;
    await Promise.all([...this.held.keys()].map((pair) => this.handOver(pair, 'released')));
    await this.o.store.leave(this.replicaId).catch((err: unknown) => this.o.logger.error('cluster: leaving the member list failed', err));
  }

  // ---- the tick ----

  private tickOnce(): Promise<void> {
    if (this.ticking !== undefined || this.stopped) return this.ticking ?? Promise.resolve();
    this.ticking = this.tick()
      .catch((err: unknown) => this.o.logger.error(`cluster: ownership tick failed (leases held: ${[...this.held.keys()].join(', ') || 'none'}; each stops serving at its deadline unless renewed)`, err, { event: 'ownership_tick_failed' }))
      .finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async tick(): Promise<void> {
    const { store, leaseMs } = this.o;
    const sentAt = this.nowMs();
    await store.heartbeat({ replicaId: this.replicaId, grpcAddress: this.o.grpcAddress, adminAddress: this.o.adminAddress });
    const tokens = new Map([...this.held].map(([p, h]) => [p, h.token]));
    const renewed = await store.renew(this.replicaId, tokens, leaseMs);
    for (const [pair, token] of tokens) {
      const h = this.held.get(pair);
      if (h === undefined || h.token !== token) continue;
      if (renewed.has(pair)) h.validUntil = sentAt + leaseMs * SAFE_FRACTION;
      else this.lose(pair, 'lease_lost', 'lease renewal refused (expired or taken over)');
    }
    const [members, leases] = await Promise.all([store.members(), store.leases()]);
    this.members = members;
    this.leases = new Map(leases.map((l) => [l.pair, l]));
    if (this.stopped) return;
    const live = members.filter((m) => m.heartbeatAgeMs < leaseMs).map((m) => m.replicaId);
    if (!live.includes(this.replicaId)) live.push(this.replicaId);
    const placed = placePairs(this.o.pairs, live, this.o.placement, this.o.staticOwners);
    for (const pair of this.o.pairs) {
      if (this.busy.has(pair)) continue;
      const mine = placed.get(pair) === this.replicaId;
      const h = this.held.get(pair);
      if (h !== undefined && !mine && !h.leaving && h.serving) {
        this.o.logger.info(`cluster: handing ${pair} over to ${placed.get(pair)} (placement)`, { event: 'ownership_handover', pair, to: placed.get(pair) });
        void this.handOver(pair, 'handed_over');
        continue;
      }
      const lease = this.leases.get(pair);
      if (h === undefined && mine && (lease === undefined || lease.owner === undefined || lease.leaseRemainingMs <= 0)) await this.acquire(pair);
    }
  }

  private async acquire(pair: string): Promise<void> {
    const sentAt = this.nowMs();
    const token = await this.o.store.acquire(pair, this.replicaId, this.o.leaseMs);
    if (token === undefined) return; // someone was quicker
    this.held.set(pair, { token, validUntil: sentAt + this.o.leaseMs * SAFE_FRACTION, serving: false, leaving: false });
    this.busy.add(pair);
    // Recovery runs beside the ticks, which keep renewing the lease meanwhile.
    void this.o.lifecycle
      .takeOver(pair)
      .then(
        () => {
          const h = this.held.get(pair);
          if (h === undefined || h.token !== token) return;
          h.serving = true;
          this.o.logger.info(`cluster: ${pair} acquired with fencing token ${token}; serving`, { event: 'ownership_acquired', pair, fencing_token: token });
          this.o.onChange?.(pair, 'acquired');
        },
        async (err: unknown) => {
          this.o.logger.error(`cluster: ${pair}: recovery after acquiring it failed; releasing the lease`, err, { event: 'ownership_recovery_failed', pair });
          this.held.delete(pair);
          this.o.onChange?.(pair, 'recovery_failed');
          await this.o.store.release(pair, this.replicaId, token).catch(() => {});
        },
      )
      .finally(() => this.busy.delete(pair));
  }

  /** Stop serving, let the journal drain and snapshot, then release the lease. */
  private async handOver(pair: string, reason: 'handed_over' | 'released'): Promise<void> {
    const h = this.held.get(pair);
    if (h === undefined || h.leaving) return;
    h.leaving = true;
    const wasServing = h.serving;
    h.serving = false;
    this.busy.add(pair);
    try {
      this.o.lifecycle.stepDown(pair, new PairNotOwnedError(pair, undefined, undefined, this.o.renewMs));
      if (wasServing) await this.o.lifecycle.handOver(pair);
    } catch (err) {
      this.o.logger.error(`cluster: ${pair}: hand-over snapshot failed (the next owner replays more journal)`, err);
    } finally {
      this.busy.delete(pair);
    }
    if (this.held.get(pair) !== h) return; // lost meanwhile
    this.held.delete(pair);
    await this.o.store.release(pair, this.replicaId, h.token).catch((err: unknown) => this.o.logger.error(`cluster: releasing ${pair} failed; it is taken over when its lease expires`, err));
    this.o.logger.info(`cluster: ${pair} ${reason === 'released' ? 'released (stopping)' : 'handed over'}`, { event: 'ownership_released', pair, reason });
    this.o.onChange?.(pair, reason);
  }

  private expireOverdue(): void {
    const now = this.nowMs();
    for (const [pair, h] of this.held) if (now >= h.validUntil) this.lose(pair, 'lease_lost', 'lease not renewed in time');
  }

  private lose(pair: string, change: 'lease_lost' | 'fenced', why: string): void {
    const h = this.held.get(pair);
    if (h === undefined) return;
    this.held.delete(pair);
    this.o.logger.error(`cluster: ${pair} stepped down: ${why} (fencing token ${h.token})`, undefined, { event: 'ownership_lost', pair, reason: change, fencing_token: h.token });
    this.o.lifecycle.stepDown(pair, this.notOwned(pair));
    this.o.onChange?.(pair, change);
  }
}
