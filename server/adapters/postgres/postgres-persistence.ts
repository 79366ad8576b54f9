/**
 * Composition of the PostgreSQL adapter: one pool, migrations at start-up, then the Journal,
 * RecoveryStore, PairStateStore and InstrumentStore ports over that pool. What server/main.ts builds (with a URL from
 * DATABASE_URL, or the embedded server's URL).
 */
import type { Pool } from 'pg';
import { runMigrations, type MigrationResult } from './migrations.ts';
import { PostgresJournal, type PostgresJournalOptions } from './postgres-journal.ts';
import { PostgresPairStateStore } from './postgres-pair-state-store.ts';
import { PostgresInstrumentStore } from './postgres-instrument-store.ts';
import { compilePostgresOptions, createPostgresPool, type PostgresOptions } from './postgres-pool.ts';
import { PostgresRecoveryStore } from './postgres-recovery-store.ts';
import { PostgresClientOrderArchive, readDatabaseId } from './postgres-client-order-archive.ts';

export interface PostgresPersistenceOptions extends PostgresOptions {
  journal?: Omit<PostgresJournalOptions, 'writeTimeoutMs'>;
}

export interface PostgresPersistence {
  readonly pool: Pool;
  readonly journal: PostgresJournal;
  readonly recovery: PostgresRecoveryStore;
  readonly pairState: PostgresPairStateStore;
  /** The listed instruments (`instruments`). */
  readonly instruments: PostgresInstrumentStore;
  readonly migrations: MigrationResult;
  /** Client order ids of every order, for idempotency beyond the registry and the session store. */
  readonly clientOrders: PostgresClientOrderArchive;
  /** This database's random identity (migration 002); Redis idempotency records are scoped to it. */
  readonly databaseId: string;
  /** Drains the journal (up to drainTimeoutMs), then ends the pool. Returns entries left unwritten. */
  close(drainTimeoutMs?: number): Promise<number>;
}

/** Connects, migrates (failing start-up if the database is unreachable or the schema is foreign), and builds the ports. */
export async function openPostgresPersistence(options: PostgresPersistenceOptions): Promise<PostgresPersistence> {
  const compiled = compilePostgresOptions(options);
  const pool = createPostgresPool(compiled);
  let migrations: MigrationResult;
  let databaseId: string;
  try {
    migrations = await runMigrations(pool);
    databaseId = await readDatabaseId(pool);
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  const journal = new PostgresJournal(pool, { ...options.journal, writeTimeoutMs: compiled.writeTimeoutMs });
  return {
    pool,
    journal,
    recovery: new PostgresRecoveryStore(pool),
    pairState: new PostgresPairStateStore(pool),
    instruments: new PostgresInstrumentStore(pool),
    migrations,
    clientOrders: new PostgresClientOrderArchive(pool),
    databaseId,
    async close(drainTimeoutMs = 5000) {
      const left = await journal.close(drainTimeoutMs);
      await pool.end();
      return left;
    },
  };
}
