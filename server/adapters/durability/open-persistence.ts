/**
 * Which PostgreSQL the service journals to, from the config: DATABASE_URL (a real server), else the
 * embedded PostgreSQL with its cluster under DATA_DIR (started here, stopped after the journal has
 * drained), or none with PERSISTENCE=memory. Used by server/main.ts; reads no environment itself.
 */
import { join } from 'node:path';
import type { ServiceConfig } from '../../config.ts';
import { EmbeddedPostgresServer } from '../embedded/embedded-postgres.ts';
import { ensureDatabaseExists } from '../postgres/ensure-database.ts';
import { openPostgresPersistence, type PostgresPersistence } from '../postgres/postgres-persistence.ts';
import { redactPostgresUrl } from '../postgres/redact-url.ts';
import type { ServicePersistence } from '../trading-service.ts';
import { BindableFence } from '../cluster/bindable-fence.ts';
import { PostgresPairOwnershipStore } from '../postgres/postgres-pair-ownership-store.ts';
import { compilePostgresOptions, createPostgresPool } from '../postgres/postgres-pool.ts';

export interface OpenedPersistence {
  /** undefined with PERSISTENCE=memory. */
  readonly persistence: ServicePersistence | undefined;
  readonly postgres: PostgresPersistence | undefined;
  /** For the start-up line: where the journal lives (no password). */
  readonly description: string;
  /** Drains the journal (up to `drainTimeoutMs`), closes the pool, stops the embedded server. Returns entries left unwritten. */
  close(drainTimeoutMs: number): Promise<number>;
}

/** `postgres://user:***@host:port/db`: a URL fit for logs. */
export const redactUrl = redactPostgresUrl;

export async function openServicePersistence(config: ServiceConfig, log: (line: string) => void): Promise<OpenedPersistence> {
  if (config.persistence === 'memory') {
    return { persistence: undefined, postgres: undefined, description: 'NONE (PERSISTENCE=memory: nothing survives a restart)', close: async () => 0 };
  }
  let embedded: EmbeddedPostgresServer | undefined;
  let url = config.databaseUrl;
  if (url === undefined) {
    const dataDir = join(config.dataDir, 'postgres');
    embedded = await EmbeddedPostgresServer.start({ dataDir, onLog: (line) => log(`embedded-postgres: ${line}`) });
    url = embedded.url;
  }
  let postgres: PostgresPersistence;
  // Cluster mode: every journal write checks this replica's fencing token of each pair it writes.
  const fence = config.cluster.mode === 'postgres' ? new BindableFence(config.cluster.replicaId) : undefined;
  try {
    if (embedded === undefined) await ensureDatabaseExists(url, (line) => log(`postgresql: ${line}`));
    postgres = await openPostgresPersistence({
      connectionString: url,
      ...(config.databaseSchema !== undefined ? { options: `-c search_path=${config.databaseSchema}` } : {}),
      writeTimeoutMs: config.databaseWriteTimeoutMs,
      journal: { maxDelayMs: config.journalMaxDelayMs, maxBatch: config.journalMaxBatch, ...(fence !== undefined ? { fence } : {}) },
      onIdleError: (err) => log(`postgresql: idle connection error (the pool reconnects): ${err.message}`),
    });
  } catch (err) {
    await embedded?.stop().catch(() => {});
    throw new Error(`PostgreSQL at ${redactUrl(url)} cannot be used: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  // Cluster mode: lease renewals on connections of their own, so they never queue behind journal writes,
  // recovery reads or snapshots; a renewal slower than one renew interval fails and the next tick retries.
  const ownershipPool =
    fence === undefined
      ? undefined
      : createPostgresPool(
          compilePostgresOptions({
            connectionString: url,
            ...(config.databaseSchema !== undefined ? { options: `-c search_path=${config.databaseSchema}` } : {}),
            maxConnections: 2,
            writeTimeoutMs: config.cluster.renewMs,
            readTimeoutMs: config.cluster.renewMs,
            onIdleError: (err) => log(`postgresql: idle ownership connection error (the pool reconnects): ${err.message}`),
          }),
        );
  const where = embedded !== undefined ? `embedded PostgreSQL in ${embedded.dataDir}` : redactUrl(url);
  return {
    persistence: {
      journal: postgres.journal,
      recovery: postgres.recovery,
      pairState: postgres.pairState,
      instruments: postgres.instruments,
      clientOrders: postgres.clientOrders,
      databaseId: postgres.databaseId,
      ...(fence !== undefined && ownershipPool !== undefined ? { cluster: { store: new PostgresPairOwnershipStore(ownershipPool), fence } } : {}),
    },
    postgres,
    description: `${where}${config.databaseSchema !== undefined ? ` (schema ${config.databaseSchema})` : ''}, migrations at version ${postgres.migrations.version ?? '?'}`,
    async close(drainTimeoutMs: number) {
      const left = await postgres.close(drainTimeoutMs);
      await ownershipPool?.end();
      // embedded-postgres's own signal hooks were removed: stop it only now, after the journal drained.
      await embedded?.stop();
      return left;
    },
  };
}
