/**
 * gRPC benchmark: the real service (composed as server/main.ts composes it, in its own process) against a no-op grpc-js server
 * for the same trading.v1 contract (loadtest/noop-grpc-server.ts, in its own process), driven by the same
 * client code with the same seeded messages (loadtest/grpc-load-client.ts, in this process).
 *
 *   npm run bench:grpc
 *   BENCH_SECONDS (5)            seconds per measurement
 *   BENCH_WARMUP_SECONDS (1)     per mode and server, before measuring
 *   BENCH_SEED (1)
 *   BENCH_CONCURRENCY (64)       unary calls in flight (closed loop)
 *   BENCH_BATCH (100)            orders per SubmitOrderBatch call / per stream message in the batched modes
 *   BENCH_BATCH_CONCURRENCY (4)  SubmitOrderBatch calls in flight
 *   BENCH_STREAMS (4)            OrderFlow streams (one account each)
 *   BENCH_STREAM_SIZES (100,10,1) commands per OrderFlow message, one measurement each
 *   BENCH_LATENCY_LOAD (70)      open-loop rate, % of the lower closed-loop maximum of the two servers (0: no latency runs)
 *   BENCH_MODES (all)            comma-separated mode keys to run (unary, batch100, stream100, stream10, stream1),
 *                                e.g. `stream100` to profile the batched stream alone; latency runs for the kept ones
 *   BENCH_PROFILE (0)            1: run the service under --cpu-prof and print where its CPU time went
 *   MIGRATION_INITIAL_STATE (shadow)  as for the service: `shadow` (its default: legacy serves, the adaptive
 *                                book shadows every command, i.e. both books run) or `legacy_only` (one book).
 *                                Measure both; the figures are only comparable with the same state.
 *   BENCH_SERVICE_ENTRY          the service's entry point (loadtest/grpc-bench-server.ts: the real
 *                                TradingService composed as server/main.ts composes it); e.g. server/main.ts
 *
 * Modes alternate no-op / service per mode, so drifting machine load hits both alike. Prints a table with
 * ratios against the same run's no-op figures and the targets (service ≥ 80 % of no-op unary, ≥ 70 % of the
 * batched stream), writes bench-results/grpc-latest.json and appends a line to grpc-history.jsonl. It
 * never fails on timing; it exits non-zero only when a server cannot be started.
 */
import { credentials } from '@grpc/grpc-js';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MarketDataServiceClient } from '../server/adapters/grpc/generated/trading/v1/market_data.ts';
import { OrdersServiceClient } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import {
  OrderFlowGenerator,
  PAIR,
  batchThroughput,
  cancelAllBenchOrders,
  streamLatency,
  streamThroughput,
  unaryLatency,
  unaryThroughput,
  type LatencyResult,
  type ResponseTally,
  type ThroughputResult,
} from './grpc-load-client.ts';
import { gitCommit } from './bench-support.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_DIR = join(ROOT, 'bench-results');

// ---- configuration --------------------------------------------------------------------------------------

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replaceAll('_', ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return n;
}

const CONFIG = {
  seconds: envNumber('BENCH_SECONDS', 5),
  warmupSeconds: envNumber('BENCH_WARMUP_SECONDS', 1),
  seed: envNumber('BENCH_SEED', 1),
  concurrency: envNumber('BENCH_CONCURRENCY', 64),
  batch: envNumber('BENCH_BATCH', 100),
  batchConcurrency: envNumber('BENCH_BATCH_CONCURRENCY', 4),
  streams: envNumber('BENCH_STREAMS', 4),
  streamSizes: (process.env.BENCH_STREAM_SIZES || '100,10,1').split(',').map((s) => Number(s.trim())),
  latencyLoad: envNumber('BENCH_LATENCY_LOAD', 70) / 100,
  modes: (process.env.BENCH_MODES || '').split(',').map((s) => s.trim()).filter((s) => s !== ''),
  profile: process.env.BENCH_PROFILE === '1',
  migration: process.env.MIGRATION_INITIAL_STATE || 'shadow',
  serviceEntry: process.env.BENCH_SERVICE_ENTRY || 'loadtest/grpc-bench-server.ts',
};
const TARGETS = { unary: 0.8, batchedStream: 0.7 } as const;

