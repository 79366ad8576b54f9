/**
 * Recovery benchmark (`npm run bench:recovery`): how long the real service process takes to recover
 * 1,000,000 journaled commands from the journal alone (no snapshot), as production runs it — the
 * compiled build (`dist/`, what `npm start` runs) — and, alternating with it in the same run, from the
 * TypeScript sources through tsx (how the other in-process benchmarks and the tests run the code: tsx's
 * esbuild transform keeps function names with a helper call per closure creation, which costs hot paths).
 *
 * The journal is filled once (loadtest/journal-fill.ts: a seeded mix on BTCUSDT growing to
 * BENCH_RECOVERY_RESTING resting orders), then each run starts `dist/server/main.js` (or
 * `server/main.ts` under tsx) on it with snapshots off, reads the `recovery_done` log record (the
 * recovery's own duration) and the time from spawn to "listening", checks the recovered book against
 * the generating pair (the full-depth GetOrderBook and the command sequence), and kills the process
 * with SIGKILL (a graceful stop would store a snapshot and the next run would not replay).
 *
 *   DATABASE_URL (postgres://postgres@127.0.0.1:5432/test)  a fresh schema is created and dropped
 *   BENCH_RECOVERY_COMMANDS (1000000)  BENCH_RECOVERY_RESTING (20000)  BENCH_RECOVERY_SPREAD (2000)
 *   BENCH_RECOVERY_CANCEL_PCT (25)     BENCH_RECOVERY_RUNS (3: pairs of dist and tsx runs, alternating)
 *   MIGRATION_INITIAL_STATE (shadow)
 *   BENCH_RECOVERY_PROFILE_DIR  profile one dist recovery instead (node --cpu-prof into that folder; the
 *                               process is stopped gracefully so the profile is written)
 *   BENCH_RECOVERY_SCHEMA       keep the filled journal in this schema and reuse it in later runs with the
 *                               same settings (the fill takes about 100 s; the expected book is stored
 *                               beside it in bench_recovery_expected); default: a fresh schema, dropped
 *   BENCH_RECOVERY_BUILDS (dist,tsx)  which builds to alternate (e.g. `dist` alone while iterating)
 *   BENCH_RECOVERY_NODE_FLAGS   extra node flags for the dist runs only (e.g. `--max-semi-space-size=32`), to
 *                               measure a flag against the baseline (BENCH_RECOVERY_BASELINE_DIR=. for the same build)
 *   BENCH_RECOVERY_BASELINE_DIR another checkout whose dist/ is built (e.g. `git archive main` unpacked, with
 *                               node_modules linked, after `npm run build:server` there): adds the build
 *                               `baseline` (that dist/) to the alternation and reports the median of the
 *                               paired ratios dist/baseline of recovery time and of server CPU — a
 *                               before/after on a shared machine
 *
 * Writes bench-results/recovery-latest.json and appends to recovery-history.jsonl. Target: < 5 s per
 * million commands (dist). Never fails on timing; exits non-zero when the database or a server fails
 * or a recovered book differs.
 */
