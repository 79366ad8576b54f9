/**
 * The runbook's weekly maintenance SQL (scripts/weekly_db_maintenance.sql) runs cleanly with psql
 * against a migrated schema, and its 90-day DELETE removes exactly the old snapshots.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresPersistence, type PostgresPersistence } from '../server/adapters/postgres/postgres-persistence.ts';
import { createTestSchema, LOCAL_TEST_DATABASE_URL, type TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { entries } from '../server/adapters/postgres/journal-fixtures.ts';

const run = promisify(execFile);
const url = process.env['DATABASE_URL'] ?? LOCAL_TEST_DATABASE_URL;
const script = join(import.meta.dirname, '..', 'scripts', 'weekly_db_maintenance.sql');

let schema: TestSchema;
let db: PostgresPersistence;

beforeAll(async () => {
  schema = await createTestSchema(url, 'ts_maint');
  db = await openPostgresPersistence({ connectionString: url, options: schema.options });
});
afterAll(async () => {
  await db?.close();
  await schema?.drop();
});

describe('weekly database maintenance (runbook)', () => {
  it('holds the runbook steps: ANALYZE, VACUUM of the three tables, REINDEX CONCURRENTLY, bloat check, 90-day DELETE', () => {
    const sql = readFileSync(script, 'utf8');
    for (const step of [
      /^ANALYZE;$/m,
      /^VACUUM \(ANALYZE, VERBOSE\) orders;$/m,
      /^VACUUM \(ANALYZE, VERBOSE\) trades;$/m,
      /^VACUUM \(ANALYZE, VERBOSE\) order_book_snapshots;$/m,
      /^REINDEX INDEX CONCURRENTLY idx_orders_timestamp;$/m,
      /FROM pg_stat_user_tables\s+WHERE n_dead_tup > 1000/,
      /DELETE FROM order_book_snapshots\s+WHERE created_at < NOW\(\) - INTERVAL '90 days';/,
    ]) {
      expect(sql).toMatch(step);
    }
  });

  it("needs its one deviation: the runbook's bloat query names a column pg_stat_user_tables does not have", async () => {
    await expect(db.pool.query('SELECT schemaname, tablename FROM pg_stat_user_tables')).rejects.toThrow(/column "tablename" does not exist/);
  });

  it('runs with psql -v ON_ERROR_STOP=1 -f against a migrated database and deletes only snapshots older than 90 days', async () => {
    await db.journal.append(entries('MAINTUSD', 1, 50));
    await db.recovery.saveSnapshot({ pair: 'MAINTUSD', sequence: 10, lastOrderId: 10, lastTradeId: 3, eventSequence: 10, marketDataSequence: 10, orders: [], takenAtMs: 0 });
    await db.recovery.saveSnapshot({ pair: 'MAINTUSD', sequence: 50, lastOrderId: 50, lastTradeId: 16, eventSequence: 50, marketDataSequence: 50, orders: [], takenAtMs: 0 });
    await db.pool.query(`UPDATE order_book_snapshots SET created_at = now() - interval '91 days' WHERE sequence = 10`);

    const { stdout, stderr } = await run('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-f', script, url], {
      env: { ...process.env, PGOPTIONS: schema.options },
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toMatch(/ANALYZE/);
    expect(stdout).toMatch(/REINDEX/);
    expect(stdout).toMatch(/DELETE 1/);
    expect(stderr).toMatch(/vacuuming "[^"]*\.?orders"/);
    expect(stderr).not.toMatch(/ERROR/);

    const { rows } = await db.pool.query<{ sequence: string }>('SELECT sequence FROM order_book_snapshots ORDER BY sequence');
    expect(rows.map((r) => Number(r.sequence))).toEqual([50]);
    const idx = await db.pool.query(`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'idx_orders_timestamp'`);
    expect(idx.rowCount).toBe(1);
  });
});
