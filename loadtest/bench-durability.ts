/**
 * Durability benchmark (`npm run bench:durability`):
 * 1. Durable acknowledged orders/s through gRPC — batched OrderFlow streams (one per bench account, from
 *    BENCH_CLIENTS client processes) against the real service process (server/main.ts, sessions through
 *    SessionService.Login, client order ids, a fresh process and for the durable run a fresh schema each
 *    time) journaling to PostgreSQL with group commit — beside the same run with the journal off
 *    (PERSISTENCE=memory). BENCH_REPEATS pairs, the order alternating; each pair's ratio is reported and
 *    the median of them; target: durable ≥ 50 % of in-memory in EVERY pair. Server and client CPU per
 *    order beside each figure. Then the acknowledgement latency (open loop: the `npm run load`
 *    generator, from the intended send time) at BENCH_LATENCY_LOAD % of the durable median maximum, the
 *    same rate on both; target: durable p99 < 20 ms.
 * 2. Recovery time for 1,000,000 journaled commands: the journal is filled in process (a seeded command
 *    mix applied to a real TradingPair, its entries appended through the PostgresJournal), then the real
 *    TradingService starts on it and recovers — once from the journal alone, once from a snapshot taken
 *    half a snapshot interval before the end (the average case with SNAPSHOT_EVERY_COMMANDS).
 *
 *   DATABASE_URL (postgres://postgres@127.0.0.1:5432/test)  a fresh schema is created and dropped
 *   BENCH_SECONDS (5)  BENCH_WARMUP_SECONDS (1)  BENCH_BATCH (100)  BENCH_CLIENTS (2)  BENCH_WINDOW (8: messages in flight per
 *   stream, both modes; an ack that waits for a commit needs more in flight for the same rate)
 *   BENCH_REPEATS (3)              throughput pairs (memory, postgres) measured (0: recovery only)
 *   BENCH_RATE_LIMIT (20000)       RATE_LIMIT_PER_SECOND per account (the default's 1000 would cap the load, and 10000 capped the
 *                                  in-memory side at ~85,000 orders/s on a quiet 2-core machine; burst stays default)
 *   BENCH_LATENCY_LOAD (50)        open-loop rate as % of the durable median closed-loop maximum (0: skip)
 *   BENCH_LATENCY_WARMUP_SECONDS (3)  the open-loop client warms itself and the server up at that rate first
 *   BENCH_SERVICE_RUNTIME (dist)   dist: `npm run build:server`, then node dist/server/main.js (as npm start); tsx: the sources
 *   BENCH_RESULTS_DIR (bench-results)
 *   BENCH_RECOVERY_COMMANDS (1000000)  0 skips the recovery part
 *   BENCH_RECOVERY_RESTING (1600)  resting orders the journal's book grows to (8 accounts, each capped
 *                                  at a 1/8 share); 20000 gives the deep books of the issue-13 campaign
 *   BENCH_RECOVERY_SPREAD (50)     non-crossing limits rest up to this many ticks behind the touch
 *   BENCH_RECOVERY_CANCEL_PCT (40) share of commands that cancel one of the account's resting orders
 *   BENCH_RECOVERY_RUNS (1)        recoveries from the journal alone (the median is reported)
 *   MIGRATION_INITIAL_STATE (shadow)   as for the service
 *   BENCH_PROFILE (0)              1: one more throughput run of each mode under --cpu-prof; prints server
 *                                  CPU µs per order by function and by group, durable beside in-memory
 *
 * 3. The snapshot checksum's hold on the event loop: the final pair's snapshot is checksummed three
 *    times each way, alternating — synchronously (canonicalJson + sha256 in one go, as before slicing:
 *    the loop is blocked for the whole time) and as saveSnapshot does it (the payload text in slices
 *    between which the loop runs, snapshot-payload.ts, then its checksum in a worker thread) — while a
 *    1 ms timer measures the event-loop delay (perf_hooks monitorEventLoopDelay, max).
 *
 * Writes bench-results/durability-latest.json and appends a line to durability-history.jsonl. Never fails
 * on timing; exits non-zero only when a server or the database cannot be used.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { canonicalJson, sha256Hex } from '../server/adapters/postgres/canonical-json.ts';
import { jsonChecksumOffLoop } from '../server/adapters/postgres/json-checksum.ts';
import { snapshotPayloadBytes } from '../server/adapters/postgres/snapshot-payload.ts';
import { openPostgresPersistence } from '../server/adapters/postgres/postgres-persistence.ts';
import { createTestSchema, LOCAL_TEST_DATABASE_URL, type TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { TradingService } from '../server/adapters/trading-service.ts';
import { loadConfig } from '../server/config.ts';
import { TradingPair } from '../server/pairs/trading-pair.ts';
import { buildService, latencyWarmupSeconds, measureWindow, openLoopArgs, serviceRuntime, throughputJobs, tokensFor, withService, type ServerProcess } from './bench-processes.ts';
import { gitCommit, median } from './bench-support.ts';
import { summarizeProfile, type ProfileSummary } from './cpu-profile-summary.ts';
import { fillJournal as fillRecoveryJournal } from './journal-fill.ts';
import { BENCH_ACCOUNTS, sumCounts, unexpectedCount, type TallyCounts } from './grpc-load-client.ts';
import type { LoadResult } from './load-run.ts';

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
const CLIENTS = Math.min(BENCH_ACCOUNTS.length, Math.max(1, envNumber('BENCH_CLIENTS', 2)));
const RATE_LIMIT = envNumber('BENCH_RATE_LIMIT', 20_000);
const RESULTS = process.env['BENCH_RESULTS_DIR'] || RESULTS_DIR;
const RUNTIME = serviceRuntime();
const WINDOW = envNumber('BENCH_WINDOW', 8);
const REPEATS = envNumber('BENCH_REPEATS', 3);
const LATENCY_LOAD = envNumber('BENCH_LATENCY_LOAD', 50);
const RECOVERY_COMMANDS = envNumber('BENCH_RECOVERY_COMMANDS', 1_000_000);
const RECOVERY_RESTING = envNumber('BENCH_RECOVERY_RESTING', 1600);
const RECOVERY_SPREAD = Math.max(1, envNumber('BENCH_RECOVERY_SPREAD', 50));
const RECOVERY_CANCEL_PCT = Math.min(100, envNumber('BENCH_RECOVERY_CANCEL_PCT', 40));
const RECOVERY_RUNS = Math.max(1, envNumber('BENCH_RECOVERY_RUNS', 1));
const MIGRATION = process.env['MIGRATION_INITIAL_STATE'] || 'shadow';
const PROFILE = process.env['BENCH_PROFILE'] === '1';
const SNAPSHOT_EVERY = 100_000;

// ---- the service process ----

type Mode = 'memory' | 'postgres';

interface ThroughputRun {
  mode: Mode;
  pair: number;
  ordersPerSec: number;
  serverCores: number;
  clientCores: number;
  serverUsPerOrder: number;
  clientUsPerOrder: number;
  loadavgStart: number;
  loadavgEnd: number;
  counts: TallyCounts;
  /** The durable service's group commits (its /metrics, warm-up included); undefined in memory. */
  journal: JournalWrites | undefined;
}

