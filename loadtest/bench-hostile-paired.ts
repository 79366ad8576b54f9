/**
 * Before/after of an attack bench, paired: runs `bench` (a loadtest/bench-hostile-*.ts that writes
 * bench-results/<name>-latest.json) in a checkout of the old code and in this one, back to back, ROUNDS
 * times, alternating which goes first; plus, in each round, this checkout without the attack
 * (BENCH_FLOOR, default BENCH_STREAMS=0: the load generator alone, the floor the machine allows now). Prints and writes the figures of every run,
 * the median of each side and the median of the per-round after/before ratios, with the load average
 * before each run. Never fails on timing.
 *
 *   git archive <old commit> | tar -x -C /tmp/before && ln -s $PWD/node_modules /tmp/before/
 *   cp loadtest/bench-hostile-streams.ts /tmp/before/loadtest/   # the same bench on both sides
 *   BENCH_BEFORE_DIR=/tmp/before node --import tsx loadtest/bench-hostile-paired.ts loadtest/bench-hostile-streams.ts
 *   BENCH_ATTACK=order-book BENCH_FLOOR=BENCH_ATTACK=none BENCH_BEFORE_DIR=/tmp/before node --import tsx loadtest/bench-hostile-paired.ts loadtest/bench-hostile-attacks.ts
 *   BENCH_ROUNDS (3)   other BENCH_* variables are passed to every run
 * Writes bench-results/<name>[-<BENCH_ATTACK>]-paired.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { loadavg } from 'node:os';
import { envInt, gitCommit } from './bench-support.ts';

const METRICS = ['probe_p50_ms', 'probe_p99_ms', 'probe_max_ms', 'attack_cpu_ms', 'turn_cpu_p99_ms', 'turn_cpu_p999_ms', 'turn_cpu_max_ms', 'event_loop_delay_p99_ms', 'event_loop_delay_max_ms', 'rss_peak_mib', 'rss_end_of_attack_mib', 'server_peak_queued_mib', 'attack_ms'] as const;
type Figures = Record<string, unknown>;

function run(dir: string, bench: string, env: Record<string, string>): Figures {
  const name = basename(bench, '.ts').replace(/^bench-/, '');
  const load = loadavg()[0]!;
  execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', bench], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  const figures = JSON.parse(readFileSync(resolve(dir, 'bench-results', `${name}-latest.json`), 'utf8')) as Figures;
  return { ...figures, loadavg_1m_before: +load.toFixed(2) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function pick(f: Figures): Record<string, number> {
  return Object.fromEntries(METRICS.filter((k) => typeof f[k] === 'number').map((k) => [k, f[k] as number]));
}

function main(): void {
  const bench = process.argv[2];
  const beforeDir = process.env['BENCH_BEFORE_DIR'];
  if (bench === undefined || beforeDir === undefined) throw new Error('usage: BENCH_BEFORE_DIR=<old checkout> node --import tsx loadtest/bench-hostile-paired.ts loadtest/bench-hostile-<attack>.ts');
  const rounds = envInt('BENCH_ROUNDS', 3);
  const [floorName, floorValue] = (process.env['BENCH_FLOOR'] ?? 'BENCH_STREAMS=0').split('=', 2) as [string, string | undefined];
  const floorEnv = { [floorName]: floorValue ?? '' };
  const attack = process.env['BENCH_ATTACK'];
  const name = basename(bench, '.ts').replace(/^bench-/, '') + (attack === undefined ? '' : `-${attack}`);
  const here = process.cwd();
  const runs: { round: number; before: Figures; after: Figures; floor: Figures }[] = [];
  for (let round = 0; round < rounds; round++) {
    const floor = run(here, bench, floorEnv);
    const first = round % 2 === 0 ? 'before' : 'after';
    const a = run(first === 'before' ? beforeDir : here, bench, {});
    const b = run(first === 'before' ? here : beforeDir, bench, {});
    const [before, after] = first === 'before' ? [a, b] : [b, a];
    runs.push({ round, before, after, floor });
    console.log(JSON.stringify({ round, floor: pick(floor), before: pick(before), after: pick(after), loadavg: loadavg().map((x) => +x.toFixed(2)) }));
  }
  const present = METRICS.filter((m) => typeof runs[0]!.after[m] === 'number');
  const side = (k: 'before' | 'after' | 'floor') => Object.fromEntries(present.map((m) => [m, +median(runs.map((r) => r[k][m] as number)).toFixed(2)]));
  const ratio = Object.fromEntries(present.map((m) => [m, +median(runs.map((r) => (r.after[m] as number) / (r.before[m] as number))).toFixed(3)]));
  const result = {
    bench: basename(bench),
    attack: attack ?? null,
    floor: process.env['BENCH_FLOOR'] ?? 'BENCH_STREAMS=0',
    commit_after: gitCommit(here, ['server', 'loadtest']),
    before_dir: beforeDir,
    rounds,
    median_floor_no_streams: side('floor'),
    median_before: side('before'),
    median_after: side('after'),
    median_ratio_after_over_before: ratio,
    loadavg_1m_per_run: runs.map((r) => ({ floor: r.floor['loadavg_1m_before'], before: r.before['loadavg_1m_before'], after: r.after['loadavg_1m_before'] })),
    runs,
  };
  console.log(JSON.stringify({ median_floor_no_streams: result.median_floor_no_streams, median_before: result.median_before, median_after: result.median_after, median_ratio_after_over_before: ratio }, null, 2));
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(`bench-results/${name}-paired.json`, `${JSON.stringify(result, null, 2)}\n`);
}

main();
