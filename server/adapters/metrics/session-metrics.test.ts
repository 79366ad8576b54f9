import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../ports/clock.ts';
import { inProcessSessions, type SessionStore } from '../../ports/session-store.ts';
import { MemorySessionStore } from '../embedded/memory-session-store.ts';
import { sessionHooks } from '../grpc/order-session-hooks.ts';
import { SessionMetrics } from './session-metrics.ts';

async function lookups(registry: Registry): Promise<Record<string, number>> {
  const m = await registry.getSingleMetric('trading_session_idempotency_lookups_total')!.get();
  return Object.fromEntries(m.values.map((v) => [String(v.labels.result), v.value]));
}

describe('SessionMetrics.instrument', () => {
  it('keeps the in-process store’s synchronous client-order table (the service’s idempotency fast path), counting its lookups', async () => {
    const registry = new Registry();
    const metrics = new SessionMetrics(registry, { backend: 'memory', isOnline: () => true });
    const store = metrics.instrument(new MemorySessionStore({ clock: new ManualClock() }));
    const hooks = sessionHooks(store, { rateLimitBurst: 100 });
    const now = hooks.clientOrdersNow;
    expect(now).toBeDefined();
    expect(now!.lookupClientOrderNow('alice', 'BTCUSDT', 'c-1')).toBeUndefined();
    expect(now!.rememberClientOrderNow('alice', 'BTCUSDT', 'c-1', 'first')).toBe('first');
    expect(now!.lookupClientOrderNow('alice', 'BTCUSDT', 'c-1')).toBe('first');
    // The async path reads the same table.
    expect(await store.lookupClientOrder('alice', 'BTCUSDT', 'c-1')).toBe('first');
    expect(await lookups(registry)).toEqual({ hit: 2, miss: 1 });
  });

  it('a store without one (Redis) stays without one', () => {
    const metrics = new SessionMetrics(new Registry(), { backend: 'redis', isOnline: () => true });
    const real = new MemorySessionStore({ clock: new ManualClock() });
    // The SessionStore port alone, as the Redis store offers it.
    const asyncOnly: SessionStore = {
      createApiKey: (a) => real.createApiKey(a),
      revokeApiKey: (k) => real.revokeApiKey(k),
      login: (k, s, t) => real.login(k, s, t),
      resolve: (t) => real.resolve(t),
      logout: (t) => real.logout(t),
      rememberClientOrder: (a, p, c, r) => real.rememberClientOrder(a, p, c, r),
      lookupClientOrder: (a, p, c) => real.lookupClientOrder(a, p, c),
      consume: (a, c) => real.consume(a, c),
      close: () => real.close(),
    };
    expect(inProcessSessions(metrics.instrument(asyncOnly))).toBeUndefined();
    expect(inProcessSessions(metrics.instrument(real))).toBeDefined();
  });
});
