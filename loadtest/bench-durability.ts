/**
 * Durability benchmark (`npm run bench:durability`):
 * 1. Durable acknowledged orders/s through gRPC — batched OrderFlow streams against the real service
 *    process (server/main.ts) journaling to PostgreSQL with group commit — beside the same run with the
 *    journal off (PERSISTENCE=memory), alternating so drifting machine load hits both alike; target:
 *    durable ≥ 50 % of in-memory. Then the acknowledgement latency (open loop, HdrHistogram, from the
 *    intended send time) at the same offered rate on both: p50/p99.
 * 2. Recovery time for 1,000,000 journaled commands: the journal is filled in process (a seeded command
 *    mix applied to a real TradingPair, its entries appended through the PostgresJournal), then the real
 *    TradingService starts on it and recovers — once from the journal alone, once from a snapshot taken
 *    half a snapshot interval before the end (the average case with SNAPSHOT_EVERY_COMMANDS).
 *
 *   DATABASE_URL (postgres://postgres@127.0.0.1:5432/test)  a fresh schema is created and dropped
 *   BENCH_SECONDS (5)  BENCH_WARMUP_SECONDS (1)  BENCH_BATCH (100)  BENCH_STREAMS (4)  BENCH_WINDOW (8: messages in flight per
 *   stream, both modes; an ack that waits for a commit needs more in flight for the same rate)
 *   BENCH_REPEATS (2)              throughput pairs (memory, postgres) measured (0: recovery only)
 *   BENCH_LATENCY_LOAD (50)        open-loop rate as % of the durable closed-loop maximum (0: skip)
 *   BENCH_RECOVERY_COMMANDS (1000000)  0 skips the recovery part
 *   BENCH_RECOVERY_RESTING (1600)  resting orders the journal's book grows to (8 accounts, each capped
 *                                  at a 1/8 share); 20000 gives the deep books of the issue-13 campaign
 *   BENCH_RECOVERY_SPREAD (50)     non-crossing limits rest up to this many ticks behind the touch
 *   BENCH_RECOVERY_CANCEL_PCT (40) share of commands that cancel one of the account's resting orders
 *   BENCH_RECOVERY_RUNS (1)        recoveries from the journal alone (the median is reported)
 *   MIGRATION_INITIAL_STATE (shadow)   as for the service
 *
 * 3. The snapshot checksum's hold on the event loop: the final pair's snapshot is checksummed three
 *    times each way, alternating — synchronously (canonicalJson + sha256 in one go, as before slicing:
 *    the loop is blocked for the whole time) and with canonicalChecksum (slices between which the loop
 *    runs) — while a 1 ms timer measures the event-loop delay (perf_hooks monitorEventLoopDelay, max).
 *
 * Writes bench-results/durability-latest.json and appends a line to durability-history.jsonl. Never fails
 * on timing; exits non-zero only when a server or the database cannot be used.
 */
import { credentials } from '@grpc/grpc-js';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OrdersServiceClient } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { canonicalChecksum } from '../server/adapters/postgres/canonical-checksum.ts';
import { canonicalJson, sha256Hex } from '../server/adapters/postgres/canonical-json.ts';
import { openPostgresPersistence } from '../server/adapters/postgres/postgres-persistence.ts';
import { createTestSchema, LOCAL_TEST_DATABASE_URL, type TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { TradingService } from '../server/adapters/trading-service.ts';
import { BOOK_IMPLEMENTATIONS } from '../server/core/book-implementations.ts';
import { DEFAULT_INSTRUMENTS, compileInstrument } from '../server/core/instrument.ts';
import { OrderType, Side, StpMode, TimeInForce } from '../server/core/types.ts';
import { loadConfig } from '../server/config.ts';
import { AccountIds } from '../server/pairs/account-ids.ts';
import { singleBook } from '../server/pairs/serving-book.ts';
import { TradingPair } from '../server/pairs/trading-pair.ts';
import { ManualClock } from '../server/ports/clock.ts';
import type { JournalEntry } from '../server/ports/journal.ts';
import { Random } from '../simulator/random.ts';
import { OrderFlowGenerator, cancelAllBenchOrders, streamLatency, streamThroughput, type LatencyResult, type ThroughputResult } from './grpc-load-client.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_DIR = join(ROOT, 'bench-results');

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return n;
}

