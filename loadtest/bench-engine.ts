/**
 * Engine micro-benchmark: every book in BOOK_IMPLEMENTATIONS (so the adaptive book joins as soon as it is
 * registered) on the seeded shallow and deep workloads, plus heap bytes per resting order.
 *
 *   npm run bench:engine
 *   BENCH_COMMANDS=500000 npm run bench:engine          # both workloads
 *   BENCH_SHALLOW_COMMANDS, BENCH_DEEP_COMMANDS          # one workload
 *   BENCH_LEGACY_SHALLOW_COMMANDS, BENCH_LEGACY_DEEP_COMMANDS  # cap the slow legacy book (a prefix of the same stream)
 *   BENCH_REPS (5), BENCH_SEED (1), BENCH_MEMORY_ORDERS (1000000)
 *
 * Peer mode (only this runs when BENCH_PEERS_DIR is set): the adaptive book against the sorted-array
 * `naive-book` of the shared bench-peers harness, on its `base` and `deep` workloads, in one process.
 *   d=$(mktemp -d) && cp -r /work/shared/bench-peers "$d" && (cd "$d/bench-peers" && node gen-workload.mjs --out-dir work)
 *   BENCH_PEERS_DIR="$d/bench-peers" npm run bench:engine
 *   BENCH_PEER_PAIRS (5): timed passes of each book, interleaved (ours, naive, naive, ours, ...) after one
 *   warm-up each; every pair gives a ratio and the report is the median of those ratios, so load that
 *   drifts during the run hits both books alike. BENCH_PEER_WORKLOADS: comma-separated workload files
 *   (default work/work-base.txt,work/work-deep.txt inside BENCH_PEERS_DIR).
 *
 * Prints figures and ratios against the same run's legacy baseline and writes bench-results/engine-latest.json
 * plus one line in bench-results/engine-history.jsonl. It never fails on time; it exits
 * non-zero only if the books disagree on the events they emit, which is a correctness failure.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BOOK_IMPLEMENTATIONS } from '../server/core/book-implementations.ts';
import type { Command } from '../server/core/commands.ts';
import type { EventSink } from '../server/core/events.ts';
import type { BookImplementation, OrderBook } from '../server/core/order-book.ts';
import type { CancelReason, RejectCode } from '../server/core/reasons.ts';
import type { AccountId, Lots, OrderId, PriceTicks, Side } from '../server/core/types.ts';
import { BTCUSDT, deepWorkload, restingOrders, shallowWorkload, type Workload } from '../simulator/workloads.ts';
import { fullGc, gitCommit, envInt } from './bench-support.ts';
import { runEngineOnce, type PeerRun, type PeerWorkload } from './engine-peer.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_DIR = join(ROOT, 'bench-results');

// --- configuration (read once, here: this file is an entry point, not core) ---------------------------

const both = process.env.BENCH_COMMANDS ? envInt('BENCH_COMMANDS', 1) : undefined;
const CONFIG = {
  seed: envInt('BENCH_SEED', 1),
  reps: Math.max(5, envInt('BENCH_REPS', 5)),
  shallowCommands: envInt('BENCH_SHALLOW_COMMANDS', both ?? 2_000_000),
  deepCommands: envInt('BENCH_DEEP_COMMANDS', both ?? 1_000_000),
  // The legacy book scans its sorted level arrays linearly; on the deep book it is too slow for
  // 6 passes of a million commands inside the time budget. Rates are per command, so a prefix of the
  // same stream is a fair measure; the event checksums are compared on that common prefix.
  legacyShallowCommands: envInt('BENCH_LEGACY_SHALLOW_COMMANDS', 2_000_000),
  legacyDeepCommands: envInt('BENCH_LEGACY_DEEP_COMMANDS', 200_000),
  memoryOrders: envInt('BENCH_MEMORY_ORDERS', 1_000_000),
};

const TARGETS = { shallowCmdsPerSec: 4_000_000, deepCmdsPerSec: 3_000_000, bytesPerOrder: 150 } as const;


// --- the counting sink ---------------------------------------------------------------------------------

/**
 * Counts events and folds their key fields into a 32-bit checksum, so the books' work cannot be optimised
 * away and two books can be seen to do the same work. Integer ops only; one class shape, no allocation.
 */
