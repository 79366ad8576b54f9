/**
 * The SessionStore contract against both implementations: the in-process store always, the Redis store
 * against the real server at REDIS_URL (default redis://127.0.0.1:6379). If Redis is not reachable the
 * Redis suites FAIL: they never skip. Each Redis store gets a fresh random key prefix, deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySessionStore } from '../server/adapters/embedded/memory-session-store.ts';
import { openSessionStore } from '../server/adapters/redis/open-session-store.ts';
import { RedisSessionStore } from '../server/adapters/redis/redis-session-store.ts';
import { ManualClock } from '../server/ports/clock.ts';
import { UnavailableError } from '../server/ports/errors.ts';
import { SessionStoreOptionError } from '../server/ports/session-store.ts';
import { sessionStoreContract } from './support/session-store-contract.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN_PREFIX = `test:sessions:${randomBytes(6).toString('hex')}:`;

let admin: Redis;
let storeCount = 0;

/** Everything under a prefix, as text. */
async function dumpPrefix(prefix: string): Promise<string> {
  const keys = await admin.keys(`${prefix}*`);
  const parts: string[] = [];
  for (const key of keys.sort()) {
    const type = await admin.type(key);
    const value = type === 'hash' ? JSON.stringify(await admin.hgetall(key)) : type === 'set' ? JSON.stringify((await admin.smembers(key)).sort()) : type === 'zset' ? JSON.stringify(await admin.zrange(key, '0', '-1')) : await admin.get(key);
    parts.push(`${key} = ${value}`);
  }
  return parts.join('\n');
}

sessionStoreContract('in-process (MemorySessionStore)', async (options) => {
  const store = new MemorySessionStore(options);
  const internals = store as unknown as Record<string, Map<string, unknown>>;
  return {
    store,
    dump: async () =>
      JSON.stringify([
        ...['apiKeys', 'sessions', 'buckets'].map((n) => [...internals[n]!.entries()]),
        [...internals['ordersByAccount']!.entries()].map(([account, m]) => [account, [...(m as Map<string, unknown>).entries()]]),
      ]),
  };
});

