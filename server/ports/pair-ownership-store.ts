/**
 * Which replica owns which pair (cluster mode, docs/cluster.md): the coordinator's port. A lease per
 * pair with an expiry kept by the store's own clock, and a fencing token that increases at every change
 * of owner. Ports only, no I/O.
 */

/** A replica as the store last heard of it. */
export interface ClusterMember {
  replicaId: string;
  grpcAddress: string;
  adminAddress: string;
  /** Milliseconds since its last heartbeat, by the store's clock. */
  heartbeatAgeMs: number;
}

/** One pair's lease row. */
export interface PairLease {
  pair: string;
  /** undefined while nobody holds it (released, or never taken). */
  owner: string | undefined;
  fencingToken: number;
  /** Milliseconds since the lease was taken (undefined when never). */
  leaseAgeMs: number | undefined;
  /** Milliseconds until it expires, by the store's clock; <= 0 once expired (free for anyone). */
  leaseRemainingMs: number;
}

export interface PairOwnershipStore {
  /** Creates the lease rows of these pairs (unowned) where missing. */
  ensurePairs(pairs: readonly string[]): Promise<void>;
  /** Records this replica as live now (and its addresses). */
  heartbeat(member: { replicaId: string; grpcAddress: string; adminAddress: string }): Promise<void>;
  /** Removes this replica from the members (graceful stop: others stop counting it at once). */
  leave(replicaId: string): Promise<void>;
  members(): Promise<ClusterMember[]>;
  leases(): Promise<PairLease[]>;
  /**
   * Takes `pair` for `replicaId` if it is free (no owner, or its lease expired): the token is
   * incremented and returned; undefined when someone else holds a live lease.
   */
  acquire(pair: string, replicaId: string, leaseMs: number): Promise<number | undefined>;
  /** Extends the leases `replicaId` still holds with these tokens; returns the pairs renewed. */
  renew(replicaId: string, held: ReadonlyMap<string, number>, leaseMs: number): Promise<Set<string>>;
  /** Gives the pair up at once (owner NULL, lease expired now) if still held with `token`. */
  release(pair: string, replicaId: string, token: number): Promise<void>;
}