/** A fresh service process (and for `postgres` a fresh schema: no journal carried over), dropped after `use`. */
function withServer<T>(mode: Mode, use: (server: ServerProcess) => Promise<T>, profileDir?: string): Promise<T> {
  const env = { PERSISTENCE: mode, MIGRATION_INITIAL_STATE: MIGRATION, RATE_LIMIT_PER_SECOND: String(RATE_LIMIT) };
  const freshSchema = mode === 'postgres' ? { databaseUrl: DATABASE_URL, prefix: 'bench_durability' } : undefined;
  return withService({ env, runtime: RUNTIME, profileDir, freshSchema }, use);
}

function measureThroughput(mode: Mode, pair: number, profileDir?: string): Promise<ThroughputRun> {
  return withServer(mode, async (server) => {
    const plan = { mode: 'stream' as const, clients: CLIENTS, seconds: SECONDS, warmupSeconds: WARMUP, seed: 1 + pair, tag: `t${mode}${pair}`, inFlight: WINDOW, batch: BATCH };
    const w = await measureWindow(server, throughputJobs(plan, server.address, await tokensFor(server)));
    const orders = w.results.reduce((a, r) => a + r.throughput!.orders, 0);
    return {
      mode,
      pair,
      ordersPerSec: orders / SECONDS,
      serverCores: w.serverCpuMs / w.wallMs,
      clientCores: w.clientCpuUs / 1000 / w.wallMs,
      serverUsPerOrder: (w.serverCpuMs * 1000) / Math.max(1, orders),
      clientUsPerOrder: w.clientCpuUs / Math.max(1, orders),
      loadavgStart: w.loadStart,
      loadavgEnd: w.loadEnd,
      counts: sumCounts(w.results.map((r) => r.throughput!.counts)),
      journal: mode === 'postgres' ? await journalWrites(server) : undefined,
    };
  }, profileDir);
}