class CountingSink implements EventSink {
  acceptedCount = 0;
  rejectedCount = 0;
  fillCount = 0;
  cancelledCount = 0;
  replacedCount = 0;
  levelCount = 0;
  fillQuantity = 0;
  checksum = 0;

  private mix(x: number): void {
    this.checksum = Math.imul(this.checksum ^ x, 0x01000193) >>> 0;
  }
  accepted(orderId: OrderId, _account: AccountId, _side: Side, _price: PriceTicks, quantity: Lots): void {
    this.acceptedCount++;
    this.mix(orderId ^ quantity);
  }
  rejected(orderId: OrderId, _account: AccountId, code: RejectCode, _field: string, _reason: string): void {
    this.rejectedCount++;
    this.mix(orderId ^ code);
  }
  fill(
    makerOrderId: OrderId,
    _makerAccount: AccountId,
    takerOrderId: OrderId,
    _takerAccount: AccountId,
    _takerSide: Side,
    price: PriceTicks,
    quantity: Lots,
    makerRemaining: Lots,
    _takerRemaining: Lots,
  ): void {
    this.fillCount++;
    this.fillQuantity += quantity;
    this.mix(makerOrderId ^ (takerOrderId << 7) ^ price ^ (quantity << 3) ^ makerRemaining);
  }
  cancelled(orderId: OrderId, _account: AccountId, _side: Side, price: PriceTicks, quantity: Lots, reason: CancelReason): void {
    this.cancelledCount++;
    this.mix(orderId ^ price ^ (quantity << 2) ^ reason);
  }
  replaced(orderId: OrderId, _account: AccountId, _side: Side, price: PriceTicks, quantity: Lots, priorityKept: boolean): void {
    this.replacedCount++;
    this.mix(orderId ^ price ^ quantity ^ (priorityKept ? 1 : 0));
  }
  level(side: Side, price: PriceTicks, quantity: Lots, orderCount: number): void {
    this.levelCount++;
    this.mix(price ^ (quantity << 1) ^ (orderCount << 20) ^ side);
  }

  snapshot(): EventCounts {
    return {
      events: this.acceptedCount + this.rejectedCount + this.fillCount + this.cancelledCount + this.replacedCount + this.levelCount,
      accepted: this.acceptedCount,
      rejected: this.rejectedCount,
      fills: this.fillCount,
      cancelled: this.cancelledCount,
      replaced: this.replacedCount,
      levels: this.levelCount,
      fillQuantity: this.fillQuantity,
      checksum: this.checksum.toString(16).padStart(8, '0'),
    };
  }
}

interface EventCounts {
  events: number;
  accepted: number;
  rejected: number;
  fills: number;
  cancelled: number;
  replaced: number;
  levels: number;
  fillQuantity: number;
  checksum: string;
}

// --- measuring -----------------------------------------------------------------------------------------

type Factory = (typeof BOOK_IMPLEMENTATIONS)[BookImplementation] & {};

function freshBook(factory: Factory, setup: readonly Command[]): OrderBook {
  const book = factory(BTCUSDT);
  const sink = new CountingSink();
  for (let i = 0; i < setup.length; i++) book.apply(setup[i]!, sink);
  return book;
}

/** The timed loop. Kept tiny and separate so it is the function V8 optimises. */
function applyRange(book: OrderBook, commands: readonly Command[], from: number, to: number, sink: EventSink): void {
  for (let i = from; i < to; i++) book.apply(commands[i]!, sink);
}

interface Snapshot {
  commands: number;
  counts: EventCounts;
  stateHash: string;
}

