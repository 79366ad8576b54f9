/**
 * Issue 7 item 2, what one account can make Redis hold: client order id records are capped per account
 * (RedisSessionStore maxClientOrdersPerAccount, IDEMPOTENCY_RECORDS_PER_ACCOUNT), against the real
 * Redis at REDIS_URL. An account flooding distinct ids keeps at most the cap — its own oldest are
 * deleted, in the script that stores the new one — while another account's records all stay; first
 * writer still wins; expired records leave the index. Fails (never skips) without Redis.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../server/adapters/redis/redis-session-store.ts';
import { ManualClock } from '../server/ports/clock.ts';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PREFIX = `test:streams-records:${randomBytes(6).toString('hex')}:`;
const TTL_MS = 60_000;
const CAP = 50;

let admin: Redis;
const opened: RedisSessionStore[] = [];
beforeAll(async () => {
  admin = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
  admin.on('error', () => {});
  await admin.connect();
});
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  const keys = await admin.keys(`${PREFIX}*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

async function open(prefix: string, clock: ManualClock): Promise<RedisSessionStore> {
  const store = new RedisSessionStore({ url: REDIS_URL, clock, prefix, idempotencyTtlMs: TTL_MS, maxClientOrdersPerAccount: CAP });
  opened.push(store);
  await store.ready(5000);
  return store;
}

describe('client order id records per account in Redis (issue 7 item 2)', () => {
  it(`an account flooding 500 distinct ids keeps ${CAP} (its newest); another account's records all stay; Redis holds no more than that`, async () => {
    const prefix = `${PREFIX}flood:`;
    const clock = new ManualClock();
    const store = await open(prefix, clock);
    for (let i = 0; i < 5; i++) await store.rememberClientOrder('victim', 'BTCUSDT', `v-${i}`, `victim-result-${i}`);
    for (let i = 0; i < 500; i++) {
      await store.rememberClientOrder('flooder', 'BTCUSDT', `f-${i}`, `flood-result-${i}`);
      clock.advanceMs(1);
    }
    expect(await store.clientOrderRecords('flooder')).toBe(CAP);
    expect(await store.clientOrderRecords('victim')).toBe(5);
    // The bound on what Redis holds: the records themselves, not only the index.
    expect(await admin.keys(`${prefix}order:flooder:*`)).toHaveLength(CAP);
    expect(await admin.keys(`${prefix}*`)).toHaveLength(CAP + 5 + 2); // + the two indexes
    for (let i = 0; i < 5; i++) expect(await store.lookupClientOrder('victim', 'BTCUSDT', `v-${i}`)).toBe(`victim-result-${i}`);
    expect(await store.lookupClientOrder('flooder', 'BTCUSDT', 'f-499')).toBe('flood-result-499');
    expect(await store.lookupClientOrder('flooder', 'BTCUSDT', `f-${500 - CAP}`)).toBe(`flood-result-${500 - CAP}`);
    expect(await store.lookupClientOrder('flooder', 'BTCUSDT', `f-${499 - CAP}`)).toBeUndefined();
    expect(await store.lookupClientOrder('flooder', 'BTCUSDT', 'f-0')).toBeUndefined();
    // The index expires with the records it indexes.
    const indexTtl = await admin.pttl(`${prefix}order::index:flooder`);
    expect(indexTtl).toBeGreaterThan(0);
    expect(indexTtl).toBeLessThanOrEqual(TTL_MS);
  });

  it('first writer still wins at the cap, and a resubmission is not counted twice', async () => {
    const clock = new ManualClock();
    const store = await open(`${PREFIX}first:`, clock);
    for (let i = 0; i < CAP; i++) await store.rememberClientOrder('acct', 'ETHUSDT', `c-${i}`, `r-${i}`);
    expect(await store.rememberClientOrder('acct', 'ETHUSDT', `c-${CAP - 1}`, 'second')).toBe(`r-${CAP - 1}`);
    expect(await store.clientOrderRecords('acct')).toBe(CAP);
    expect(await store.lookupClientOrder('acct', 'ETHUSDT', 'c-0')).toBe('r-0');
  });

  it('expired records leave the index: after the TTL a new record finds the account with one', async () => {
    const clock = new ManualClock();
    const store = await open(`${PREFIX}expiry:`, clock);
    for (let i = 0; i < 20; i++) await store.rememberClientOrder('acct', 'BTCUSDT', `old-${i}`, 'r');
    clock.advanceMs(TTL_MS + 1);
    await store.rememberClientOrder('acct', 'BTCUSDT', 'new', 'r-new');
    expect(await store.clientOrderRecords('acct')).toBe(1);
    expect(await store.lookupClientOrder('acct', 'BTCUSDT', 'new')).toBe('r-new');
  });

  it('names the bad option', () => {
    expect(() => new RedisSessionStore({ url: REDIS_URL, clock: new ManualClock(), maxClientOrdersPerAccount: 0 })).toThrow(/maxClientOrdersPerAccount/);
  });
});