interface LatencyRun {
  mode: Mode;
  ordersPerSec: number;
  result: Omit<LoadResult, 'per_second' | 'distribution'>;
  serverCores: number;
  /** The durable service's group commits over the whole process life (its /metrics); undefined in memory. */
  journal: JournalWrites | undefined;
}

/** Group-commit figures from the service's /metrics: transactions, mean entries and mean time per transaction. */
interface JournalWrites {
  writes: number;
  meanEntries: number;
  meanWriteMs: number;
  /** Transactions slower than 10, 20 and 50 ms (the histogram's buckets): whether an ack tail is the database's. */
  slower: { over10ms: number; over20ms: number; over50ms: number };
}

async function journalWrites(server: ServerProcess): Promise<JournalWrites | undefined> {
  if (server.admin === undefined) return undefined;
  const text = await (await fetch(`${server.admin}/metrics`)).text();
  const value = (name: string): number | undefined => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
    return m === null ? undefined : Number(m[1]);
  };
  const writes = value('trading_journal_commit_duration_seconds_count');
  const seconds = value('trading_journal_commit_duration_seconds_sum');
  const entries = value('trading_journal_batch_entries_sum');
  if (writes === undefined || seconds === undefined || entries === undefined || writes === 0) return undefined;
  const over = (le: string): number => writes - (value(`trading_journal_commit_duration_seconds_bucket\\{le="${le}"\\}`) ?? 0);
  return { writes, meanEntries: round(entries / writes, 1), meanWriteMs: round((seconds * 1000) / writes, 2), slower: { over10ms: over('0.01'), over20ms: over('0.02'), over50ms: over('0.05') } };
}

function measureLatency(mode: Mode, ordersPerSec: number): Promise<LatencyRun> {
  return withServer(mode, async (server) => {
    const args = openLoopArgs('stream', ordersPerSec, server, { seconds: SECONDS, batch: BATCH, seed: 3 });
    const w = await measureWindow(server, [{ kind: 'latency', tokens: await tokensFor(server), args, warmupSeconds: latencyWarmupSeconds() }]);
    const { per_second: _s, distribution: _d, ...result } = w.results[0]!.latency!;
    return { mode, ordersPerSec: args.rate, result, serverCores: w.serverCpuMs / w.wallMs, journal: mode === 'postgres' ? await journalWrites(server) : undefined };
  });
}

// ---- recovery ----

const quiet = { info: () => {}, error: (m: string, e?: unknown) => console.error(m, e) };

/** What must match after recovery (account ids differ between processes, so no stateHash): the full book and the numbering. */
function fingerprintOf(pair: TradingPair): string {
  return JSON.stringify({ book: pair.snapshot(0), sequences: pair.sequences, command: pair.lastCommandSequence });
}