interface RunResult {
  implementation: string;
  workload: string;
  commands: number;
  ratesPerSec: number[];
  medianPerSec: number;
  bestPerSec: number;
  counts: EventCounts;
  /** Event counts and state hash after each checkpoint (the command counts any implementation ran). */
  checkpoints: Snapshot[];
  deterministic: boolean;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function runOne(name: string, factory: Factory, w: Workload, n: number, checkpoints: number[]): RunResult {
  // Warm-up on its own book instance; it also records the checksums at every checkpoint (untimed).
  const warm = freshBook(factory, w.setup);
  const warmSink = new CountingSink();
  const snaps: Snapshot[] = [];
  let at = 0;
  for (const cp of checkpoints.filter((c) => c <= n).sort((a, b) => a - b)) {
    applyRange(warm, w.commands, at, cp, warmSink);
    at = cp;
    snaps.push({ commands: cp, counts: warmSink.snapshot(), stateHash: warm.stateHash() });
  }
  const warmCounts = snaps.find((s) => s.commands === n)!.counts;

  const rates: number[] = [];
  let counts: EventCounts | undefined;
  let deterministic = true;
  for (let r = 0; r < CONFIG.reps; r++) {
    const book = freshBook(factory, w.setup);
    const sink = new CountingSink();
    fullGc();
    const t0 = process.hrtime.bigint();
    applyRange(book, w.commands, 0, n, sink);
    const ns = Number(process.hrtime.bigint() - t0);
    rates.push(n / (ns / 1e9));
    const c = sink.snapshot();
    counts ??= c;
    if (c.checksum !== warmCounts.checksum || c.events !== warmCounts.events) deterministic = false;
    process.stderr.write(`  ${name} ${w.name} rep ${r + 1}/${CONFIG.reps}: ${fmtRate(rates[r]!)} cmds/s\n`);
  }
  return {
    implementation: name,
    workload: w.name,
    commands: n,
    ratesPerSec: rates.map(Math.round),
    medianPerSec: Math.round(median(rates)),
    bestPerSec: Math.round(Math.max(...rates)),
    counts: counts!,
    checkpoints: snaps,
    deterministic,
  };
}

interface MemoryResult {
  implementation: string;
  orders: number;
  restingAfterLoad: number;
  heapBytesPerOrder: number;
  /** heapUsed + arrayBuffers (typed-array backing stores live outside the V8 heap). */
  heapPlusBuffersBytesPerOrder: number;
  loadMs: number;
}

function measureMemory(name: string, factory: Factory, cmds: readonly Command[]): MemoryResult {
  fullGc();
  const before = process.memoryUsage();
  const t0 = process.hrtime.bigint();
  const book = factory(BTCUSDT);
  applyRange(book, cmds, 0, cmds.length, new CountingSink());
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  fullGc();
  const after = process.memoryUsage();
  const resting = book.size(); // also keeps `book` alive until after the second reading
  const heap = after.heapUsed - before.heapUsed;
  const buffers = after.arrayBuffers - before.arrayBuffers;
  return {
    implementation: name,
    orders: cmds.length,
    restingAfterLoad: resting,
    heapBytesPerOrder: Math.round((heap / resting) * 10) / 10,
    heapPlusBuffersBytesPerOrder: Math.round(((heap + buffers) / resting) * 10) / 10,
    loadMs: Math.round(loadMs),
  };
}

// --- formatting ----------------------------------------------------------------------------------------

function fmtRate(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(0)}k`;
}
function fmtInt(x: number): string {
  return x.toLocaleString('en-US');
}
function pad(s: string, n: number, right = false): string {
  return right ? s.padEnd(n) : s.padStart(n);
}
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i]!, i === 0 || i === 1)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}


// --- peer mode -----------------------------------------------------------------------------------------

interface PeerSide {
  ratesPerSec: number[];
  medianPerSec: number;
  fills: number;
  volume: number;
  resting: number;
}

interface PeerResult {
  workload: string;
  file: string;
  commands: number;
  pairs: number;
  adaptive: PeerSide;
  naive: PeerSide;
  /** adaptive / naive rate of each pair, in run order. */
  pairRatios: number[];
  medianRatio: number;
  expected: { fills: number; volume: number; resting: number } | null;
  /** Both books reached the generator's expected fills, volume and resting count in every pass. */
  matchesExpected: boolean;
  loadAverage: { start: number; end: number };
}

type PeerRunOnce = (wl: PeerWorkload) => PeerRun;

async function peerMain(dir: string): Promise<void> {
  const pairs = envInt('BENCH_PEER_PAIRS', 5);
  const files = (process.env.BENCH_PEER_WORKLOADS ?? 'work/work-base.txt,work/work-deep.txt')
    .split(',')
    .filter((f) => f !== '')
    .map((f) => (isAbsolute(f) ? f : join(dir, f)));
  const harness = (await import(pathToFileURL(join(dir, 'harness.mjs')).href)) as { loadWorkload: (file: string) => PeerWorkload };
  const naive = (await import(pathToFileURL(join(dir, 'naive-book.mjs')).href)) as { runOnce: PeerRunOnce };
  const adaptive: PeerRunOnce = (wl) => runEngineOnce(() => BOOK_IMPLEMENTATIONS.adaptive(BTCUSDT), wl);
  const cpu = cpus()[0]?.model ?? 'unknown';
  const commit = gitCommit(ROOT, ['server/core', 'loadtest']);
  console.log(`bench:engine peers  node ${process.version}  ${cpu} ×${cpus().length}  commit ${commit}  peers ${dir}`);
  console.log(`adaptive vs naive-book, ${pairs} interleaved pairs after one warm-up each; fresh book per pass, loop timed only\n`);

  const results: PeerResult[] = [];
  for (const file of files) {
    const wl = harness.loadWorkload(file);
    const name = (wl.file.match(/work-([a-z]+)\.txt$/) ?? [])[1] ?? wl.file;
    const loadStart = loadavg()[0]!;
    const pass = (run: PeerRunOnce): PeerRun & { rate: number } => {
      fullGc();
      const r = run(wl);
      return { ...r, rate: wl.n / (Number(r.ns) / 1e9) };
    };
    const a: (PeerRun & { rate: number })[] = [];
    const b: (PeerRun & { rate: number })[] = [];
    pass(adaptive);
    pass(naive.runOnce);
    for (let i = 0; i < pairs; i++) {
      // Alternate which book goes first, so a load change inside a pair does not always favour one.
      if (i % 2 === 0) {
        a.push(pass(adaptive));
        b.push(pass(naive.runOnce));
      } else {
        b.push(pass(naive.runOnce));
        a.push(pass(adaptive));
      }
      process.stderr.write(`  ${name} pair ${i + 1}/${pairs}: adaptive ${fmtRate(a[i]!.rate)}  naive ${fmtRate(b[i]!.rate)}  ratio ${(a[i]!.rate / b[i]!.rate).toFixed(2)}  (load ${loadavg()[0]!.toFixed(1)})\n`);
    }
    const side = (rs: (PeerRun & { rate: number })[]): PeerSide => ({
      ratesPerSec: rs.map((r) => Math.round(r.rate)),
      medianPerSec: Math.round(median(rs.map((r) => r.rate))),
      fills: rs[0]!.fills,
      volume: rs[0]!.volume,
      resting: rs[0]!.resting,
    });
    const exp = wl.meta?.expected ?? null;
    const agrees = (r: PeerRun) => exp === null || (r.fills === exp.fills && r.volume === exp.volume && r.resting === exp.resting);
    const ratios = a.map((r, i) => r.rate / b[i]!.rate);
    results.push({
      workload: name,
      file: wl.file,
      commands: wl.n,
      pairs,
      adaptive: side(a),
      naive: side(b),
      pairRatios: ratios.map((x) => Math.round(x * 1000) / 1000),
      medianRatio: Math.round(median(ratios) * 1000) / 1000,
      expected: exp ? { fills: exp.fills, volume: exp.volume, resting: exp.resting } : null,
      matchesExpected: [...a, ...b].every(agrees),
      loadAverage: { start: loadStart, end: loadavg()[0]! },
    });
  }

  console.log(
    table(
      ['workload', 'commands', 'adaptive median', 'naive median', 'median pair ratio', 'pair ratios', 'fills', 'volume', 'resting', 'expected', 'load'],
      results.map((r) => [
        r.workload,
        fmtInt(r.commands),
        fmtInt(r.adaptive.medianPerSec),
        fmtInt(r.naive.medianPerSec),
        `${r.medianRatio.toFixed(2)}×`,
        r.pairRatios.map((x) => x.toFixed(2)).join(' '),
        fmtInt(r.adaptive.fills),
        fmtInt(r.adaptive.volume),
        fmtInt(r.adaptive.resting),
        r.matchesExpected ? 'match' : 'MISMATCH',
        `${r.loadAverage.start.toFixed(1)}→${r.loadAverage.end.toFixed(1)}`,
      ]),
    ),
  );
  const date = new Date().toISOString();
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'engine-peers-latest.json'), JSON.stringify({ date, commit, node: process.version, cpu, cpus: cpus().length, results }, null, 2) + '\n');
  const summary: Record<string, unknown> = { date, commit, node: process.version, cpu, mode: 'peers', pairs };
  for (const r of results) {
    summary[`adaptive.${r.workload}.medianCmdsPerSec`] = r.adaptive.medianPerSec;
    summary[`naive.${r.workload}.medianCmdsPerSec`] = r.naive.medianPerSec;
    summary[`${r.workload}.medianPairRatio`] = r.medianRatio;
    summary[`${r.workload}.loadAverage`] = [Math.round(r.loadAverage.start * 100) / 100, Math.round(r.loadAverage.end * 100) / 100];
  }
  summary.matchesExpected = results.every((r) => r.matchesExpected);
  appendFileSync(join(RESULTS_DIR, 'engine-history.jsonl'), JSON.stringify(summary) + '\n');
  console.log('\nwrote bench-results/engine-peers-latest.json and appended to bench-results/engine-history.jsonl');
  if (!results.every((r) => r.matchesExpected)) {
    console.error('\nFILLS/VOLUME/RESTING differ from the generator\'s expected totals (a correctness failure, not a timing result)');
    process.exitCode = 1;
  }
}


// --- main ----------------------------------------------------------------------------------------------

function main(): void {
  const impls = Object.entries(BOOK_IMPLEMENTATIONS).filter((e): e is [string, Factory] => e[1] !== undefined);
  const cpu = cpus()[0]?.model ?? 'unknown';
  console.log(`bench:engine  node ${process.version}  ${cpu} ×${cpus().length}  commit ${gitCommit(ROOT, ['server/core', 'simulator', 'loadtest'])}`);
  console.log(`implementations: ${impls.map(([n]) => n).join(', ')}   seed ${CONFIG.seed}   ${CONFIG.reps} measured reps after 1 warm-up`);
  const loadAtStart = loadavg()[0]!;
  console.log(`load average at start ${loadAtStart.toFixed(2)} on ${cpus().length} CPUs${loadAtStart > cpus().length - 1 ? '  (busy machine: expect noisy figures)' : ''}\n`);

  const t0 = Date.now();
  const workloads = [
    shallowWorkload({ seed: CONFIG.seed, commands: CONFIG.shallowCommands }),
    deepWorkload({ seed: CONFIG.seed, commands: CONFIG.deepCommands }),
  ];
  for (const w of workloads) {
    const s = w.stats;
    console.log(
      `workload ${w.name}: ${fmtInt(w.setup.length)} setup orders, ${fmtInt(w.commands.length)} commands ` +
        `(new limit ${fmtInt(s.newLimits)} of which crossing ${fmtInt(s.crossingLimits)}, cancel ${fmtInt(s.cancels)}, ` +
        `replace ${fmtInt(s.replaces)}, market ${fmtInt(s.marketOrders)}, sweep ${fmtInt(s.sweeps)} ` +
        `(mean ${(s.sweepLevels / Math.max(1, s.sweeps)).toFixed(2)} levels), cancel-all ${fmtInt(s.cancelAlls)}); ` +
        `${fmtInt(s.fills)} fills; resting at end ${fmtInt(s.liveAtEnd)}; mid range ${s.minMid}..${s.maxMid}; ` +
        `rejections ${JSON.stringify(s.rejections)}`,
    );
  }
  console.log(`(generated in ${((Date.now() - t0) / 1000).toFixed(1)} s, untimed)\n`);

  const commandsFor = (impl: string, w: Workload): number => {
    const cap = impl === 'legacy' ? (w.name === 'deep' ? CONFIG.legacyDeepCommands : CONFIG.legacyShallowCommands) : Infinity;
    return Math.min(w.commands.length, cap);
  };

  const results: RunResult[] = [];
  for (const w of workloads) {
    const checkpoints = [...new Set(impls.map(([n]) => commandsFor(n, w)))];
    for (const [name, factory] of impls) {
      results.push(runOne(name, factory, w, commandsFor(name, w), checkpoints));
    }
  }

  // Correctness of the comparison: at every checkpoint, all books that reached it must agree.
  const mismatches: string[] = [];
  for (const w of workloads) {
    const rs = results.filter((r) => r.workload === w.name);
    const cps = [...new Set(rs.flatMap((r) => r.checkpoints.map((c) => c.commands)))];
    for (const cp of cps) {
      const at = rs.flatMap((r) => r.checkpoints.filter((c) => c.commands === cp).map((c) => ({ impl: r.implementation, ...c })));
      const ref = at[0]!;
      for (const o of at.slice(1)) {
        if (o.counts.checksum !== ref.counts.checksum || o.counts.events !== ref.counts.events || o.stateHash !== ref.stateHash) {
          mismatches.push(`${w.name}@${cp}: ${o.impl} ${o.counts.events} events ${o.counts.checksum} ${o.stateHash} vs ${ref.impl} ${ref.counts.events} events ${ref.counts.checksum} ${ref.stateHash}`);
        }
      }
    }
    for (const r of rs) if (!r.deterministic) mismatches.push(`${w.name}: ${r.implementation} measured reps disagree with its warm-up`);
  }

  const memCmds = restingOrders(CONFIG.memoryOrders, CONFIG.seed);
  const memory: MemoryResult[] = [];
  for (const [name, factory] of impls) {
    process.stderr.write(`  ${name} memory: loading ${fmtInt(memCmds.length)} orders\n`);
    memory.push(measureMemory(name, factory, memCmds));
  }

  // --- report ---
  const target = (w: string) => (w === 'shallow' ? TARGETS.shallowCmdsPerSec : TARGETS.deepCmdsPerSec);
  const legacyOf = (w: string) => results.find((r) => r.implementation === 'legacy' && r.workload === w);
  console.log('\nthroughput (commands/s; setup untimed; fresh book per rep)');
  console.log(
    table(
      ['workload', 'impl', 'commands', 'median', 'best', 'vs legacy', 'target (adaptive)', 'events', 'fills', 'fill lots', 'checksum'],
      results.map((r) => {
        const base = legacyOf(r.workload);
        const t = target(r.workload);
        return [
          r.workload,
          r.implementation,
          fmtInt(r.commands),
          fmtInt(r.medianPerSec),
          fmtInt(r.bestPerSec),
          base && r !== base ? `${(r.medianPerSec / base.medianPerSec).toFixed(2)}×` : '1.00×',
          r.implementation === 'adaptive' ? `≥ ${fmtRate(t)} ${r.medianPerSec >= t ? 'met' : 'NOT met'}` : `(≥ ${fmtRate(t)})`,
          fmtInt(r.counts.events),
          fmtInt(r.counts.fills),
          fmtInt(r.counts.fillQuantity),
          r.counts.checksum,
        ];
      }),
    ),
  );

  console.log('\nevent counts at the common checkpoints (must be equal between implementations)');
  const cpRows: string[][] = [];
  for (const r of results) {
    for (const c of r.checkpoints) {
      cpRows.push([
        r.workload,
        r.implementation,
        fmtInt(c.commands),
        fmtInt(c.counts.events),
        fmtInt(c.counts.accepted),
        fmtInt(c.counts.rejected),
        fmtInt(c.counts.fills),
        fmtInt(c.counts.cancelled),
        fmtInt(c.counts.replaced),
        fmtInt(c.counts.levels),
        fmtInt(c.counts.fillQuantity),
        c.counts.checksum,
        c.stateHash,
      ]);
    }
  }
  console.log(table(['workload', 'impl', 'after', 'events', 'accepted', 'rejected', 'fills', 'cancelled', 'replaced', 'level', 'fill lots', 'checksum', 'stateHash'], cpRows));
  const capped = results.filter((r) => r.commands < workloads.find((w) => w.name === r.workload)!.commands.length);
  for (const r of capped) {
    console.log(`note: ${r.implementation} ran the first ${fmtInt(r.commands)} commands of ${r.workload} (rates are per command; env BENCH_LEGACY_${r.workload.toUpperCase()}_COMMANDS)`);
  }

  console.log(`\nmemory (${fmtInt(CONFIG.memoryOrders)} non-crossing GTC limits via apply(), 10 per level; heapUsed delta after full GC ÷ resting orders)`);
  const legacyMem = memory.find((m) => m.implementation === 'legacy');
  console.log(
    table(
      ['impl', 'resting', 'heap B/order', 'heap+buffers B/order', 'vs legacy', 'target (adaptive)', 'load ms'],
      memory.map((m) => [
        m.implementation,
        fmtInt(m.restingAfterLoad),
        m.heapBytesPerOrder.toFixed(1),
        m.heapPlusBuffersBytesPerOrder.toFixed(1),
        legacyMem ? `${(m.heapPlusBuffersBytesPerOrder / legacyMem.heapPlusBuffersBytesPerOrder).toFixed(2)}×` : '-',
        m.implementation === 'adaptive'
          ? `≤ ${TARGETS.bytesPerOrder} ${m.heapPlusBuffersBytesPerOrder <= TARGETS.bytesPerOrder ? 'met' : 'NOT met'}`
          : `(≤ ${TARGETS.bytesPerOrder})`,
        fmtInt(m.loadMs),
      ]),
    ),
  );
  if (!impls.some(([n]) => n === 'adaptive')) console.log('\nadaptive: not registered in BOOK_IMPLEMENTATIONS yet; only legacy ran.');

  // --- files ---
  const loadAtEnd = loadavg()[0]!;
  if (Math.max(loadAtStart, loadAtEnd) > cpus().length - 1) {
    console.log(`\nnote: load average ${loadAtStart.toFixed(1)} → ${loadAtEnd.toFixed(1)} on ${cpus().length} CPUs; other work competed for the CPU, so compare medians across runs with care.`);
  }
  const commit = gitCommit(ROOT, ['server/core', 'simulator', 'loadtest']);
  const date = new Date().toISOString();
  const report = {
    date,
    commit,
    node: process.version,
    cpu,
    cpus: cpus().length,
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    config: CONFIG,
    targets: TARGETS,
    workloads: workloads.map((w) => ({ name: w.name, seed: w.seed, setupOrders: w.setup.length, commands: w.commands.length, stats: w.stats })),
    throughput: results,
    memory,
    ratiosVsLegacy: results
      .filter((r) => r.implementation !== 'legacy' && legacyOf(r.workload))
      .map((r) => ({ implementation: r.implementation, workload: r.workload, median: r.medianPerSec / legacyOf(r.workload)!.medianPerSec })),
    eventsAgree: mismatches.length === 0,
    mismatches,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'engine-latest.json'), JSON.stringify(report, null, 2) + '\n');
  const summary: Record<string, unknown> = {
    date,
    commit,
    node: process.version,
    cpu,
    seed: CONFIG.seed,
    commands: Object.fromEntries(results.map((r) => [`${r.implementation}.${r.workload}`, r.commands])),
    memoryOrders: CONFIG.memoryOrders,
    loadAverage: [Math.round(loadAtStart * 100) / 100, Math.round(loadAtEnd * 100) / 100],
    eventsAgree: mismatches.length === 0,
  };
  for (const r of results) summary[`${r.implementation}.${r.workload}.medianCmdsPerSec`] = r.medianPerSec;
  for (const m of memory) summary[`${m.implementation}.bytesPerOrder`] = m.heapPlusBuffersBytesPerOrder;
  appendFileSync(join(RESULTS_DIR, 'engine-history.jsonl'), JSON.stringify(summary) + '\n');
  console.log(`\nwrote bench-results/engine-latest.json and appended to bench-results/engine-history.jsonl (${((Date.now() - t0) / 1000).toFixed(0)} s in all)`);

  if (mismatches.length > 0) {
    console.error(`\nEVENT MISMATCH between implementations (a correctness bug, not a timing result):\n  ${mismatches.join('\n  ')}`);
    process.exitCode = 1;
  }
}

const peersDir = process.env.BENCH_PEERS_DIR;
if (peersDir !== undefined && peersDir !== '') await peerMain(peersDir);
else main();
