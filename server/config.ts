/**
 * The service configuration, read from the environment once. The only module that reads process.env;
 * everything else gets these values as arguments. Bad values fail at startup naming the variable.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Instrument } from './core/instrument.ts';
import { parseInstrumentList } from './core/instrument-input.ts';
import { hostname } from 'node:os';

export type InitialMigrationState = 'legacy_only' | 'shadow';

/**
 * How gRPC callers prove who they are. `sessions`: a bearer token from SessionService.Login (API key →
 * session in the SessionStore). `header`: the `x-account-id` metadata is trusted as is — for local tools
 * and benchmarks that measure the engine without the session store; refused unless gRPC listens on
 * loopback, because anyone who can connect could then act for any account.
 */
export type AuthMode = 'sessions' | 'header';

export interface ServiceConfig {
  /** GRPC_HOST. @default "0.0.0.0" */
  readonly grpcHost: string;
  /** GRPC_PORT; 0 picks a free port. @default 50051 */
  readonly grpcPort: number;
  /**
   * GRPC_SHUTDOWN_GRACE_MS: how long a shutdown waits for in-flight calls before cutting them. Longer
   * lets slow clients finish; shorter frees the port sooner.
   * @default 10000
   */
  readonly shutdownGraceMs: number;
  /** ADMIN_HOST: the admin HTTP API's address. Loopback by default so plain `curl` works on the host only. @default "127.0.0.1" */
  readonly adminHost: string;
  /** ADMIN_PORT; 0 picks a free port. @default 8080 (the runbook's port) */
  readonly adminPort: number;
  /**
   * ADMIN_TOKEN: bearer token every admin call but /health and /metrics must carry. Required when
   * ADMIN_HOST is not a loopback address; optional (and then enforced) on loopback.
   * @default undefined
   */
  readonly adminToken: string | undefined;
  /** MIGRATION_INITIAL_STATE: `legacy_only` or `shadow` (adaptive book shadowing at 0 %). @default "shadow" */
  readonly migrationInitialState: InitialMigrationState;
  /** RAMP_STEPS: comma-separated percentages of the automatic ramp, increasing, ending at 100. @default "1,5,25,50,100" */
  readonly rampSteps: readonly number[];
  /** RAMP_HOLD_MS: how long a ramp holds each step with passing gates. @default 600000 (10 min) */
  readonly rampHoldMs: number;
  /** BREAKER_LATENCY_BUDGET_MS: the adaptive book's p95 budget before its breaker trips (may be fractional). @default 5 */
  readonly breakerLatencyBudgetMs: number;
  /**
   * MEMORY_GROWTH_ALERT_MIB_PER_MINUTE: resident-memory growth that, sustained over MEMORY_GROWTH_WINDOW_MS,
   * raises the Level 2 `memory_growth_high` alert (runbook "Memory leak detection"); it does not degrade /health.
   * 500 MiB/min for 5 min (2.5 GiB) would reach the runbook's 6000 MiB from a normal 1–2 GiB in about ten minutes.
   * @default 500
   */
  readonly memoryGrowthAlertMiBPerMinute: number;
  /**
   * MEMORY_GROWTH_WINDOW_MS: how long the growth must last, in every fifth of the window (one minute each by
   * default), so a single spike or the GC saw-tooth does not fire it. 30000 at least (each fifth must hold a
   * sample of the 5 s alert tick).
   * @default 300000 (5 min)
   */
  readonly memoryGrowthWindowMs: number;
  /** CHAOS_ENABLED: `true`/`1` exposes the fault-injection endpoints. Never in production. @default false */
  readonly chaosEnabled: boolean;
  /**
   * CHAOS_MAX_BALLAST_MIB: the most off-heap memory the chaos memory-pressure endpoint may hold (only with
   * CHAOS_ENABLED). Must exceed the runbook's 6000 MiB threshold for the memory drill to trip it.
   * @default 8192
   */
  readonly chaosMaxBallastMiB: number;
  /** AUTH_MODE: `sessions` or `header` (see AuthMode; `header` only with a loopback GRPC_HOST). @default "sessions" */
  readonly authMode: AuthMode;
  /**
   * REDIS_URL: `redis://[user:password@]host:port[/db]` (or `rediss://`). Unset selects the in-process
   * session store (sessions, API keys and idempotency records are lost on restart).
   * @default undefined
   */
  readonly redisUrl: string | undefined;
  /** REDIS_PREFIX: prefix of every key in Redis, so several services can share one server. @default "trading:" */
  readonly redisPrefix: string;
  /** SESSION_TTL_MS: how long a session from Login lasts. Shorter limits a leaked token's use; longer means fewer logins. @default 86400000 (24 h) */
  readonly sessionTtlMs: number;
  /** RATE_LIMIT_PER_SECOND: sustained commands per second per account (batch items count one each). @default 1000 */
  readonly rateLimitPerSecond: number;
  /**
   * RATE_LIMIT_BURST: commands an idle account may send at once. At least 1000, the largest batch
   * (SubmitOrderBatch / one OrderFlow message), which costs its item count and could otherwise never pass.
   * @default 2000
   */
  readonly rateLimitBurst: number;
  /** IDEMPOTENCY_TTL_MS: how long the first result of a client order id is kept in the session store. @default 86400000 (24 h) */
  readonly idempotencyTtlMs: number;
  /**
   * REDIS_OFFLINE_GRACE_MS: how long after Redis became unreachable already-validated sessions keep
   * working from the local cache. Longer rides out longer outages; a session revoked elsewhere stays
   * usable here that long.
   * @default 60000
   */
  readonly redisOfflineGraceMs: number;
  /**
   * PERSISTENCE: `postgres` journals every command before its ack (DATABASE_URL, else the embedded
   * PostgreSQL under DATA_DIR); `memory` keeps nothing across a restart (benchmarks' in-memory baseline
   * and throwaway demos only: an acknowledged order is lost at exit).
   * @default "postgres"
   */
  readonly persistence: 'postgres' | 'memory';
  /**
   * DATABASE_URL: `postgres://user[:password]@host:port/database` of a real PostgreSQL. Unset starts the
   * embedded PostgreSQL (real server binaries from npm) with its cluster under DATA_DIR.
   * @default undefined
   */
  readonly databaseUrl: string | undefined;
  /** DATABASE_SCHEMA: schema (search_path) for every table; one service per schema. @default the user's default (public) */
  readonly databaseSchema: string | undefined;
  /** DATA_DIR: where the embedded PostgreSQL keeps its cluster (`<DATA_DIR>/postgres`). Keep it: it is the database. @default "./data" */
  readonly dataDir: string;
  /**
   * JOURNAL_MAX_DELAY_MS: how long the first command of a group commit waits for company. Higher gives
   * bigger transactions (throughput) and adds that much to every ack. @default 2
   */
  readonly journalMaxDelayMs: number;
  /**
   * JOURNAL_MAX_BATCH: most commands per journal transaction. Batches only grow this large when commands
   * queue behind a running write; then bigger transactions drain the backlog faster (per-row cost
   * dominates), at the price of every ack in them waiting for the whole write. @default 5000
   */
  readonly journalMaxBatch: number;
  /**
   * DATABASE_WRITE_TIMEOUT_MS: a journal write slower than this counts as an outage (commands refused
   * with UNAVAILABLE until writes succeed). Lower fails over sooner on a hung server; higher tolerates
   * slow disks. @default 2000
   */
  readonly databaseWriteTimeoutMs: number;
  /**
   * SNAPSHOT_EVERY_COMMANDS: a pair is snapshotted after this many commands (0: by time only). Lower
   * bounds recovery time tighter; each snapshot serializes the pair's open and retained closed orders.
   * @default 100000
   */
  readonly snapshotEveryCommands: number;
  /** SNAPSHOT_INTERVAL_MS: a pair that changed is snapshotted at least this often (0: by count only). @default 300000 (5 min) */
  readonly snapshotIntervalMs: number;
  /**
   * LOG_LEVEL: fatal, error, warn, info, debug, trace or silent. `debug` adds the embedded PostgreSQL's
   * own output and per-step detail; `warn` keeps only problems. @default "info"
   */
  readonly logLevel: LogLevelName;
  /**
   * LOG_FORMAT: `json` (one JSON object per line, for collectors), `pretty` (readable lines), or `auto`:
   * pretty when stdout is a terminal, else JSON. @default "auto"
   */
  readonly logFormat: 'auto' | 'json' | 'pretty';
  /**
   * OTEL_EXPORTER_OTLP_ENDPOINT: an OpenTelemetry collector's OTLP/HTTP base URL (spans go to
   * `<url>/v1/traces`). Unset: no tracing at all. @default undefined
   */
  readonly otelEndpoint: string | undefined;
  /** OTEL_SERVICE_NAME: the traces' service.name. @default "trading-service" */
  readonly otelServiceName: string;
  /** Bounds on what clients can make the service hold (docs/operations.md "Limits"). */
  readonly limits: ClientLimits;
  /**
   * INSTRUMENTS_FILE (path of a JSON array of instruments) or INSTRUMENTS (the same JSON inline): the pairs
   * to trade, validated at start-up (docs/operations.md "Instruments"). Undefined when neither is set: then
   * the `instruments` table (persistence on and holding rows), else the three default pairs.
   * @default undefined
   */
  readonly instruments: readonly Instrument[] | undefined;
  /** MAX_INSTRUMENTS: most pairs listed at once (config and POST /admin/instruments). @default 256 */
  readonly maxInstruments: number;
  /**
   * WARMUP_ORDERS: orders a throwaway in-memory copy of the service takes over loopback gRPC before the
   * real one starts (adapters/warm-up.ts), so the first clients after a start meet compiled code. More
   * makes the first seconds smoother and the start slower (about 1 s per 20,000 here); 0 turns it off.
   * @default 0
   */
  readonly warmUpOrders: number;
  /** Several replicas on one database (docs/cluster.md). */
  readonly cluster: ClusterConfig;
}