/** Batches a stream keeps in flight: about 200 commands per stream, at most 64 messages. */
const streamWindow = (size: number): number => Math.min(64, Math.max(1, Math.ceil(200 / size)));

// ---- server processes -------------------------------------------------------------------------------------

type Target = 'noop' | 'service';

interface ServerProcess {
  target: Target;
  child: ChildProcess;
  address: string;
  profileDir: string | undefined;
}

async function startServer(target: Target): Promise<ServerProcess> {
  const profileDir = target === 'service' && CONFIG.profile ? mkdtempSync(join(tmpdir(), 'grpc-bench-prof-')) : undefined;
  const script = target === 'service' ? CONFIG.serviceEntry : 'loadtest/noop-grpc-server.ts';
  const args = ['--import', 'tsx', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), script];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_HOST: '127.0.0.1', ADMIN_PORT: '0', MIGRATION_INITIAL_STATE: CONFIG.migration },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[${target}] ${d.toString()}`));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${target} server did not report its port within 30 s`)), 30_000);
    child.once('exit', (code) => reject(new Error(`${target} server exited with ${code} before listening`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /listening .*?(127\.0\.0\.1:\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      } else if (line.trim() !== '') process.stdout.write(`[${target}] ${line}\n`);
    });
  });
  return { target, child, address, profileDir };
}

async function stopServer(p: ServerProcess): Promise<void> {
  if (p.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

const CLK_TCK = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) of a process, in ms, from /proc; NaN where /proc is missing. */
function processCpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}

interface CpuShare {
  /** Server CPU time over the window as a share of one core. */
  serverCores: number;
  clientCores: number;
}

async function withCpu<T>(server: ServerProcess, run: () => Promise<T>): Promise<T & { cpu: CpuShare; serverCpuMs: number }> {
  const s0 = processCpuMs(server.child.pid);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await run();
  const wall = performance.now() - t0;
  const serverCpuMs = processCpuMs(server.child.pid) - s0;
  const c = process.cpuUsage(c0);
  return { ...result, serverCpuMs, cpu: { serverCores: serverCpuMs / wall, clientCores: (c.user + c.system) / 1000 / wall } };
}

// ---- measurements -------------------------------------------------------------------------------------------

interface ModeSpec {
  key: string;
  label: string;
  cancels: boolean;
  run: (client: OrdersServiceClient, flow: OrderFlowGenerator, seconds: number) => Promise<ThroughputResult>;
}

const ALL_MODES: ModeSpec[] = [
  {
    key: 'unary',
    label: `unary SubmitOrder/CancelOrder, ${CONFIG.concurrency} in flight`,
    cancels: true,
    run: (c, f, s) => unaryThroughput(c, f, CONFIG.concurrency, s),
  },
  {
    key: `batch${CONFIG.batch}`,
    label: `SubmitOrderBatch ×${CONFIG.batch}, ${CONFIG.batchConcurrency} in flight`,
    cancels: false,
    run: (c, f, s) => batchThroughput(c, f, CONFIG.batch, CONFIG.batchConcurrency, s),
  },
  ...CONFIG.streamSizes.map(
    (size): ModeSpec => ({
      key: `stream${size}`,
      label: `OrderFlow ×${size}/msg, ${CONFIG.streams} streams × ${streamWindow(size)} in flight`,
      cancels: true,
      run: (c, f, s) => streamThroughput(c, f, size, CONFIG.streams, streamWindow(size), s),
    }),
  ),
];

const MODES = CONFIG.modes.length === 0 ? ALL_MODES : ALL_MODES.filter((m) => CONFIG.modes.includes(m.key));
if (MODES.length === 0) throw new Error(`BENCH_MODES selects none of ${ALL_MODES.map((m) => m.key).join(', ')}`);

type Measured = ThroughputResult & { cpu: CpuShare; serverCpuMs: number };
type MeasuredLatency = LatencyResult & { cpu: CpuShare; serverCpuMs: number };

interface Session {
  server: ServerProcess;
  client: OrdersServiceClient;
}

/** Between measurements: an empty book for the bench accounts, and a moment for the server's GC to catch up. */
async function settle(client: OrdersServiceClient): Promise<void> {
  await cancelAllBenchOrders(client);
  await new Promise((r) => setTimeout(r, 250));
}

