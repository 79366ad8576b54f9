/**
 * The cost of recording one book command in the Performance Monitor (the per-command step of every order:
 * served and shadow book, the accepted order counted with the served one), in ns per record, in process.
 *
 *   node --import tsx loadtest/bench-monitor.ts
 *   BENCH_A_ROOT (another checkout: its monitor is measured in the same run, interleaved, and the paired
 *   ratios printed)  BENCH_MONITOR_PAIRS (5)  BENCH_MONITOR_COMMANDS (2,000,000 per run)  BENCH_MONITOR_RUNS (7)
 *
 * A manual clock moves 1 ms every 64 commands, so second and minute slots roll as under ~60,000 orders/s.
 * Appends a line to bench-results/monitor-history.jsonl.
 */
import { appendFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { envInt, gitCommit } from './bench-support.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const pairs = Array.from({ length: envInt('BENCH_MONITOR_PAIRS', 5) }, (_, i) => `PAIR${i}USDT`);
const commands = envInt('BENCH_MONITOR_COMMANDS', 2_000_000);
const runs = envInt('BENCH_MONITOR_RUNS', 7);

interface Monitor {
  recordCommand(pair: string, impl: 'legacy' | 'adaptive', role: 'served' | 'shadow', latencyNs: number, ok: boolean, accepted?: boolean): void;
  recordOrders(pair: string, count?: number): void;
}
type MonitorClass = new (clock: { nowMs(): number; monotonicNs(): bigint }) => Monitor;

async function load(root: string): Promise<MonitorClass> {
  const mod = (await import(pathToFileURL(join(root, 'server/pairs/performance-monitor.ts')).href)) as { PerformanceMonitor: MonitorClass };
  return mod.PerformanceMonitor;
}

/** ns per record: each order is a served record (counting the order) and a shadow record. */
function run(Monitor: MonitorClass, countsOrdersSeparately: boolean): number {
  let t = 1_700_000_000_000;
  const m = new Monitor({ nowMs: () => t, monotonicNs: () => 0n });
  const start = process.hrtime.bigint();
  for (let i = 0; i < commands; i++) {
    if ((i & 63) === 0) t += 1;
    const pair = pairs[i % pairs.length]!;
    m.recordCommand(pair, 'legacy', 'served', 800 + (i & 1023), true, true);
    if (countsOrdersSeparately) m.recordOrders(pair);
    m.recordCommand(pair, 'adaptive', 'shadow', 700 + (i & 511), true);
  }
  return Number(process.hrtime.bigint() - start) / commands / 2;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const B = await load(ROOT);
const aRoot = process.env['BENCH_A_ROOT'];
const A = aRoot ? await load(aRoot) : undefined;
// A monitor without recordCommand's `accepted` counts the order in a call of its own, as its callers did.
const aSeparate = A !== undefined && A.prototype.recordCommand.length < 6;
const load0 = loadavg();
const b: number[] = [];
const a: number[] = [];
for (let r = 0; r < runs; r++) {
  if (A) a.push(run(A, aSeparate));
  b.push(run(B, false));
}
const fmt = (xs: readonly number[]) => xs.map((x) => x.toFixed(1)).join(' ');
console.log(`bench:monitor  ${pairs.length} pairs, ${commands} orders per run, load ${load0.map((x) => x.toFixed(2)).join(' ')}`);
console.log(`  this checkout  ns per record ${fmt(b)}  median ${median(b).toFixed(1)}`);
const line: Record<string, unknown> = { date: new Date().toISOString(), commit: gitCommit(ROOT, ['server']), pairs: pairs.length, ordersPerRun: commands, nsPerRecord: median(b), runs: b };
if (A) {
  const ratios = b.map((x, i) => x / a[i]!);
  console.log(`  A ${aRoot}  ns per record ${fmt(a)}  median ${median(a).toFixed(1)}`);
  console.log(`  B/A median of pairs ${median(ratios).toFixed(3)}  (${ratios.map((x) => x.toFixed(3)).join(', ')})`);
  Object.assign(line, { a: { root: aRoot, commit: gitCommit(aRoot!, ['server']), nsPerRecord: median(a), runs: a }, ratioBA: median(ratios) });
}
line['loadAverage'] = [load0[0], loadavg()[0]];
appendFileSync(join(ROOT, 'bench-results/monitor-history.jsonl'), `${JSON.stringify(line)}\n`);