interface ChecksumLoopDelay {
  snapshotOrders: number;
  closedOrders: number;
  /** Canonical JSON of the snapshot (what the synchronous run hashes). */
  textBytes: number;
  /** The payload text saveSnapshot writes (closed orders as rows). */
  payloadBytes: number;
  /** Event-loop delay, max over each run (ms): synchronous checksum, then as the snapshotter does it (snapshotToSave, sliced text, checksum in a worker). */
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
  const out: ChecksumLoopDelay = { snapshotOrders: snapshot.orders.length, closedOrders: snapshot.closedOrders?.length ?? 0, textBytes: 0, payloadBytes: 0, syncMaxDelayMs: [], slicedMaxDelayMs: [], syncMs: [], slicedMs: [], idleMaxDelayMs: [] };
  for (let i = 0; i < 3; i++) {
    const sync = await loopDelayDuring(() => {
      const text = canonicalJson(snapshot);
      out.textBytes = text.length;
      return sha256Hex(text);
    });
    out.syncMaxDelayMs.push(sync.maxDelayMs);
    out.syncMs.push(sync.ms);
    const sliced = await loopDelayDuring(async () => {
      const { bytes } = await snapshotPayloadBytes(pair.snapshotToSave(nowMs));
      out.payloadBytes = bytes.length;
      return jsonChecksumOffLoop(bytes);
    });
    out.slicedMaxDelayMs.push(sliced.maxDelayMs);
    out.slicedMs.push(sliced.ms);
    out.idleMaxDelayMs.push((await loopDelayDuring(() => new Promise((r) => setTimeout(r, 1000)))).maxDelayMs);
  }
  return out;
}

