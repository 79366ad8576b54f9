/**
 * A new user's first `npm start` against a real PostgreSQL (issue 13, items 1 and 4): DATABASE_URL
 * naming a database that does not exist yet → the service creates it (the role may) and starts; a role
 * that may not create databases, or a DATA_DIR that cannot be created, → exit 1 with one line saying
 * what to change, never a stack trace. The service is the real server/main.ts in a child process.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureDatabaseExists } from '../server/adapters/postgres/ensure-database.ts';
import { TEST_DATABASE_URL } from './support/service-database.ts';

const root = join(import.meta.dirname, '..');
const suffix = randomBytes(4).toString('hex');
const createdDatabases: string[] = [];
const createdRoles: string[] = [];

function urlWith(database: string, user?: string): string {
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${database}`;
  if (user !== undefined) {
    u.username = user;
    u.password = '';
  }
  return u.href;
}

async function admin<T>(f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

async function exists(database: string): Promise<boolean> {
  return admin(async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 1);
}

afterAll(async () => {
  await admin(async (c) => {
    for (const d of createdDatabases) await c.query(`DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`);
    for (const r of createdRoles) await c.query(`DROP ROLE IF EXISTS "${r}"`);
  });
});

/** Runs server/main.ts until it listens (then SIGTERM) or exits; returns its exit code and output. */
function runService(env: Record<string, string>): Promise<{ code: number | null; listened: boolean; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: root,
    env: { ...process.env, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', REDIS_URL: '', LOG_FORMAT: 'pretty', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let listened = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    const admin = /admin HTTP on (http:\/\/127\.0\.0\.1:\d+)[^]*API key id/.exec(stdout);
    if (!listened && admin) {
      listened = true;
      // Once /health has answered, the event loop has turned after main() installed its signal handlers.
      void fetch(`${admin[1]}/health`)
        .catch(() => undefined)
        .finally(() => child.kill('SIGTERM'));
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, listened, stdout: `${stdout}${signal ? `\n[terminated by ${signal}]` : ''}`, stderr })));
}

describe('DATABASE_URL names a database that does not exist', () => {
  it('ensureDatabaseExists creates it when the role may, and leaves an existing one alone', async () => {
    const name = `ts_missing_${suffix}_a`;
    createdDatabases.push(name);
    expect(await exists(name)).toBe(false);
    const lines: string[] = [];
    expect(await ensureDatabaseExists(urlWith(name), (l) => lines.push(l))).toBe(name);
    expect(await exists(name)).toBe(true);
    expect(lines).toEqual([expect.stringMatching(new RegExp(`created database "${name}"`))]);
    expect(await ensureDatabaseExists(urlWith(name))).toBeUndefined(); // already there: nothing done
  });

  it('npm start (server/main.ts) creates it, migrates it and serves', async () => {
    const name = `ts_missing_${suffix}_b`;
    createdDatabases.push(name);
    const run = await runService({ DATABASE_URL: urlWith(name) });
    expect(run.stderr).toBe('');
    expect(run.listened).toBe(true);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`postgresql: created database "${name}"`));
    // Item 15: the listening line states each pair's actual migration state; one "adaptive-started" per pair.
    expect(run.stdout).toMatch(/\(migration: BTCUSDT shadow, ETHUSDT shadow, SOLUSDT shadow[;)]/);
    expect(run.stdout).not.toMatch(/migration starts/);
    expect(run.stdout.match(/adaptive-started/g)).toHaveLength(3);
    const tables = await new pg.Client({ connectionString: urlWith(name) });
    await tables.connect();
    try {
      const { rows } = await tables.query<{ n: string }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'schema_migrations'");
      expect(Number(rows[0]!.n)).toBe(1);
    } finally {
      await tables.end();
    }
  });

  it('a role without CREATEDB: exit 1 with one line naming the database and the command to run', async () => {
    const role = `ts_nocreatedb_${suffix}`;
    const name = `ts_missing_${suffix}_c`;
    createdRoles.push(role);
    await admin((c) => c.query(`CREATE ROLE "${role}" LOGIN NOCREATEDB`));
    await expect(ensureDatabaseExists(urlWith(name, role))).rejects.toThrow(/does not exist .* may not create databases .*CREATE DATABASE "ts_missing_/);

    const run = await runService({ DATABASE_URL: urlWith(name, role) });
    expect(run.listened).toBe(false);
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^trading-service failed to start: .*database "${name}" does not exist .*role ${role} may not create databases.*CREATE DATABASE`));
    expect(await exists(name)).toBe(false);
  });
});

describe('the embedded PostgreSQL cannot be used', () => {
  it('a DATA_DIR that cannot be created: exit 1, one line saying to set DATA_DIR or DATABASE_URL', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'first-start-')), 'a-file');
    await writeFile(file, 'not a directory');
    const run = await runService({ DATABASE_URL: '', DATA_DIR: join(file, 'data') });
    await rm(dirname(file), { recursive: true, force: true });
    expect(run.listened).toBe(false);
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^trading-service failed to start: embedded PostgreSQL: cannot create its data directory \/.*\/a-file\/data\/postgres \(ENOTDIR\); set DATA_DIR .*DATABASE_URL/);
  });
});
