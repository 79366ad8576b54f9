/**
 * Instructions per command of the service's path below the gRPC handlers — TradingPair.submit through
 * the ServingBook that TradingService's createBook builds, the control plane's OrderBookManager (both
 * books, default shadow migration), the monitor and metrics hooks — counted by `valgrind
 * --tool=callgrind` (stable under load, unlike a rate). Judges a change to that path's hops on a busy
 * machine; bench:grpc stays the end-to-end figure.
 *
 *   node --import tsx loadtest/bench-service-path-instructions.ts
 *   BENCH_INSTR_PASSES (3), BENCH_INSTR_ROUNDS (10000: 30,000 commands a pass), BENCH_INSTR_LABEL (free text)
 *
 * Bundles loadtest/service-path-instructions-entry.ts with esbuild (packages stay external, so the
 * bundle lives under node_modules/.cache), runs it twice under callgrind in `node --single-threaded`:
 * the warm-up pass alone, and warm-up plus PASSES passes; the difference over PASSES × commands is the
 * figure. Appends a line to bench-results/service-path-instructions.jsonl and prints it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envInt, gitCommit } from './bench-support.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const passes = envInt('BENCH_INSTR_PASSES', 3);
const rounds = envInt('BENCH_INSTR_ROUNDS', 10_000);
// One folder per checkout: a worktree that links this node_modules must not overwrite this run's files.
// Two levels below node_modules, as the sources are below the root: the bundle's import.meta.url then
// finds ../../../proto as server/adapters/grpc/reflection.ts does (a third level lost the protos).
const work = join(ROOT, 'node_modules/.cache', `service-path-instructions-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}`);
mkdirSync(work, { recursive: true });
const bundle = join(work, 'entry.mjs');
execFileSync(join(ROOT, 'node_modules/.bin/esbuild'), [join(ROOT, 'loadtest/service-path-instructions-entry.ts'), '--bundle', '--platform=node', '--format=esm', '--target=node20', '--packages=external', `--outfile=${bundle}`, '--log-level=warning'], { stdio: 'inherit' });

const count = (n: number): { ir: number; commands: number } => {
  const out = join(work, `cg.${n}.out`);
  const r = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, '--single-threaded', '--predictable', '--hash-seed=1', '--random-seed=1', bundle, String(n), String(rounds)], { encoding: 'utf8', cwd: ROOT });
  if (r.status !== 0) throw new Error(`callgrind run failed: ${r.stderr.slice(-2000)}`);
  const summary = /^summary: (\d+)$/m.exec(readFileSync(out, 'utf8'));
  if (summary === null) throw new Error(`no summary line in ${out}`);
  rmSync(out);
  return { ir: Number(summary[1]), commands: (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { commands: number }).commands };
};

const loadStart = loadavg()[0]!;
const commit = gitCommit(ROOT, ['server', 'loadtest']);
const warm = count(0);
const full = count(passes);
const perCommand = Math.round((full.ir - warm.ir) / (passes * full.commands));
const line = {
  date: new Date().toISOString(),
  commit,
  label: process.env.BENCH_INSTR_LABEL ?? '',
  node: process.version,
  passes,
  commandsPerPass: full.commands,
  instructionsPerCommand: perCommand,
  loadAverage: [loadStart, loadavg()[0]!].map((l) => Math.round(l * 100) / 100),
};
appendFileSync(join(ROOT, 'bench-results/service-path-instructions.jsonl'), `${JSON.stringify(line)}\n`);
console.log(`service path: ${perCommand} instructions per command (commit ${commit}, ${passes} × ${full.commands} commands, load ${line.loadAverage.join(' → ')})`);