import { credentials } from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MarketDataServiceClient, type GetOrderBookResponse } from '../server/adapters/grpc/generated/trading/v1/market_data.ts';
import { createTestSchema, LOCAL_TEST_DATABASE_URL } from '../server/adapters/postgres/test-schema.ts';
import { fromSteps } from '../server/core/decimal.ts';
import type { DepthLevel } from '../server/core/order-book.ts';
import { buildService, processCpuMs } from './bench-processes.ts';
import { envInt, gitCommit, median } from './bench-support.ts';
import { fillJournal } from './journal-fill.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_DIR = join(ROOT, 'bench-results');
const DATABASE_URL = process.env['DATABASE_URL'] || LOCAL_TEST_DATABASE_URL;
const COMMANDS = envInt('BENCH_RECOVERY_COMMANDS', 1_000_000);
const RESTING = envInt('BENCH_RECOVERY_RESTING', 20_000);
const SPREAD = envInt('BENCH_RECOVERY_SPREAD', 2_000);
const CANCEL_PCT = Math.min(100, envInt('BENCH_RECOVERY_CANCEL_PCT', 25, 0));
const RUNS = envInt('BENCH_RECOVERY_RUNS', 3);
const MIGRATION = process.env['MIGRATION_INITIAL_STATE'] || 'shadow';
const TARGET_S_PER_MILLION = 5;
const PROFILE_DIR = process.env['BENCH_RECOVERY_PROFILE_DIR'] || undefined;
const KEPT_SCHEMA = process.env['BENCH_RECOVERY_SCHEMA'] || undefined;
const BUILDS = (process.env['BENCH_RECOVERY_BUILDS'] || 'dist,tsx').split(',').map((b) => b.trim()).filter((b) => b !== '');
for (const b of BUILDS) if (b !== 'dist' && b !== 'tsx') throw new Error(`BENCH_RECOVERY_BUILDS: unknown build ${JSON.stringify(b)} (dist, tsx)`);
const BASELINE_DIR = process.env['BENCH_RECOVERY_BASELINE_DIR'] || undefined;
const NODE_FLAGS = (process.env['BENCH_RECOVERY_NODE_FLAGS'] ?? '').split(/\s+/).filter((f) => f !== '');
if (BASELINE_DIR !== undefined) {
  if (!existsSync(join(BASELINE_DIR, 'dist/server/main.js'))) throw new Error(`BENCH_RECOVERY_BASELINE_DIR: ${BASELINE_DIR}/dist/server/main.js does not exist (run npm run build:server there)`);
  BUILDS.push('baseline');
}
if (KEPT_SCHEMA !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(KEPT_SCHEMA)) throw new Error(`BENCH_RECOVERY_SCHEMA must be a lower-case SQL identifier, got ${JSON.stringify(KEPT_SCHEMA)}`);

type Build = 'dist' | 'tsx' | 'baseline';

interface RecoveryRun {
  build: Build;
  /** The service's own recovery duration (recovery_done.duration_ms). */
  recoveryMs: number;
  /** Spawn → "listening" (process start, module loading, migrations, recovery, listeners). */
  startMs: number;
  /** CPU of the server process until it listened (user + system, from /proc). */
  cpuMs: number;
  replayed: number;
  matches: boolean;
  load1: number;
}

const levelsText = (levels: readonly DepthLevel[], tick: Parameters<typeof fromSteps>[1], lot: Parameters<typeof fromSteps>[1]): string =>
  levels.map((l) => `${fromSteps(l.price, tick)}x${fromSteps(l.quantity, lot)}/${l.orderCount}`).join(' ');

