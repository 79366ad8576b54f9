/**
 * Paired A/B of two service builds or node flags (`npm run bench:service-ab`): A and B each run as `npm
 * start` runs the service (node dist/server/main.js of a checkout, built first), a fresh process per run,
 * the order alternating within each pair, under the bench:grpc load (sessions, client order ids, shadow
 * migration, PERSISTENCE=memory, or postgres with a fresh schema per run). Per pair: server CPU per order and orders/s closed-loop, then the
 * open-loop latency at one fixed rate. Reports the median of the per-pair ratios B/A with every pair's
 * ratio beside it, and the load average of each run.
 *
 *   BENCH_A_ROOT, BENCH_B_ROOT (this checkout)  the checkout whose build runs as A, B (e.g. a git worktree
 *                              of the commit before a change; its node_modules may be a link to this one's)
 *   BENCH_A_FLAGS, BENCH_B_FLAGS ()  extra node flags of A, B (e.g. B: --max-semi-space-size=64)
 *   BENCH_MODE (stream)        stream | batch | unary, as bench:grpc
 *   BENCH_PERSISTENCE (memory) memory | postgres: durable, on a fresh schema of DATABASE_URL (the local test database
 *                              by default) per run
 *   BENCH_IN_FLIGHT ()         messages (calls for unary) in flight per stream; default stream 2, batch 4, unary 64,
 *                              and 8 for stream and batch when durable (an ack waits for its commit)
 *   BENCH_PAIRS (5)  BENCH_SECONDS (5)  BENCH_WARMUP_SECONDS (1)  BENCH_CLIENTS (2)  BENCH_SEED (1)  BENCH_BATCH (100)
 *   BENCH_RATE (0)             open-loop orders/s; 0: half of A's median closed-loop maximum
 *   BENCH_TAG ()               names the run: service-ab-<date>-<tag>.json
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOCAL_TEST_DATABASE_URL } from '../server/adapters/postgres/test-schema.ts';
import { buildService, latencyWarmupSeconds, measureWindow, openLoopArgs, throughputJobs, tokensFor, withService, type ServerProcess } from './bench-processes.ts';
import { envInt, gitCommit, median } from './bench-support.ts';
import type { BenchMode } from './grpc-bench-client.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const flags = (v: string | undefined): string[] => (v ?? '').split(/\s+/).filter((f) => f !== '');
const root = (v: string | undefined): string => resolve(v || ROOT);
const CONFIG = {
  a: { flags: flags(process.env.BENCH_A_FLAGS), root: root(process.env.BENCH_A_ROOT) },
  b: { flags: flags(process.env.BENCH_B_FLAGS), root: root(process.env.BENCH_B_ROOT) },
  mode: (process.env.BENCH_MODE || 'stream') as BenchMode,
  pairs: envInt('BENCH_PAIRS', 5),
  seconds: envInt('BENCH_SECONDS', 5),
  warmupSeconds: envInt('BENCH_WARMUP_SECONDS', 1, 0),
  clients: envInt('BENCH_CLIENTS', 2),
  seed: envInt('BENCH_SEED', 1),
  batch: envInt('BENCH_BATCH', 100),
  rate: envInt('BENCH_RATE', 0, 0),
  tag: process.env.BENCH_TAG || '',
  persistence: process.env.BENCH_PERSISTENCE || 'memory',
  inFlight: envInt('BENCH_IN_FLIGHT', 0, 0),
};
if (CONFIG.a.root === CONFIG.b.root && CONFIG.a.flags.join(' ') === CONFIG.b.flags.join(' ')) throw new Error('A and B are the same: set BENCH_B_ROOT or BENCH_B_FLAGS (or their A counterparts)');
if (!['stream', 'batch', 'unary'].includes(CONFIG.mode)) throw new Error(`BENCH_MODE must be stream, batch or unary, got ${JSON.stringify(CONFIG.mode)}`);
if (CONFIG.persistence !== 'memory' && CONFIG.persistence !== 'postgres') throw new Error(`BENCH_PERSISTENCE must be memory or postgres, got ${JSON.stringify(CONFIG.persistence)}`);
if (!/^[a-z0-9-]{0,40}$/.test(CONFIG.tag)) throw new Error(`BENCH_TAG must be up to 40 of a-z, 0-9 and -, got ${JSON.stringify(CONFIG.tag)}`);

/** As bench:grpc runs the service (and bench:durability, durable). */
const ENV = { PERSISTENCE: CONFIG.persistence, MIGRATION_INITIAL_STATE: 'shadow', RATE_LIMIT_PER_SECOND: '20000' }; // as bench:grpc's default
const DURABLE = CONFIG.persistence === 'postgres';
const DATABASE_URL = process.env['DATABASE_URL'] || LOCAL_TEST_DATABASE_URL;
const IN_FLIGHT: Record<BenchMode, number> = DURABLE ? { stream: 8, batch: 8, unary: 64 } : { stream: 2, batch: 4, unary: 64 };
const inFlight = CONFIG.inFlight > 0 ? CONFIG.inFlight : IN_FLIGHT[CONFIG.mode];

