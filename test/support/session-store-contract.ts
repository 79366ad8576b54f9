/**
 * The behaviour every SessionStore must show, run against each implementation (test/session-store.test.ts):
 * the in-process store always, the Redis store against the real server. Time is a ManualClock shared by
 * the test and the store, so expiry and refill are tested without waiting (Redis's own PX TTLs are set
 * long enough not to fire during a test).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../server/ports/clock.ts';
import { InvalidCredentialsError, type SessionStore, type SessionStoreOptions } from '../../server/ports/session-store.ts';

export interface ContractStore {
  readonly store: SessionStore;
  /** Everything the store holds, as text (to prove secrets and tokens are not stored in the clear). */
  dump(): Promise<string>;
}

export type ContractStoreFactory = (options: SessionStoreOptions & { clock: ManualClock }) => Promise<ContractStore>;

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function sessionStoreContract(name: string, factory: ContractStoreFactory): void {
  describe(`SessionStore contract: ${name}`, () => {
    const opened: SessionStore[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    async function open(options: SessionStoreOptions = {}): Promise<ContractStore & { clock: ManualClock }> {
      const clock = new ManualClock();
      const made = await factory({ rateLimitPerSecond: 1, rateLimitBurst: 5, idempotencyTtlMs: 60_000, ...options, clock });
      opened.push(made.store);
      return { ...made, clock };
    }

    describe('API keys and login', () => {
      it('creates distinct API keys whose secret is shown once and stored only hashed', async () => {
        const { store, dump } = await open();
        const a = await store.createApiKey('alice');
        const b = await store.createApiKey('alice');
        expect(a.keyId).toMatch(/^ak_[A-Za-z0-9_-]{16}$/);
        expect(a.secret).toMatch(TOKEN);
        expect(b.keyId).not.toBe(a.keyId);
        expect(b.secret).not.toBe(a.secret);
        const session = await store.login(a.keyId, a.secret, 60_000);
        const everything = await dump();
        expect(everything).toContain(a.keyId);
        expect(everything).not.toContain(a.secret);
        expect(everything).not.toContain(b.secret);
        expect(everything).not.toContain(session.token);
      });

      it('logs in with the right secret: a 32-byte base64url token for the key owner, expiring after ttlMs', async () => {
        const { store, clock } = await open();
        const key = await store.createApiKey('alice');
        const session = await store.login(key.keyId, key.secret, 30_000);
        expect(session.token).toMatch(TOKEN);
        expect(Buffer.from(session.token, 'base64url')).toHaveLength(32);
        expect(session.account).toBe('alice');
        expect(session.expiresAtMs).toBe(clock.nowMs() + 30_000);
        expect(await store.resolve(session.token)).toBe('alice');
      });

      it('refuses a wrong secret, an unknown key id and malformed credentials with one indistinguishable error', async () => {
        const { store } = await open();
        const key = await store.createApiKey('alice');
        const other = await store.createApiKey('bob');
        const attempts: [string, string][] = [
          [key.keyId, other.secret],
          ['ak_AAAAAAAAAAAAAAAA', key.secret],
          [key.keyId, ''],
          ['', key.secret],
          [key.keyId, `${key.secret.slice(0, -1)}${key.secret.endsWith('A') ? 'B' : 'A'}`],
        ];
        for (const [keyId, secret] of attempts) {
          const err = await store.login(keyId, secret, 60_000).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(InvalidCredentialsError);
          expect((err as Error).message).toBe('unknown API key id or wrong secret');
        }
      });

      it('refuses a session ttl outside 1..maxSessionTtlMs as a caller bug (RangeError)', async () => {
        const { store } = await open({ maxSessionTtlMs: 3_600_000 });
        const key = await store.createApiKey('alice');
        await expect(store.login(key.keyId, key.secret, 0)).rejects.toBeInstanceOf(RangeError);
        await expect(store.login(key.keyId, key.secret, 3_600_001)).rejects.toBeInstanceOf(RangeError);
        await expect(store.login(key.keyId, key.secret, 1.5)).rejects.toBeInstanceOf(RangeError);
        await expect(store.login(key.keyId, key.secret, 3_600_000)).resolves.toMatchObject({ account: 'alice' });
      });

      it('refuses an account that is not 1-128 printable ASCII characters', async () => {
        const { store } = await open();
        for (const bad of ['', 'has space', 'x'.repeat(129), 'tab\t']) await expect(store.createApiKey(bad)).rejects.toBeInstanceOf(RangeError);
      });

      it('a revoked key can no longer log in, and the sessions it opened end (issue 7 item 5); other keys of the account keep theirs', async () => {
        const { store } = await open();
        const key = await store.createApiKey('alice');
        const other = await store.createApiKey('alice');
        const session = await store.login(key.keyId, key.secret, 60_000);
        const second = await store.login(key.keyId, key.secret, 60_000);
        const kept = await store.login(other.keyId, other.secret, 60_000);
        expect(await store.revokeApiKey(key.keyId)).toBe(true);
        expect(await store.revokeApiKey(key.keyId)).toBe(false);
        await expect(store.login(key.keyId, key.secret, 60_000)).rejects.toBeInstanceOf(InvalidCredentialsError);
        expect(await store.resolve(session.token)).toBeUndefined();
        expect(await store.resolve(second.token)).toBeUndefined();
        expect(await store.resolve(kept.token)).toBe('alice');
      });
    });

    describe('sessions', () => {
      it('resolves a session until just before expiresAtMs and not from then on', async () => {
        const { store, clock } = await open();
        const key = await store.createApiKey('alice');
        const session = await store.login(key.keyId, key.secret, 10_000);
        clock.advanceMs(9_999);
        expect(await store.resolve(session.token)).toBe('alice');
        clock.advanceMs(1);
        expect(await store.resolve(session.token)).toBeUndefined();
      });

      it('answers undefined for unknown and malformed tokens', async () => {
        const { store } = await open();
        expect(await store.resolve('A'.repeat(43))).toBeUndefined();
        expect(await store.resolve('')).toBeUndefined();
        expect(await store.resolve('not a token')).toBeUndefined();
        expect(await store.resolve('x'.repeat(10_000))).toBeUndefined();
      });

      it('logout ends one session, leaves the others, and is harmless twice or for unknown tokens', async () => {
        const { store } = await open();
        const alice = await store.createApiKey('alice');
        const bob = await store.createApiKey('bob');
        const a1 = await store.login(alice.keyId, alice.secret, 60_000);
        const a2 = await store.login(alice.keyId, alice.secret, 60_000);
        const b1 = await store.login(bob.keyId, bob.secret, 60_000);
        expect(a1.token).not.toBe(a2.token);
        await store.logout(a1.token);
        await store.logout(a1.token);
        await store.logout('A'.repeat(43));
        await store.logout('garbage');
        expect(await store.resolve(a1.token)).toBeUndefined();
        expect(await store.resolve(a2.token)).toBe('alice');
        expect(await store.resolve(b1.token)).toBe('bob');
      });
    });

    describe('client order idempotency', () => {
      it('remembers the first result and returns it for every resubmission, first writer wins', async () => {
        const { store } = await open();
        expect(await store.lookupClientOrder('alice', 'BTC-USD', 'c-1')).toBeUndefined();
        expect(await store.rememberClientOrder('alice', 'BTC-USD', 'c-1', 'accepted:42')).toBe('accepted:42');
        expect(await store.lookupClientOrder('alice', 'BTC-USD', 'c-1')).toBe('accepted:42');
        expect(await store.rememberClientOrder('alice', 'BTC-USD', 'c-1', 'accepted:43')).toBe('accepted:42');
        expect(await store.lookupClientOrder('alice', 'BTC-USD', 'c-1')).toBe('accepted:42');
      });

      it('racing resubmissions all get the same single result', async () => {
        const { store } = await open();
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.rememberClientOrder('alice', 'BTC-USD', 'race', `r${i}`)));
        expect(new Set(results).size).toBe(1);
        expect(await store.lookupClientOrder('alice', 'BTC-USD', 'race')).toBe(results[0]);
      });

      it('scopes client order ids by account and pair, with no collisions through separators', async () => {
        const { store } = await open();
        await store.rememberClientOrder('alice', 'BTC-USD', 'c-1', 'alice-btc');
        await store.rememberClientOrder('bob', 'BTC-USD', 'c-1', 'bob-btc');
        await store.rememberClientOrder('alice', 'ETH-USD', 'c-1', 'alice-eth');
        await store.rememberClientOrder('a:b', 'c', 'd', 'first');
        expect(await store.lookupClientOrder('a', 'b:c', 'd')).toBeUndefined();
        expect(await store.rememberClientOrder('a', 'b:c', 'd', 'second')).toBe('second');
        expect(await store.lookupClientOrder('alice', 'BTC-USD', 'c-1')).toBe('alice-btc');
        expect(await store.lookupClientOrder('bob', 'BTC-USD', 'c-1')).toBe('bob-btc');
        expect(await store.lookupClientOrder('alice', 'ETH-USD', 'c-1')).toBe('alice-eth');
      });

      it('stores results byte for byte, including separators, unicode and JSON', async () => {
        const { store } = await open();
        const result = JSON.stringify({ orderId: '123', status: 'ACCEPTED', note: 'a:b|c ✓\n' });
        await store.rememberClientOrder('alice', 'BTC-USD', 'json', result);
        expect(await store.lookupClientOrder('alice', 'BTC-USD', 'json')).toBe(result);
      });

      it('forgets a result after idempotencyTtlMs, then records a new one', async () => {
        const { store, clock } = await open({ idempotencyTtlMs: 60_000 });
        await store.rememberClientOrder('alice', 'BTC-USD', 'c-1', 'old');
        clock.advanceMs(59_999);
        expect(await store.lookupClientOrder('alice', 'BTC-USD', 'c-1')).toBe('old');
        clock.advanceMs(1);
        expect(await store.lookupClientOrder('alice', 'BTC-USD', 'c-1')).toBeUndefined();
        expect(await store.rememberClientOrder('alice', 'BTC-USD', 'c-1', 'new')).toBe('new');
        expect(await store.lookupClientOrder('alice', 'BTC-USD', 'c-1')).toBe('new');
      });
    });

    describe('rate limits (token bucket)', () => {
      it('allows a burst, then refuses with the wait until the next token', async () => {
        const { store } = await open({ rateLimitPerSecond: 1, rateLimitBurst: 5 });
        for (let i = 0; i < 5; i++) expect(await store.consume('alice')).toEqual({ allowed: true, retryAfterMs: 0 });
        expect(await store.consume('alice')).toEqual({ allowed: false, retryAfterMs: 1000 });
      });

      it('refills at the configured rate, to the burst at most', async () => {
        const { store, clock } = await open({ rateLimitPerSecond: 2, rateLimitBurst: 5 });
        expect((await store.consume('alice', 5)).allowed).toBe(true);
        clock.advanceMs(250);
        expect(await store.consume('alice')).toEqual({ allowed: false, retryAfterMs: 250 });
        clock.advanceMs(250);
        expect((await store.consume('alice')).allowed).toBe(true);
        expect((await store.consume('alice')).allowed).toBe(false);
        clock.advanceMs(3_600_000);
        expect((await store.consume('alice', 5)).allowed).toBe(true);
        expect((await store.consume('alice')).allowed).toBe(false);
      });

      it('counts batch items individually and refuses a batch larger than what is left without taking any', async () => {
        const { store, clock } = await open({ rateLimitPerSecond: 1, rateLimitBurst: 5 });
        expect((await store.consume('alice', 3)).allowed).toBe(true);
        expect(await store.consume('alice', 3)).toEqual({ allowed: false, retryAfterMs: 1000 });
        expect((await store.consume('alice', 2)).allowed).toBe(true);
        clock.advanceMs(500);
        expect(await store.consume('alice', 2)).toEqual({ allowed: false, retryAfterMs: 1500 });
      });

      it('keeps one bucket per account', async () => {
        const { store } = await open({ rateLimitPerSecond: 1, rateLimitBurst: 5 });
        expect((await store.consume('alice', 5)).allowed).toBe(true);
        expect((await store.consume('alice')).allowed).toBe(false);
        expect((await store.consume('bob', 5)).allowed).toBe(true);
      });

      it('refuses a cost outside 1..burst as a caller bug (RangeError)', async () => {
        const { store } = await open({ rateLimitPerSecond: 1, rateLimitBurst: 5 });
        for (const cost of [0, -1, 6, 1.5]) await expect(store.consume('alice', cost)).rejects.toBeInstanceOf(RangeError);
      });

      it('takes tokens atomically under concurrency: exactly the burst passes', async () => {
        const { store } = await open({ rateLimitPerSecond: 1, rateLimitBurst: 100 });
        const decisions = await Promise.all(Array.from({ length: 150 }, () => store.consume('alice')));
        expect(decisions.filter((d) => d.allowed)).toHaveLength(100);
      });

      it('meets the default limits: 1000 commands/s with a burst of 2000', async () => {
        const { store, clock } = await open({ rateLimitPerSecond: undefined, rateLimitBurst: undefined });
        expect((await store.consume('alice', 2000)).allowed).toBe(true);
        expect(await store.consume('alice')).toEqual({ allowed: false, retryAfterMs: 1 });
        clock.advanceMs(1000);
        expect((await store.consume('alice', 1000)).allowed).toBe(true);
        expect((await store.consume('alice')).allowed).toBe(false);
      });
    });
  });
}
