/**
 * The RecoveryStore's journal reads against a real PostgreSQL (DATABASE_URL, else the local one), in
 * their own schema: ranges with read-ahead in sequence order across digit boundaries, an early stop,
 * and a snapshot verified off the loop. Fails (never skips) when PostgreSQL is not reachable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from '../../core/commands.ts';
import { CorruptSnapshotError, type PairSnapshot } from '../../ports/journal.ts';
import { canonicalJson, sha256Hex } from './canonical-json.ts';
import { entries } from './journal-fixtures.ts';
import { openPostgresPersistence, type PostgresPersistence } from './postgres-persistence.ts';
import { createTestSchema, LOCAL_TEST_DATABASE_URL, type TestSchema } from './test-schema.ts';

const url = process.env['DATABASE_URL'] ?? LOCAL_TEST_DATABASE_URL;

let schema: TestSchema;
let db: PostgresPersistence;

beforeAll(async () => {
  schema = await createTestSchema(url, 'recovery_store_test');
  db = await openPostgresPersistence({ connectionString: url, options: schema.options, journal: { maxDelayMs: 0, maxBatch: 1000 } });
  await db.journal.append(entries('READUSD', 1, 1234));
});

afterAll(async () => {
  await db?.close();
  await schema?.drop();
});

async function sequencesAfter(pair: string, after: number, batchSize: number): Promise<{ batches: number[]; sequences: number[] }> {
  const batches: number[] = [];
  const sequences: number[] = [];
  for await (const batch of db.recovery.entriesAfter(pair, after, batchSize)) {
    batches.push(batch.length);
    for (const r of batch) sequences.push(r.sequence);
  }
  return { batches, sequences };
}

describe('PostgresRecoveryStore journal reads', () => {
  it('read every entry once, in sequence order across 9→10, 99→100 and 999→1000, whatever the range size', async () => {
    for (const [after, size] of [
      [0, 1000],
      [0, 7],
      [5, 100],
      [990, 3],
      [1233, 50],
    ] as const) {
      const { batches, sequences } = await sequencesAfter('READUSD', after, size);
      expect(sequences).toEqual(Array.from({ length: 1234 - after }, (_, i) => after + 1 + i));
      expect(batches.slice(0, -1).every((n) => n === size)).toBe(true);
    }
    expect((await sequencesAfter('READUSD', 1234, 10)).sequences).toEqual([]);
    expect((await sequencesAfter('NOSUCHPAIR', 0, 10)).sequences).toEqual([]);
  });

  it('restores each record as journaled', async () => {
    let first;
    for await (const batch of db.recovery.entriesAfter('READUSD', 99, 10)) {
      first = batch[0];
      break;
    }
    // The journal keeps the command without the process-local account id.
    const { account: _, ...command } = entries('READUSD', 100, 100)[0]!.command as Command;
    expect(first).toEqual({ pair: 'READUSD', sequence: 100, command, account: 'acct-2', clientOrderId: 'c-100', timestampMs: 1_700_000_000_100 });
  });

  it('stop early without leaving a range in flight: the pool serves the next query at once', async () => {
    let seen = 0;
    for await (const batch of db.recovery.entriesAfter('READUSD', 0, 10)) {
      seen += batch.length;
      if (seen >= 20) break;
    }
    expect(seen).toBe(20);
    expect(db.pool.waitingCount).toBe(0);
    expect(await db.recovery.lastSequence('READUSD')).toBe(1234);
  });
});

describe('PostgresRecoveryStore snapshots', () => {
  const snapshotOf = (sequence: number): PairSnapshot => ({
    pair: 'SNAPUSD',
    sequence,
    lastOrderId: 3,
    lastTradeId: 0,
    eventSequence: 3,
    marketDataSequence: 2,
    orders: [{ orderId: 3, account: 'alice', clientOrderId: 'é"\\x', side: 0, type: 0, tif: 0, postOnly: false, stp: 0, price: 100, quantity: 5, filled: 1, remaining: 4, status: 'partially_filled', cancelReason: 0, createdAtMs: 1, updatedAtMs: 2, lastSequence: 3 }],
    closedOrders: [],
    takenAtMs: 1_700_000_000_000,
  });

  it('load what was saved, checksum verified; a changed payload is refused', async () => {
    await db.recovery.saveSnapshot(snapshotOf(3));
    expect(await db.recovery.latestSnapshot('SNAPUSD')).toEqual(snapshotOf(3));
    await db.pool.query(`UPDATE order_book_snapshots SET payload = jsonb_set(payload::jsonb, '{orders,0,remaining}', '5')::json WHERE pair = 'SNAPUSD'`);
    await expect(db.recovery.latestSnapshot('SNAPUSD')).rejects.toBeInstanceOf(CorruptSnapshotError);
  });

  it('closed orders round-trip as rows; a payload stored before the rows (closed orders as objects) still loads', async () => {
    const closed = (i: number) => ({ ...snapshotOf(0).orders[0]!, orderId: i, clientOrderId: `c${i}`, filled: 5, remaining: 0, status: 'filled' as const, lastSequence: i });
    const withClosed = { ...snapshotOf(20), pair: 'ROWSUSD', closedOrders: Array.from({ length: 5000 }, (_, i) => closed(i + 10)) };
    await db.recovery.saveSnapshot(withClosed);
    expect(await db.recovery.latestSnapshot('ROWSUSD')).toEqual(withClosed);
    // As the previous version wrote it: canonical JSON of the snapshot object, checksummed.
    const older = { ...withClosed, sequence: 30 };
    const text = canonicalJson(older);
    await db.pool.query('INSERT INTO order_book_snapshots (pair, sequence, payload, checksum) VALUES ($1, $2, $3::jsonb, $4)', ['ROWSUSD', 30, text, sha256Hex(text)]);
    expect(await db.recovery.latestSnapshot('ROWSUSD')).toEqual(older);
  });
});