async function recoverOnce(build: Build, schemaName: string, expected: { bids: string; asks: string; sequence: number }): Promise<RecoveryRun> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: '0',
    ADMIN_HOST: '127.0.0.1',
    ADMIN_PORT: '0',
    LOG_FORMAT: 'json',
    PERSISTENCE: 'postgres',
    DATABASE_URL,
    DATABASE_SCHEMA: schemaName,
    MIGRATION_INITIAL_STATE: MIGRATION,
    SNAPSHOT_EVERY_COMMANDS: '0',
    SNAPSHOT_INTERVAL_MS: '0',
  };
  const profile = PROFILE_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`];
  const args =
    build === 'dist' ? [...profile, ...NODE_FLAGS, '--enable-source-maps', 'dist/server/main.js']
    : build === 'baseline' ? [...profile, '--enable-source-maps', join(BASELINE_DIR!, 'dist/server/main.js')]
    : [...profile, '--import', 'tsx', 'server/main.ts'];
  // From the journal alone: a snapshot left by an earlier run (a profiled run stops gracefully, which stores one) is removed.
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  try {
    await db.query(`DELETE FROM ${schemaName}.order_book_snapshots`);
  } finally {
    await db.end();
  }
  const load1 = loadavg()[0]!;
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: build === 'baseline' ? BASELINE_DIR! : ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  try {
    const { recoveryMs, replayed, address } = await new Promise<{ recoveryMs: number; replayed: number; address: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${build} server did not start in 10 minutes:\n${text.slice(-4000)}`)), 600_000);
      let recovery: { ms: number; replayed: number } | undefined;
      child.stdout!.on('data', (c: Buffer) => {
        text += c.toString();
        for (const line of text.split('\n')) {
          if (recovery === undefined && line.includes('"recovery_done"')) {
            const r = JSON.parse(line) as { duration_ms: number; replayed: number };
            recovery = { ms: r.duration_ms, replayed: r.replayed };
          }
          const m = /listening for gRPC on (127\.0\.0\.1:\d+)/.exec(line);
          if (m && recovery !== undefined) {
            clearTimeout(timer);
            resolve({ recoveryMs: recovery.ms, replayed: recovery.replayed, address: m[1]! });
          }
        }
      });
      child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
      child.on('exit', (code) => reject(new Error(`${build} server exited (${code}):\n${text.slice(-4000)}`)));
    });
    const startMs = Math.round(performance.now() - started);
    const cpuMs = Math.round(processCpuMs(child.pid));
    const client = new MarketDataServiceClient(address, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
    const book = await new Promise<GetOrderBookResponse>((resolve, reject) => client.getOrderBook({ pair: 'BTCUSDT', depth: 0 }, (err, res) => (err ? reject(err) : resolve(res))));
    client.close();
    const text2 = (levels: { price: string; quantity: string; orderCount: number }[]) => levels.map((l) => `${l.price}x${l.quantity}/${l.orderCount}`).join(' ');
    const matches = text2(book.book!.bids) === expected.bids && text2(book.book!.asks) === expected.asks && Number(book.book!.sequence) === expected.sequence;
    return { build, recoveryMs, startMs, cpuMs, replayed, matches, load1: Math.round(load1 * 100) / 100 };
  } finally {
    child.kill(PROFILE_DIR === undefined ? 'SIGKILL' : 'SIGTERM');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
  }
}

const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

interface Expected {
  bids: string;
  asks: string;
  sequence: number;
}

/** The filled journal: a fresh schema (dropped at the end), or BENCH_RECOVERY_SCHEMA kept and reused. */
async function prepareJournal(): Promise<{ schemaName: string; expected: Expected; restingOrders: number; fillSeconds: number; drop: () => Promise<void> }> {
  const settings = JSON.stringify({ commands: COMMANDS, resting: RESTING, spread: SPREAD, cancelPct: CANCEL_PCT });
  if (KEPT_SCHEMA !== undefined) {
    const c = new pg.Client({ connectionString: DATABASE_URL });
    await c.connect();
    try {
      const { rows } = await c.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [`${KEPT_SCHEMA}.bench_recovery_expected`]);
      if (rows[0]!.exists) {
        const { rows: kept } = await c.query<{ settings: string; expected: Expected; resting_orders: number; fill_seconds: number }>(`SELECT settings, expected, resting_orders, fill_seconds FROM ${KEPT_SCHEMA}.bench_recovery_expected`);
        if (kept[0]?.settings === settings) {
          console.log(`  reusing the journal kept in schema ${KEPT_SCHEMA} (${kept[0].resting_orders} resting orders)`);
          return { schemaName: KEPT_SCHEMA, expected: kept[0].expected, restingOrders: kept[0].resting_orders, fillSeconds: kept[0].fill_seconds, drop: async () => {} };
        }
      }
      await c.query(`DROP SCHEMA IF EXISTS ${KEPT_SCHEMA} CASCADE`);
      await c.query(`CREATE SCHEMA ${KEPT_SCHEMA}`);
    } finally {
      await c.end();
    }
  }
  const schema = KEPT_SCHEMA === undefined ? await createTestSchema(DATABASE_URL, 'bench_recovery') : undefined;
  const schemaName = schema?.name ?? KEPT_SCHEMA!;
  try {
    const filled = await fillJournal({ databaseUrl: DATABASE_URL, schemaOptions: `-c search_path=${schemaName}`, commands: COMMANDS, resting: RESTING, spread: SPREAD, cancelPct: CANCEL_PCT });
    const inst = filled.pair.instrument;
    const book = filled.pair.snapshot(0);
    const expected: Expected = { bids: levelsText(book.bids, inst.tick, inst.lot), asks: levelsText(book.asks, inst.tick, inst.lot), sequence: book.sequence };
    console.log(`  journal filled in ${filled.seconds.toFixed(1)} s: ${COMMANDS} commands, ${filled.restingOrders} resting orders, ${book.bids.length + book.asks.length} levels`);
    if (KEPT_SCHEMA !== undefined) {
      const c = new pg.Client({ connectionString: DATABASE_URL });
      await c.connect();
      try {
        await c.query(`CREATE TABLE ${KEPT_SCHEMA}.bench_recovery_expected (settings text NOT NULL, expected jsonb NOT NULL, resting_orders integer NOT NULL, fill_seconds real NOT NULL)`);
        await c.query(`INSERT INTO ${KEPT_SCHEMA}.bench_recovery_expected VALUES ($1, $2, $3, $4)`, [settings, JSON.stringify(expected), filled.restingOrders, filled.seconds]);
        // Statistics as a production database would have them after autovacuum (a kept journal is analysed once).
        await c.query(`ANALYZE ${KEPT_SCHEMA}.journal`);
      } finally {
        await c.end();
      }
    }
    return { schemaName, expected, restingOrders: filled.restingOrders, fillSeconds: filled.seconds, drop: async () => schema?.drop() };
  } catch (err) {
    await schema?.drop();
    throw err;
  }
}

