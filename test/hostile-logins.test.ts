/**
 * Issue 7 item 5: Login floods. Failed logins back off per API key id and per peer address (scaled
 * down: 3 free failures per key, 6 per peer, 1 s doubling), and one API key logging in in a loop only
 * ever pushes out its own account's oldest sessions (SESSIONS_PER_ACCOUNT, here 3).
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySessionStore } from '../server/adapters/embedded/memory-session-store.ts';
import { ManualClock } from '../server/ports/clock.ts';
import { failure, harnessAuth, harnessStore, loginAt, startHarness, type Harness } from './grpc-harness.ts';

let h: Harness;
let offsetMs = 0;
beforeAll(async () => {
  h = await startHarness({
    nowMs: () => Date.now() + offsetMs,
    sessions: {
      store: harnessStore,
      authenticator: harnessAuth,
      sessionTtlMs: 86_400_000,
      rateLimitBurst: 1_000_000_000,
      loginThrottle: { freeFailuresPerKey: 3, freeFailuresPerPeer: 6, backoffBaseMs: 1_000, backoffMaxMs: 60_000 },
    },
  });
});
afterAll(async () => {
  await h.close();
});

describe('failed logins back off', () => {
  it('per key id: after 3 wrong secrets even the right one is refused (RESOURCE_EXHAUSTED, retry hint) until the backoff passes', async () => {
    const key = await harnessStore.createApiKey('throttled');
    const wrong = { keyId: key.keyId, secret: 'A'.repeat(43) };
    for (let i = 0; i < 3; i++) expect((await failure(loginAt(h.address, wrong))).code).toBe(status.UNAUTHENTICATED);
    const refused = await failure(loginAt(h.address, key));
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.details).toMatch(/too many failed logins .* retry after \d+ ms$/);
    expect(Number(refused.metadata.get('x-retry-after-ms')[0])).toBeGreaterThan(0);
    offsetMs += 1_001; // the first backoff (1 s) has passed
    expect((await loginAt(h.address, key)).account).toBe('throttled');
    // Success cleared the key's failures: a new wrong secret is an ordinary UNAUTHENTICATED again.
    expect((await failure(loginAt(h.address, wrong))).code).toBe(status.UNAUTHENTICATED);
  });

  it('per peer: unknown key ids from one address are refused after 6 failures, before the store is asked', async () => {
    offsetMs += 3_600_000; // a fresh hour: earlier failures forgotten
    for (let i = 0; i < 3; i++) await failure(loginAt(h.address, { keyId: `ak_${String(i).padStart(16, 'x')}`, secret: 'B'.repeat(43) }));
    let refusedAt = -1;
    for (let i = 3; i < 20; i++) {
      const e = await failure(loginAt(h.address, { keyId: `ak_${String(i).padStart(16, 'y')}`, secret: 'B'.repeat(43) }));
      if (e.code === status.RESOURCE_EXHAUSTED) {
        refusedAt = i;
        break;
      }
      expect(e.code).toBe(status.UNAUTHENTICATED);
    }
    expect(refusedAt).toBe(6);
  });
});

describe('sessions per account', () => {
  it('one API key logging in 50 times keeps at most 3 sessions of its own account; another account’s session lives on', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = new MemorySessionStore({ clock, maxSessions: 10, maxSessionsPerAccount: 3 });
    const victimKey = await store.createApiKey('victim');
    const victim = await store.login(victimKey.keyId, victimKey.secret, 60_000);
    const key = await store.createApiKey('looper');
    const tokens: string[] = [];
    for (let i = 0; i < 50; i++) tokens.push((await store.login(key.keyId, key.secret, 60_000)).token);
    expect(store.sizes().sessions).toBe(4);
    expect(await store.resolve(victim.token)).toBe('victim');
    expect(await store.resolve(tokens[46]!)).toBeUndefined();
    for (const t of tokens.slice(47)) expect(await store.resolve(t)).toBe('looper');
  });

  it('at the total cap a login from an account holding none is refused rather than evicting someone else', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = new MemorySessionStore({ clock, maxSessions: 2, maxSessionsPerAccount: 2 });
    const a = await store.createApiKey('a');
    const b = await store.createApiKey('b');
    const s1 = await store.login(a.keyId, a.secret, 60_000);
    const s2 = await store.login(a.keyId, a.secret, 60_000);
    await expect(store.login(b.keyId, b.secret, 60_000)).rejects.toThrow(/maxSessions/);
    expect(await store.resolve(s1.token)).toBe('a');
    expect(await store.resolve(s2.token)).toBe('a');
  });
});