function flowFor(tag: string, cancels: boolean): OrderFlowGenerator {
  return new OrderFlowGenerator({ tag, seed: CONFIG.seed, cancels });
}

function tallyJson(t: ResponseTally): object {
  return { ok: t.ok, cancelNotFound: t.cancelNotFound, unexpected: t.unexpected, statuses: t.statuses, events: t.events, pushedMessages: t.pushedMessages };
}

function throughputJson(r: Measured): object {
  return {
    ordersPerSec: Math.round(r.ordersPerSec),
    callsPerSec: Math.round(r.callsPerSec),
    orders: r.orders,
    calls: r.calls,
    seconds: r.seconds,
    serverCores: round(r.cpu.serverCores, 2),
    clientCores: round(r.cpu.clientCores, 2),
    serverCpuUsPerOrder: round((r.serverCpuMs * 1000) / Math.max(1, r.tally.ok + r.tally.cancelNotFound + r.tally.unexpectedCount), 2),
    responses: tallyJson(r.tally),
  };
}

function latencyJson(r: MeasuredLatency): object {
  const { tally, cpu, serverCpuMs, ...rest } = r;
  return { ...rest, serverCores: round(cpu.serverCores, 2), clientCores: round(cpu.clientCores, 2), responses: tallyJson(tally) };
}

// ---- profile summary ------------------------------------------------------------------------------------

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface ProfileSummary {
  file: string;
  busyMs: number;
  selfByFunction: { name: string; ms: number; share: number }[];
  selfByFile: { name: string; ms: number; share: number }[];
  inclusiveByFunction: { name: string; ms: number; share: number }[];
}

/** Self and inclusive CPU time by function and by file, as shares of the non-idle samples. */
function summarizeProfile(file: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const short = (url: string): string => (url.startsWith('file://') ? relative(ROOT, fileURLToPath(url)) : url.replace(/^node:/, 'node:')) || '(native)';
  // tsx emits each module on one line, so a line number says nothing there; the column tells anonymous functions apart.
  const fnKey = (n: ProfileNode): string => {
    const f = n.callFrame;
    const where = f.lineNumber > 0 ? `:${f.lineNumber + 1}` : f.url === '' ? '' : `@col${f.columnNumber + 1}`;
    return `${short(f.url)}:${f.functionName || '(anonymous)'}${where}`;
  };
  const self = new Map<string, number>();
  const selfFile = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busyUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!;
    const dt = profile.timeDeltas[i] ?? 0;
    const name = node.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') continue;
    busyUs += dt;
    self.set(fnKey(node), (self.get(fnKey(node)) ?? 0) + dt);
    const f = name === '(garbage collector)' ? '(garbage collector)' : short(node.callFrame.url);
    selfFile.set(f, (selfFile.get(f) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const k = fnKey(byId.get(id)!);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: round(us / busyUs, 4) }));
  return { file, busyMs: Math.round(busyUs / 1000), selfByFunction: top(self, 30), selfByFile: top(selfFile, 20), inclusiveByFunction: top(inclusive, 40) };
}

// ---- output ----------------------------------------------------------------------------------------------------

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (x: number): string => `${(x * 100).toFixed(0)} %`;
const ms = (us: number): string => (us >= 100_000 ? `${(us / 1000).toFixed(0)}` : (us / 1000).toFixed(2));

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function errorsText(t: ResponseTally): string {
  const n = t.unexpectedCount;
  return n === 0 ? '0' : String(n);
}


/** Resting orders and levels in the service's BTCUSDT book (shows the flow kept it bounded). */
function bookSize(address: string): Promise<{ levels: number; orders: number } | undefined> {
  const md = new MarketDataServiceClient(address, credentials.createInsecure());
  return new Promise((resolve) => {
    md.getOrderBook({ pair: PAIR, depth: 0 }, (err, res) => {
      md.close();
      if (err || !res.book) return resolve(undefined);
      const levels = [...res.book.bids, ...res.book.asks];
      resolve({ levels: levels.length, orders: levels.reduce((s, l) => s + l.orderCount, 0) });
    });
  });
}