/** A fresh service process of `side` (durable: on a fresh schema) for `use`. */
function withServer<T>(side: Side, use: (server: ServerProcess) => Promise<T>): Promise<T> {
  const freshSchema = DURABLE ? { databaseUrl: DATABASE_URL, prefix: 'bench_service_ab' } : undefined;
  return withService({ env: ENV, runtime: 'dist', nodeFlags: CONFIG[side].flags, root: CONFIG[side].root, freshSchema }, use);
}

type Side = 'a' | 'b';
interface Throughput { ordersPerSec: number; usPerOrder: number; load: number }
interface Latency { p50us: number; p99us: number; maxus: number; load: number }

async function throughput(side: Side, pair: number): Promise<Throughput> {
  return withServer(side, async (server) => {
    const plan = { mode: CONFIG.mode, clients: CONFIG.clients, seconds: CONFIG.seconds, warmupSeconds: CONFIG.warmupSeconds, seed: CONFIG.seed, tag: `${side}${pair}`, inFlight, batch: CONFIG.batch };
    const w = await measureWindow(server, throughputJobs(plan, server.address, await tokensFor(server)));
    const orders = w.results.reduce((n, r) => n + r.throughput!.orders, 0);
    return { ordersPerSec: orders / CONFIG.seconds, usPerOrder: (w.serverCpuMs * 1000) / Math.max(1, orders), load: w.loadStart };
  });
}

