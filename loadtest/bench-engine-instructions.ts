/**
 * Instructions per command of the matching core on the shared peer workloads, counted by
 * `valgrind --tool=callgrind`: unlike commands/s it does not move with the machine's load, so it judges
 * an optimisation step on a busy machine. Wall-clock figures stay bench:engine's (BENCH_PEERS_DIR mode);
 * this counts work, not cache misses, so a step that trades instructions for misses shows only there.
 *
 *   BENCH_PEERS_DIR=/path/to/copy/of/bench-peers node --import tsx loadtest/bench-engine-instructions.ts
 *   BENCH_INSTR_BOOKS (adaptive,naive), BENCH_INSTR_PASSES (3)
 *
 * It bundles loadtest/engine-instructions-entry.ts to plain JavaScript (esbuild, so valgrind does not
 * spend minutes in the TypeScript loader), generates reduced workloads with the peers' own generator
 * (base: 200,000 commands; deep: 200,000 resting orders then 100,000 commands; seed 42), and runs each
 * book under callgrind twice in `node --single-threaded` (no background JIT or GC threads): one warm-up
 * pass alone, and the warm-up plus PASSES passes. The difference divided by PASSES × commands is the
 * figure: steady-state instructions per command, start-up, parsing and first-pass JIT excluded.
 * Requires valgrind (Debian package `valgrind`). Writes bench-results/engine-instructions-latest.json
 * and a line in bench-results/engine-history.jsonl.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitCommit } from './bench-support.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_DIR = join(ROOT, 'bench-results');
const peers = process.env.BENCH_PEERS_DIR;
if (peers === undefined || !existsSync(join(peers, 'gen-workload.mjs'))) {
  throw new Error('BENCH_PEERS_DIR must name a (writable) copy of the shared bench-peers folder');
}
const books = (process.env.BENCH_INSTR_BOOKS ?? 'adaptive,naive').split(',').filter((b) => b !== '');
const passes = Number(process.env.BENCH_INSTR_PASSES ?? '3');
if (!Number.isSafeInteger(passes) || passes <= 0) throw new Error('BENCH_INSTR_PASSES must be a positive integer');

const work = mkdtempSync(join(tmpdir(), 'engine-instr-'));
try {
  const bundle = join(work, 'engine-instructions.mjs');
  execFileSync(join(ROOT, 'node_modules/.bin/esbuild'), [join(ROOT, 'loadtest/engine-instructions-entry.ts'), '--bundle', '--platform=node', '--format=esm', '--target=node20', `--outfile=${bundle}`, '--log-level=warning'], { stdio: 'inherit' });
  const gen = (args: string[]) => execFileSync(process.execPath, [join(peers, 'gen-workload.mjs'), '--out-dir', work, ...args], { stdio: 'ignore' });
  gen(['--n', '200000', '--variants', 'base']);
  gen(['--n', '100000', '--prefill', '200000', '--variants', 'deep']);
  const workloads = ['base', 'deep'].map((name) => ({ name, file: join(work, `work-${name}.txt`) }));

  const count = (book: string, file: string, n: number): { ir: number; line: { commands: number; matchesExpected: boolean } } => {
    const out = join(work, `cg.${book}.${n}.out`);
    const r = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, '--single-threaded', bundle, book, String(n), peers, file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`callgrind of ${book} failed: ${r.stderr.slice(-2000)}`);
    const summary = /^summary: (\d+)$/m.exec(readFileSync(out, 'utf8'));
    if (summary === null) throw new Error(`no summary line in ${out}`);
    rmSync(out);
    return { ir: Number(summary[1]), line: JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { commands: number; matchesExpected: boolean } };
  };

  const commit = gitCommit(ROOT, ['server/core', 'loadtest']);
  const loadStart = loadavg()[0]!;
  console.log(`bench:engine instructions  commit ${commit}  passes ${passes}  load ${loadStart.toFixed(2)}`);
  const results: { book: string; workload: string; commands: number; instructionsPerCommand: number; matchesExpected: boolean }[] = [];
  for (const w of workloads) {
    for (const book of books) {
      const base = count(book, w.file, 0);
      const full = count(book, w.file, passes);
      const perCommand = (full.ir - base.ir) / (passes * full.line.commands);
      results.push({ book, workload: w.name, commands: full.line.commands, instructionsPerCommand: Math.round(perCommand), matchesExpected: full.line.matchesExpected });
      console.log(`  ${w.name.padEnd(5)} ${book.padEnd(9)} ${Math.round(perCommand).toString().padStart(6)} instructions/command  (${full.line.commands} commands, totals ${full.line.matchesExpected ? 'match' : 'MISMATCH'})`);
    }
  }
  const date = new Date().toISOString();
  const loadAverage = [Math.round(loadStart * 100) / 100, Math.round(loadavg()[0]! * 100) / 100];
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'engine-instructions-latest.json'), JSON.stringify({ date, commit, node: process.version, passes, loadAverage, results }, null, 2) + '\n');
  const summary: Record<string, unknown> = { date, commit, node: process.version, mode: 'instructions', passes, loadAverage };
  for (const r of results) summary[`${r.book}.${r.workload}.instructionsPerCommand`] = r.instructionsPerCommand;
  appendFileSync(join(RESULTS_DIR, 'engine-history.jsonl'), JSON.stringify(summary) + '\n');
  if (!results.every((r) => r.matchesExpected)) {
    console.error('a book missed the generator\'s expected fills/volume/resting');
    process.exitCode = 1;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