// ---- main -----------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  const cpu = cpus()[0]?.model ?? 'unknown';
  const commit = gitCommit(ROOT, ['server', 'loadtest']);
  const loadStart = loadavg();
  console.log(`bench:grpc  node ${process.version}  ${cpu} ×${cpus().length}  commit ${commit}  migration ${CONFIG.migration}  service ${CONFIG.serviceEntry}`);
  console.log(`load average at start ${loadStart.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs${loadStart[0]! > cpus().length - 1 ? '  (busy machine: expect noisy figures)' : ''}`);
  console.log(`${CONFIG.seconds} s per measurement, ${CONFIG.warmupSeconds} s warm-up per mode and server; seed ${CONFIG.seed}\n`);

  const servers = await Promise.all([startServer('noop'), startServer('service')]);
  const sessions: Record<Target, Session> = {
    noop: { server: servers[0], client: new OrdersServiceClient(servers[0].address, credentials.createInsecure()) },
    service: { server: servers[1], client: new OrdersServiceClient(servers[1].address, credentials.createInsecure()) },
  };
  console.log(`no-op server on ${servers[0].address} (pid ${servers[0].child.pid}), service on ${servers[1].address} (pid ${servers[1].child.pid})${CONFIG.profile ? ', profiling the service' : ''}\n`);

  const throughput: Record<string, Record<Target, Measured>> = {};
  const latency: Record<string, Record<Target, MeasuredLatency>> = {};
  const targets: Target[] = ['noop', 'service'];
  let book: { levels: number; orders: number } | undefined;

  try {
    for (const mode of MODES) {
      throughput[mode.key] = {} as Record<Target, Measured>;
      for (const target of targets) {
        const { server, client } = sessions[target];
        if (CONFIG.warmupSeconds > 0) await mode.run(client, flowFor(`w${mode.key}`, mode.cancels), CONFIG.warmupSeconds);
        await settle(client);
        const r = await withCpu(server, () => mode.run(client, flowFor(mode.key, mode.cancels), CONFIG.seconds));
        throughput[mode.key]![target] = r;
        console.log(
          `  ${mode.key.padEnd(9)} ${target.padEnd(7)} ${fmt(r.ordersPerSec).padStart(9)} orders/s  (${fmt(r.callsPerSec)} calls/s; server ${pct(r.cpu.serverCores)} of a core, client ${pct(r.cpu.clientCores)}; unexpected errors ${r.tally.unexpectedCount}, cancels NOT_FOUND ${r.tally.cancelNotFound})`,
        );
        for (const [what, n] of Object.entries(r.tally.unexpected)) console.log(`      ! ${n} × ${what}`);
      }
    }

    // Open loop at one fixed rate for both servers: a share of the no-op maximum, but never above the same
    // share of the service's own maximum, so neither is driven past saturation (where latency only
    // measures how long the run lasted).
    const sustained = (key: string): number => Math.min(throughput[key]!.noop.ordersPerSec, throughput[key]!.service.ordersPerSec);
    const latencyModes = CONFIG.latencyLoad === 0 ? [] : [
      ...(throughput.unary ? [{
        key: 'unary',
        perSec: CONFIG.latencyLoad * sustained('unary'),
        run: (s: Session, f: OrderFlowGenerator, rate: number) => unaryLatency(s.client, f, rate, CONFIG.seconds),
        unit: 'calls/s',
      }] : []),
      ...(throughput[`stream${CONFIG.batch}`]
        ? [
            {
              key: `stream${CONFIG.batch}`,
              perSec: (CONFIG.latencyLoad * sustained(`stream${CONFIG.batch}`)) / CONFIG.batch,
              run: (s: Session, f: OrderFlowGenerator, rate: number) => streamLatency(s.client, f, CONFIG.batch, CONFIG.streams, rate, CONFIG.seconds),
              unit: `msgs/s of ${CONFIG.batch}`,
            },
          ]
        : []),
    ];
    console.log('');
    for (const lm of latencyModes) {
      latency[lm.key] = {} as Record<Target, MeasuredLatency>;
      for (const target of targets) {
        const s = sessions[target];
        await settle(s.client);
        const r = await withCpu(s.server, () => lm.run(s, flowFor(`l${lm.key}`, true), lm.perSec));
        latency[lm.key]![target] = r;
        console.log(
          `  latency ${lm.key.padEnd(9)} ${target.padEnd(7)} at ${fmt(lm.perSec)} ${lm.unit}: p50 ${ms(r.p50)} ms  p99 ${ms(r.p99)} ms  max ${ms(r.max)} ms  (achieved ${fmt(r.achievedPerSec)}/s; unexpected errors ${r.tally.unexpectedCount})`,
        );
        for (const [what, n] of Object.entries(r.tally.unexpected)) console.log(`      ! ${n} × ${what}`);
      }
    }
  } finally {
    book = await bookSize(sessions.service.server.address).catch(() => undefined);
    sessions.noop.client.close();
    sessions.service.client.close();
    await Promise.all(servers.map(stopServer));
  }
  const loadEnd = loadavg();

  // ---- report ----
  const rows: string[][] = [];
  const ratios: Record<string, number> = {};
  for (const mode of MODES) {
    const r = throughput[mode.key]!;
    const ratio = r.service.ordersPerSec / r.noop.ordersPerSec;
    ratios[mode.key] = round(ratio, 3);
    const target = mode.key === 'unary' ? TARGETS.unary : mode.key === `stream${CONFIG.batch}` ? TARGETS.batchedStream : undefined;
    const usPerOrder = (m: Measured) => (m.serverCpuMs * 1000) / Math.max(1, m.orders);
    rows.push([
      mode.label,
      fmt(r.noop.ordersPerSec),
      fmt(r.service.ordersPerSec),
      pct(ratio),
      target === undefined ? '-' : `≥ ${pct(target)} ${ratio >= target ? 'met' : 'MISSED'}`,
      `${pct(r.noop.cpu.serverCores)} / ${pct(r.service.cpu.serverCores)}`,
      `${pct(r.noop.cpu.clientCores)} / ${pct(r.service.cpu.clientCores)}`,
      `${usPerOrder(r.noop).toFixed(1)} / ${usPerOrder(r.service).toFixed(1)}`,
      `${errorsText(r.noop.tally)} / ${errorsText(r.service.tally)}`,
      String(r.service.tally.cancelNotFound),
    ]);
  }
  console.log(`\nThroughput (orders/s; closed loop; "a / b" = no-op / service)\n`);
  console.log(
    table(['mode', 'no-op', 'service', 'service/no-op', 'target', 'server CPU', 'client CPU', 'server µs CPU/order', 'unexpected errors', 'cancel NOT_FOUND'], rows),
  );

  const lrows: string[][] = [];
  for (const [key, r] of Object.entries(latency)) {
    for (const target of targets) {
      const l = r[target];
      lrows.push([
        `${key} ${target}`,
        fmt(l.targetPerSec),
        fmt(l.achievedPerSec),
        ms(l.p50),
        ms(l.p90),
        ms(l.p95),
        ms(l.p99),
        ms(l.p999),
        ms(l.max),
        (l.meanSendLagUs / 1000).toFixed(2),
        errorsText(l.tally),
      ]);
    }
  }
  console.log(
    `\nLatency (ms from the intended send time; open loop at ${pct(CONFIG.latencyLoad)} of the lower of the two closed-loop maxima, same rate for both; stream: per message of ${CONFIG.batch})\n`,
  );
  console.log(table(['mode', 'rate/s', 'achieved/s', 'p50', 'p90', 'p95', 'p99', 'p99.9', 'max', 'send lag', 'errors'], lrows));
  const lagging = Object.entries(latency).flatMap(([k, r]) => targets.filter((t) => r[t].meanSendLagUs > 1_000).map((t) => `${k} ${t}`));
  if (lagging.length > 0) {
    console.log(`note: the client itself sent late on average by more than 1 ms (${lagging.join(', ')}): it was short of CPU, so those percentiles measure the machine as much as the server.`);
  }

  const svc = (throughput.unary ?? Object.values(throughput)[0]!).service.tally;
  console.log(`\nService flow (${throughput.unary ? 'unary' : MODES[0]!.key} run): statuses ${JSON.stringify(svc.statuses)}; events ${JSON.stringify(svc.events)}`);
  if (book) console.log(`Service BTCUSDT book after the last measurement: ${book.orders} resting orders on ${book.levels} levels (the flow tracks at most 300 per account; the book is emptied before each measurement)`);
  console.log(
    `load average at end ${loadEnd.map((l) => l.toFixed(2)).join(' ')}${Math.max(loadStart[0]!, loadEnd[0]!) > cpus().length - 1 ? `  (other work competed for the ${cpus().length} CPUs: compare ratios, not absolute rates)` : ''}; total ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );

  let profile: ProfileSummary | undefined;
  const profileDir = servers[1].profileDir;
  if (profileDir) {
    // The main thread's profile is the largest; tsx's module-loader worker writes a small one too.
    const file = readdirSync(profileDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort((a, b) => statSync(join(profileDir, b)).size - statSync(join(profileDir, a)).size)[0];
    if (file) {
      profile = summarizeProfile(join(profileDir, file));
      console.log(`\nService CPU profile ${profile.file} (${fmt(profile.busyMs)} ms busy, idle excluded; whole run incl. warm-ups)`);
      console.log('\nSelf time by file:');
      for (const e of profile.selfByFile) console.log(`  ${(e.share * 100).toFixed(1).padStart(5)} %  ${e.name}`);
      console.log('\nSelf time by function:');
      for (const e of profile.selfByFunction) console.log(`  ${(e.share * 100).toFixed(1).padStart(5)} %  ${e.name}`);
      console.log('\nInclusive time by function:');
      for (const e of profile.inclusiveByFunction) console.log(`  ${(e.share * 100).toFixed(1).padStart(5)} %  ${e.name}`);
    } else console.log(`\nno .cpuprofile found in ${profileDir}`);
  }

  // ---- files ----
  const result = {
    date: new Date().toISOString(),
    commit,
    node: process.version,
    cpu,
    cpus: cpus().length,
    loadavgStart: loadStart.map((l) => round(l, 2)),
    loadavgEnd: loadEnd.map((l) => round(l, 2)),
    config: { ...CONFIG, streamWindows: Object.fromEntries(CONFIG.streamSizes.map((s) => [s, streamWindow(s)])) },
    targets: TARGETS,
    throughput: Object.fromEntries(Object.entries(throughput).map(([k, v]) => [k, { noop: throughputJson(v.noop), service: throughputJson(v.service), ratio: ratios[k] }])),
    latency: Object.fromEntries(Object.entries(latency).map(([k, v]) => [k, { noop: latencyJson(v.noop), service: latencyJson(v.service) }])),
    targetsMet: {
      unary: ratios.unary !== undefined ? ratios.unary >= TARGETS.unary : null,
      batchedStream: ratios[`stream${CONFIG.batch}`] !== undefined ? ratios[`stream${CONFIG.batch}`]! >= TARGETS.batchedStream : null,
    },
    serviceBookAtEnd: book,
    profile,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'grpc-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  const history: Record<string, unknown> = {
    date: result.date,
    commit,
    node: process.version,
    cpu,
    cpus: cpus().length,
    loadavg: result.loadavgStart,
    loadavgEnd: result.loadavgEnd,
    seconds: CONFIG.seconds,
    migration: CONFIG.migration,
  };
  for (const [k, v] of Object.entries(throughput)) {
    history[`${k}.noop`] = Math.round(v.noop.ordersPerSec);
    history[`${k}.service`] = Math.round(v.service.ordersPerSec);
    history[`${k}.ratio`] = ratios[k];
  }
  for (const [k, v] of Object.entries(latency)) {
    for (const t of targets) {
      history[`latency.${k}.${t}.p50us`] = v[t].p50;
      history[`latency.${k}.${t}.p99us`] = v[t].p99;
      history[`latency.${k}.${t}.maxUs`] = v[t].max;
    }
  }
  history.unexpectedErrors = Object.values(throughput).reduce((s, v) => s + v.noop.tally.unexpectedCount + v.service.tally.unexpectedCount, 0);
  appendFileSync(join(RESULTS_DIR, 'grpc-history.jsonl'), `${JSON.stringify(history)}\n`);
  console.log(`\nwrote bench-results/grpc-latest.json and appended bench-results/grpc-history.jsonl`);
}

main().catch((err: unknown) => {
  console.error('bench:grpc failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