/** Cluster mode (docs/cluster.md): which replica this is and how pairs are owned. */
export interface ClusterConfig {
  /** CLUSTER_MODE: `off` (one process owns every pair) or `postgres` (pairs owned through lease rows in DATABASE_URL). @default "off" */
  readonly mode: 'off' | 'postgres';
  /** REPLICA_ID: this replica's name in the cluster, unique per live process (letters, digits, . _ -, at most 64). @default "<hostname>-<pid>" */
  readonly replicaId: string;
  /**
   * OWNERSHIP_LEASE_MS: how long a pair's lease lasts without renewal. A dead or paused owner's pairs are
   * taken over after at most this plus one renew interval; shorter fails over sooner, but a replica
   * stalled longer than ~80 % of it (GC, CPU starvation) steps down from its pairs. @default 10000
   */
  readonly leaseMs: number;
  /** OWNERSHIP_RENEW_MS: how often leases are renewed, heartbeats written and placement re-read; at most half the lease. @default OWNERSHIP_LEASE_MS / 3 */
  readonly renewMs: number;
  /** OWNERSHIP_PLACEMENT: `balanced` (rendezvous hashing over the live replicas) or `static` (OWNERSHIP_STATIC). @default "balanced" */
  readonly placement: 'balanced' | 'static';
  /** OWNERSHIP_STATIC: `PAIR=replica,...`, the static placement (a pair whose replica is not live goes balanced). @default empty */
  readonly staticOwners: ReadonlyMap<string, string>;
  /** CLUSTER_ADVERTISE_GRPC: host:port other replicas and clients reach this replica's gRPC on. @default the host:port it listens on */
  readonly advertiseGrpc: string | undefined;
  /** CLUSTER_ADVERTISE_ADMIN: http(s)://host:port of this replica's admin API, for /admin/cluster/status. @default the address it listens on */
  readonly advertiseAdmin: string | undefined;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253}):\d{1,5}$/;

