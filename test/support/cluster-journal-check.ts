/**
 * What every cluster suite checks at the end, against the database: each pair's journal is gap-free from
 * 1 with no sequence twice, and replays from scratch — a command journaled by a stale owner (two writers
 * interleaved) would break the pair's order-id chain and fail the replay.
 */
import pg from 'pg';
import { expect } from 'vitest';
import type { TestSchema } from '../../server/adapters/postgres/test-schema.ts';
import { BOOK_IMPLEMENTATIONS } from '../../server/core/book-implementations.ts';
import type { Command } from '../../server/core/commands.ts';
import { DEFAULT_INSTRUMENTS, compileInstrument } from '../../server/core/instrument.ts';
import { AccountIds } from '../../server/pairs/account-ids.ts';
import { singleBook } from '../../server/pairs/serving-book.ts';
import { TradingPair } from '../../server/pairs/trading-pair.ts';
import { ManualClock } from '../../server/ports/clock.ts';
import { openTestPersistence, TEST_DATABASE_URL } from './service-database.ts';

export async function expectJournalsGapFreeAndReplayable(schema: TestSchema): Promise<void> {
  const db = new pg.Client({ connectionString: TEST_DATABASE_URL, options: schema.options });
  await db.connect();
  try {
    const { rows } = await db.query<{ pair: string; n: string; max: string; distinct_n: string }>(
      'SELECT pair, count(*)::text AS n, max(sequence)::text AS max, count(DISTINCT sequence)::text AS distinct_n FROM journal GROUP BY pair ORDER BY pair',
    );
    expect(rows.map((r) => r.pair)).toEqual(DEFAULT_INSTRUMENTS.map((i) => i.symbol));
    for (const r of rows) {
      expect(Number(r.n), `${r.pair}: 1..max without a gap`).toBe(Number(r.max));
      expect(Number(r.distinct_n)).toBe(Number(r.n));
    }
  } finally {
    await db.end();
  }
  const persistence = await openTestPersistence(schema);
  try {
    for (const spec of DEFAULT_INSTRUMENTS) {
      const accounts = new AccountIds();
      const pair = new TradingPair({ instrument: compileInstrument(spec), createBook: singleBook(BOOK_IMPLEMENTATIONS.legacy), clock: new ManualClock(0), accountName: (id) => accounts.nameOf(id) ?? '' });
      for await (const batch of persistence.recovery.entriesAfter(spec.symbol, 0, 10_000)) {
        for (const e of batch) pair.replay(e.sequence, { ...e.command, account: accounts.intern(e.account) } as Command, e.clientOrderId, e.timestampMs);
      }
      expect(pair.lastCommandSequence).toBe(await persistence.recovery.lastSequence(spec.symbol));
    }
  } finally {
    await persistence.close();
  }
}
