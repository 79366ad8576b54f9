/**
 * Redis down (docs/operations.md "Sessions"; Toxiproxy's chaos vocabulary): the real Redis made unreachable through
 * a TCP fault proxy between the store and the server. Validated sessions keep working for offlineGraceMs,
 * logins fail with UnavailableError('redis'), rate limits fall back to a local bucket, nothing crashes,
 * and everything recovers by itself when the proxy passes traffic again. Fails (never skips) without Redis.
 * Time for grace and probes is a ManualClock; only reconnection is awaited in real time.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../server/adapters/redis/redis-session-store.ts';
import { ResilientSessionStore } from '../server/adapters/redis/resilient-session-store.ts';
import { ManualClock } from '../server/ports/clock.ts';
import { UnavailableError } from '../server/ports/errors.ts';
import { RedisFaultProxy } from './support/redis-fault-proxy.ts';

const REDIS_URL = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const RUN_PREFIX = `test:resilience:${randomBytes(6).toString('hex')}:`;

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function unavailable(p: Promise<unknown>): Promise<UnavailableError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnavailableError);
  expect((err as UnavailableError).dependency).toBe('redis');
  return err as UnavailableError;
}

let admin: Redis;
let proxy: RedisFaultProxy;

beforeAll(async () => {
  admin = new Redis(REDIS_URL.href, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
  admin.on('error', () => {});
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`Redis at ${REDIS_URL.href} is not reachable (${(err as Error).message}); these tests need a real server`);
  }
  proxy = new RedisFaultProxy(REDIS_URL.hostname, Number(REDIS_URL.port || 6379));
  await proxy.start();
});

afterAll(async () => {
  await proxy?.stop();
  if (admin?.status === 'ready') {
    const keys = await admin.keys(`${RUN_PREFIX}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  }
});

describe('ResilientSessionStore over a Redis that goes away and comes back', () => {
  let clock: ManualClock;
  let redis: RedisSessionStore;
  let store: ResilientSessionStore;
  let transitions: string[];
  let prefix: string;
  let n = 0;

  beforeEach(async () => {
    proxy.setMode('pass');
    clock = new ManualClock();
    transitions = [];
    prefix = `${RUN_PREFIX}${n++}:`;
    redis = new RedisSessionStore({ url: proxy.url, clock, prefix, commandTimeoutMs: 300, connectTimeoutMs: 300, reconnectMaxDelayMs: 100 });
    await redis.ready(5000);
    store = new ResilientSessionStore({
      inner: redis,
      clock,
      offlineGraceMs: 60_000,
      probeIntervalMs: 1000,
      rateLimitPerSecond: 1,
      rateLimitBurst: 3,
      onStateChange: (online) => transitions.push(online ? 'up' : 'down'),
    });
  });

  afterEach(async () => {
    proxy.setMode('pass');
    await store.close();
  });

  async function recover(): Promise<void> {
    proxy.setMode('pass');
    await waitFor(() => redis.isReady(), 'ioredis to reconnect through the proxy');
    clock.advanceMs(1000); // the next call is the probe
  }

  it('serves sessions validated before the outage for offlineGraceMs, then answers UNAVAILABLE', async () => {
    const key = await store.createApiKey('alice');
    const session = await store.login(key.keyId, key.secret, 3_600_000);
    expect(await store.resolve(session.token)).toBe('alice');

    proxy.setMode('down');
    expect(await store.resolve(session.token)).toBe('alice');
    expect(store.status()).toMatchObject({ online: false, offlineSinceMs: clock.nowMs() });
    expect(transitions).toEqual(['down']);

    clock.advanceMs(60_000);
    expect(await store.resolve(session.token)).toBe('alice');
    clock.advanceMs(1);
    const err = await unavailable(store.resolve(session.token));
    expect(err.message).toContain('beyond the 60000 ms grace');
  });

  it('answers UNAVAILABLE (not "unknown") for a token it never validated, undefined for a malformed one', async () => {
    const key = await store.createApiKey('alice');
    const session = await redis.login(key.keyId, key.secret, 60_000); // validated by another replica, not here
    proxy.setMode('down');
    const err = await unavailable(store.resolve(session.token));
    expect(err.message).toContain('cannot verify an unknown session token');
    expect(await store.resolve('not a token')).toBeUndefined();
  });

  it('does not stretch a cached session past its own expiry', async () => {
    const key = await store.createApiKey('alice');
    const session = await store.login(key.keyId, key.secret, 10_000);
    proxy.setMode('down');
    expect(await store.resolve(session.token)).toBe('alice');
    clock.advanceMs(10_000);
    expect(await store.resolve(session.token)).toBeUndefined();
  });

  it('refuses logins and API key changes clearly with UnavailableError("redis")', async () => {
    const key = await store.createApiKey('alice');
    proxy.setMode('down');
    const err = await unavailable(store.login(key.keyId, key.secret, 60_000));
    expect(err.message).toMatch(/^redis unavailable: cannot log in while the session store is unreachable/);
    await unavailable(store.createApiKey('bob'));
    await unavailable(store.revokeApiKey(key.keyId));
  });

  it('falls back to a local token bucket with the same limits', async () => {
    proxy.setMode('down');
    for (let i = 0; i < 3; i++) expect((await store.consume('alice')).allowed).toBe(true);
    expect(await store.consume('alice')).toEqual({ allowed: false, retryAfterMs: 1000 });
    clock.advanceMs(1000);
    expect((await store.consume('alice')).allowed).toBe(true);
  });

  it('keeps idempotency answers from its local mirror during the outage and after it', async () => {
    expect(await store.rememberClientOrder('alice', 'BTC-USD', 'before', 'r-before')).toBe('r-before');
    proxy.setMode('down');
    expect(await store.lookupClientOrder('alice', 'BTC-USD', 'before')).toBe('r-before');
    expect(await store.lookupClientOrder('alice', 'BTC-USD', 'unknown')).toBeUndefined();
    expect(await store.rememberClientOrder('alice', 'BTC-USD', 'during', 'r-during')).toBe('r-during');
    expect(await store.rememberClientOrder('alice', 'BTC-USD', 'during', 'r-again')).toBe('r-during');
    await recover();
    expect(await store.lookupClientOrder('alice', 'BTC-USD', 'during')).toBe('r-during');
    expect(await store.rememberClientOrder('alice', 'BTC-USD', 'during', 'r-later')).toBe('r-during');
  });

  it('recovers by itself as soon as the client reconnects, serves logins from Redis again and replays logouts', async () => {
    const key = await store.createApiKey('alice');
    const kept = await store.login(key.keyId, key.secret, 3_600_000);
    const dropped = await store.login(key.keyId, key.secret, 3_600_000);
    expect(await store.resolve(dropped.token)).toBe('alice');

    proxy.setMode('down');
    await store.logout(dropped.token);
    expect(await store.resolve(dropped.token)).toBeUndefined(); // at once, locally
    expect(store.status().pendingLogouts).toBe(1);

    clock.advanceMs(500);
    await unavailable(store.login(key.keyId, key.secret, 60_000)); // within the probe interval: not asked
    proxy.setMode('pass');
    await waitFor(() => redis.isReady(), 'ioredis to reconnect through the proxy');
    // A new connection is tried at once, without waiting for the probe interval.
    const fresh = await store.login(key.keyId, key.secret, 60_000);
    expect(store.status()).toMatchObject({ online: true, offlineSinceMs: undefined });
    expect(transitions).toEqual(['down', 'up']);
    expect(await store.resolve(fresh.token)).toBe('alice');
    expect(await store.resolve(kept.token)).toBe('alice');
    await waitFor(() => store.status().pendingLogouts === 0, 'the logout replay');
    expect(await redis.resolve(dropped.token)).toBeUndefined();
    expect(await redis.consume('alice')).toMatchObject({ allowed: true });
  });

  it('treats a hung Redis (black hole) like a down one: only the probe waits for the command timeout', async () => {
    const key = await store.createApiKey('alice');
    const session = await store.login(key.keyId, key.secret, 3_600_000);
    proxy.setMode('blackhole');
    // The connection stays up but nothing comes back: the call waits commandTimeoutMs, then falls back.
    expect(await store.resolve(session.token)).toBe('alice');
    expect(store.status()).toMatchObject({ online: false, lastError: 'cannot resolve a session: Command timed out' });
    clock.advanceMs(1000);
    const probe = store.resolve(session.token).then((account) => `probe:${account}`);
    const local = store.consume('alice').then((d) => `local:${d.allowed}`);
    // While the probe hangs on Redis, other calls are answered locally, without waiting for it.
    expect(await Promise.race([probe, local])).toBe('local:true');
    expect(await probe).toBe('probe:alice');
    await recover();
    expect(await store.resolve(session.token)).toBe('alice');
    expect(store.status().online).toBe(true);
  });

  it('the bare Redis store replaces a connection whose commands keep timing out', async () => {
    await redis.consume('alice');
    proxy.setMode('blackhole');
    for (let i = 0; i < 3; i++) expect((await unavailable(redis.consume('alice'))).detail).toBe('cannot check the rate limit: Command timed out');
    await waitFor(() => !redis.isReady(), 'the hung connection to be dropped');
    await unavailable(redis.consume('alice')); // not connected: fails at once
    proxy.setMode('pass');
    await waitFor(() => redis.isReady(), 'ioredis to reconnect through the proxy');
    expect(await redis.consume('alice')).toMatchObject({ allowed: true });
  });

  it('the bare Redis store fails fast while down and works again without a new client', async () => {
    const key = await redis.createApiKey('alice');
    proxy.setMode('down');
    await unavailable(redis.login(key.keyId, key.secret, 60_000));
    await unavailable(redis.consume('alice'));
    proxy.setMode('pass');
    await waitFor(() => redis.isReady(), 'ioredis to reconnect through the proxy');
    expect((await redis.login(key.keyId, key.secret, 60_000)).account).toBe('alice');
  });
});
