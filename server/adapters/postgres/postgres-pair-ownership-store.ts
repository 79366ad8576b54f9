/**
 * The PairOwnershipStore port on PostgreSQL (tables of migration 003). Every time is PostgreSQL's
 * (now(), clock_timestamp()), so replicas whose clocks disagree still agree on who holds a lease.
 */
import type { Pool } from 'pg';
import type { ClusterMember, PairLease, PairOwnershipStore } from '../../ports/pair-ownership-store.ts';

export class PostgresPairOwnershipStore implements PairOwnershipStore {
  constructor(private readonly pool: Pool) {}

  async ensurePairs(pairs: readonly string[]): Promise<void> {
    await this.pool.query('INSERT INTO pair_owners (pair) SELECT unnest($1::text[]) ON CONFLICT (pair) DO NOTHING', [pairs]);
  }

  async heartbeat(m: { replicaId: string; grpcAddress: string; adminAddress: string }): Promise<void> {
    await this.pool.query(
      `INSERT INTO cluster_members (replica_id, grpc_address, admin_address, heartbeat_at, started_at) VALUES ($1, $2, $3, clock_timestamp(), clock_timestamp())
       ON CONFLICT (replica_id) DO UPDATE SET grpc_address = EXCLUDED.grpc_address, admin_address = EXCLUDED.admin_address, heartbeat_at = EXCLUDED.heartbeat_at`,
      [m.replicaId, m.grpcAddress, m.adminAddress],
    );
  }

  async leave(replicaId: string): Promise<void> {
    await this.pool.query('DELETE FROM cluster_members WHERE replica_id = $1', [replicaId]);
  }

  async members(): Promise<ClusterMember[]> {
    const { rows } = await this.pool.query<{ replica_id: string; grpc_address: string; admin_address: string; age_ms: string }>(
      `SELECT replica_id, grpc_address, admin_address, floor(extract(epoch FROM clock_timestamp() - heartbeat_at) * 1000)::bigint::text AS age_ms
       FROM cluster_members ORDER BY replica_id`,
    );
    return rows.map((r) => ({ replicaId: r.replica_id, grpcAddress: r.grpc_address, adminAddress: r.admin_address, heartbeatAgeMs: Number(r.age_ms) }));
  }

  async leases(): Promise<PairLease[]> {
    const { rows } = await this.pool.query<{ pair: string; owner: string | null; fencing_token: string; age_ms: string | null; remaining_ms: string }>(
      `SELECT pair, owner, fencing_token::text,
              floor(extract(epoch FROM clock_timestamp() - acquired_at) * 1000)::bigint::text AS age_ms,
              CASE WHEN lease_expires_at = '-infinity' THEN '0'
                   ELSE floor(extract(epoch FROM lease_expires_at - clock_timestamp()) * 1000)::bigint::text END AS remaining_ms
       FROM pair_owners ORDER BY pair`,
    );
    return rows.map((r) => ({
      pair: r.pair,
      owner: r.owner ?? undefined,
      fencingToken: Number(r.fencing_token),
      leaseAgeMs: r.age_ms === null ? undefined : Number(r.age_ms),
      leaseRemainingMs: r.owner === null ? 0 : Number(r.remaining_ms),
    }));
  }

  async acquire(pair: string, replicaId: string, leaseMs: number): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ fencing_token: string }>(
      `UPDATE pair_owners SET owner = $2, fencing_token = fencing_token + 1,
              lease_expires_at = clock_timestamp() + make_interval(secs => $3 / 1000.0), acquired_at = clock_timestamp()
       WHERE pair = $1 AND (owner IS NULL OR lease_expires_at < clock_timestamp())
       RETURNING fencing_token::text`,
      [pair, replicaId, leaseMs],
    );
    return rows[0] === undefined ? undefined : Number(rows[0].fencing_token);
  }

  async renew(replicaId: string, held: ReadonlyMap<string, number>, leaseMs: number): Promise<Set<string>> {
    if (held.size === 0) return new Set();
    // Only leases not yet expired: one that expired may already be someone else's to take.
    const { rows } = await this.pool.query<{ pair: string }>(
      `UPDATE pair_owners o SET lease_expires_at = clock_timestamp() + make_interval(secs => $4 / 1000.0)
       FROM unnest($2::text[], $3::bigint[]) AS h(pair, token)
       WHERE o.pair = h.pair AND o.owner = $1 AND o.fencing_token = h.token AND o.lease_expires_at >= clock_timestamp()
       RETURNING o.pair`,
      [replicaId, [...held.keys()], [...held.values()], leaseMs],
    );
    return new Set(rows.map((r) => r.pair));
  }

  async release(pair: string, replicaId: string, token: number): Promise<void> {
    await this.pool.query(
      `UPDATE pair_owners SET owner = NULL, lease_expires_at = clock_timestamp() WHERE pair = $1 AND owner = $2 AND fencing_token = $3`,
      [pair, replicaId, token],
    );
  }
}
