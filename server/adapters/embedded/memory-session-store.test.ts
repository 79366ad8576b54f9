/** What only the in-process store promises beyond the shared contract: bounded memory and lazy sweeps. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../ports/clock.ts';
import { SessionStoreOptionError } from '../../ports/session-store.ts';
import { MemorySessionStore } from './memory-session-store.ts';

describe('MemorySessionStore bounds', () => {
  it('sweeps expired sessions, client orders and refilled buckets at most once per sweepIntervalMs', async () => {
    const clock = new ManualClock();
    const store = new MemorySessionStore({ clock, sweepIntervalMs: 10_000, idempotencyTtlMs: 5_000, rateLimitPerSecond: 1, rateLimitBurst: 2 });
    const key = await store.createApiKey('alice');
    await store.login(key.keyId, key.secret, 5_000);
    await store.rememberClientOrder('alice', 'P', 'c-1', 'r');
    await store.consume('alice');
    expect(store.sizes()).toEqual({ apiKeys: 1, sessions: 1, clientOrders: 1, rateBuckets: 1 });
    clock.advanceMs(9_999);
    await store.consume('bob'); // before the interval: nothing swept yet
    expect(store.sizes()).toMatchObject({ sessions: 1, clientOrders: 1, rateBuckets: 2 });
    clock.advanceMs(1);
    await store.consume('carol'); // sweeps alice's session, order and (refilled) bucket; bob's is still refilling
    expect(store.sizes()).toEqual({ apiKeys: 1, sessions: 0, clientOrders: 0, rateBuckets: 2 });
  });

  it('never holds more than maxSessions sessions: the oldest is dropped', async () => {
    const clock = new ManualClock();
    const store = new MemorySessionStore({ clock, maxSessions: 2 });
    const key = await store.createApiKey('alice');
    const first = await store.login(key.keyId, key.secret, 60_000);
    const second = await store.login(key.keyId, key.secret, 60_000);
    const third = await store.login(key.keyId, key.secret, 60_000);
    expect(store.sizes().sessions).toBe(2);
    expect(await store.resolve(first.token)).toBeUndefined();
    expect(await store.resolve(second.token)).toBe('alice');
    expect(await store.resolve(third.token)).toBe('alice');
  });

  it('never holds more than maxClientOrders results or maxRateBuckets buckets: the oldest is forgotten', async () => {
    const clock = new ManualClock();
    const store = new MemorySessionStore({ clock, maxClientOrders: 3, maxRateBuckets: 3 });
    for (let i = 0; i < 10; i++) {
      await store.rememberClientOrder('alice', 'P', `c-${i}`, `r-${i}`);
      await store.consume(`account-${i}`);
    }
    expect(store.sizes()).toMatchObject({ clientOrders: 3, rateBuckets: 3 });
    expect(await store.lookupClientOrder('alice', 'P', 'c-6')).toBeUndefined();
    expect(await store.lookupClientOrder('alice', 'P', 'c-9')).toBe('r-9');
  });

  it('refuses API keys beyond maxApiKeys', async () => {
    const store = new MemorySessionStore({ clock: new ManualClock(), maxApiKeys: 1 });
    await store.createApiKey('alice');
    await expect(store.createApiKey('bob')).rejects.toThrow('maxApiKeys');
  });

  it('names the bad option', () => {
    const clock = new ManualClock();
    expect(() => new MemorySessionStore({ clock, maxSessions: 0 })).toThrow(SessionStoreOptionError);
    expect(() => new MemorySessionStore({ clock, idempotencyTtlMs: -1 })).toThrow('idempotencyTtlMs');
    expect(() => new MemorySessionStore({ clock, rateLimitPerSecond: 0.5 })).toThrow('rateLimitPerSecond');
  });
});
