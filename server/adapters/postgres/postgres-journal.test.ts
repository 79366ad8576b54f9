/**
 * The PostgreSQL adapter against a real server (DATABASE_URL, else the local one), each run in its
 * own schema: migrations, group commit, sequence checks, projections, snapshots, recovery reads,
 * pair state. Fails (never skips) when PostgreSQL is not reachable.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandKind } from '../../core/commands.ts';
import { OrderType, Side, StpMode, TimeInForce } from '../../core/types.ts';
import { UnavailableError } from '../../ports/errors.ts';
import { CorruptSnapshotError, JournalGapError, JournalSequenceError, type PairSnapshot } from '../../ports/journal.ts';
import { entries, newOrderEntry } from './journal-fixtures.ts';
import { loadMigrations, runMigrations } from './migrations.ts';
import { PostgresJournal } from './postgres-journal.ts';
import { openPostgresPersistence, type PostgresPersistence } from './postgres-persistence.ts';
import { compilePostgresOptions, createPostgresPool } from './postgres-pool.ts';
import { createTestSchema, LOCAL_TEST_DATABASE_URL, type TestSchema } from './test-schema.ts';

const url = process.env['DATABASE_URL'] ?? LOCAL_TEST_DATABASE_URL;

let schema: TestSchema;
let db: PostgresPersistence;

beforeAll(async () => {
  schema = await createTestSchema(url);
  db = await openPostgresPersistence({ connectionString: url, options: schema.options, journal: { maxDelayMs: 2, maxBatch: 1000 } });
});

afterAll(async () => {
  await db?.close();
  await schema?.drop();
});

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(sql, params);
  return Number(rows[0]!.n);
}

describe('migrations', () => {
  it('applied every migration once at start-up and create the runbook tables and index', async () => {
    expect(db.migrations.applied).toEqual(loadMigrations().map((m) => m.version));
    const { rows } = await db.pool.query<{ t: string }>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`);
    expect(rows.map((r) => r.t)).toEqual(['cluster_members', 'instruments', 'journal', 'order_book_snapshots', 'orders', 'pair_owners', 'pair_state', 'schema_migrations', 'service_identity', 'trades']);
    // Migration 002: client order ids unique per (pair, account), and one random database identity.
    expect(await count(`SELECT count(*) AS n FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'orders_client_order_id_unique'`)).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM service_identity`)).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'idx_orders_timestamp'`)).toBe(1);
  });

  it('are idempotent: a second run applies nothing, and concurrent runs do not race', async () => {
    expect(await runMigrations(db.pool)).toEqual({ applied: [], version: loadMigrations().length });
    const fresh = await createTestSchema(url);
    const pools = [0, 1, 2].map(() => createPostgresPool(compilePostgresOptions({ connectionString: url, options: fresh.options })));
    try {
      const results = await Promise.all(pools.map((p) => runMigrations(p)));
      expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, loadMigrations().length]);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await fresh.drop();
    }
  });

  it('refuse to start when an applied migration file was changed', async () => {
    const changed = loadMigrations().map((m) => ({ ...m, checksum: m.checksum.replace(/^./, (c) => (c === '0' ? '1' : '0')) }));
    await expect(runMigrations(db.pool, changed)).rejects.toThrow(/was changed after it was applied/);
  });
});

describe('journal: group commit', () => {
  it('batches many concurrent appends into few transactions and resolves them in submission order', async () => {
    const pair = 'GROUPUSD';
    const before = db.journal.stats.transactions;
    const resolved: number[] = [];
    const all = entries(pair, 1, 2000).map((e) => db.journal.append([e]).then(() => resolved.push(e.sequence)));
    await Promise.all(all);
    const transactions = db.journal.stats.transactions - before;
    // 2000 appends in one tick: max 1000 per transaction, so 2 (a 3rd if a timer split them).
    expect(transactions).toBeGreaterThanOrEqual(2);
    expect(transactions).toBeLessThanOrEqual(4);
    expect(resolved).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(db.journal.durableSequence(pair)).toBe(2000);
    expect(await count('SELECT count(*) AS n FROM journal WHERE pair = $1', [pair])).toBe(2000);
    expect(await count('SELECT max(sequence) AS n FROM journal WHERE pair = $1', [pair])).toBe(2000);
  });

  it('groups pairs that each wait for their previous ack: one transaction per round, not per append', async () => {
    const pairs = Array.from({ length: 20 }, (_, i) => `ROUND${i}USD`);
    const before = db.journal.stats.transactions;
    await Promise.all(
      pairs.map(async (pair) => {
        for (let s = 1; s <= 25; s++) await db.journal.append([newOrderEntry(pair, s)]);
      }),
    );
    const transactions = db.journal.stats.transactions - before;
    // 500 appends; while one write is in flight the next round gathers, so far fewer transactions.
    expect(transactions).toBeLessThan(150);
    for (const pair of pairs) expect(db.journal.durableSequence(pair)).toBe(25);
  });

  it('keeps several pairs apart and writes the projections in the same transaction', async () => {
    const a = 'PROJAUSD';
    const b = 'PROJBUSD';
    await Promise.all([db.journal.append(entries(a, 1, 30)), db.journal.append(entries(b, 1, 9))]);
    expect(await count('SELECT count(*) AS n FROM orders WHERE pair = $1', [a])).toBe(30);
    expect(await count('SELECT count(*) AS n FROM trades WHERE pair = $1', [a])).toBe(10);
    expect(await count('SELECT count(*) AS n FROM trades WHERE pair = $1', [b])).toBe(3);
    const { rows } = await db.pool.query('SELECT account, client_order_id, status, filled_lots, remaining_lots, created_at FROM orders WHERE pair = $1 AND order_id = 3', [a]);
    expect(rows[0]).toMatchObject({ account: 'acct-3', client_order_id: 'c-3', status: 'partially_filled', filled_lots: '1', remaining_lots: '9' });
    expect((rows[0].created_at as Date).getTime()).toBe(1_700_000_000_003);
  });

  it('upserts an order changed twice in one batch to its last state', async () => {
    const pair = 'UPSERTUSD';
    const first = newOrderEntry(pair, 1, 'alice');
    const cancel = {
      ...newOrderEntry(pair, 2, 'alice'),
      command: { kind: CommandKind.Cancel, orderId: 1, account: 1 },
      clientOrderId: '',
      orders: [{ ...first.orders[0]!, remaining: 0, status: 'cancelled' as const, cancelReason: 1, updatedAtMs: 1_700_000_000_500 }],
      trades: [],
    };
    await db.journal.append([first, cancel]);
    const { rows } = await db.pool.query('SELECT status, remaining_lots, cancel_reason, journal_sequence FROM orders WHERE pair = $1', [pair]);
    expect(rows).toEqual([{ status: 'cancelled', remaining_lots: '0', cancel_reason: 1, journal_sequence: '2' }]);
  });

  it('upserts an order changed by two calls that share a transaction to its last state (the calls are encoded as they come)', async () => {
    const pair = 'UPSERT2USD';
    const first = newOrderEntry(pair, 1, 'alice');
    const fill = { ...newOrderEntry(pair, 2, 'bob'), trades: [], orders: [{ ...first.orders[0]!, filled: 4, remaining: 6, status: 'partially_filled' as const, updatedAtMs: 1_700_000_000_400 }] };
    const cancel = {
      ...newOrderEntry(pair, 3, 'alice'),
      command: { kind: CommandKind.Cancel, orderId: 1, account: 1 },
      clientOrderId: '',
      orders: [{ ...first.orders[0]!, filled: 4, remaining: 0, status: 'cancelled' as const, cancelReason: 1, updatedAtMs: 1_700_000_000_500 }],
      trades: [],
    };
    const before = db.journal.stats.transactions;
    // Three calls in one tick: one transaction, order 1 in each of them.
    await Promise.all([db.journal.append([first]), db.journal.append([fill]), db.journal.append([cancel])]);
    expect(db.journal.stats.transactions - before).toBe(1);
    const { rows } = await db.pool.query('SELECT order_id, status, filled_lots, remaining_lots, journal_sequence FROM orders WHERE pair = $1 ORDER BY order_id', [pair]);
    expect(rows).toEqual([{ order_id: '1', status: 'cancelled', filled_lots: '4', remaining_lots: '0', journal_sequence: '3' }]);
  });

  it('refuses a call holding a value its column cannot, queuing none of it, and the calls around it are written', async () => {
    const pair = 'BADVALUEUSD';
    const other = 'BADVALUE2USD';
    const good = db.journal.append([newOrderEntry(pair, 1)]);
    // Into the chunk the first call is in (one pair), then a call of two pairs (chunks of its own).
    await expect(db.journal.append([newOrderEntry(pair, 2), { ...newOrderEntry(pair, 3), timestampMs: 1.5 }])).rejects.toThrow(/1\.5 is not a safe integer/);
    await expect(db.journal.append([newOrderEntry(other, 1), newOrderEntry(pair, 2), { ...newOrderEntry(pair, 3), trades: [{ ...newOrderEntry(pair, 3).trades[0]!, takerSide: 70_000 as Side }] }])).rejects.toThrow(
      /70000 is not a smallint/,
    );
    expect(db.journal.status().pendingEntries).toBe(1);
    // Nothing of the refused calls was taken as queued: the next sequences are the same again.
    await Promise.all([good, db.journal.append([newOrderEntry(pair, 2)]), db.journal.append([newOrderEntry(other, 1)])]);
    const { rows } = await db.pool.query<{ pair: string; sequence: string; timestamp_ms: string }>('SELECT pair, sequence, timestamp_ms FROM journal WHERE pair IN ($1, $2) ORDER BY pair, sequence', [pair, other]);
    expect(rows).toEqual([
      { pair: other, sequence: '1', timestamp_ms: '1700000000001' },
      { pair, sequence: '1', timestamp_ms: '1700000000001' },
      { pair, sequence: '2', timestamp_ms: '1700000000002' },
    ]);
    expect(await count('SELECT count(*) AS n FROM orders WHERE pair = $1', [pair])).toBe(2);
  });

  it('updates journaled orders in place where the page has room (HOT: no index touched), and the client-order lookup uses the unique index (migration 006)', async () => {
    const pair = 'HOTUSD';
    const opened = entries(pair, 1, 40);
    await db.journal.append(opened);
    // Each order cancelled by a later entry: an update of the row inserted a moment before.
    const cancels = opened.map((e, i) => ({
      ...newOrderEntry(pair, 41 + i, e.account),
      command: { kind: CommandKind.Cancel, orderId: e.sequence, account: 1 },
      clientOrderId: '',
      orders: [{ ...e.orders.at(-1)!, remaining: 0, status: 'cancelled' as const, cancelReason: 1, updatedAtMs: e.timestampMs + 500 }],
      trades: [],
    }));
    const stats = async () => (await db.pool.query<{ upd: string; hot: string }>(`SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'orders'`)).rows[0]!;
    const before = await stats();
    await db.journal.append(cancels);
    // The writer's backend reports its counts when it goes idle (at most a second later): wait for them.
    let after = await stats();
    for (let i = 0; i < 50 && Number(after.upd) - Number(before.upd) < cancels.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await stats();
    }
    expect(Number(after.upd) - Number(before.upd)).toBeGreaterThanOrEqual(cancels.length);
    // As many as the pages have room for (a fifth of each is kept free); with the index's predicate on
    // `status`, as before 006, none could be.
    expect(Number(after.hot) - Number(before.hot)).toBeGreaterThan(0);

    const client = await db.pool.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT order_id FROM orders WHERE pair = 'HOTUSD' AND account = 'acct-1' AND client_order_id = ANY(ARRAY['c-1']) AND client_order_id <> '' AND NOT is_rejected`,
      );
      expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('orders_client_order_id_unique');
    } finally {
      await client.query('RESET enable_seqscan');
      client.release();
    }
  });

  it('journals the account name and never the process-local account id', async () => {
    const pair = 'NAMEUSD';
    await db.journal.append([newOrderEntry(pair, 1, 'bob')]);
    const { rows } = await db.pool.query('SELECT account, command FROM journal WHERE pair = $1', [pair]);
    expect(rows[0].account).toBe('bob');
    expect(rows[0].command).not.toHaveProperty('account');
    expect(rows[0].command).toEqual({ kind: CommandKind.NewOrder, orderId: 1, side: Side.Buy, type: OrderType.Limit, tif: TimeInForce.GTC, postOnly: false, price: 101, quantity: 10, stp: StpMode.None });
  });
});

describe('journal: sequences are gap-free per pair', () => {
  it('rejects a gap or a repeat at once and queues nothing of that call', async () => {
    const pair = 'GAPUSD';
    await db.journal.append(entries(pair, 1, 3));
    await expect(db.journal.append([newOrderEntry(pair, 5)])).rejects.toBeInstanceOf(JournalSequenceError);
    await expect(db.journal.append([newOrderEntry(pair, 3)])).rejects.toMatchObject({ pair, expected: 4, actual: 3 });
    await expect(db.journal.append([newOrderEntry(pair, 4), newOrderEntry(pair, 6)])).rejects.toBeInstanceOf(JournalSequenceError);
    expect(db.journal.status().pendingEntries).toBe(0);
    await db.journal.append([newOrderEntry(pair, 4)]);
    expect(await count('SELECT count(*) AS n FROM journal WHERE pair = $1', [pair])).toBe(4);
  });

  it('checks a pair it never saw against the stored head (a stale writer), without holding up other pairs', async () => {
    const pair = 'STALEUSD';
    await db.journal.append(entries(pair, 1, 3));
    const other = await openPostgresPersistence({ connectionString: url, options: schema.options });
    try {
      const stale = other.journal.append([newOrderEntry(pair, 2)]);
      const innocent = other.journal.append([newOrderEntry('INNOCENTUSD', 1)]);
      await expect(stale).rejects.toMatchObject({ name: 'JournalSequenceError', pair, expected: 4, actual: 2 });
      await innocent;
      await expect(other.journal.append([newOrderEntry(pair, 9)])).rejects.toMatchObject({ expected: 4, actual: 9 });
      expect(other.journal.status()).toMatchObject({ available: true, pendingEntries: 0 });
    } finally {
      await other.close();
    }
    expect(await count('SELECT count(*) AS n FROM journal WHERE pair = $1', [pair])).toBe(3);
    expect(await count(`SELECT count(*) AS n FROM journal WHERE pair = 'INNOCENTUSD'`)).toBe(1);
  });
});

describe('journal: a write that committed but timed out', () => {
  it('is reported unavailable, then skipped on retry: nothing written twice, nothing lost', async () => {
    const pair = 'AMBIGUOUSUSD';
    let stall = true;
    const journal = new PostgresJournal(db.pool, {
      writeTimeoutMs: 200,
      retryDelayMs: 10,
      // The first commit "hangs" past the write timeout after the server committed it.
      afterCommit: () => (stall ? ((stall = false), new Promise<void>((r) => setTimeout(r, 400))) : Promise.resolve()),
    });
    const err = await journal.append(entries(pair, 1, 5)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(journal.status().pendingEntries).toBe(5);
    await journal.append([newOrderEntry(pair, 6)]).catch(() => {});
    await journal.waitForDurable(pair, 6);
    expect(journal.stats.skippedAlreadyWritten).toBe(5);
    expect(journal.status()).toMatchObject({ available: true, pendingEntries: 0 });
    const { rows } = await db.pool.query<{ sequence: string }>('SELECT sequence FROM journal WHERE pair = $1 ORDER BY sequence', [pair]);
    expect(rows.map((r) => Number(r.sequence))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await journal.close()).toBe(0);
  });
});

function snapshotOf(pair: string, sequence: number): PairSnapshot {
  return {
    pair,
    sequence,
    lastOrderId: sequence,
    lastTradeId: 7,
    eventSequence: 123,
    marketDataSequence: 45,
    orders: [
      { orderId: 2, account: 'alice', clientOrderId: 'a-2', side: Side.Buy, type: OrderType.Limit, tif: TimeInForce.GTC, postOnly: false, stp: StpMode.None, price: 101, quantity: 10, filled: 4, remaining: 6, status: 'partially_filled', cancelReason: 0, createdAtMs: 1, updatedAtMs: 2, lastSequence: 9 },
      { orderId: 1, account: 'bob', clientOrderId: '', side: Side.Sell, type: OrderType.Limit, tif: TimeInForce.GTC, postOnly: true, stp: StpMode.CancelBoth, price: 105, quantity: 3, filled: 0, remaining: 3, status: 'new', cancelReason: 0, createdAtMs: 1, updatedAtMs: 1, lastSequence: 1 },
    ],
    takenAtMs: 1_700_000_000_000,
  };
}

describe('snapshots and recovery reads', () => {
  it('round-trip a snapshot exactly (order of resting orders kept) and return the newest', async () => {
    const pair = 'SNAPUSD';
    expect(await db.recovery.latestSnapshot(pair)).toBeUndefined();
    await db.recovery.saveSnapshot(snapshotOf(pair, 10));
    await db.recovery.saveSnapshot(snapshotOf(pair, 20));
    expect(await db.recovery.latestSnapshot(pair)).toEqual(snapshotOf(pair, 20));
    const { rows } = await db.pool.query<{ checksum: string; created_at: Date }>('SELECT checksum, created_at FROM order_book_snapshots WHERE pair = $1', [pair]);
    expect(rows).toHaveLength(2);
    expect(rows[0]!.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]!.created_at).toBeInstanceOf(Date);
  });

  it('store the payload as the json text written, lz4-compressed where the server has lz4 (migration 007)', async () => {
    const pair = 'SNAPJSONUSD';
    await db.recovery.saveSnapshot(snapshotOf(pair, 3));
    const { rows } = await db.pool.query<{ type: string; compression: string; text: string }>(
      `SELECT format_type(a.atttypid, a.atttypmod) AS type, a.attcompression AS compression, (SELECT payload::text FROM order_book_snapshots WHERE pair = $1) AS text
         FROM pg_attribute a WHERE a.attrelid = 'order_book_snapshots'::regclass AND a.attname = 'payload'`,
      [pair],
    );
    expect(rows[0]!.type).toBe('json');
    // The text as written (jsonb would have reordered its keys and spaced it): no space after a separator.
    expect(rows[0]!.text).toMatch(/^\{"[^ ]*$/);
    const { rows: lz4 } = await db.pool.query<{ built: boolean }>(`SELECT EXISTS (SELECT 1 FROM pg_config() WHERE name = 'CONFIGURE' AND setting LIKE '%--with-lz4%') AS built`);
    expect(rows[0]!.compression).toBe(lz4[0]!.built ? 'l' : '');
  });

  it('fail closed on a snapshot that does not match its checksum', async () => {
    const pair = 'CORRUPTUSD';
    await db.recovery.saveSnapshot(snapshotOf(pair, 5));
    await db.pool.query(`UPDATE order_book_snapshots SET payload = jsonb_set(payload::jsonb, '{orders,0,remaining}', '600')::json WHERE pair = $1`, [pair]);
    const err = await db.recovery.latestSnapshot(pair).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptSnapshotError);
    expect((err as Error).message).toMatch(/checksum mismatch.*refusing to recover/);
  });

  it('read exactly the entries after a snapshot, in batches, with commands restored', async () => {
    const pair = 'RECOVERUSD';
    await db.journal.append(entries(pair, 1, 25));
    await db.journal.append([
      { ...newOrderEntry(pair, 26, 'carol'), command: { kind: CommandKind.CancelAll, account: 3, side: undefined }, clientOrderId: '', orders: [], trades: [] },
      { ...newOrderEntry(pair, 27, 'carol'), command: { kind: CommandKind.Replace, orderId: 4, account: 3, price: 99, quantity: 2 }, clientOrderId: '', orders: [], trades: [] },
    ]);
    const batches: number[][] = [];
    const records = [];
    for await (const batch of db.recovery.entriesAfter(pair, 10, 7)) {
      batches.push(batch.map((r) => r.sequence));
      records.push(...batch);
    }
    expect(batches.map((b) => b.length)).toEqual([7, 7, 3]);
    expect(records.map((r) => r.sequence)).toEqual(Array.from({ length: 17 }, (_, i) => i + 11));
    expect(records[0]).toEqual({ pair, sequence: 11, command: { kind: CommandKind.NewOrder, orderId: 11, side: Side.Buy, type: OrderType.Limit, tif: TimeInForce.GTC, postOnly: false, price: 101, quantity: 10, stp: StpMode.None }, account: 'acct-4', clientOrderId: 'c-11', timestampMs: 1_700_000_000_011 });
    expect(records.at(-2)!.command).toEqual({ kind: CommandKind.CancelAll, side: undefined });
    expect(records.at(-1)).toMatchObject({ account: 'carol', command: { kind: CommandKind.Replace, orderId: 4, price: 99, quantity: 2 } });
    expect(await db.recovery.lastSequence(pair)).toBe(27);
    expect(await db.recovery.lastSequence('NOSUCHPAIR')).toBe(0);
    expect(await db.recovery.recordedPairs()).toContain(pair);
  });

  it('fail closed on a gap in the stored journal', async () => {
    const pair = 'HOLEUSD';
    await db.journal.append(entries(pair, 1, 6));
    await db.pool.query('DELETE FROM journal WHERE pair = $1 AND sequence = 4', [pair]);
    const read = async () => {
      for await (const _ of db.recovery.entriesAfter(pair, 0, 2)) void _;
    };
    await expect(read()).rejects.toBeInstanceOf(JournalGapError);
    await expect(read()).rejects.toMatchObject({ expected: 4, found: 5 });
  });
});

describe('pair state store', () => {
  it('keeps migration and breaker state per pair across connections', async () => {
    await db.pairState.save('BTCUSD', { migration: { state: 'canary', percentage: 25 }, breaker: { open: true, reason: 'divergence' } });
    await db.pairState.save('ETHUSD', { migration: { state: 'shadow', percentage: 0 }, breaker: { open: false, reason: null } });
    await db.pairState.save('BTCUSD', { migration: { state: 'canary', percentage: 50 }, breaker: { open: true, reason: 'divergence' } });
    const other = new pg.Pool({ connectionString: url, options: schema.options });
    try {
      const { rows } = await other.query('SELECT pair, state FROM pair_state ORDER BY pair');
      expect(rows).toEqual([
        { pair: 'BTCUSD', state: { migration: { state: 'canary', percentage: 50 }, breaker: { open: true, reason: 'divergence' } } },
        { pair: 'ETHUSD', state: { migration: { state: 'shadow', percentage: 0 }, breaker: { open: false, reason: null } } },
      ]);
    } finally {
      await other.end();
    }
    expect(await db.pairState.load('BTCUSD')).toEqual({ migration: { state: 'canary', percentage: 50 }, breaker: { open: true, reason: 'divergence' } });
    expect(await db.pairState.load('NONE')).toBeUndefined();
    expect([...(await db.pairState.loadAll()).keys()]).toEqual(['BTCUSD', 'ETHUSD']);
  });
});
