/**
 * vitest globalSetup: the real servers `npm test` needs, found or started once for the whole run.
 * - PostgreSQL: DATABASE_URL if set; else the local server at postgres://postgres@127.0.0.1:5432/test
 *   if it answers; else the embedded PostgreSQL (the npm package's real binaries) in a temporary data
 *   directory, stopped and removed afterwards. DATABASE_URL is set for the suites either way.
 * - Redis: REDIS_URL if set; else redis://127.0.0.1:6379 if something answers there; else a
 *   `redis-server` (when the binary is installed) on a free loopback port without persistence,
 *   stopped afterwards; REDIS_URL is set for the suites. With no Redis at all the Redis suites FAIL
 *   (they say which server they could not reach); nothing is skipped.
 * Child processes of the suites (the real service) inherit these variables.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readlink, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';
import { EmbeddedPostgresServer } from '../../server/adapters/embedded/embedded-postgres.ts';
import { LOCAL_TEST_DATABASE_URL } from '../../server/adapters/postgres/test-schema.ts';
import { freePort } from '../../server/adapters/free-port.ts';

const LOCAL_REDIS = { host: '127.0.0.1', port: 6379 };

async function postgresAnswers(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  c.on('error', () => {});
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Whether a Redis server answers PING (any reply counts: one needing AUTH still means "a server is there"). */
function redisAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(/^[+-]/.test(d.toString())));
  });
}

function which(binary: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const p = join(dir, binary);
    if (dir !== '' && existsSync(p)) return p;
  }
  for (const p of [`/usr/bin/${binary}`, `/usr/local/bin/${binary}`, `/usr/sbin/${binary}`]) if (existsSync(p)) return p;
  return undefined;
}

async function startRedis(binary: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`cannot run ${binary}: ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`${binary} exited (${code}) at start: ${out.trim().split('\n').slice(-3).join(' | ')}`)));
  });
  failed.catch(() => {});
  for (let i = 0; i < 100; i++) {
    const ready = await Promise.race([redisAnswers('127.0.0.1', port), failed]);
    if (ready) return { url: `redis://127.0.0.1:${port}`, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${binary} did not answer on 127.0.0.1:${port} within 10 s`);
}

export interface ServerDefaults {
  /** Tried when env has no DATABASE_URL. @default "postgres://postgres@127.0.0.1:5432/test" */
  localPostgresUrl: string;
  /** Tried when env has no REDIS_URL. @default 127.0.0.1:6379 */
  localRedis: { host: string; port: number };
}

/**
 * Sets DATABASE_URL and REDIS_URL in `env` (found or started, see the module comment); returns the
 * teardown that stops what it started.
 */
export async function provideServers(
  env: NodeJS.ProcessEnv = process.env,
  defaults: ServerDefaults = { localPostgresUrl: LOCAL_TEST_DATABASE_URL, localRedis: LOCAL_REDIS },
  say: (line: string) => void = (line) => console.log(`[test setup] ${line}`),
): Promise<() => Promise<void>> {
  const teardown: Array<() => Promise<void>> = [];

  if (env['DATABASE_URL'] === undefined || env['DATABASE_URL'] === '') {
    if (await postgresAnswers(defaults.localPostgresUrl)) {
      env['DATABASE_URL'] = defaults.localPostgresUrl;
    } else {
      const dir = await mkdtemp(join(tmpdir(), 'test-embedded-pg-'));
      await chmod(dir, 0o755); // as root the server runs as user postgres: keep the cluster in reach
      const server = await EmbeddedPostgresServer.start({ dataDir: join(dir, 'postgres'), database: 'test' });
      env['DATABASE_URL'] = server.url;
      say(`no DATABASE_URL and no PostgreSQL at ${defaults.localPostgresUrl}: using the embedded PostgreSQL on 127.0.0.1:${server.port}`);
      teardown.push(async () => {
        await server.stop();
        const link = await readlink(join(dir, 'postgres', 'pgdata')).catch(() => undefined);
        if (link !== undefined) await rm(link, { recursive: true, force: true });
        await rm(dir, { recursive: true, force: true });
      });
    }
  }

  if (env['REDIS_URL'] === undefined || env['REDIS_URL'] === '') {
    if (!(await redisAnswers(defaults.localRedis.host, defaults.localRedis.port))) {
      const binary = which('redis-server');
      if (binary === undefined) {
        say(`no REDIS_URL, nothing answers on ${defaults.localRedis.host}:${defaults.localRedis.port} and redis-server is not installed: the Redis suites will fail (install redis-server or set REDIS_URL)`);
      } else {
        const redis = await startRedis(binary);
        env['REDIS_URL'] = redis.url;
        say(`no REDIS_URL and no Redis on ${defaults.localRedis.host}:${defaults.localRedis.port}: started ${binary} at ${redis.url}`);
        teardown.push(async () => {
          if (redis.child.exitCode !== null) return;
          const exited = new Promise((r) => redis.child.once('exit', r));
          redis.child.kill('SIGTERM');
          await exited;
        });
      }
    }
  }

  return async () => {
    for (const t of teardown.reverse()) await t().catch((err: unknown) => console.error(`[test teardown] ${String(err)}`));
  };
}

export default function setup(): Promise<() => Promise<void>> {
  return provideServers();
}
