/**
 * What `npm test` needs on a fresh machine (issue 13, item 2): with no DATABASE_URL / REDIS_URL and
 * nothing answering at the default addresses, the global setup starts the embedded PostgreSQL and a
 * redis-server on free ports, both really answer, and its teardown stops them. (The default addresses
 * here are free loopback ports nobody listens on, standing in for "no local server".)
 */
import { execFileSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { provideServers } from './support/global-setup.ts';

async function unusedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function hasRedisServer(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('global test setup on a machine without PostgreSQL or Redis at the defaults', () => {
  it('starts the embedded PostgreSQL and a redis-server, sets DATABASE_URL and REDIS_URL, and stops both afterwards', async () => {
    const env: NodeJS.ProcessEnv = {};
    const lines: string[] = [];
    const pgPort = await unusedPort();
    const redisPort = await unusedPort();
    const teardown = await provideServers(
      env,
      { localPostgresUrl: `postgres://postgres@127.0.0.1:${pgPort}/test`, localRedis: { host: '127.0.0.1', port: redisPort } },
      (l) => lines.push(l),
    );
    let stopped = false;
    try {
      expect(env['DATABASE_URL']).toMatch(/^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/test$/);
      expect(lines.some((l) => /using the embedded PostgreSQL/.test(l))).toBe(true);
      const client = new pg.Client({ connectionString: env['DATABASE_URL'] });
      await client.connect();
      expect((await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db).toBe('test');
      await client.end();

      if (hasRedisServer()) {
        expect(env['REDIS_URL']).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
        const redis = new Redis(env['REDIS_URL']!, { lazyConnect: true, maxRetriesPerRequest: 0 });
        await redis.connect();
        expect(await redis.ping()).toBe('PONG');
        redis.disconnect();
      } else {
        expect(env['REDIS_URL']).toBeUndefined();
        expect(lines.some((l) => /redis-server is not installed: the Redis suites will fail/.test(l))).toBe(true);
      }
      await teardown();
      stopped = true;
      const after = new pg.Client({ connectionString: env['DATABASE_URL'], connectionTimeoutMillis: 2000 });
      after.on('error', () => {});
      await expect(after.connect()).rejects.toThrow();
      await after.end().catch(() => {});
    } finally {
      if (!stopped) await teardown();
    }
  });

  it('leaves an explicitly given DATABASE_URL and REDIS_URL alone', async () => {
    const env: NodeJS.ProcessEnv = { DATABASE_URL: 'postgres://someone@127.0.0.1:1/x', REDIS_URL: 'redis://127.0.0.1:1' };
    const teardown = await provideServers(env, { localPostgresUrl: 'postgres://postgres@127.0.0.1:1/test', localRedis: { host: '127.0.0.1', port: 1 } }, () => {});
    await teardown();
    expect(env).toEqual({ DATABASE_URL: 'postgres://someone@127.0.0.1:1/x', REDIS_URL: 'redis://127.0.0.1:1' });
  });
});