const DATABASE_URL = process.env['DATABASE_URL'] || LOCAL_TEST_DATABASE_URL;
const SECONDS = envNumber('BENCH_SECONDS', 5);
const WARMUP = envNumber('BENCH_WARMUP_SECONDS', 1);
const BATCH = envNumber('BENCH_BATCH', 100);
const STREAMS = envNumber('BENCH_STREAMS', 4);
const WINDOW = envNumber('BENCH_WINDOW', 8);
const REPEATS = envNumber('BENCH_REPEATS', 2);
const LATENCY_LOAD = envNumber('BENCH_LATENCY_LOAD', 50);
const RECOVERY_COMMANDS = envNumber('BENCH_RECOVERY_COMMANDS', 1_000_000);
const RECOVERY_RESTING = envNumber('BENCH_RECOVERY_RESTING', 1600);
const RECOVERY_SPREAD = Math.max(1, envNumber('BENCH_RECOVERY_SPREAD', 50));
const RECOVERY_CANCEL_PCT = Math.min(100, envNumber('BENCH_RECOVERY_CANCEL_PCT', 40));
const RECOVERY_RUNS = Math.max(1, envNumber('BENCH_RECOVERY_RUNS', 1));
const MIGRATION = process.env['MIGRATION_INITIAL_STATE'] || 'shadow';
const SNAPSHOT_EVERY = 100_000;

// ---- the service process ----

type Mode = 'memory' | 'postgres';

interface ServerProcess {
  child: ChildProcess;
  address: string;
}

