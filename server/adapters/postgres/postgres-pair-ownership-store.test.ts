/**
 * Pair ownership on a real PostgreSQL (own schema): leases taken, renewed, expired and taken over with a
 * higher fencing token, released; and the journal's fence — a replica whose token is stale cannot commit
 * an entry for the pair, the other pairs of its batch are written, and nothing is retried.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JournalFencedError, type JournalFence } from '../../ports/journal.ts';
import { newOrderEntry } from './journal-fixtures.ts';
import { PostgresJournal } from './postgres-journal.ts';
import { PostgresPairOwnershipStore } from './postgres-pair-ownership-store.ts';
import { openPostgresPersistence, type PostgresPersistence } from './postgres-persistence.ts';
import { createTestSchema, LOCAL_TEST_DATABASE_URL, type TestSchema } from './test-schema.ts';

const url = process.env['DATABASE_URL'] ?? LOCAL_TEST_DATABASE_URL;
let schema: TestSchema;
let db: PostgresPersistence;
let store: PostgresPairOwnershipStore;

beforeAll(async () => {
  schema = await createTestSchema(url, 'ts_owner');
  db = await openPostgresPersistence({ connectionString: url, options: schema.options });
  store = new PostgresPairOwnershipStore(db.pool);
  await store.ensurePairs(['AAA', 'BBB', 'CCC', 'DDD']);
});
afterAll(async () => {
  await db?.close();
  await schema?.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PostgresPairOwnershipStore', () => {
  it('gives a free pair to one replica only, renews it for the holder, and hands it over once it expires', async () => {
    const t1 = await store.acquire('AAA', 'r1', 300);
    expect(t1).toBe(1);
    expect(await store.acquire('AAA', 'r2', 300)).toBeUndefined(); // live lease: refused
    expect(await store.renew('r1', new Map([['AAA', t1!]]), 300)).toEqual(new Set(['AAA']));
    expect(await store.renew('r2', new Map([['AAA', t1!]]), 300)).toEqual(new Set()); // not the owner
    const [lease] = (await store.leases()).filter((l) => l.pair === 'AAA');
    expect(lease).toMatchObject({ owner: 'r1', fencingToken: 1 });
    expect(lease!.leaseRemainingMs).toBeGreaterThan(0);
    await sleep(400);
    // Expired: the holder can no longer renew, and anyone may take it with a higher token.
    expect(await store.renew('r1', new Map([['AAA', t1!]]), 300)).toEqual(new Set());
    const t2 = await store.acquire('AAA', 'r2', 300);
    expect(t2).toBe(2);
    expect(await store.renew('r1', new Map([['AAA', t1!]]), 300)).toEqual(new Set());
  });

  it('releases at once for the holder with its token only', async () => {
    const t = (await store.acquire('BBB', 'r1', 10_000))!;
    await store.release('BBB', 'r2', t); // not the owner: nothing
    expect(await store.acquire('BBB', 'r2', 10_000)).toBeUndefined();
    await store.release('BBB', 'r1', t);
    const after = (await store.leases()).find((l) => l.pair === 'BBB')!;
    expect(after.owner).toBeUndefined();
    expect(await store.acquire('BBB', 'r2', 10_000)).toBe(t + 1);
  });

  it('keeps members with their heartbeat age; leave removes one', async () => {
    await store.heartbeat({ replicaId: 'r1', grpcAddress: '127.0.0.1:1', adminAddress: 'http://127.0.0.1:2' });
    await store.heartbeat({ replicaId: 'r2', grpcAddress: '127.0.0.1:3', adminAddress: 'http://127.0.0.1:4' });
    await sleep(50);
    const m = await store.members();
    expect(m.map((x) => x.replicaId)).toEqual(['r1', 'r2']);
    expect(m[0]!.heartbeatAgeMs).toBeGreaterThanOrEqual(40);
    expect(m[0]!.grpcAddress).toBe('127.0.0.1:1');
    await store.leave('r1');
    expect((await store.members()).map((x) => x.replicaId)).toEqual(['r2']);
  });
});

describe('the journal fence', () => {
  function fencedJournal(replicaId: string, tokens: Map<string, number>): PostgresJournal {
    const fence: JournalFence = { replicaId, tokenOf: (p) => tokens.get(p) };
    return new PostgresJournal(db.pool, { fence, maxDelayMs: 1 });
  }

  it('commits for the holder; refuses a stale token without retrying, and writes the other pairs of the batch', async () => {
    const tc = (await store.acquire('CCC', 'r1', 10_000))!;
    const td = (await store.acquire('DDD', 'r1', 10_000))!;
    const tokens = new Map([['CCC', tc], ['DDD', td]]);
    const old = fencedJournal('r1', tokens);
    const fencedSeen: string[] = [];
    old.onFenced((e) => fencedSeen.push(e.pair));
    await old.append([newOrderEntry('CCC', 1), newOrderEntry('DDD', 1)]);
    expect(old.durableSequence('CCC')).toBe(1);

    // r2 takes CCC over (as after r1's lease expired); r1 still believes it holds it.
    await store.release('CCC', 'r1', tc);
    const tc2 = (await store.acquire('CCC', 'r2', 10_000))!;
    expect(tc2).toBe(tc + 1);
    const ccc = old.append([newOrderEntry('CCC', 2)]);
    const ddd = old.append([newOrderEntry('DDD', 2)]);
    await expect(ccc).rejects.toBeInstanceOf(JournalFencedError);
    await expect(old.waitForDurable('CCC', 2)).rejects.toBeInstanceOf(JournalFencedError);
    await ddd; // the other pair of the batch is written
    expect(old.durableSequence('DDD')).toBe(2);
    expect(fencedSeen).toEqual(['CCC']);
    expect(old.stats.fencedEntries).toBe(1);
    expect(old.stats.failedWrites).toBe(0); // not an outage
    expect(old.status().available).toBe(true);
    await old.pairIdle('CCC'); // nothing of CCC left queued

    const fresh = fencedJournal('r2', new Map([['CCC', tc2]]));
    fresh.setHead('CCC', 1);
    await fresh.append([newOrderEntry('CCC', 2)]);
    const { rows } = await db.pool.query<{ sequence: string }>(`SELECT sequence::text FROM journal WHERE pair = 'CCC' ORDER BY sequence`);
    expect(rows.map((r) => Number(r.sequence))).toEqual([1, 2]);
    await old.close();
    await fresh.close();
  });

  it('refuses an append for a pair this replica does not own, queuing nothing', async () => {
    const j = fencedJournal('r9', new Map());
    await expect(j.append([newOrderEntry('ZZZ', 1)])).rejects.toBeInstanceOf(JournalFencedError);
    expect(j.status().pendingEntries).toBe(0);
    await j.close();
  });

  it('makes a takeover wait for a write holding the lease row, so no commit lands after it', async () => {
    // r2 holds CCC (token tc2). Its write locks the row; r3's takeover UPDATE after the lease expired must
    // see the committed entries, then r2 is fenced.
    const lease = (await store.leases()).find((l) => l.pair === 'CCC')!;
    await db.pool.query(`UPDATE pair_owners SET lease_expires_at = clock_timestamp() - interval '1 second' WHERE pair = 'CCC'`);
    const j = fencedJournal('r2', new Map([['CCC', lease.fencingToken]]));
    j.setHead('CCC', 2);
    await j.append([newOrderEntry('CCC', 3)]); // expired but untaken: the token still matches
    const t3 = await store.acquire('CCC', 'r3', 10_000);
    expect(t3).toBe(lease.fencingToken + 1);
    await expect(j.append([newOrderEntry('CCC', 4)])).rejects.toBeInstanceOf(JournalFencedError);
    const { rows } = await db.pool.query<{ n: string }>(`SELECT max(sequence)::text AS n FROM journal WHERE pair = 'CCC'`);
    expect(Number(rows[0]!.n)).toBe(3);
    await j.close();
  });
});