async function latency(side: Side, rate: number): Promise<Latency> {
  return withServer(side, async (server) => {
    const args = openLoopArgs(CONFIG.mode, rate, server, CONFIG);
    const tokens = await tokensFor(server);
    const w = await measureWindow(server, [{ kind: 'latency', tokens, args, warmupSeconds: latencyWarmupSeconds() }]);
    const l = w.results[0]!.latency!.latency_us;
    return { p50us: l.p50, p99us: l.p99, maxus: l.max, load: w.loadStart };
  });
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const ratios = (pairs: { a: number; b: number }[]): { median: number; each: number[] } => {
  const each = pairs.map((p) => r3(p.b / p.a));
  return { median: r3(median(each)), each };
};

/** CONFIG.pairs pairs of `run`, A first in odd pairs and B first in even ones; each run printed by `line`. */
async function pairs<T>(run: (side: Side, pair: number) => Promise<T>, line: (side: Side, got: T, pair: number) => string): Promise<{ a: T; b: T }[]> {
  const out: { a: T; b: T }[] = [];
  for (let p = 1; p <= CONFIG.pairs; p++) {
    const order: Side[] = p % 2 === 1 ? ['a', 'b'] : ['b', 'a'];
    const got: Partial<Record<Side, T>> = {};
    for (const s of order) got[s] = await run(s, p);
    out.push(got as { a: T; b: T });
    for (const s of order) console.log(line(s, got[s]!, p));
  }
  return out;
}

async function main(): Promise<void> {
  const label = (s: Side) => `${CONFIG[s].root === ROOT ? 'this checkout' : CONFIG[s].root} (${gitCommit(CONFIG[s].root, ['server'])})${CONFIG[s].flags.length > 0 ? ` ${CONFIG[s].flags.join(' ')}` : ''}`;
  console.log(`bench:service-ab  ${CONFIG.mode} ${CONFIG.persistence}, ${inFlight} in flight per stream  A: ${label('a')}  B: ${label('b')}  ${CONFIG.pairs} pairs, ${CONFIG.seconds} s per run; load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const r of new Set([CONFIG.a.root, CONFIG.b.root])) buildService(r);
  const tp = await pairs((s, p) => throughput(s, p), (s, t, p) => `  pair ${p} ${s}  ${Math.round(t.ordersPerSec)} orders/s  server ${t.usPerOrder.toFixed(2)} µs/order  load ${t.load.toFixed(2)}`);
  const rate = CONFIG.rate > 0 ? CONFIG.rate : Math.round(median(tp.map((t) => t.a.ordersPerSec)) / 2);
  const lat = await pairs((s) => latency(s, rate), (s, l, p) => `  latency pair ${p} ${s} at ${rate}/s  p50 ${(l.p50us / 1000).toFixed(2)} ms  p99 ${(l.p99us / 1000).toFixed(2)} ms  load ${l.load.toFixed(2)}`);
  const result = {
    date: new Date().toISOString(),
    commit: gitCommit(ROOT, ['server', 'loadtest']),
    mode: CONFIG.mode,
    persistence: CONFIG.persistence,
    inFlight,
    a: { commit: gitCommit(CONFIG.a.root, ['server']), flags: CONFIG.a.flags.join(' ') },
    b: { commit: gitCommit(CONFIG.b.root, ['server']), flags: CONFIG.b.flags.join(' ') },
    pairs: CONFIG.pairs,
    seconds: CONFIG.seconds,
    loadavgEnd: loadavg().map((l) => Math.round(l * 100) / 100),
    cpuPerOrderBA: ratios(tp.map((t) => ({ a: t.a.usPerOrder, b: t.b.usPerOrder }))),
    ordersPerSecBA: ratios(tp.map((t) => ({ a: t.a.ordersPerSec, b: t.b.ordersPerSec }))),
    latencyRate: rate,
    p99BA: ratios(lat.map((l) => ({ a: l.a.p99us, b: l.b.p99us }))),
    p50BA: ratios(lat.map((l) => ({ a: l.a.p50us, b: l.b.p50us }))),
    throughput: tp,
    latency: lat,
  };
  const line = (name: string, r: { median: number; each: number[] }) => console.log(`${name.padEnd(22)} B/A median ${r.median.toFixed(3)}  (${r.each.map((x) => x.toFixed(3)).join(', ')})`);
  console.log('');
  line('server CPU per order', result.cpuPerOrderBA);
  line('orders/s', result.ordersPerSecBA);
  line(`p99 at ${rate}/s`, result.p99BA);
  line(`p50 at ${rate}/s`, result.p50BA);
  console.log(`load average at end ${result.loadavgEnd.join(' ')}`);
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = `service-ab-${result.date.slice(0, 10)}${CONFIG.tag ? `-${CONFIG.tag}` : ''}.json`;
  writeFileSync(join(dir, file), `${JSON.stringify(result, null, 2)}\n`);
  const { throughput: _t, latency: _l, ...summary } = result;
  appendFileSync(join(dir, 'service-ab-history.jsonl'), `${JSON.stringify(summary)}\n`);
  console.log(`wrote bench-results/${file}, appended service-ab-history.jsonl`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('bench:service-ab failed:', err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