async function startServer(mode: Mode, schema: TestSchema): Promise<ServerProcess> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: '0',
    ADMIN_HOST: '127.0.0.1',
    ADMIN_PORT: '0',
    AUTH_MODE: 'header',
    // The session store's per-account limits would cap the load generator, not the journal.
    RATE_LIMIT_PER_SECOND: '10000000',
    RATE_LIMIT_BURST: '1000000000',
    MIGRATION_INITIAL_STATE: MIGRATION,
    PERSISTENCE: mode,
    DATABASE_URL,
    DATABASE_SCHEMA: schema.name,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${mode} server did not start:\n${out.join('')}`)), 60_000);
    child.stdout!.on('data', (c: Buffer) => {
      out.push(c.toString());
      const m = /listening for gRPC on (127\.0\.0\.1:\d+)/.exec(out.join(''));
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.stderr!.on('data', (c: Buffer) => out.push(c.toString()));
    child.on('exit', (code) => reject(new Error(`${mode} server exited (${code}):\n${out.join('')}`)));
  });
  return { child, address };
}

async function stopServer(p: ServerProcess): Promise<void> {
  if (p.child.exitCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (p.child.exitCode === null) p.child.kill('SIGKILL');
}

interface ModeRun {
  throughput: ThroughputResult[];
  latency?: LatencyResult;
}

async function measureThroughput(mode: Mode, schema: TestSchema, run: number): Promise<ThroughputResult> {
  const server = await startServer(mode, schema);
  const client = new OrdersServiceClient(server.address, credentials.createInsecure());
  try {
    if (WARMUP > 0) await streamThroughput(client, new OrderFlowGenerator({ tag: `w${mode}${run}`, seed: 7 + run, cancels: true }), BATCH, STREAMS, WINDOW, WARMUP);
    await cancelAllBenchOrders(client);
    return await streamThroughput(client, new OrderFlowGenerator({ tag: `t${mode}${run}`, seed: 1 + run, cancels: true }), BATCH, STREAMS, WINDOW, SECONDS);
  } finally {
    client.close();
    await stopServer(server);
  }
}

async function measureLatency(mode: Mode, schema: TestSchema, batchesPerSec: number): Promise<LatencyResult> {
  const server = await startServer(mode, schema);
  const client = new OrdersServiceClient(server.address, credentials.createInsecure());
  try {
    if (WARMUP > 0) await streamThroughput(client, new OrderFlowGenerator({ tag: `lw${mode}`, seed: 11, cancels: true }), BATCH, STREAMS, WINDOW, WARMUP);
    await cancelAllBenchOrders(client);
    return await streamLatency(client, new OrderFlowGenerator({ tag: `l${mode}`, seed: 3, cancels: true }), BATCH, STREAMS, batchesPerSec, SECONDS);
  } finally {
    client.close();
    await stopServer(server);
  }
}

// ---- recovery ----

const quiet = { info: () => {}, error: (m: string, e?: unknown) => console.error(m, e) };

/** Fills the journal of BTCUSDT with `count` commands applied to a real pair (seeded mix); returns the pair's state hash and, if asked, the snapshot at `snapshotAt`. */
/** What must match after recovery (account ids differ between processes, so no stateHash): the full book and the numbering. */
function fingerprintOf(pair: TradingPair): string {
  return JSON.stringify({ book: pair.snapshot(0), sequences: pair.sequences, command: pair.lastCommandSequence });
}

interface ChecksumLoopDelay {
  snapshotOrders: number;
  closedOrders: number;
  textBytes: number;
  /** Event-loop delay, max over each run (ms): synchronous checksum, then sliced. */
  syncMaxDelayMs: number[];
  slicedMaxDelayMs: number[];
  /** Wall time of each run (ms). */
  syncMs: number[];
  slicedMs: number[];
  /** Event-loop delay, max (ms), over 1 s of no work: what the machine's load alone causes. */
  idleMaxDelayMs: number[];
}

/** Event-loop delay (max, ms) while `work` runs, sampled by a 1 ms timer. */
async function loopDelayDuring(work: () => Promise<unknown> | unknown): Promise<{ maxDelayMs: number; ms: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await new Promise((r) => setTimeout(r, 20)); // the monitor's timer is running before the work starts
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  await new Promise((r) => setTimeout(r, 5)); // a delay caused at the very end is recorded
  h.disable();
  return { maxDelayMs: round(h.max / 1e6, 1), ms: round(ms, 1) };
}

async function measureChecksumLoopDelay(pair: TradingPair, nowMs: number): Promise<ChecksumLoopDelay> {
  const snapshot = pair.exportSnapshot(nowMs);
  const out: ChecksumLoopDelay = { snapshotOrders: snapshot.orders.length, closedOrders: snapshot.closedOrders?.length ?? 0, textBytes: 0, syncMaxDelayMs: [], slicedMaxDelayMs: [], syncMs: [], slicedMs: [], idleMaxDelayMs: [] };
  for (let i = 0; i < 3; i++) {
    const sync = await loopDelayDuring(() => {
      const text = canonicalJson(snapshot);
      out.textBytes = text.length;
      return sha256Hex(text);
    });
    out.syncMaxDelayMs.push(sync.maxDelayMs);
    out.syncMs.push(sync.ms);
    const sliced = await loopDelayDuring(() => canonicalChecksum(snapshot));
    out.slicedMaxDelayMs.push(sliced.maxDelayMs);
    out.slicedMs.push(sliced.ms);
    out.idleMaxDelayMs.push((await loopDelayDuring(() => new Promise((r) => setTimeout(r, 1000)))).maxDelayMs);
  }
  return out;
}

async function fillJournal(schema: TestSchema, count: number, snapshotAt: number): Promise<{ seconds: number; hash: string; resting: number; checksum: ChecksumLoopDelay }> {
  const db = await openPostgresPersistence({ connectionString: DATABASE_URL, options: schema.options, journal: { maxBatch: 5000, maxDelayMs: 0 }, writeTimeoutMs: 60_000 });
  const instrument = compileInstrument(DEFAULT_INSTRUMENTS.find((i) => i.symbol === 'BTCUSDT')!);
  const accounts = new AccountIds();
  const clock = new ManualClock(1_700_000_000_000);
  const pair = new TradingPair({ instrument, createBook: singleBook(BOOK_IMPLEMENTATIONS.legacy), clock, accountName: (id) => accounts.nameOf(id) ?? '' });
  let chunk: JournalEntry[] = [];
  pair.setRecorder({ record: (_p, e) => chunk.push(e) });
  const ids = Array.from({ length: 8 }, (_, i) => accounts.intern(`recovery-${i}`));
  const open: number[][] = ids.map(() => []);
  const rng = new Random(42);
  const perAccount = Math.max(1, Math.round(RECOVERY_RESTING / ids.length));
  const started = performance.now();
  let inFlight: Promise<void> = Promise.resolve();
  for (let n = 1; n <= count; n++) {
    clock.advanceMs(1);
    const a = rng.nextInt(ids.length);
    const mine = open[a]!;
    const roll = rng.nextInt(100);
    if (mine.length > 0 && (roll < RECOVERY_CANCEL_PCT || mine.length > perAccount)) {
      const i = rng.nextInt(mine.length);
      const id = mine[i]!;
      mine[i] = mine[mine.length - 1]!;
      mine.pop();
      pair.cancel(ids[a]!, id);
    } else {
      const buy = rng.nextInt(2) === 0;
      const crossing = roll >= 85;
      const price = 6_500_000 + (buy ? 1 : -1) * (crossing ? rng.nextInt(20) : -1 - rng.nextInt(RECOVERY_SPREAD));
      const r = pair.submit(ids[a]!, {
        clientOrderId: `r${n}`,
        side: buy ? Side.Buy : Side.Sell,
        type: OrderType.Limit,
        tif: crossing ? TimeInForce.IOC : TimeInForce.GTC,
        postOnly: false,
        price,
        quantity: 1 + rng.nextInt(100),
        stp: StpMode.CancelTaker,
      });
      if (r.order !== undefined && r.order.remaining > 0) mine.push(r.order.orderId);
    }
    if (n === snapshotAt) {
      await inFlight;
      await db.journal.append(chunk);
      chunk = [];
      await db.recovery.saveSnapshot(pair.exportSnapshot(clock.nowMs()));
    }
    if (chunk.length >= 10_000) {
      const entries = chunk;
      chunk = [];
      await inFlight; // one chunk in flight while the next is generated
      inFlight = db.journal.append(entries);
    }
  }
  await inFlight;
  await db.journal.append(chunk);
  const seconds = (performance.now() - started) / 1000;
  await db.close();
  const checksum = await measureChecksumLoopDelay(pair, clock.nowMs());
  return { seconds, hash: fingerprintOf(pair), resting: open.reduce((a, m) => a + m.length, 0), checksum };
}

interface RecoveryRun {
  commands: number;
  snapshotSequence: number;
  replayed: number;
  recoveryMs: number;
  /** The recovered book's state hash equals the generating pair's. */
  matches: boolean;
}

async function recoverOnce(schema: TestSchema, hash: string): Promise<RecoveryRun> {
  const db = await openPostgresPersistence({ connectionString: DATABASE_URL, options: schema.options });
  const service = new TradingService(
    loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', AUTH_MODE: 'header', PERSISTENCE: 'postgres', MIGRATION_INITIAL_STATE: MIGRATION, SNAPSHOT_EVERY_COMMANDS: '0', SNAPSHOT_INTERVAL_MS: '0' }),
    { logger: quiet, persistence: db },
  );
  const started = performance.now();
  await service.start();
  const recoveryMs = performance.now() - started;
  const r = service.recoveryReport!.pairs.find((p) => p.pair === 'BTCUSDT')!;
  const matches = fingerprintOf(service.pairs.get('BTCUSDT')!) === hash;
  // The graceful stop snapshots a pair that replayed commands; the caller deletes snapshots it does not want.
  await service.stop(0);
  await db.close();
  return { commands: r.sequence, snapshotSequence: r.snapshotSequence, replayed: r.replayed, recoveryMs: Math.round(recoveryMs), matches };
}

// ---- main ----

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
  } catch {
    return 'unknown';
  }
}

const round = (x: number, d = 0): number => Math.round(x * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  const schema = await createTestSchema(DATABASE_URL, 'bench_durability');
  console.log(`bench:durability on ${cpus().length} CPUs, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}; PostgreSQL ${DATABASE_URL.replace(/:[^:@/]+@/, ':***@')} schema ${schema.name}; migration ${MIGRATION}`);
  try {
    const runs: Record<Mode, ModeRun> = { memory: { throughput: [] }, postgres: { throughput: [] } };
    for (let i = 0; i < REPEATS; i++) {
      for (const mode of ['memory', 'postgres'] as const) {
        const t = await measureThroughput(mode, schema, i);
        runs[mode].throughput.push(t);
        console.log(`  ${mode.padEnd(8)} run ${i + 1}: ${round(t.ordersPerSec)} acknowledged orders/s (${t.tally.unexpectedCount} unexpected errors${t.tally.unexpectedCount ? `: ${JSON.stringify(t.tally.unexpected).slice(0, 300)}` : ''})`);
      }
    }
    const best = (m: Mode) => (runs[m].throughput.length === 0 ? 0 : Math.max(...runs[m].throughput.map((t) => t.ordersPerSec)));
    const ratio = REPEATS > 0 ? best('postgres') / best('memory') : 0;
    let latencyRate = 0;
    if (LATENCY_LOAD > 0 && REPEATS > 0) {
      latencyRate = ((best('postgres') * LATENCY_LOAD) / 100) / BATCH;
      for (const mode of ['memory', 'postgres'] as const) {
        runs[mode].latency = await measureLatency(mode, schema, latencyRate);
        const l = runs[mode].latency!;
        console.log(`  ${mode.padEnd(8)} latency at ${round(latencyRate * BATCH)} orders/s (${round(latencyRate, 1)} batches/s): p50 ${l.p50} µs, p99 ${l.p99} µs, max ${l.max} µs`);
      }
    }

    let recovery:
      | { fillSeconds: number; restingOrders: number; settings: { resting: number; spread: number; cancelPct: number; runs: number }; withoutSnapshot: RecoveryRun; withoutSnapshotRunsMs: number[]; withSnapshot: RecoveryRun; snapshotChecksum: ChecksumLoopDelay }
      | undefined;
    if (RECOVERY_COMMANDS > 0) {
      const recoverySchema = await createTestSchema(DATABASE_URL, 'bench_recovery');
      try {
        const snapshotAt = Math.max(1, RECOVERY_COMMANDS - SNAPSHOT_EVERY / 2);
        console.log(`  filling the journal with ${RECOVERY_COMMANDS} commands (snapshot at ${snapshotAt}) ...`);
        const filled = await fillJournal(recoverySchema, RECOVERY_COMMANDS, snapshotAt);
        console.log(`  filled in ${round(filled.seconds, 1)} s; ${filled.resting} orders resting at the end`);
        const c = filled.checksum;
        console.log(`  snapshot checksum (${c.snapshotOrders} open + ${c.closedOrders} closed orders, ${round(c.textBytes / 1e6, 1)} MB of canonical JSON): event-loop delay max ${c.syncMaxDelayMs.join('/')} ms synchronous (${c.syncMs.join('/')} ms) vs ${c.slicedMaxDelayMs.join('/')} ms sliced (${c.slicedMs.join('/')} ms); ${c.idleMaxDelayMs.join('/')} ms over 1 s idle; load ${loadavg()[0]!.toFixed(2)}`);
        const withSnapshot = await recoverOnce(recoverySchema, filled.hash);
        console.log(`  recovery with a snapshot: ${withSnapshot.recoveryMs} ms (snapshot ${withSnapshot.snapshotSequence}, ${withSnapshot.replayed} replayed, state ${withSnapshot.matches ? 'matches' : 'DIFFERS'})`);
        const runsNoSnapshot: RecoveryRun[] = [];
        for (let i = 0; i < RECOVERY_RUNS; i++) {
          // Every graceful stop after a recovery that replayed commands snapshots (issue 13 item 10): drop them.
          const admin = await openPostgresPersistence({ connectionString: DATABASE_URL, options: recoverySchema.options });
          await admin.pool.query('DELETE FROM order_book_snapshots');
          await admin.close();
          const run = await recoverOnce(recoverySchema, filled.hash);
          runsNoSnapshot.push(run);
          console.log(`  recovery from the journal alone: ${run.recoveryMs} ms (${run.replayed} replayed, state ${run.matches ? 'matches' : 'DIFFERS'}), load ${loadavg()[0]!.toFixed(2)}`);
        }
        const withoutSnapshot = [...runsNoSnapshot].sort((a, b) => a.recoveryMs - b.recoveryMs)[Math.floor((runsNoSnapshot.length - 1) / 2)]!;
        const secondsPerMillion = (r: RecoveryRun) => round((r.recoveryMs / Math.max(1, r.replayed)) * 1000, 1);
        console.log(`  = ${secondsPerMillion(withoutSnapshot)} s per million replayed commands from the journal alone, ${secondsPerMillion(withSnapshot)} s per million with the snapshot load (${filled.resting} resting orders)`);
        recovery = {
          fillSeconds: round(filled.seconds, 1),
          restingOrders: filled.resting,
          settings: { resting: RECOVERY_RESTING, spread: RECOVERY_SPREAD, cancelPct: RECOVERY_CANCEL_PCT, runs: RECOVERY_RUNS },
          withoutSnapshot,
          withoutSnapshotRunsMs: runsNoSnapshot.map((r) => r.recoveryMs),
          withSnapshot,
          snapshotChecksum: filled.checksum,
        };
      } finally {
        await recoverySchema.drop();
      }
    }

    const result = {
      at: new Date().toISOString(),
      commit: gitCommit(),
      machine: { cpus: cpus().length, loadavg: loadavg().map((x) => round(x, 2)), node: process.version },
      settings: { seconds: SECONDS, warmupSeconds: WARMUP, batch: BATCH, streams: STREAMS, window: WINDOW, repeats: REPEATS, migration: MIGRATION, latencyLoadPercent: LATENCY_LOAD },
      throughput: {
        memoryOrdersPerSec: runs.memory.throughput.map((t) => round(t.ordersPerSec)),
        postgresOrdersPerSec: runs.postgres.throughput.map((t) => round(t.ordersPerSec)),
        bestMemory: round(best('memory')),
        bestPostgres: round(best('postgres')),
        ratio: round(ratio, 3),
        target: 0.5,
        meetsTarget: ratio >= 0.5,
        unexpectedErrors: [...runs.memory.throughput, ...runs.postgres.throughput].reduce((a, t) => a + t.tally.unexpectedCount, 0),
      },
      latency: LATENCY_LOAD > 0 && REPEATS > 0 ? {
        offeredOrdersPerSec: round(latencyRate * BATCH),
        memory: { p50us: runs.memory.latency!.p50, p99us: runs.memory.latency!.p99, maxUs: runs.memory.latency!.max },
        postgres: { p50us: runs.postgres.latency!.p50, p99us: runs.postgres.latency!.p99, maxUs: runs.postgres.latency!.max },
      } : null,
      recovery: recovery ?? null,
    };
    console.log(`\ndurable ${result.throughput.bestPostgres} orders/s vs in-memory ${result.throughput.bestMemory} orders/s: ${round(ratio * 100, 1)} % (target ≥ 50 %)`);
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, 'durability-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    appendFileSync(
      join(RESULTS_DIR, 'durability-history.jsonl'),
      `${JSON.stringify({
        at: result.at,
        commit: result.commit,
        memory: result.throughput.bestMemory,
        postgres: result.throughput.bestPostgres,
        ratio: result.throughput.ratio,
        p99us: result.latency?.postgres.p99us ?? null,
        recoveryMsNoSnapshot: recovery?.withoutSnapshot.recoveryMs ?? null,
        recoveryMsSnapshot: recovery?.withSnapshot.recoveryMs ?? null,
        recoveryMsNoSnapshotRuns: recovery?.withoutSnapshotRunsMs ?? null,
        restingOrders: recovery?.restingOrders ?? null,
        checksumLoopDelayMaxMs: recovery ? { sync: recovery.snapshotChecksum.syncMaxDelayMs, sliced: recovery.snapshotChecksum.slicedMaxDelayMs, idle: recovery.snapshotChecksum.idleMaxDelayMs } : null,
        settings: { seconds: SECONDS, repeats: REPEATS, batch: BATCH, streams: STREAMS, window: WINDOW, recoveryCommands: RECOVERY_COMMANDS, recoveryResting: RECOVERY_RESTING, recoverySpread: RECOVERY_SPREAD, recoveryCancelPct: RECOVERY_CANCEL_PCT },
      })}\n`,
    );
    console.log('wrote bench-results/durability-latest.json and appended bench-results/durability-history.jsonl');
  } finally {
    await schema.drop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('bench:durability failed:', err);
    process.exit(1);
  },
);
