/**
 * The journal's write path alone, in CPU per entry (`node --import tsx loadtest/bench-journal-write.ts`):
 * a seeded command mix (loadtest/journal-fill.ts's: resting limits, crossing IOCs, cancels) applied to a
 * real BTCUSDT TradingPair records its journal entries in memory first; then they are appended through
 * the PostgresJournal (group commit) in calls of BENCH_BATCH entries (one OrderFlow message), with
 * BENCH_IN_FLIGHT calls in flight, into a fresh schema. Reports this process's CPU per entry (encoding,
 * pg query building, the writer) and the PostgreSQL backend's CPU per entry (its one connection's
 * /proc/<pid>/stat: parsing, inserts, index maintenance, WAL), both far less sensitive to other load than
 * wall time, BENCH_ROUNDS rounds, each on a fresh schema. Prints figures and appends them to
 * bench-results/journal-write-history.jsonl (BENCH_RESULTS_DIR); never fails on them.
 *
 *   DATABASE_URL (postgres://postgres@127.0.0.1:5432/test)  BENCH_ENTRIES (60000)  BENCH_BATCH (100)
 *   BENCH_IN_FLIGHT (20)  BENCH_MAX_BATCH (1000: the journal's maxBatch)  BENCH_ROUNDS (3)
 *   BENCH_SETUP_SQL ('')  SQL run on each fresh schema after the migrations (experiments: DROP INDEX ...)
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runMigrations } from '../server/adapters/postgres/migrations.ts';
import { PostgresJournal } from '../server/adapters/postgres/postgres-journal.ts';
import { createTestSchema, LOCAL_TEST_DATABASE_URL } from '../server/adapters/postgres/test-schema.ts';
import type { JournalEntry } from '../server/ports/journal.ts';
import { processCpuMs } from './bench-processes.ts';
import { gitCommit } from './bench-support.ts';
import { SeededCommandMix } from './journal-fill.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const env = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
};
const DATABASE_URL = process.env['DATABASE_URL'] || LOCAL_TEST_DATABASE_URL;
const ENTRIES = env('BENCH_ENTRIES', 60_000);
const BATCH = env('BENCH_BATCH', 100);
const IN_FLIGHT = env('BENCH_IN_FLIGHT', 20);
const MAX_BATCH = env('BENCH_MAX_BATCH', 1000);
const ROUNDS = env('BENCH_ROUNDS', 3);
/** Run on each fresh schema after the migrations (an experiment: e.g. DROP INDEX ...). */
const SETUP_SQL = process.env['BENCH_SETUP_SQL'] ?? '';

/** The entries of `count` commands of the seeded mix, in order. */
function generate(count: number): JournalEntry[] {
  const out: JournalEntry[] = [];
  const mix = new SeededCommandMix({ seed: 7, accountPrefix: 'bench-', restingPerAccount: 200, cancelPct: 30, crossingPct: 30, spread: 50, clientOrderId: (a, n) => `c-${a}-${n}` }, (e) => out.push(e));
  for (let n = 1; n <= count; n++) mix.step(n);
  return out;
}

interface Round {
  nodeUsPerEntry: number;
  pgUsPerEntry: number;
  wallMs: number;
  transactions: number;
  entriesPerSec: number;
}

async function round(entries: JournalEntry[]): Promise<Round> {
  const schema = await createTestSchema(DATABASE_URL, 'durability_jw');
  const pool = new pg.Pool({ connectionString: DATABASE_URL, options: schema.options, max: 1 });
  try {
    await runMigrations(pool);
    if (SETUP_SQL !== '') await pool.query(SETUP_SQL);
    const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const backend = rows[0]!.pid;
    const journal = new PostgresJournal(pool, { maxBatch: MAX_BATCH, writeTimeoutMs: 60_000 });
    const cpu0 = process.cpuUsage();
    const pg0 = processCpuMs(backend);
    const t0 = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < entries.length; i += BATCH) {
      pending.push(journal.append(entries.slice(i, i + BATCH)));
      if (pending.length >= IN_FLIGHT) await pending.shift();
    }
    await Promise.all(pending);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const pgMs = processCpuMs(backend) - pg0;
    const transactions = journal.stats.transactions;
    await journal.close();
    return { nodeUsPerEntry: (cpu.user + cpu.system) / entries.length, pgUsPerEntry: (pgMs * 1000) / entries.length, wallMs, transactions, entriesPerSec: entries.length / (wallMs / 1000) };
  } finally {
    await pool.end();
    await schema.drop();
  }
}

async function main(): Promise<void> {
  const entries = generate(ENTRIES);
  const rows = entries.reduce((a, e) => a + e.orders.length, 0);
  const trades = entries.reduce((a, e) => a + e.trades.length, 0);
  console.log(`bench:journal-write: ${ENTRIES} entries (${(rows / ENTRIES).toFixed(2)} order rows, ${(trades / ENTRIES).toFixed(2)} trades per entry), appends of ${BATCH}, ${IN_FLIGHT} in flight, maxBatch ${MAX_BATCH}; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  await round(entries.slice(0, Math.min(entries.length, 5000))); // warm-up: JIT, plans
  const results: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = await round(entries);
    results.push(r);
    console.log(
      `  round ${i + 1}: node ${r.nodeUsPerEntry.toFixed(2)} µs/entry, PostgreSQL backend ${r.pgUsPerEntry.toFixed(2)} µs/entry; ${Math.round(r.entriesPerSec)} entries/s in ${r.transactions} transactions; load ${loadavg()[0]!.toFixed(2)}`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  const m = { nodeUsPerEntry: median(results.map((r) => r.nodeUsPerEntry)), pgUsPerEntry: median(results.map((r) => r.pgUsPerEntry)), entriesPerSec: median(results.map((r) => r.entriesPerSec)) };
  console.log(`median: node ${m.nodeUsPerEntry.toFixed(2)} µs/entry, PostgreSQL ${m.pgUsPerEntry.toFixed(2)} µs/entry, ${Math.round(m.entriesPerSec)} entries/s`);
  const dir = process.env['BENCH_RESULTS_DIR'] || join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const r2 = (x: number) => Math.round(x * 100) / 100;
  appendFileSync(
    join(dir, 'journal-write-history.jsonl'),
    `${JSON.stringify({
      at: new Date().toISOString(),
      commit: gitCommit(ROOT, ['server', 'loadtest']),
      loadavgEnd: loadavg().map(r2),
      settings: { entries: ENTRIES, batch: BATCH, inFlight: IN_FLIGHT, maxBatch: MAX_BATCH, rounds: ROUNDS, setupSql: SETUP_SQL || undefined },
      median: { nodeUsPerEntry: r2(m.nodeUsPerEntry), pgUsPerEntry: r2(m.pgUsPerEntry), entriesPerSec: Math.round(m.entriesPerSec) },
      rounds: results.map((r) => ({ nodeUsPerEntry: r2(r.nodeUsPerEntry), pgUsPerEntry: r2(r.pgUsPerEntry), entriesPerSec: Math.round(r.entriesPerSec), transactions: r.transactions })),
    })}\n`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('bench:journal-write failed:', err);
    process.exit(1);
  },
);
