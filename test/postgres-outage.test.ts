/**
 * The journal through a fault proxy to the real PostgreSQL: when the network path dies, hangs or
 * slows past the write timeout, appends fail with UnavailableError, the entries are kept, and they
 * commit by themselves when the path is back — each exactly once, in order.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { entries, newOrderEntry } from '../server/adapters/postgres/journal-fixtures.ts';
import { openPostgresPersistence, type PostgresPersistence } from '../server/adapters/postgres/postgres-persistence.ts';
import { createTestSchema, LOCAL_TEST_DATABASE_URL, type TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { UnavailableError } from '../server/ports/errors.ts';
import type { JournalStatus } from '../server/ports/journal.ts';
import { TcpFaultProxy } from './support/tcp-fault-proxy.ts';

const url = new URL(process.env['DATABASE_URL'] ?? LOCAL_TEST_DATABASE_URL);

let schema: TestSchema;
let proxy: TcpFaultProxy;
let db: PostgresPersistence;
let statuses: boolean[];

beforeAll(async () => {
  schema = await createTestSchema(url.toString(), 'ts_outage');
});
afterAll(async () => {
  await schema?.drop();
});

beforeEach(async () => {
  proxy = new TcpFaultProxy({ upstreamHost: url.hostname, upstreamPort: Number(url.port || 5432) });
  await proxy.start();
  const viaProxy = new URL(url);
  viaProxy.hostname = proxy.host;
  viaProxy.port = String(proxy.port);
  db = await openPostgresPersistence({
    connectionString: viaProxy.toString(),
    options: schema.options,
    writeTimeoutMs: 400,
    journal: { retryDelayMs: 20, maxRetryDelayMs: 100 },
  });
  statuses = [];
  db.journal.onStatusChange((s: JournalStatus) => statuses.push(s.available));
});

afterEach(async () => {
  proxy.up();
  proxy.latency(0);
  await db.close(10_000);
  await proxy.stop();
});

async function journalOf(pair: string): Promise<number[]> {
  const { rows } = await db.pool.query<{ sequence: string }>('SELECT sequence FROM journal WHERE pair = $1 ORDER BY sequence', [pair]);
  return rows.map((r) => Number(r.sequence));
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('journal outage through a fault proxy', () => {
  it('connection refused: appends reject with UnavailableError, entries are kept, and commit once the proxy is back', async () => {
    const pair = 'DOWNUSD';
    await db.journal.append(entries(pair, 1, 5));
    const acceptedBefore = proxy.connectionsAccepted;
    proxy.down();

    const during = entries(pair, 6, 15).map((e) => db.journal.append([e]));
    const results = await Promise.allSettled(during);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(UnavailableError);
      expect((r as PromiseRejectedResult).reason).toMatchObject({ dependency: 'postgresql' });
    }
    expect(db.journal.status()).toMatchObject({ available: false, pendingEntries: 10 });
    expect(db.journal.status().lastError).toBeTruthy();

    // While unavailable, an append is refused at once but still kept.
    await expect(db.journal.append([newOrderEntry(pair, 16)])).rejects.toBeInstanceOf(UnavailableError);
    expect(db.journal.status().pendingEntries).toBe(11);

    proxy.up();
    await db.journal.waitForDurable(pair, 16);
    expect(db.journal.status()).toMatchObject({ available: true, pendingEntries: 0, lastError: undefined });
    expect(statuses).toEqual([false, true]);
    expect(proxy.connectionsAccepted).toBeGreaterThan(acceptedBefore); // the pool reconnected by itself
    expect(await journalOf(pair)).toEqual(range(1, 16));

    await db.journal.append([newOrderEntry(pair, 17)]);
    expect(await journalOf(pair)).toEqual(range(1, 17));
  });

  it('latency beyond the write timeout: fails fast instead of hanging; a write that committed late is not written twice', async () => {
    const pair = 'SLOWUSD';
    await db.journal.append(entries(pair, 1, 3));
    proxy.latency(700); // > writeTimeoutMs 400: each write times out, some may still commit on the server
    const err = await db.journal.append(entries(pair, 4, 20)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    // It failed because our write timeout fired (not because the slow server finally answered, nor a hang):
    // the error and the journal's status name the timeout.
    expect((err as UnavailableError).message).toMatch(/write exceeded 400 ms/);
    expect(db.journal.status()).toMatchObject({ available: false, lastError: expect.stringMatching(/write exceeded 400 ms/) });

    proxy.latency(0);
    await db.journal.waitForDurable(pair, 20);
    expect(await journalOf(pair)).toEqual(range(1, 20));
    const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM orders WHERE pair = $1', [pair]);
    expect(Number(rows[0]!.n)).toBe(20);
    expect(db.journal.status()).toMatchObject({ available: true, pendingEntries: 0 });
  });

  it('a hung server (blackhole): writes time out, and resume when it answers again', async () => {
    const pair = 'HUNGUSD';
    await db.journal.append([newOrderEntry(pair, 1)]);
    proxy.blackhole();
    await expect(db.journal.append([newOrderEntry(pair, 2)])).rejects.toBeInstanceOf(UnavailableError);
    proxy.up();
    await db.journal.waitForDurable(pair, 2);
    await db.journal.append([newOrderEntry(pair, 3)]);
    expect(await journalOf(pair)).toEqual([1, 2, 3]);
  });

  it('keeps order across an outage with many pairs interleaved', async () => {
    const pairs = ['AUSD', 'BUSD', 'CUSD'];
    const next = new Map(pairs.map((p) => [p, 1]));
    const send = (n: number) => {
      const ps: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        const p = pairs[i % pairs.length]!;
        const s = next.get(p)!;
        next.set(p, s + 1);
        ps.push(db.journal.append([newOrderEntry(p, s)]).catch(() => {}));
      }
      return Promise.all(ps);
    };
    await send(30);
    proxy.down();
    await send(30);
    proxy.up();
    await send(30);
    for (const p of pairs) await db.journal.waitForDurable(p, next.get(p)! - 1);
    for (const p of pairs) expect(await journalOf(p)).toEqual(range(1, 30));
  });
});
