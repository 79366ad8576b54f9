/**
 * The one pg Pool of the persistence layer and its options: every timeout that keeps a hung or
 * unreachable PostgreSQL from hanging the service. The only place a pg Pool is configured.
 */
import pg from 'pg';
import type { Pool, PoolConfig } from 'pg';

export interface PostgresOptions {
  /** postgres://user[:password]@host:port/database. Read from DATABASE_URL by server/config.ts. */
  connectionString: string;
  /**
   * Extra libpq-style startup options, e.g. `-c search_path=myschema` (tests use one schema each).
   * @default undefined
   */
  options?: string;
  /**
   * Connections in the pool. The journal writer uses one at a time; the rest serve recovery reads,
   * snapshots and the pair-state store. @default 4
   */
  maxConnections?: number;
  /**
   * Longest a single write (connect + transaction) may take before it counts as failed and the
   * connection is destroyed. Lower fails over to UNAVAILABLE sooner on a hung server; higher
   * tolerates slow disks. Also the server-side statement_timeout and the client-side query timeout.
   * @default 2000
   */
  writeTimeoutMs?: number;
  /** Timeout of reads (recovery, snapshots, pair state), server- and client-side. @default 30000 */
  readTimeoutMs?: number;
  /** Passed to the pool's onError for idle-connection errors (the pool drops such connections itself). */
  onIdleError?: (error: Error) => void;
}

export const DEFAULT_MAX_CONNECTIONS = 4;
export const DEFAULT_WRITE_TIMEOUT_MS = 2000;
export const DEFAULT_READ_TIMEOUT_MS = 30_000;

export type CompiledPostgresOptions = Readonly<Required<Omit<PostgresOptions, 'options' | 'onIdleError'>>> &
  Readonly<Pick<PostgresOptions, 'options' | 'onIdleError'>>;

function positiveInteger(field: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`postgres option ${field} must be a positive integer, got ${v}`);
  return v;
}

export function compilePostgresOptions(raw: PostgresOptions): CompiledPostgresOptions {
  if (typeof raw.connectionString !== 'string' || !/^postgres(ql)?:\/\//.test(raw.connectionString)) {
    throw new Error('postgres option connectionString must be a postgres:// URL');
  }
  return Object.freeze({
    connectionString: raw.connectionString,
    options: raw.options,
    maxConnections: positiveInteger('maxConnections', raw.maxConnections, DEFAULT_MAX_CONNECTIONS),
    writeTimeoutMs: positiveInteger('writeTimeoutMs', raw.writeTimeoutMs, DEFAULT_WRITE_TIMEOUT_MS),
    readTimeoutMs: positiveInteger('readTimeoutMs', raw.readTimeoutMs, DEFAULT_READ_TIMEOUT_MS),
    onIdleError: raw.onIdleError,
  });
}

/**
 * A pool whose every connection carries statement_timeout (server side: a stuck statement is
 * cancelled), query_timeout (client side: a dead network does not leave a promise pending forever),
 * a connect timeout and TCP keep-alive. The pool reconnects by itself: a broken connection is
 * discarded and the next checkout opens a new one.
 */
export function createPostgresPool(options: CompiledPostgresOptions): Pool {
  const timeoutMs = Math.max(options.writeTimeoutMs, options.readTimeoutMs);
  const config: PoolConfig = {
    connectionString: options.connectionString,
    max: options.maxConnections,
    connectionTimeoutMillis: options.writeTimeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs,
    idle_in_transaction_session_timeout: Math.max(10_000, timeoutMs * 2),
    application_name: 'trading-service',
    ...(options.options !== undefined ? { options: options.options } : {}),
  };
  const pool = new pg.Pool(config);
  // Without a listener an idle connection's error (server restart, network cut) would crash the process.
  pool.on('error', (err) => options.onIdleError?.(err));
  return pool;
}
