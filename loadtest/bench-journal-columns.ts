/**
 * The node side of a journal write alone, in process: a batch's column arrays built as the checkout's
 * journal builds them (journal-write-columns.ts: entries encoded into a reused chunk, then the batch's
 * columns), in ns per entry, over the seeded command mix bench:journal-write writes (resting limits,
 * crossing IOCs, cancels), in batches of 100 (one OrderFlow message). No PostgreSQL: bench:journal-write
 * measures the whole write and the database's side.
 *
 *   node --import tsx loadtest/bench-journal-columns.ts
 *   BENCH_A_ROOT (another checkout: its encoding is measured in the same run, interleaved, and the
 *   paired ratios printed)  BENCH_ENTRIES (20,000)  BENCH_RUNS (21)
 *
 * Appends a line to bench-results/journal-columns-history.jsonl.
 */
import { appendFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { JournalEntry } from '../server/ports/journal.ts';
import { envInt, gitCommit, median } from './bench-support.ts';
import { SeededCommandMix } from './journal-fill.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const count = envInt('BENCH_ENTRIES', 20_000);
const runs = envInt('BENCH_RUNS', 21);

type Encode = (entries: readonly JournalEntry[]) => { journal: Buffer[]; orderCount: number };

interface Chunk {
  reset(pair: string): void;
  add(entries: readonly JournalEntry[]): void;
}
interface Columns {
  /** Before chunks: the batch's columns from its entries. */
  journalWriteColumns?: Encode;
  JournalChunk?: new (pair: string, expectedEntries: number) => Chunk;
  columnsOf?: (chunks: readonly Chunk[]) => ReturnType<Encode>;
}

/**
 * The checkout's encoding as its journal runs it: where there are chunks (entries encoded as they are
 * appended), into one chunk reused batch after batch (PostgresJournal reuses committed chunks), then the
 * batch's columns; before that, journalWriteColumns on the batch's entries.
 */
async function load(root: string): Promise<Encode> {
  const m = (await import(pathToFileURL(join(root, 'server/adapters/postgres/journal-write-columns.ts')).href)) as Columns;
  const { JournalChunk, columnsOf } = m;
  if (JournalChunk === undefined || columnsOf === undefined) {
    if (m.journalWriteColumns === undefined) throw new Error(`${root}: journal-write-columns.ts has neither JournalChunk nor journalWriteColumns`);
    return m.journalWriteColumns;
  }
  const chunk = new JournalChunk('', 100);
  return (entries) => {
    chunk.reset(entries[0]!.pair);
    chunk.add(entries);
    return columnsOf([chunk]);
  };
}

const entries: JournalEntry[] = [];
const mix = new SeededCommandMix({ seed: 7, accountPrefix: 'bench-', restingPerAccount: 200, cancelPct: 30, crossingPct: 30, spread: 50, clientOrderId: (a, n) => `c-${a}-${n}` }, (e) => entries.push(e));
for (let n = 1; n <= count; n++) mix.step(n);
const batches: JournalEntry[][] = [];
for (let i = 0; i < entries.length; i += 100) batches.push(entries.slice(i, i + 100));

let sink = 0;
function run(encode: Encode): number {
  const start = process.hrtime.bigint();
  for (const b of batches) {
    const c = encode(b);
    sink += c.orderCount + c.journal[2]!.length;
  }
  return Number(process.hrtime.bigint() - start) / entries.length;
}

const B = await load(ROOT);
const aRoot = process.env['BENCH_A_ROOT'];
const A = aRoot ? await load(aRoot) : undefined;
for (let i = 0; i < 5; i++) {
  // warm-up: both compiled before anything is timed
  if (A) run(A);
  run(B);
}
const load0 = loadavg();
const a: number[] = [];
const b: number[] = [];
for (let r = 0; r < runs; r++) {
  if (A) a.push(run(A));
  b.push(run(B));
}
const fmt = (xs: readonly number[]) => `median ${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})`;
console.log(`bench:journal-columns  ${entries.length} entries in batches of 100, ${runs} runs, load ${load0.map((x) => x.toFixed(2)).join(' ')} (checksum ${sink % 1000})`);
console.log(`  this checkout  ns per entry ${fmt(b)}`);
const line: Record<string, unknown> = { date: new Date().toISOString(), commit: gitCommit(ROOT, ['server']), entries: entries.length, nsPerEntry: median(b) };
if (A) {
  const ratios = b.map((x, i) => x / a[i]!);
  console.log(`  A ${aRoot}  ns per entry ${fmt(a)}`);
  console.log(`  B/A median of pairs ${median(ratios).toFixed(3)}`);
  Object.assign(line, { a: { root: aRoot, commit: gitCommit(aRoot!, ['server']), nsPerEntry: median(a) }, ratioBA: median(ratios) });
}
line['loadAverage'] = [load0[0], loadavg()[0]];
appendFileSync(join(ROOT, 'bench-results/journal-columns-history.jsonl'), `${JSON.stringify(line)}\n`);