/** The journal (loadtest/journal-fill.ts) with a snapshot at `snapshotAt`, and the snapshot checksum's hold on the loop. */
async function fillJournal(schema: TestSchema, count: number, snapshotAt: number): Promise<{ seconds: number; hash: string; resting: number; checksum: ChecksumLoopDelay }> {
  const filled = await fillRecoveryJournal({ databaseUrl: DATABASE_URL, schemaOptions: schema.options, commands: count, resting: RECOVERY_RESTING, spread: RECOVERY_SPREAD, cancelPct: RECOVERY_CANCEL_PCT, snapshotAt });
  const checksum = await measureChecksumLoopDelay(filled.pair, filled.nowMs);
  return { seconds: filled.seconds, hash: fingerprintOf(filled.pair), resting: filled.restingOrders, checksum };
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

const round = (x: number, d = 0): number => Math.round(x * 10 ** d) / 10 ** d;

const THROUGHPUT_TARGET = 0.5;
const P99_TARGET_US = 20_000;

function runJson(t: ThroughputRun): object {
  return {
    ordersPerSec: round(t.ordersPerSec),
    serverCores: round(t.serverCores, 3),
    clientCores: round(t.clientCores, 3),
    serverUsPerOrder: round(t.serverUsPerOrder, 2),
    clientUsPerOrder: round(t.clientUsPerOrder, 2),
    loadavgStart: round(t.loadavgStart, 2),
    loadavgEnd: round(t.loadavgEnd, 2),
    /** Commands answered, in the window or while draining after it. */
    answered: t.counts.answered.submit + t.counts.answered.cancel,
    unexpectedErrors: unexpectedCount(t.counts),
    unexpected: t.counts.unexpected,
    journal: t.journal ?? null,
  };
}

async function main(): Promise<void> {
  const loadStart = loadavg().map((x) => round(x, 2));
  console.log(
    `bench:durability on ${cpus().length} CPUs, load ${loadStart.join(' ')}; PostgreSQL ${DATABASE_URL.replace(/:[^:@/]+@/, ':***@')} (a fresh schema per durable run); migration ${MIGRATION}; ` +
      `${REPEATS} pairs of ${SECONDS} s after ${WARMUP} s warm-up, ${CLIENTS} client processes, 8 streams × ${WINDOW} messages of ${BATCH} in flight; sessions (Login), RATE_LIMIT_PER_SECOND ${RATE_LIMIT}`,
  );
  if (RUNTIME === 'dist' && (REPEATS > 0 || PROFILE)) buildService();
  {
    const pairs: { memory: ThroughputRun; postgres: ThroughputRun; ratio: number; cpuRatio: number }[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const order: Mode[] = i % 2 === 0 ? ['memory', 'postgres'] : ['postgres', 'memory'];
      const got: Partial<Record<Mode, ThroughputRun>> = {};
      for (const mode of order) {
        const t = await measureThroughput(mode, i);
        got[mode] = t;
        const n = unexpectedCount(t.counts);
        console.log(
          `  pair ${i + 1} ${mode.padEnd(8)} ${round(t.ordersPerSec).toLocaleString('en-US').padStart(7)} acknowledged orders/s; server ${t.serverUsPerOrder.toFixed(1)} µs/order (${round(t.serverCores * 100)} % of a core), ` +
            `clients ${t.clientUsPerOrder.toFixed(1)} µs/order (${round(t.clientCores * 100)} %); load ${t.loadavgStart.toFixed(2)}→${t.loadavgEnd.toFixed(2)}; ${t.journal ? `${t.journal.writes} transactions of ${t.journal.meanEntries} entries, ${t.journal.meanWriteMs} ms each; ` : ''}${n} unexpected errors${n ? `: ${JSON.stringify(t.counts.unexpected).slice(0, 300)}` : ''}`,
        );
      }
      const ratio = got.postgres!.ordersPerSec / got.memory!.ordersPerSec;
      const cpuRatio = got.postgres!.serverUsPerOrder / got.memory!.serverUsPerOrder;
      pairs.push({ memory: got.memory!, postgres: got.postgres!, ratio, cpuRatio });
      console.log(`  pair ${i + 1}: durable / in-memory ${round(ratio * 100, 1)} % ${ratio >= THROUGHPUT_TARGET ? 'met' : 'NOT MET'}; server CPU per order durable / in-memory ${cpuRatio.toFixed(2)}×`);
    }
    const ratios = pairs.map((p) => p.ratio);
    const medianRatio = median(ratios);
    const durableMedian = median(pairs.map((p) => p.postgres.ordersPerSec));
    const memoryMedian = median(pairs.map((p) => p.memory.ordersPerSec));
    const everyPairMet = pairs.length > 0 && ratios.every((r) => r >= THROUGHPUT_TARGET);
    const latency: Partial<Record<Mode, LatencyRun>> = {};
    if (LATENCY_LOAD > 0 && REPEATS > 0) {
      const rate = (durableMedian * LATENCY_LOAD) / 100;
      for (const mode of ['postgres', 'memory'] as const) {
        const l = await measureLatency(mode, rate);
        latency[mode] = l;
        const u = l.result.latency_us;
        console.log(
          `  ${mode.padEnd(8)} ack latency at ${round(l.ordersPerSec)} orders/s (${LATENCY_LOAD} % of the durable median; ${round(l.ordersPerSec / BATCH, 1)} messages/s): p50 ${round(u.p50 / 1000, 2)} ms, p99 ${round(u.p99 / 1000, 2)} ms, max ${round(u.max / 1000, 2)} ms ` +
            `(achieved ${l.result.achieved_per_sec}/s, server ${round(l.serverCores * 100)} % of a core, send lag ${round(l.result.mean_send_lag_us / 1000, 2)} ms, unexpected ${l.result.errors.unexpected}, lost ${l.result.lost}` +
            `${l.journal ? `; ${l.journal.writes} journal transactions of ${l.journal.meanEntries} entries, ${l.journal.meanWriteMs} ms each on average, ${l.journal.slower.over10ms} over 10 ms, ${l.journal.slower.over20ms} over 20, ${l.journal.slower.over50ms} over 50` : ''})${mode === 'postgres' ? `  p99 < 20 ms ${u.p99 < P99_TARGET_US ? 'met' : 'NOT MET'}` : ''}`,
        );
      }
    }
    const profiles: Partial<Record<Mode, { run: ThroughputRun; summary: ProfileSummary }>> = {};
    if (PROFILE) {
      for (const mode of ['memory', 'postgres'] as const) {
        const dir = mkdtempSync(join(tmpdir(), `durability-prof-${mode}-`));
        const run = await measureThroughput(mode, REPEATS, dir);
        // The main thread's profile is the largest.
        const file = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
        if (file === undefined) continue;
        profiles[mode] = { run, summary: summarizeProfile(join(dir, file), ROOT) };
        console.log(`  profile ${mode}: ${round(run.ordersPerSec)} orders/s, ${run.serverUsPerOrder.toFixed(1)} µs/order; ${join(dir, file)}`);
      }
      const m = profiles.memory;
      const p = profiles.postgres;
      if (m !== undefined && p !== undefined) {
        // µs per order of a share: the share of the busy time times the run's server CPU per order.
        const perOrder = (x: { run: ThroughputRun; summary: ProfileSummary }, share: number) => share * x.run.serverUsPerOrder;
        const table = (pick: (s: ProfileSummary) => { name: string; share: number }[], title: string, n: number) => {
          const names = new Map<string, { memory: number; postgres: number }>();
          for (const s of pick(m.summary)) names.set(s.name, { memory: perOrder(m, s.share), postgres: 0 });
          for (const s of pick(p.summary)) {
            const e = names.get(s.name) ?? { memory: 0, postgres: 0 };
            e.postgres = perOrder(p, s.share);
            names.set(s.name, e);
          }
          const rows = [...names].sort((a, b) => b[1].postgres - b[1].memory - (a[1].postgres - a[1].memory)).slice(0, n);
          console.log(`  ${title} (server µs per order: in-memory, durable, extra)`);
          for (const [name, v] of rows) console.log(`    ${v.memory.toFixed(2).padStart(7)} ${v.postgres.toFixed(2).padStart(7)} ${(v.postgres - v.memory).toFixed(2).padStart(7)}  ${name}`);
        };
        table((s) => s.selfByGroup, 'self time by group, largest extra first', 20);
        table((s) => s.selfByFile, 'self time by file, largest extra first', 25);
        table((s) => s.selfByFunction, 'self time by function, largest extra first', 40);
        table((s) => s.inclusiveByFunction, 'inclusive time by function, largest extra first', 40);
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
        console.log(`  snapshot checksum (${c.snapshotOrders} open + ${c.closedOrders} closed orders, ${round(c.textBytes / 1e6, 1)} MB of canonical JSON, ${round(c.payloadBytes / 1e6, 1)} MB of payload): event-loop delay max ${c.syncMaxDelayMs.join('/')} ms synchronous (${c.syncMs.join('/')} ms) vs ${c.slicedMaxDelayMs.join('/')} ms sliced text + worker checksum (${c.slicedMs.join('/')} ms); ${c.idleMaxDelayMs.join('/')} ms over 1 s idle; load ${loadavg()[0]!.toFixed(2)}`);
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
      commit: gitCommit(ROOT, ['server', 'loadtest']),
      machine: { cpus: cpus().length, loadavgStart: loadStart, loadavgEnd: loadavg().map((x) => round(x, 2)), node: process.version },
      settings: { seconds: SECONDS, warmupSeconds: WARMUP, batch: BATCH, clients: CLIENTS, streams: BENCH_ACCOUNTS.length, window: WINDOW, repeats: REPEATS, migration: MIGRATION, latencyLoadPercent: LATENCY_LOAD, rateLimitPerSecond: RATE_LIMIT, auth: 'sessions', serviceRuntime: RUNTIME },
      throughput: {
        pairs: pairs.map((p) => ({ ratio: round(p.ratio, 3), cpuRatio: round(p.cpuRatio, 3), memory: runJson(p.memory), postgres: runJson(p.postgres) })),
        medianCpuRatio: round(median(pairs.map((p) => p.cpuRatio)), 3),
        ratios: ratios.map((r) => round(r, 3)),
        medianRatio: round(medianRatio, 3),
        medianMemory: round(memoryMedian),
        medianPostgres: round(durableMedian),
        target: THROUGHPUT_TARGET,
        everyPairMeetsTarget: everyPairMet,
        unexpectedErrors: pairs.reduce((a, p) => a + unexpectedCount(p.memory.counts) + unexpectedCount(p.postgres.counts), 0),
      },
      latency:
        latency.postgres && latency.memory
          ? {
              offeredOrdersPerSec: latency.postgres.ordersPerSec,
              p99TargetUs: P99_TARGET_US,
              p99Met: latency.postgres.result.latency_us.p99 < P99_TARGET_US,
              memory: { ...latency.memory.result.latency_us, scheduled: latency.memory.result.scheduled, completed: latency.memory.result.completed, achievedPerSec: latency.memory.result.achieved_per_sec, unexpected: latency.memory.result.errors.unexpected, serverCores: round(latency.memory.serverCores, 3) },
              journal: latency.postgres.journal ?? null,
              postgres: { ...latency.postgres.result.latency_us, scheduled: latency.postgres.result.scheduled, completed: latency.postgres.result.completed, achievedPerSec: latency.postgres.result.achieved_per_sec, unexpected: latency.postgres.result.errors.unexpected, serverCores: round(latency.postgres.serverCores, 3) },
            }
          : null,
      recovery: recovery ?? null,
      profile: PROFILE
        ? Object.fromEntries(
            Object.entries(profiles).map(([mode, x]) => [mode, { ordersPerSec: round(x.run.ordersPerSec), serverUsPerOrder: round(x.run.serverUsPerOrder, 2), selfByGroup: x.summary.selfByGroup, selfByFunction: x.summary.selfByFunction.slice(0, 60), inclusiveByFunction: x.summary.inclusiveByFunction.slice(0, 60) }]),
          )
        : null,
    };
    if (pairs.length > 0)
      console.log(
        `\ndurable / in-memory per pair: ${ratios.map((r) => `${round(r * 100, 1)} %`).join(', ')}; median ${round(medianRatio * 100, 1)} % (medians ${round(durableMedian)} vs ${round(memoryMedian)} orders/s; server CPU per order ${median(pairs.map((p) => p.cpuRatio)).toFixed(2)}× in-memory's); ` +
          `target ≥ 50 % in every pair: ${everyPairMet ? 'met' : 'NOT MET'}; load average ${loadStart.join(' ')} → ${result.machine.loadavgEnd.join(' ')}`,
      );
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'durability-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    appendFileSync(
      join(RESULTS, 'durability-history.jsonl'),
      `${JSON.stringify({
        at: result.at,
        commit: result.commit,
        method: 'fresh process and schema per run, sessions, client processes, median of paired ratios',
        loadavg: loadStart,
        loadavgEnd: result.machine.loadavgEnd,
        memory: result.throughput.medianMemory,
        postgres: result.throughput.medianPostgres,
        ratios: result.throughput.ratios,
        ratio: result.throughput.medianRatio,
        everyPairMeetsTarget: everyPairMet,
        p99us: result.latency?.postgres.p99 ?? null,
        latencyOrdersPerSec: result.latency?.offeredOrdersPerSec ?? null,
        recoveryMsNoSnapshot: recovery?.withoutSnapshot.recoveryMs ?? null,
        recoveryMsSnapshot: recovery?.withSnapshot.recoveryMs ?? null,
        recoveryMsNoSnapshotRuns: recovery?.withoutSnapshotRunsMs ?? null,
        restingOrders: recovery?.restingOrders ?? null,
        checksumLoopDelayMaxMs: recovery ? { sync: recovery.snapshotChecksum.syncMaxDelayMs, sliced: recovery.snapshotChecksum.slicedMaxDelayMs, idle: recovery.snapshotChecksum.idleMaxDelayMs } : null,
        settings: { seconds: SECONDS, repeats: REPEATS, batch: BATCH, clients: CLIENTS, window: WINDOW, recoveryCommands: RECOVERY_COMMANDS, recoveryResting: RECOVERY_RESTING, recoverySpread: RECOVERY_SPREAD, recoveryCancelPct: RECOVERY_CANCEL_PCT },
      })}\n`,
    );
    console.log(`wrote ${join(RESULTS, 'durability-latest.json')} and appended durability-history.jsonl`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('bench:durability failed:', err);
    process.exit(1);
  },
);