function clusterConfig(env: NodeJS.ProcessEnv, persistence: { persistence: string; databaseUrl: string | undefined }): ClusterConfig {
  const mode = raw(env, 'CLUSTER_MODE') ?? 'off';
  if (mode !== 'off' && mode !== 'postgres') throw new ConfigError('CLUSTER_MODE', `must be "off" or "postgres", got ${JSON.stringify(mode.slice(0, 20))}`);
  if (mode === 'postgres' && (persistence.databaseUrl === undefined || persistence.persistence !== 'postgres'))
    throw new ConfigError('CLUSTER_MODE', '"postgres" needs DATABASE_URL (one PostgreSQL shared by every replica) and PERSISTENCE=postgres; the embedded PostgreSQL is one process\'s own');
  const replicaId = raw(env, 'REPLICA_ID') ?? `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(replicaId)) throw new ConfigError('REPLICA_ID', `must be 1-64 letters, digits, ".", "_" or "-", got ${JSON.stringify(replicaId.slice(0, 20))}`);
  const leaseMs = integer(env, 'OWNERSHIP_LEASE_MS', 10_000, 300, 600_000);
  const renewMs = integer(env, 'OWNERSHIP_RENEW_MS', Math.floor(leaseMs / 3), 50, 300_000);
  if (renewMs * 2 > leaseMs) throw new ConfigError('OWNERSHIP_RENEW_MS', `must be at most half of OWNERSHIP_LEASE_MS (${leaseMs}), got ${renewMs}: a lease must survive one failed renewal`);
  const placement = raw(env, 'OWNERSHIP_PLACEMENT') ?? 'balanced';
  if (placement !== 'balanced' && placement !== 'static') throw new ConfigError('OWNERSHIP_PLACEMENT', `must be "balanced" or "static", got ${JSON.stringify(placement.slice(0, 20))}`);
  const staticOwners = new Map<string, string>();
  const st = raw(env, 'OWNERSHIP_STATIC');
  if (st !== undefined) {
    for (const part of st.split(',')) {
      const m = /^\s*([A-Z0-9]{2,32})=([A-Za-z0-9._-]{1,64})\s*$/.exec(part);
      if (m === null) throw new ConfigError('OWNERSHIP_STATIC', `must be PAIR=replica,... like "BTCUSDT=r1,ETHUSDT=r2", got ${JSON.stringify(part.slice(0, 40))}`);
      if (staticOwners.has(m[1]!)) throw new ConfigError('OWNERSHIP_STATIC', `names ${m[1]} twice`);
      staticOwners.set(m[1]!, m[2]!);
    }
  }
  if (placement === 'static' && staticOwners.size === 0) throw new ConfigError('OWNERSHIP_STATIC', 'is required with OWNERSHIP_PLACEMENT=static');
  const advertiseGrpc = raw(env, 'CLUSTER_ADVERTISE_GRPC');
  if (advertiseGrpc !== undefined && !HOST_PORT.test(advertiseGrpc)) throw new ConfigError('CLUSTER_ADVERTISE_GRPC', `must be host:port, got ${JSON.stringify(advertiseGrpc.slice(0, 40))}`);
  const advertiseAdmin = raw(env, 'CLUSTER_ADVERTISE_ADMIN');
  if (advertiseAdmin !== undefined && !/^https?:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253}):\d{1,5}$/.test(advertiseAdmin))
    throw new ConfigError('CLUSTER_ADVERTISE_ADMIN', `must be http(s)://host:port, got ${JSON.stringify(advertiseAdmin.slice(0, 40))}`);
  return Object.freeze({ mode, replicaId, leaseMs, renewMs, placement, staticOwners, advertiseGrpc, advertiseAdmin });
}

