/** What only the in-process store promises beyond the shared contract: bounded memory and lazy sweeps. */
import fc from 'fast-check';
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

describe('MemorySessionStore client-order records against a model (eviction and expiry order)', () => {
  type Op = { kind: 'remember' | 'lookup'; account: number; id: number } | { kind: 'advance'; ms: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('remember' as const), account: fc.integer({ min: 0, max: 2 }), id: fc.integer({ min: 0, max: 12 }) }),
    fc.record({ kind: fc.constant('lookup' as const), account: fc.integer({ min: 0, max: 2 }), id: fc.integer({ min: 0, max: 12 }) }),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 6 }) }),
  );

  it('keeps, finds and forgets exactly what a list per account in insertion order would (caps, TTL, re-inserts, sweeps)', () => {
    const TTL = 20;
    const PER_ACCOUNT = 5;
    const TOTAL = 9;
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const clock = new ManualClock();
        const store = new MemorySessionStore({ clock, idempotencyTtlMs: TTL, sweepIntervalMs: 7, maxClientOrders: TOTAL, maxClientOrdersPerAccount: PER_ACCOUNT });
        // The model: per account, its live records oldest first.
        const model = new Map<string, { id: string; result: string; expiresAtMs: number }[]>();
        const live = (account: string) => (model.get(account) ?? []).filter((r) => clock.nowMs() < r.expiresAtMs);
        const total = () => [...model.keys()].reduce((n, a) => n + live(a).length, 0);
        let n = 0;
        for (const o of ops) {
          if (o.kind === 'advance') {
            clock.advanceMs(o.ms);
            continue;
          }
          const account = `acct-${o.account}`;
          const id = `c-${o.id}`;
          if (o.kind === 'lookup') {
            expect(store.lookupClientOrderNow(account, 'BTCUSDT', id)).toBe(live(account).find((r) => r.id === id)?.result);
            continue;
          }
          const result = `r-${n++}`;
          const mine = live(account);
          const existing = mine.find((r) => r.id === id);
          const kept = store.rememberClientOrderNow(account, 'BTCUSDT', id, result);
          if (existing !== undefined) {
            expect(kept).toBe(existing.result); // first writer wins
            continue;
          }
          expect(kept).toBe(result);
          const next = mine.filter((r) => r.id !== id);
          if (next.length >= PER_ACCOUNT || (total() >= TOTAL && next.length > 0)) next.shift(); // its own oldest goes
          const othersFull = total() - live(account).length + next.length >= TOTAL;
          if (!othersFull) next.push({ id, result, expiresAtMs: clock.nowMs() + TTL });
          model.set(account, next);
        }
        expect(store.sizes().clientOrders).toBeLessThanOrEqual(TOTAL);
        for (const account of model.keys()) for (const r of live(account)) expect(store.lookupClientOrderNow(account, 'BTCUSDT', r.id)).toBe(r.result);
      }),
      { numRuns: 300 },
    );
  });
});