async function main(): Promise<void> {
  console.log(`bench:recovery: ${COMMANDS} commands, resting up to ${RESTING}, spread ${SPREAD}, cancels ${CANCEL_PCT} %, ${RUNS} runs of ${BUILDS.join(', ')} (alternating), migration ${MIGRATION}; ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('  building dist/ (npm run build:server) ...');
  buildService();
  if (!existsSync(join(ROOT, 'dist/server/main.js'))) throw new Error('dist/server/main.js missing after the build');
  const journal = await prepareJournal();
  const { schemaName, expected } = journal;
  try {
    const runs: RecoveryRun[] = [];
    if (PROFILE_DIR !== undefined) {
      const r = await recoverOnce('dist', schemaName, expected);
      console.log(`  profiled dist recovery: ${r.recoveryMs} ms, server CPU ${r.cpuMs} ms, book ${r.matches ? 'matches' : 'DIFFERS'}; profile in ${PROFILE_DIR}`);
      return;
    }
    for (let i = 0; i < RUNS; i++) {
      for (const build of (i % 2 === 0 ? BUILDS : [...BUILDS].reverse()) as Build[]) {
        const r = await recoverOnce(build, schemaName, expected);
        runs.push(r);
        console.log(`  ${build.padEnd(4)} recovery ${r.recoveryMs} ms (${round((r.recoveryMs / r.replayed) * 1000, 2)} s per million), start→listening ${r.startMs} ms, server CPU ${r.cpuMs} ms, book ${r.matches ? 'matches' : 'DIFFERS'}, load ${r.load1}`);
        if (!r.matches) throw new Error(`the ${build} recovery does not reproduce the journaled book`);
      }
    }
    const of = (b: Build) => runs.filter((r) => r.build === b);
    const perMillion = (r: RecoveryRun) => (r.recoveryMs / r.replayed) * 1000;
    const medianOf = (b: Build, f: (r: RecoveryRun) => number): number | null => (of(b).length === 0 ? null : round(median(of(b).map(f))));
    const ratios = of('dist').length > 0 && of('tsx').length > 0 ? of('dist').map((d, i) => d.recoveryMs / of('tsx')[i]!.recoveryMs) : [];
    const distPerMillion = medianOf('dist', perMillion);
    const paired = (f: (r: RecoveryRun) => number): number | null =>
      of('baseline').length === 0 || of('dist').length === 0 ? null : round(median(of('dist').map((d, i) => f(d) / f(of('baseline')[i]!))), 3);
    const summary = {
      benchmark: 'recovery',
      at: new Date().toISOString(),
      commit: gitCommit(ROOT, ['server', 'loadtest']),
      settings: { commands: COMMANDS, resting: RESTING, spread: SPREAD, cancelPct: CANCEL_PCT, runs: RUNS, builds: BUILDS, migration: MIGRATION },
      restingOrders: journal.restingOrders,
      fillSeconds: round(journal.fillSeconds, 1),
      runs,
      distSecondsPerMillion: distPerMillion,
      tsxSecondsPerMillion: medianOf('tsx', perMillion),
      /** Server CPU (user + system) until listening, median per build: less sensitive to other load than the wall clock. */
      distServerCpuSeconds: medianOf('dist', (r) => r.cpuMs / 1000),
      tsxServerCpuSeconds: medianOf('tsx', (r) => r.cpuMs / 1000),
      distOverTsxMedianOfPairs: ratios.length === 0 ? null : round(median(ratios), 3),
      baselineDir: BASELINE_DIR ?? null,
      baselineSecondsPerMillion: medianOf('baseline', perMillion),
      baselineServerCpuSeconds: medianOf('baseline', (r) => r.cpuMs / 1000),
      /** Median of the paired ratios dist/baseline (same position in the alternation). */
      distOverBaselineRecovery: paired((r) => r.recoveryMs),
      distOverBaselineServerCpu: paired((r) => r.cpuMs),
      targetSecondsPerMillion: TARGET_S_PER_MILLION,
      met: distPerMillion !== null && distPerMillion < TARGET_S_PER_MILLION,
      loadavg: loadavg().map((l) => round(l)),
    };
    console.log(
      `  recovery from the journal alone: ${summary.distSecondsPerMillion} s per million (dist, median of ${of('dist').length}; server CPU ${summary.distServerCpuSeconds} s); tsx ${summary.tsxSecondsPerMillion} s (CPU ${summary.tsxServerCpuSeconds} s); dist/tsx median of pairs ${summary.distOverTsxMedianOfPairs}; target < ${TARGET_S_PER_MILLION} s: ${summary.met ? 'met' : 'NOT met'}`,
    );
    if (BASELINE_DIR !== undefined) {
      console.log(`  baseline ${BASELINE_DIR}: ${summary.baselineSecondsPerMillion} s per million (CPU ${summary.baselineServerCpuSeconds} s); dist/baseline median of pairs: recovery ${summary.distOverBaselineRecovery}, server CPU ${summary.distOverBaselineServerCpu}`);
    }
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, 'recovery-latest.json'), `${JSON.stringify(summary, null, 2)}\n`);
    appendFileSync(
      join(RESULTS_DIR, 'recovery-history.jsonl'),
      `${JSON.stringify({ at: summary.at, commit: summary.commit, settings: summary.settings, distSecondsPerMillion: summary.distSecondsPerMillion, tsxSecondsPerMillion: summary.tsxSecondsPerMillion, distServerCpuSeconds: summary.distServerCpuSeconds, tsxServerCpuSeconds: summary.tsxServerCpuSeconds, distOverTsx: summary.distOverTsxMedianOfPairs, ...(BASELINE_DIR === undefined ? {} : { baselineSecondsPerMillion: summary.baselineSecondsPerMillion, baselineServerCpuSeconds: summary.baselineServerCpuSeconds, distOverBaselineRecovery: summary.distOverBaselineRecovery, distOverBaselineServerCpu: summary.distOverBaselineServerCpu }), loadavg: summary.loadavg, runs: runs.map((r) => ({ build: r.build, ms: r.recoveryMs, cpuMs: r.cpuMs, load1: r.load1 })) })}\n`,
    );
  } finally {
    await journal.drop();
  }
}

main().catch((err: unknown) => {
  console.error('bench:recovery failed:', err);
  process.exit(1);
});
