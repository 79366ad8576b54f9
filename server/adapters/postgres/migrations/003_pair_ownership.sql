-- 003: several replicas on one database (CLUSTER_MODE=postgres, docs/cluster.md). Each pair is owned by
-- at most one replica through a lease row with an expiry, renewed by its owner; every change of owner
-- increments the pair's fencing token, and the journal's append checks (owner, token) in the same
-- statement that inserts the pair's entries, so a replica that lost a pair can never journal for it.
-- Times are PostgreSQL's (now()), never a replica's clock.

-- The replicas that are or were running: a replica is live while its heartbeat is younger than
-- OWNERSHIP_LEASE_MS. Placement (balanced) spreads the pairs over the live ones.
CREATE TABLE cluster_members (
    replica_id     text        PRIMARY KEY,
    grpc_address   text        NOT NULL,
    admin_address  text        NOT NULL,
    heartbeat_at   timestamptz NOT NULL,
    started_at     timestamptz NOT NULL
);

-- One row per pair; owner NULL while nobody holds it. A lease whose lease_expires_at is past is free
-- for anyone to take (with fencing_token + 1), even if its owner still believes it holds it.
CREATE TABLE pair_owners (
    pair              text        PRIMARY KEY,
    owner             text,
    fencing_token     bigint      NOT NULL DEFAULT 0,
    lease_expires_at  timestamptz NOT NULL DEFAULT '-infinity',
    acquired_at       timestamptz
);
