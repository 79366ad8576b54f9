/**
 * For suites against a real PostgreSQL: a fresh schema per suite (so suites run in parallel on one
 * database), reached through `-c search_path=...`, dropped afterwards. Connection failures are
 * thrown, never turned into a skip: a suite that needs PostgreSQL fails without it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The URL the suites use: DATABASE_URL, else the local server of the development machines. */
export const LOCAL_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  readonly url: string;
  readonly name: string;
  /** libpq `options` that select the schema. */
  readonly options: string;
  drop(): Promise<void>;
}

export async function createTestSchema(url: string, prefix = 'ts_test'): Promise<TestSchema> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`PostgreSQL is required for this suite and is not reachable at ${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  try {
    await client.query(`CREATE SCHEMA ${name}`);
  } finally {
    await client.end();
  }
  return {
    url,
    name,
    options: `-c search_path=${name}`,
    async drop() {
      const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}
