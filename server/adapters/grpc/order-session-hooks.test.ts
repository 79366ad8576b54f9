/**
 * sessionHooks' rate-limit step: decided at once over the in-process store (no promise per call), after
 * the store's answer over one that answers asynchronously (Redis); the same decisions and errors both ways.
 */
import { describe, expect, it } from 'vitest';
import { MemorySessionStore } from '../embedded/memory-session-store.ts';
import { ManualClock } from '../../ports/clock.ts';
import type { SessionStore } from '../../ports/session-store.ts';
import { RateLimitedError } from './errors.ts';
import { sessionHooks } from './order-session-hooks.ts';

const limits = { rateLimitPerSecond: 10, rateLimitBurst: 3 };

function refusal(run: () => unknown): unknown {
  try {
    run();
  } catch (e) {
    return e;
  }
  throw new Error('expected a refusal');
}

describe('sessionHooks.admit', () => {
  it('over the in-process store: undefined while admitted, RateLimitedError thrown at once when refused', () => {
    const clock = new ManualClock();
    const hooks = sessionHooks(new MemorySessionStore({ clock, ...limits }), { rateLimitBurst: 3 });
    expect(hooks.admit('alice', 2)).toBeUndefined();
    expect(hooks.admit('alice', 1)).toBeUndefined();
    const err = refusal(() => hooks.admit('alice', 1));
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(100);
    expect(hooks.admit('bob', 3)).toBeUndefined(); // one account's bucket is its own
    clock.advanceMs(100);
    expect(hooks.admit('alice', 1)).toBeUndefined();
  });

  it('a cost above the burst is charged the whole bucket: passes only from a full one', () => {
    const clock = new ManualClock();
    const hooks = sessionHooks(new MemorySessionStore({ clock, ...limits }), { rateLimitBurst: 3 });
    expect(hooks.admit('alice', 50)).toBeUndefined();
    expect(refusal(() => hooks.admit('alice', 50))).toBeInstanceOf(RateLimitedError);
  });

  it('over a store that answers asynchronously: a promise with the same decisions', async () => {
    const clock = new ManualClock();
    const inner = new MemorySessionStore({ clock, ...limits });
    const asyncOnly = { consume: (account: string, cost?: number) => inner.consume(account, cost) } as unknown as SessionStore;
    const hooks = sessionHooks(asyncOnly, { rateLimitBurst: 3 });
    const first = hooks.admit('alice', 3);
    expect(first).toBeInstanceOf(Promise);
    await first;
    await expect(hooks.admit('alice', 1)).rejects.toBeInstanceOf(RateLimitedError);
  });
});