describe(`against the real Redis at ${REDIS_URL}`, () => {
  beforeAll(async () => {
    // Fails these suites (never skips them) when Redis is not there; the in-process suite still runs.
    admin = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
    admin.on('error', () => {});
    try {
      await admin.connect();
    } catch (err) {
      throw new Error(`Redis at ${REDIS_URL} is not reachable (${(err as Error).message}); these tests need a real server`);
    }
    expect(await admin.ping()).toBe('PONG');
  });

  afterAll(async () => {
    if (admin?.status === 'ready') {
      const keys = await admin.keys(`${RUN_PREFIX}*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    }
  });

  sessionStoreContract('Redis (RedisSessionStore, real server)', async (options) => {
    const prefix = `${RUN_PREFIX}${storeCount++}:`;
    const store = new RedisSessionStore({ ...options, url: REDIS_URL, prefix });
    await store.ready(5000);
    return { store, dump: () => dumpPrefix(prefix) };
  });

  describe('RedisSessionStore on the real server', () => {
    const clock = new ManualClock();
    const opened: RedisSessionStore[] = [];
    const open = async (prefix: string): Promise<RedisSessionStore> => {
      const store = new RedisSessionStore({ url: REDIS_URL, clock, prefix });
      opened.push(store);
      await store.ready(5000);
      return store;
    };
    afterAll(async () => {
      await Promise.all(opened.map((s) => s.close()));
    });

    it('keeps every key under its prefix, sessions and buckets with a PX TTL, API keys without', async () => {
      const prefix = `${RUN_PREFIX}layout:`;
      const store = await open(prefix);
      const key = await store.createApiKey('alice');
      const session = await store.login(key.keyId, key.secret, 120_000);
      await store.rememberClientOrder('alice', 'BTC-USD', 'c-1', 'r');
      await store.consume('alice');
      const keys = (await admin.keys(`${prefix}*`)).sort();
      // `order` twice: the record and the account's index of its records (the per-account cap).
      expect(keys.map((k) => k.slice(prefix.length).split(':')[0])).toEqual(['accountsessions', 'apikey', 'keysessions', 'order', 'order', 'rate', 'session']);
      const ttl = async (kind: string): Promise<number> => admin.pttl(keys.find((k) => k.startsWith(`${prefix}${kind}:`))!);
      expect(await ttl('apikey')).toBe(-1);
      expect(await ttl('session')).toBeGreaterThan(110_000);
      expect(await ttl('session')).toBeLessThanOrEqual(120_000);
      expect(await ttl('order')).toBeGreaterThan(86_000_000);
      expect(await ttl('rate')).toBeGreaterThan(0);
      expect(await ttl('rate')).toBeLessThanOrEqual(3000); // full refill (2 s at defaults) + 1 s
      // The session indexes (per account, per API key) expire with the sessions they index.
      expect(await ttl('accountsessions')).toBeGreaterThan(110_000);
      expect(await ttl('keysessions')).toBeLessThanOrEqual(120_000);
      expect(keys.some((k) => k.includes(session.token))).toBe(false);
    });

    it('stores with different prefixes do not see each other', async () => {
      const a = await open(`${RUN_PREFIX}iso-a:`);
      const b = await open(`${RUN_PREFIX}iso-b:`);
      const key = await a.createApiKey('alice');
      const session = await a.login(key.keyId, key.secret, 60_000);
      await expect(b.login(key.keyId, key.secret, 60_000)).rejects.toThrow('unknown API key id or wrong secret');
      expect(await b.resolve(session.token)).toBeUndefined();
      await a.rememberClientOrder('alice', 'BTC-USD', 'c-1', 'a');
      expect(await b.lookupClientOrder('alice', 'BTC-USD', 'c-1')).toBeUndefined();
    });

    it('two stores on one prefix (two replicas) share sessions, idempotency and one global bucket', async () => {
      const prefix = `${RUN_PREFIX}shared:`;
      const a = await open(prefix);
      const b = await open(prefix);
      const key = await a.createApiKey('alice');
      const session = await b.login(key.keyId, key.secret, 60_000);
      expect(await a.resolve(session.token)).toBe('alice');
      expect(await Promise.all([a.rememberClientOrder('alice', 'P', 'c', 'from-a'), b.rememberClientOrder('alice', 'P', 'c', 'from-b')])).toSatisfy(
        (r: string[]) => r[0] === r[1],
      );
      expect((await a.consume('alice', 2000)).allowed).toBe(true);
      expect((await b.consume('alice')).allowed).toBe(false);
    });

    it('fails fast with UnavailableError("redis") when the server cannot be reached, and never crashes', async () => {
      // Port 1 on loopback: connection refused at once.
      const store = new RedisSessionStore({ url: 'redis://127.0.0.1:1', clock, prefix: `${RUN_PREFIX}nowhere:` });
      opened.push(store);
      await expect(store.ready(300)).rejects.toBeInstanceOf(UnavailableError);
      const err = await store.consume('alice').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as UnavailableError).dependency).toBe('redis');
      await expect(store.resolve('A'.repeat(43))).rejects.toBeInstanceOf(UnavailableError);
      await expect(store.login('ak_AAAAAAAAAAAAAAAA', 'A'.repeat(43), 1000)).rejects.toBeInstanceOf(UnavailableError);
    });

    it('names the bad option', () => {
      expect(() => new RedisSessionStore({ url: 'http://x', clock })).toThrow(SessionStoreOptionError);
      expect(() => new RedisSessionStore({ url: REDIS_URL, clock, rateLimitBurst: 0 })).toThrow('rateLimitBurst');
      expect(() => new RedisSessionStore({ url: REDIS_URL, clock, prefix: 'has space' })).toThrow('prefix');
    });
  });
  it('openSessionStore picks the in-process store without a URL and the resilient Redis store with one', async () => {
    const clock = new ManualClock();
    const memory = openSessionStore({ clock });
    expect(memory.backend).toBe('memory');
    expect(memory.store).toBeInstanceOf(MemorySessionStore);
    await memory.ready();
    await memory.store.close();
    const real = openSessionStore({ clock, redisUrl: REDIS_URL, redisPrefix: `${RUN_PREFIX}opened:` });
    expect(real.backend).toBe('redis');
    await real.ready(5000);
    const key = await real.store.createApiKey('alice');
    const session = await real.store.login(key.keyId, key.secret, 60_000);
    expect(await real.store.resolve(session.token)).toBe('alice');
    expect(real.isOnline()).toBe(true);
    await real.store.close();
  });
});