function otelConfig(env: NodeJS.ProcessEnv): { otelEndpoint: string | undefined; otelServiceName: string } {
  const otelEndpoint = raw(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (otelEndpoint !== undefined && !/^https?:\/\/\S+$/.test(otelEndpoint)) throw new ConfigError('OTEL_EXPORTER_OTLP_ENDPOINT', 'must be an http(s) URL like http://otel-collector:4318');
  const otelServiceName = raw(env, 'OTEL_SERVICE_NAME') ?? 'trading-service';
  if (!/^[\x21-\x7e]{1,128}$/.test(otelServiceName)) throw new ConfigError('OTEL_SERVICE_NAME', 'must be 1-128 printable ASCII characters without spaces');
  return { otelEndpoint, otelServiceName };
}

export type LogLevelName = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVEL_NAMES: readonly LogLevelName[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function logConfig(env: NodeJS.ProcessEnv): { logLevel: LogLevelName; logFormat: 'auto' | 'json' | 'pretty' } {
  const level = (raw(env, 'LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVEL_NAMES as readonly string[]).includes(level)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVEL_NAMES.join(', ')}, got ${JSON.stringify(level.slice(0, 20))}`);
  const format = raw(env, 'LOG_FORMAT') ?? 'auto';
  if (format !== 'auto' && format !== 'json' && format !== 'pretty') throw new ConfigError('LOG_FORMAT', `must be auto, json or pretty, got ${JSON.stringify(format.slice(0, 20))}`);
  return { logLevel: level as LogLevelName, logFormat: format };
}

/** Resource bounds against hostile or careless clients; every one is an environment variable. */
export interface ClientLimits {
  /** GRPC_MAX_QUEUED_BYTES_PER_STREAM: unsent bytes one stream may hold before it is ended as a slow consumer. @default 4194304 (4 MiB) */
  readonly maxQueuedBytesPerStream: number;
  /** GRPC_MAX_QUEUED_BYTES_TOTAL: unsent bytes of all streams together; past it streams that are behind are ended. @default 67108864 (64 MiB) */
  readonly maxQueuedBytesTotal: number;
  /** GRPC_MAX_STREAMS: open OrderFlow + StreamMarketData streams in total. @default 10000 */
  readonly maxStreams: number;
  /** GRPC_MAX_STREAMS_PER_ACCOUNT: open OrderFlow streams of one account. @default 16 */
  readonly maxStreamsPerAccount: number;
  /** GRPC_MAX_STREAMS_PER_PEER: open streams from one IP address. @default 1000 */
  readonly maxStreamsPerPeer: number;
  /** GRPC_MAX_CONNECTIONS: TCP connections to the gRPC port in total (lowered to keep GRPC_RESERVED_DESCRIPTORS free). @default 4096 */
  readonly maxConnections: number;
  /** GRPC_MAX_CONNECTIONS_PER_PEER: TCP connections from one IP address. @default 256 */
  readonly maxConnectionsPerPeer: number;
  /** GRPC_PREFACE_TIMEOUT_MS: a connection must send its HTTP/2 preface within this, or it is closed. @default 10000 */
  readonly prefaceTimeoutMs: number;
  /** GRPC_MAX_CONNECTION_IDLE_MS: a connection without calls this long is closed. @default 300000 */
  readonly maxConnectionIdleMs: number;
  /** GRPC_KEEPALIVE_TIME_MS: the server pings a silent connection after this. @default 60000 */
  readonly keepaliveTimeMs: number;
  /** GRPC_KEEPALIVE_TIMEOUT_MS: an unanswered ping closes the connection after this. @default 20000 */
  readonly keepaliveTimeoutMs: number;
  /** GRPC_MAX_CONCURRENT_STREAMS: concurrent calls per connection (HTTP/2 SETTINGS). @default 100 */
  readonly maxConcurrentStreams: number;
  /** GRPC_RESERVED_DESCRIPTORS: file descriptors kept free for PostgreSQL, Redis and files. @default 256 */
  readonly reservedDescriptors: number;
  /** CLOSED_ORDERS_RETAINED: closed orders kept in memory per pair for GetOrder and idempotency (beyond: the orders table). @default 100000 */
  readonly closedOrdersRetained: number;
  /** CLOSED_ORDERS_PER_ACCOUNT: of those, at most this many per account (an account only pushes out its own). @default 10000 */
  readonly closedOrdersPerAccount: number;
  /** IDEMPOTENCY_RECORDS_PER_ACCOUNT: client order id records one account may hold in the session store (in-process or Redis; beyond it its own oldest go). @default 100000 */
  readonly idempotencyRecordsPerAccount: number;
  /** IDEMPOTENCY_RECORDS: client order id records in the in-process session store in total. @default 1000000 */
  readonly idempotencyRecords: number;
  /** SESSIONS_PER_ACCOUNT: live sessions of one account; a login beyond it ends the account's oldest session. @default 100 */
  readonly sessionsPerAccount: number;
  /** MAX_OPEN_ORDERS_PER_ACCOUNT: resting orders of one account per pair; a GTC order beyond it is refused (FAILED_PRECONDITION). @default 10000 */
  readonly maxOpenOrdersPerAccount: number;
  /** MARKET_DATA_CALLS_PER_SECOND_PER_PEER: market-data cost per second per IP (a call costs 1 + 1 per 1000 levels returned). @default 200 */
  readonly marketDataCallsPerSecondPerPeer: number;
  /** MARKET_DATA_BURST_PER_PEER: market-data cost one IP may spend at once. @default 400 */
  readonly marketDataBurstPerPeer: number;
  /** MARKET_DATA_MAX_IN_FLIGHT_PER_PEER: GetOrderBook answers one IP may have unsent or unread at once; beyond it RESOURCE_EXHAUSTED. @default 32 */
  readonly marketDataMaxInFlightPerPeer: number;
  /** MARKET_DATA_FLOOD_REFUSALS: market-data calls of one IP refused within a second after which its connection is cut. @default 1000 */
  readonly marketDataFloodRefusals: number;
  /** GRPC_ABUSE_PENALTY_MS: after a connection is cut for abuse, new connections from its address are closed at once for this long. @default 10000 */
  readonly abusePenaltyMs: number;
  /** LOGIN_FREE_FAILURES_PER_KEY: failed logins of one API key id before backoff starts. @default 5 */
  readonly loginFreeFailuresPerKey: number;
  /** LOGIN_FREE_FAILURES_PER_PEER: failed logins from one IP address before backoff starts. @default 20 */
  readonly loginFreeFailuresPerPeer: number;
  /** LOGIN_BACKOFF_BASE_MS: first backoff after the free failures; doubles per failure. @default 1000 */
  readonly loginBackoffBaseMs: number;
  /** LOGIN_BACKOFF_MAX_MS: longest backoff. @default 300000 */
  readonly loginBackoffMaxMs: number;
}

function clientLimits(env: NodeJS.ProcessEnv): ClientLimits {
  return Object.freeze({
    maxQueuedBytesPerStream: integer(env, 'GRPC_MAX_QUEUED_BYTES_PER_STREAM', 4 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
    maxQueuedBytesTotal: integer(env, 'GRPC_MAX_QUEUED_BYTES_TOTAL', 64 * 1024 * 1024, 1024 * 1024, 64 * 1024 * 1024 * 1024),
    maxStreams: integer(env, 'GRPC_MAX_STREAMS', 10_000, 1, 1_000_000),
    maxStreamsPerAccount: integer(env, 'GRPC_MAX_STREAMS_PER_ACCOUNT', 16, 1, 100_000),
    maxStreamsPerPeer: integer(env, 'GRPC_MAX_STREAMS_PER_PEER', 1_000, 1, 1_000_000),
    maxConnections: integer(env, 'GRPC_MAX_CONNECTIONS', 4096, 1, 1_000_000),
    maxConnectionsPerPeer: integer(env, 'GRPC_MAX_CONNECTIONS_PER_PEER', 256, 1, 1_000_000),
    prefaceTimeoutMs: integer(env, 'GRPC_PREFACE_TIMEOUT_MS', 10_000, 100, 600_000),
    maxConnectionIdleMs: integer(env, 'GRPC_MAX_CONNECTION_IDLE_MS', 300_000, 1_000, 86_400_000),
    keepaliveTimeMs: integer(env, 'GRPC_KEEPALIVE_TIME_MS', 60_000, 1_000, 86_400_000),
    keepaliveTimeoutMs: integer(env, 'GRPC_KEEPALIVE_TIMEOUT_MS', 20_000, 100, 600_000),
    maxConcurrentStreams: integer(env, 'GRPC_MAX_CONCURRENT_STREAMS', 100, 1, 10_000),
    reservedDescriptors: integer(env, 'GRPC_RESERVED_DESCRIPTORS', 256, 0, 1_000_000),
    closedOrdersRetained: integer(env, 'CLOSED_ORDERS_RETAINED', 100_000, 1, 100_000_000),
    closedOrdersPerAccount: integer(env, 'CLOSED_ORDERS_PER_ACCOUNT', 10_000, 1, 100_000_000),
    idempotencyRecordsPerAccount: integer(env, 'IDEMPOTENCY_RECORDS_PER_ACCOUNT', 100_000, 1, 100_000_000),
    idempotencyRecords: integer(env, 'IDEMPOTENCY_RECORDS', 1_000_000, 1, 100_000_000),
    sessionsPerAccount: integer(env, 'SESSIONS_PER_ACCOUNT', 100, 1, 1_000_000),
    maxOpenOrdersPerAccount: integer(env, 'MAX_OPEN_ORDERS_PER_ACCOUNT', 10_000, 1, 10_000_000),
    marketDataCallsPerSecondPerPeer: integer(env, 'MARKET_DATA_CALLS_PER_SECOND_PER_PEER', 200, 1, 10_000_000),
    marketDataBurstPerPeer: integer(env, 'MARKET_DATA_BURST_PER_PEER', 400, 1, 10_000_000),
    marketDataMaxInFlightPerPeer: integer(env, 'MARKET_DATA_MAX_IN_FLIGHT_PER_PEER', 32, 1, 100_000),
    marketDataFloodRefusals: integer(env, 'MARKET_DATA_FLOOD_REFUSALS', 1000, 1, 100_000_000),
    abusePenaltyMs: integer(env, 'GRPC_ABUSE_PENALTY_MS', 10_000, 1, 86_400_000),
    loginFreeFailuresPerKey: integer(env, 'LOGIN_FREE_FAILURES_PER_KEY', 5, 1, 1_000_000),
    loginFreeFailuresPerPeer: integer(env, 'LOGIN_FREE_FAILURES_PER_PEER', 20, 1, 1_000_000),
    loginBackoffBaseMs: integer(env, 'LOGIN_BACKOFF_BASE_MS', 1_000, 1, 3_600_000),
    loginBackoffMaxMs: integer(env, 'LOGIN_BACKOFF_MAX_MS', 300_000, 1, 86_400_000),
  });
}

/** The largest SubmitOrderBatch / OrderFlow message (codec.ts MAX_BATCH_ITEMS); the burst must fit one. */
const LARGEST_BATCH = 1000;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`${variable}: ${reason}`);
    this.name = 'ConfigError';
  }
}

function raw(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v)) throw new ConfigError(name, `must be a whole number, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function positiveDecimal(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  if (!/^\d+(\.\d+)?$/.test(v)) throw new ConfigError(name, `must be a positive number of milliseconds, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (!(n > 0 && n <= max)) throw new ConfigError(name, `must be above 0 and at most ${max}, got ${n}`);
  return n;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const v = raw(env, name);
  if (v === undefined) return false;
  const lower = v.toLowerCase();
  if (lower === 'true' || lower === '1' || lower === 'yes') return true;
  if (lower === 'false' || lower === '0' || lower === 'no') return false;
  throw new ConfigError(name, `must be true or false, got ${JSON.stringify(v)}`);
}

function rampSteps(env: NodeJS.ProcessEnv): readonly number[] {
  const v = raw(env, 'RAMP_STEPS');
  if (v === undefined) return Object.freeze([1, 5, 25, 50, 100]);
  const parts = v.split(',').map((s) => s.trim());
  let prev = 0;
  const steps: number[] = [];
  for (const p of parts) {
    if (!/^\d+$/.test(p)) throw new ConfigError('RAMP_STEPS', `must be comma-separated whole percentages like "1,5,25,50,100", got ${JSON.stringify(v)}`);
    const n = Number(p);
    if (n < 1 || n > 100) throw new ConfigError('RAMP_STEPS', `every step must be within 1-100, got ${n}`);
    if (n <= prev) throw new ConfigError('RAMP_STEPS', `steps must be strictly increasing, got ${prev} then ${n}`);
    steps.push(n);
    prev = n;
  }
  if (prev !== 100) throw new ConfigError('RAMP_STEPS', `must end at 100, ends at ${prev}`);
  return Object.freeze(steps);
}

/** 127.0.0.0/8, ::1 and "localhost": addresses only this host can reach. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

function persistenceConfig(env: NodeJS.ProcessEnv) {
  const persistence = raw(env, 'PERSISTENCE') ?? 'postgres';
  if (persistence !== 'postgres' && persistence !== 'memory') throw new ConfigError('PERSISTENCE', `must be "postgres" or "memory", got ${JSON.stringify(persistence)}`);
  const databaseUrl = raw(env, 'DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\/\S+$/.test(databaseUrl)) throw new ConfigError('DATABASE_URL', 'must look like postgres://user:password@host:5432/database');
  const databaseSchema = raw(env, 'DATABASE_SCHEMA');
  if (databaseSchema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(databaseSchema)) throw new ConfigError('DATABASE_SCHEMA', 'must be a plain lower-case identifier');
  return {
    persistence: persistence as 'postgres' | 'memory',
    databaseUrl,
    databaseSchema,
    dataDir: raw(env, 'DATA_DIR') ?? './data',
    journalMaxDelayMs: integer(env, 'JOURNAL_MAX_DELAY_MS', 2, 0, 1_000),
    journalMaxBatch: integer(env, 'JOURNAL_MAX_BATCH', 5000, 1, 100_000),
    databaseWriteTimeoutMs: integer(env, 'DATABASE_WRITE_TIMEOUT_MS', 2000, 50, 600_000),
    snapshotEveryCommands: integer(env, 'SNAPSHOT_EVERY_COMMANDS', 100_000, 0, 1_000_000_000),
    snapshotIntervalMs: integer(env, 'SNAPSHOT_INTERVAL_MS', 300_000, 0, 7 * 86_400_000),
  };
}

/** Most pairs listed at once unless MAX_INSTRUMENTS says otherwise. */
export const DEFAULT_MAX_INSTRUMENTS = 256;

/** INSTRUMENTS_FILE or INSTRUMENTS, parsed and validated; undefined when neither is set. */
function instrumentsConfig(env: NodeJS.ProcessEnv, max: number): readonly Instrument[] | undefined {
  const file = raw(env, 'INSTRUMENTS_FILE');
  const inline = raw(env, 'INSTRUMENTS');
  if (file !== undefined && inline !== undefined) throw new ConfigError('INSTRUMENTS_FILE', 'and INSTRUMENTS are both set; give the instruments one way');
  if (file === undefined && inline === undefined) return undefined;
  const variable = file !== undefined ? 'INSTRUMENTS_FILE' : 'INSTRUMENTS';
  let text: string;
  if (file !== undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError('INSTRUMENTS_FILE', `cannot be read (${JSON.stringify(file.slice(0, 200))}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else text = inline!;
  const r = parseInstrumentList(text, max);
  if (!r.ok) throw new ConfigError(variable, `${r.fault.field}: ${r.fault.reason}`);
  return Object.freeze(r.instruments);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const initial = raw(env, 'MIGRATION_INITIAL_STATE') ?? 'shadow';
  if (initial !== 'legacy_only' && initial !== 'shadow')
    throw new ConfigError('MIGRATION_INITIAL_STATE', `must be "legacy_only" or "shadow", got ${JSON.stringify(initial)}`);
  const adminHost = raw(env, 'ADMIN_HOST') ?? '127.0.0.1';
  const adminToken = raw(env, 'ADMIN_TOKEN');
  if (adminToken !== undefined && (adminToken.length < 16 || /\s/.test(adminToken)))
    throw new ConfigError('ADMIN_TOKEN', 'must be at least 16 characters without whitespace');
  if (adminToken === undefined && !isLoopbackHost(adminHost))
    throw new ConfigError('ADMIN_TOKEN', `is required when ADMIN_HOST (${adminHost}) is not a loopback address: the admin API can halt trading`);
  const grpcHost = raw(env, 'GRPC_HOST') ?? '0.0.0.0';
  const authMode = raw(env, 'AUTH_MODE') ?? 'sessions';
  if (authMode !== 'sessions' && authMode !== 'header') throw new ConfigError('AUTH_MODE', `must be "sessions" or "header", got ${JSON.stringify(authMode)}`);
  if (authMode === 'header' && !isLoopbackHost(grpcHost))
    throw new ConfigError('AUTH_MODE', `"header" trusts x-account-id from any caller; it is only allowed when GRPC_HOST is a loopback address, not ${grpcHost}`);
  const redisUrl = raw(env, 'REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) throw new ConfigError('REDIS_URL', 'must look like redis://host:port (or rediss://)');
  const redisPrefix = raw(env, 'REDIS_PREFIX') ?? 'trading:';
  if (!/^[\x21-\x7e]{0,64}$/.test(redisPrefix)) throw new ConfigError('REDIS_PREFIX', 'must be at most 64 printable ASCII characters without spaces');
  const maxInstruments = integer(env, 'MAX_INSTRUMENTS', DEFAULT_MAX_INSTRUMENTS, 1, 10_000);
  const persistence = persistenceConfig(env);
  return Object.freeze({
    grpcHost,
    grpcPort: integer(env, 'GRPC_PORT', 50051, 0, 65535),
    shutdownGraceMs: integer(env, 'GRPC_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    adminHost,
    adminPort: integer(env, 'ADMIN_PORT', 8080, 0, 65535),
    adminToken,
    migrationInitialState: initial,
    rampSteps: rampSteps(env),
    rampHoldMs: integer(env, 'RAMP_HOLD_MS', 600_000, 1, 7 * 24 * 3_600_000),
    breakerLatencyBudgetMs: positiveDecimal(env, 'BREAKER_LATENCY_BUDGET_MS', 5, 60_000),
    memoryGrowthAlertMiBPerMinute: integer(env, 'MEMORY_GROWTH_ALERT_MIB_PER_MINUTE', 500, 1, 1_048_576),
    // At least 30 s: each of the window's 5 slots must hold a sample of the 5 s alert tick, else it reads 0 growth.
    memoryGrowthWindowMs: integer(env, 'MEMORY_GROWTH_WINDOW_MS', 300_000, 30_000, 24 * 3_600_000),
    chaosEnabled: flag(env, 'CHAOS_ENABLED'),
    chaosMaxBallastMiB: integer(env, 'CHAOS_MAX_BALLAST_MIB', 8192, 1, 1_048_576),
    authMode,
    redisUrl,
    redisPrefix,
    sessionTtlMs: integer(env, 'SESSION_TTL_MS', 86_400_000, 1_000, 365 * 86_400_000),
    rateLimitPerSecond: integer(env, 'RATE_LIMIT_PER_SECOND', 1000, 1, 10_000_000),
    rateLimitBurst: integer(env, 'RATE_LIMIT_BURST', 2000, LARGEST_BATCH, 1_000_000_000),
    idempotencyTtlMs: integer(env, 'IDEMPOTENCY_TTL_MS', 86_400_000, 1_000, 30 * 86_400_000),
    redisOfflineGraceMs: integer(env, 'REDIS_OFFLINE_GRACE_MS', 60_000, 0, 86_400_000),
    ...persistence,
    ...logConfig(env),
    ...otelConfig(env),
    limits: clientLimits(env),
    instruments: instrumentsConfig(env, maxInstruments),
    maxInstruments,
    warmUpOrders: integer(env, 'WARMUP_ORDERS', 0, 0, 1_000_000),
    cluster: clusterConfig(env, persistence),
  });
}
