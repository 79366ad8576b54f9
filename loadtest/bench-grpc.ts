/**
 * gRPC benchmark (`npm run bench:grpc`): the real service (server/main.ts, in its own process) against a
 * no-op grpc-js server for the same trading.v1 contract (loadtest/noop-grpc-server.ts), driven by the same
 * seeded flow from several client processes (loadtest/grpc-bench-client.ts).
 *
 * What makes the comparison honest (issue 9, "Speed"):
 * - a fresh server process for every measurement: no idempotency records, closed orders or book carried
 *   over from an earlier mode;
 * - the service as deployed: built and started as `npm start` does (BENCH_SERVICE_RUNTIME=tsx: from the
 *   sources), PERSISTENCE=memory (bench:durability measures the journal), AUTH_MODE
 *   sessions (API keys through the admin API, SessionService.Login, every call with its bearer token),
 *   a client order id on every order (idempotency on), the default `shadow` migration (both books run),
 *   rate limits at their defaults except RATE_LIMIT_PER_SECOND, raised to BENCH_RATE_LIMIT (see below);
 * - a no-op that writes as many response messages of the same shape as the service: the first service run
 *   of each mode counts its answers (events per command by type, NOT_FOUND cancels, pushed OrderFlow
 *   messages; loadtest/response-shape.ts) and every no-op run of that mode answers in that shape. Both
 *   counts are printed beside each other;
 * - the client in BENCH_CLIENTS child processes, each on its own share of the 8 bench accounts; the
 *   server's CPU (from /proc/<pid>/stat) and the clients' (process.cpuUsage) over the same window are
 *   printed beside every figure, so a client-bound run shows;
 * - BENCH_PAIRS pairs (service, no-op) per mode, the order alternating, reported as the median of the
 *   paired ratios, with the load average at the start and end of each run.
 * Then open-loop latency (the `npm run load` generator, loadtest/load-run.ts, from the intended send time)
 * at BENCH_LATENCY_LOAD % of the service's median maximum, the same rate on both servers.
 *
 *   BENCH_SECONDS (5)  BENCH_WARMUP_SECONDS (1)  BENCH_SEED (1)  BENCH_PAIRS (3)  BENCH_CLIENTS (2)
 *   BENCH_MODES (stream,batch,unary)   OrderFlow ×BENCH_BATCH per message; SubmitOrderBatch ×BENCH_BATCH; unary SubmitOrder/CancelOrder
 *   BENCH_BATCH (100)                  orders per OrderFlow message / SubmitOrderBatch call
 *   BENCH_CONCURRENCY (64)             unary calls in flight, all clients together
 *   BENCH_BATCH_CONCURRENCY (4)        SubmitOrderBatch calls in flight, all clients together
 *   BENCH_STREAM_WINDOW (2)            OrderFlow messages in flight per stream (one stream per account: 8)
 *   BENCH_RATE_LIMIT (20000)           RATE_LIMIT_PER_SECOND per account for the service (RATE_LIMIT_BURST stays at
 *                                      its default); 10000 capped the stream runs on a quiet 2-core machine near
 *                                      85,000 orders/s (25,000-37,800 refusals a run): watch the `unexpected` counts
 *   BENCH_LATENCY_LOAD (50)            open-loop rate, % of the service's median closed-loop maximum (0: none)
 *   BENCH_LATENCY_WARMUP_SECONDS (3)   the open-loop client's warm-up at that rate, in the process that then measures
 *   BENCH_PROFILE (0)                  1: one more service run under --cpu-prof (BENCH_PROFILE_MODE, default stream), summarized
 *   BENCH_PROFILE_TARGET (service)     noop: profile the no-op baseline's run instead (same mode and response shape)
 *   BENCH_SERVICE_RUNTIME (dist)       dist: `npm run build:server`, then node dist/server/main.js; tsx: server/main.ts from the sources
 *   BENCH_SERVICE_NODE_FLAGS ()        extra node flags for the service process only, e.g. --max-semi-space-size=64
 *   BENCH_TAG ()                       names the run: grpc-<date>-<tag>.json, and `tag` in the history line
 *   BENCH_RESULTS_DIR (bench-results)  where grpc-<date>.json, grpc-latest.json and grpc-history.jsonl go
 *   MIGRATION_INITIAL_STATE (shadow)
 *
 * Never fails on timing; exits non-zero only when a server or a client process cannot run.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildService, latencyWarmupSeconds, measureWindow, openLoopArgs, serviceNodeFlags, serviceRuntime, startServer, stopServer, throughputJobs, tokensFor, type Target } from './bench-processes.ts';
import { envInt, gitCommit, median } from './bench-support.ts';
import type { BenchMode } from './grpc-bench-client.ts';
import { BENCH_ACCOUNTS, sumCounts, unexpectedCount, type TallyCounts } from './grpc-load-client.ts';
import type { LoadResult } from './load-run.ts';
import { summarizeProfile, type ProfileSummary } from './cpu-profile-summary.ts';
import { shapeOf, type ResponseShape } from './response-shape.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const MODE_KEYS: readonly BenchMode[] = ['stream', 'batch', 'unary'];
const CONFIG = {
  seconds: envInt('BENCH_SECONDS', 5),
  warmupSeconds: envInt('BENCH_WARMUP_SECONDS', 1, 0),
  seed: envInt('BENCH_SEED', 1),
  pairs: envInt('BENCH_PAIRS', 3),
  clients: Math.min(BENCH_ACCOUNTS.length, envInt('BENCH_CLIENTS', 2)),
  modes: (process.env.BENCH_MODES || MODE_KEYS.join(',')).split(',').map((s) => s.trim()) as BenchMode[],
  batch: envInt('BENCH_BATCH', 100),
  concurrency: envInt('BENCH_CONCURRENCY', 64),
  batchConcurrency: envInt('BENCH_BATCH_CONCURRENCY', 4),
  streamWindow: envInt('BENCH_STREAM_WINDOW', 2),
  rateLimit: envInt('BENCH_RATE_LIMIT', 20_000),
  latencyLoad: envInt('BENCH_LATENCY_LOAD', 50, 0) / 100,
  profile: process.env.BENCH_PROFILE === '1',
  /** The mode the profiled run uses (BENCH_PROFILE_MODE). */
  profileMode: (process.env.BENCH_PROFILE_MODE || 'stream') as BenchMode,
  /** The server the profiled run profiles (BENCH_PROFILE_TARGET): the service, or the no-op baseline. */
  profileTarget: (process.env.BENCH_PROFILE_TARGET === 'noop' ? 'noop' : 'service') as Target,
  resultsDir: process.env.BENCH_RESULTS_DIR || join(ROOT, 'bench-results'),
  migration: process.env.MIGRATION_INITIAL_STATE || 'shadow',
  runtime: serviceRuntime(),
  serviceNodeFlags: serviceNodeFlags(),
  tag: process.env.BENCH_TAG || '',
};
if (!/^[a-z0-9-]{0,40}$/.test(CONFIG.tag)) throw new Error(`BENCH_TAG must be up to 40 of a-z, 0-9 and -, got ${JSON.stringify(CONFIG.tag)}`);
for (const m of CONFIG.modes) if (!MODE_KEYS.includes(m)) throw new Error(`BENCH_MODES: unknown mode ${JSON.stringify(m)} (modes: ${MODE_KEYS.join(', ')})`);

/** Targets of issue 9: orders/s at least `throughput` × the no-op's, server CPU per order at most `cpu` × the no-op's. */
const TARGETS: Record<BenchMode, { throughput: number; cpu: number }> = {
  stream: { throughput: 0.7, cpu: 1.5 },
  batch: { throughput: 0.7, cpu: 1.5 },
  unary: { throughput: 0.8, cpu: 1.3 },
};
const LATENCY_P99_TARGET_US = 5_000;

const LABEL: Record<BenchMode, string> = {
  stream: `OrderFlow ×${CONFIG.batch}/msg, 8 streams × ${CONFIG.streamWindow} in flight`,
  batch: `SubmitOrderBatch ×${CONFIG.batch}, ${CONFIG.batchConcurrency} in flight`,
  unary: `unary SubmitOrder/CancelOrder, ${CONFIG.concurrency} in flight`,
};

/**
 * The service as configured by default, except where the bench must: no journal (bench:durability
 * measures it), the per-account rate raised for the load. Sessions in the in-process store.
 */
const serviceEnv = (): Record<string, string> => ({ PERSISTENCE: 'memory', MIGRATION_INITIAL_STATE: CONFIG.migration, RATE_LIMIT_PER_SECOND: String(CONFIG.rateLimit) });

// ---- throughput ---------------------------------------------------------------------------------------------

interface Run {
  mode: BenchMode;
  target: Target;
  pair: number;
  orders: number;
  ordersPerSec: number;
  serverCpuMs: number;
  serverCores: number;
  clientCores: number;
  serverUsPerOrder: number;
  clientUsPerOrder: number;
  loadavgStart: number;
  loadavgEnd: number;
  counts: TallyCounts;
  messagesPerOrder: number;
  eventsPerOrder: number;
}

async function throughputRun(mode: BenchMode, target: Target, pair: number, shape: ResponseShape | undefined, profileDir?: string): Promise<Run> {
  const server = await startServer({ target, env: serviceEnv(), shape: target === 'noop' ? shape : undefined, profileDir, runtime: CONFIG.runtime });
  try {
    const inFlight = mode === 'unary' ? CONFIG.concurrency : mode === 'batch' ? CONFIG.batchConcurrency : CONFIG.streamWindow;
    const plan = { mode, clients: CONFIG.clients, seconds: CONFIG.seconds, warmupSeconds: CONFIG.warmupSeconds, seed: CONFIG.seed, tag: `${mode}${pair}`, inFlight, batch: CONFIG.batch };
    const w = await measureWindow(server, throughputJobs(plan, server.address, await tokensFor(server)));
    const counts = sumCounts(w.results.map((r) => r.throughput!.counts));
    const orders = w.results.reduce((a, r) => a + r.throughput!.orders, 0);
    const events = Object.values(counts.events).reduce((a, b) => a + b, 0);
    return {
      mode,
      target,
      pair,
      orders,
      ordersPerSec: orders / CONFIG.seconds,
      serverCpuMs: w.serverCpuMs,
      serverCores: w.serverCpuMs / w.wallMs,
      clientCores: w.clientCpuUs / 1000 / w.wallMs,
      serverUsPerOrder: (w.serverCpuMs * 1000) / Math.max(1, orders),
      clientUsPerOrder: w.clientCpuUs / Math.max(1, orders),
      loadavgStart: w.loadStart,
      loadavgEnd: w.loadEnd,
      counts,
      messagesPerOrder: counts.responseMessages / Math.max(1, counts.answered.submit + counts.answered.cancel),
      eventsPerOrder: events / Math.max(1, counts.answered.submit + counts.answered.cancel),
    };
  } finally {
    await stopServer(server);
  }
}

// ---- latency ------------------------------------------------------------------------------------------------

interface LatencyRun {
  mode: BenchMode;
  target: Target;
  ratePerSec: number;
  result: Omit<LoadResult, 'per_second' | 'distribution'>;
  serverCores: number;
  clientCores: number;
}

async function latencyRun(mode: BenchMode, target: Target, ratePerSec: number, shape: ResponseShape | undefined): Promise<LatencyRun> {
  const server = await startServer({ target, env: serviceEnv(), shape: target === 'noop' ? shape : undefined, runtime: CONFIG.runtime });
  try {
    const args = openLoopArgs(mode, ratePerSec, server, CONFIG);
    const tokens = await tokensFor(server);
    // Fresh processes first compile their hot paths: the client warms itself and the server up at the
    // same rate first (BENCH_LATENCY_WARMUP_SECONDS), so the tail measures steady state, not the JIT.
    const w = await measureWindow(server, [{ kind: 'latency', tokens, args, warmupSeconds: latencyWarmupSeconds() }]);
    const { per_second: _s, distribution: _d, ...result } = w.results[0]!.latency!;
    return { mode, target, ratePerSec: args.rate, result, serverCores: w.serverCpuMs / w.wallMs, clientCores: w.clientCpuUs / 1000 / w.wallMs };
  } finally {
    await stopServer(server);
  }
}

// ---- output -------------------------------------------------------------------------------------------------

const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (x: number): string => `${(x * 100).toFixed(0)} %`;
const msOf = (us: number): string => (us / 1000).toFixed(2);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function runJson(r: Run): object {
  return {
    pair: r.pair,
    ordersPerSec: Math.round(r.ordersPerSec),
    orders: r.orders,
    serverCores: round(r.serverCores, 3),
    clientCores: round(r.clientCores, 3),
    serverUsPerOrder: round(r.serverUsPerOrder, 2),
    clientUsPerOrder: round(r.clientUsPerOrder, 2),
    loadavgStart: round(r.loadavgStart, 2),
    loadavgEnd: round(r.loadavgEnd, 2),
    messagesPerOrder: round(r.messagesPerOrder, 4),
    eventsPerOrder: round(r.eventsPerOrder, 4),
    unexpectedErrors: unexpectedCount(r.counts),
    counts: r.counts,
  };
}

function printProfile(p: ProfileSummary): void {
  console.log(`\n${CONFIG.profileTarget === 'noop' ? 'No-op server' : 'Service'} CPU profile under ${CONFIG.profileMode} ×${CONFIG.batch} (${p.file}; ${fmt(p.busyMs)} ms busy after startup, idle and ${fmt(p.startupMs)} ms of module loading left out)`);
  const show = (title: string, rows: { name: string; share: number }[]) => {
    console.log(`\n${title}:`);
    for (const e of rows) console.log(`  ${(e.share * 100).toFixed(1).padStart(5)} %  ${e.name}`);
  };
  show('Self time by group', p.selfByGroup);
  show('Self time by function (top 25)', p.selfByFunction.slice(0, 25));
  show('Self time by file (top 15)', p.selfByFile.slice(0, 15));
  show('Inclusive time by function (top 25)', p.inclusiveByFunction.slice(0, 25));
}

// ---- main ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  const cpu = cpus()[0]?.model ?? 'unknown';
  const commit = gitCommit(ROOT, ['server', 'loadtest']);
  const loadStart = loadavg();
  console.log(`bench:grpc  node ${process.version}  ${cpu} ×${cpus().length}  commit ${commit}  migration ${CONFIG.migration}`);
  console.log(`load average at start ${loadStart.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs${loadStart[0]! > cpus().length - 1 ? '  (busy machine: expect noisy figures)' : ''}`);
  console.log(
    `${CONFIG.seconds} s per run after ${CONFIG.warmupSeconds} s warm-up, a fresh server per run, ${CONFIG.pairs} pairs per mode (order alternating), ${CONFIG.clients} client processes; ` +
      `service: server/main.ts (${CONFIG.runtime === 'dist' ? 'the tsc build, as npm start runs it' : 'sources under tsx'}), PERSISTENCE=memory, sessions (Login, bearer tokens), client order ids, RATE_LIMIT_PER_SECOND ${CONFIG.rateLimit}${CONFIG.serviceNodeFlags.length > 0 ? `, node flags ${CONFIG.serviceNodeFlags.join(' ')}` : ''}\n`,
  );

  if (CONFIG.runtime === 'dist') buildService();
  const runs: Run[] = [];
  const shapes: Partial<Record<BenchMode, ResponseShape>> = {};
  for (const mode of CONFIG.modes) {
    for (let pair = 0; pair < CONFIG.pairs; pair++) {
      // The first pair starts with the service: its answers give the no-op its shape for this mode.
      const order: Target[] = pair % 2 === 0 ? ['service', 'noop'] : ['noop', 'service'];
      for (const target of order) {
        const r = await throughputRun(mode, target, pair, shapes[mode]);
        if (target === 'service' && shapes[mode] === undefined) shapes[mode] = shapeOf(r.counts);
        runs.push(r);
        const unexpected = unexpectedCount(r.counts);
        console.log(
          `  ${mode.padEnd(6)} pair ${pair + 1} ${target.padEnd(7)} ${fmt(r.ordersPerSec).padStart(8)} orders/s  server ${r.serverUsPerOrder.toFixed(2)} µs/order (${pct(r.serverCores)} of a core), ` +
            `clients ${r.clientUsPerOrder.toFixed(2)} µs/order (${pct(r.clientCores)}); ${r.messagesPerOrder.toFixed(3)} msgs, ${r.eventsPerOrder.toFixed(3)} events per order; ` +
            `load ${r.loadavgStart.toFixed(2)}→${r.loadavgEnd.toFixed(2)}; unexpected ${unexpected}`,
        );
        for (const [what, n] of Object.entries(r.counts.unexpected)) console.log(`      ! ${n} × ${what}`);
      }
    }
  }

  // Paired ratios and their medians.
  const summary = CONFIG.modes.map((mode) => {
    const pairs = Array.from({ length: CONFIG.pairs }, (_, p) => {
      const s = runs.find((r) => r.mode === mode && r.pair === p && r.target === 'service')!;
      const n = runs.find((r) => r.mode === mode && r.pair === p && r.target === 'noop')!;
      return { service: s, noop: n, throughputRatio: s.ordersPerSec / n.ordersPerSec, cpuRatio: s.serverUsPerOrder / n.serverUsPerOrder };
    });
    const throughputRatio = median(pairs.map((p) => p.throughputRatio));
    const cpuRatio = median(pairs.map((p) => p.cpuRatio));
    const t = TARGETS[mode];
    return {
      mode,
      pairs,
      throughputRatio,
      cpuRatio,
      serviceOrdersPerSec: median(pairs.map((p) => p.service.ordersPerSec)),
      noopOrdersPerSec: median(pairs.map((p) => p.noop.ordersPerSec)),
      serviceUsPerOrder: median(pairs.map((p) => p.service.serverUsPerOrder)),
      noopUsPerOrder: median(pairs.map((p) => p.noop.serverUsPerOrder)),
      throughputMet: throughputRatio >= t.throughput,
      cpuMet: cpuRatio <= t.cpu,
      /** A no-op run below 90 % of a core had CPU to spare: its rate was set by the clients (or the machine). */
      noopClientBound: pairs.some((p) => p.noop.serverCores < 0.9),
    };
  });

  const latency: LatencyRun[] = [];
  if (CONFIG.latencyLoad > 0) {
    console.log('');
    for (const s of summary) {
      const rate = CONFIG.latencyLoad * s.serviceOrdersPerSec;
      for (const target of ['service', 'noop'] as const) {
        const l = await latencyRun(s.mode, target, rate, shapes[s.mode]);
        latency.push(l);
        const u = l.result.latency_us;
        console.log(
          `  latency ${s.mode.padEnd(6)} ${target.padEnd(7)} at ${fmt(l.ratePerSec)} orders/s: p50 ${msOf(u.p50)} ms  p99 ${msOf(u.p99)} ms  max ${msOf(u.max)} ms  ` +
            `(achieved ${fmt(l.result.achieved_per_sec)}/s; server ${pct(l.serverCores)}, client ${pct(l.clientCores)}; send lag ${msOf(l.result.mean_send_lag_us)} ms; unexpected ${l.result.errors.unexpected}, lost ${l.result.lost})`,
        );
      }
    }
  }

  let profile: ProfileSummary | undefined;
  if (CONFIG.profile) {
    const dir = mkdtempSync(join(tmpdir(), 'grpc-bench-prof-'));
    const target = CONFIG.profileTarget;
    await throughputRun(CONFIG.profileMode, target, CONFIG.pairs, target === 'noop' ? shapes[CONFIG.profileMode] : undefined, dir);
    // The main thread's profile is the largest; tsx's module-loader worker writes a small one too.
    const file = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
    if (file) profile = summarizeProfile(join(dir, file), ROOT);
  }
  const loadEnd = loadavg();

  // ---- report ----
  const rows = summary.map((s) => {
    const t = TARGETS[s.mode];
    const cores = (k: 'serverCores' | 'clientCores') => `${pct(median(s.pairs.map((p) => p.noop[k])))} / ${pct(median(s.pairs.map((p) => p.service[k])))}`;
    return [
      LABEL[s.mode],
      `${fmt(s.noopOrdersPerSec)} / ${fmt(s.serviceOrdersPerSec)}`,
      `${pct(s.throughputRatio)} (${s.pairs.map((p) => pct(p.throughputRatio)).join(', ')})`,
      `≥ ${pct(t.throughput)} ${s.throughputMet ? 'met' : 'NOT MET'}`,
      `${s.noopUsPerOrder.toFixed(1)} / ${s.serviceUsPerOrder.toFixed(1)}`,
      `${s.cpuRatio.toFixed(2)}× (${s.pairs.map((p) => p.cpuRatio.toFixed(2)).join(', ')})`,
      `≤ ${t.cpu}× ${s.cpuMet ? 'met' : 'NOT MET'}`,
      cores('serverCores'),
      cores('clientCores'),
      `${median(s.pairs.map((p) => p.noop.messagesPerOrder)).toFixed(3)} / ${median(s.pairs.map((p) => p.service.messagesPerOrder)).toFixed(3)}`,
    ];
  });
  console.log(`\nThroughput: medians of ${CONFIG.pairs} pairs ("a / b" = no-op / service; ratios: median (each pair))\n`);
  console.log(table(['mode', 'orders/s', 'service/no-op', 'target', 'server µs CPU/order', 'CPU ratio', 'target', 'server cores', 'client cores', 'msgs/order'], rows));
  for (const s of summary.filter((x) => x.noopClientBound))
    console.log(`note: ${s.mode}: a no-op run used under 90 % of a core: its rate was limited by the clients or the machine (${cpus().length} CPUs shared with the clients), so its orders/s is a floor and the orders/s ratio flatters the service; the CPU ratio is the honest comparison.`);

  if (latency.length > 0) {
    console.log(`\nOpen-loop latency (ms from the intended send time, per order; at ${pct(CONFIG.latencyLoad)} of the service's median maximum, same rate on both; target p99 < ${msOf(LATENCY_P99_TARGET_US)} ms)\n`);
    console.log(
      table(
        ['mode', 'orders/s', 'achieved', 'p50', 'p90', 'p99', 'p99.9', 'max', 'send lag', 'errors', 'p99 target'],
        latency.map((l) => {
          const u = l.result.latency_us;
          return [`${l.mode} ${l.target}`, fmt(l.ratePerSec), fmt(l.result.achieved_per_sec), msOf(u.p50), msOf(u.p90), msOf(u.p99), msOf(u.p999), msOf(u.max), msOf(l.result.mean_send_lag_us), String(l.result.errors.unexpected), l.target === 'service' ? (u.p99 < LATENCY_P99_TARGET_US ? 'met' : 'NOT MET') : '-'];
        }),
      ),
    );
  }
  if (profile) printProfile(profile);
  console.log(`\nload average at end ${loadEnd.map((l) => l.toFixed(2)).join(' ')}${Math.max(loadStart[0]!, loadEnd[0]!) > cpus().length - 1 ? `  (other work competed for the ${cpus().length} CPUs: compare ratios, not absolute rates)` : ''}; total ${((Date.now() - started) / 1000).toFixed(0)} s`);

  // ---- files ----
  const date = new Date().toISOString();
  const result = {
    date,
    commit,
    node: process.version,
    cpu,
    cpus: cpus().length,
    loadavgStart: loadStart.map((l) => round(l, 2)),
    loadavgEnd: loadEnd.map((l) => round(l, 2)),
    config: CONFIG,
    targets: { ...TARGETS, latencyP99Us: LATENCY_P99_TARGET_US },
    shapes,
    modes: Object.fromEntries(
      summary.map((s) => [
        s.mode,
        {
          throughputRatio: round(s.throughputRatio, 3),
          cpuRatio: round(s.cpuRatio, 3),
          throughputMet: s.throughputMet,
          cpuMet: s.cpuMet,
          noopClientBound: s.noopClientBound,
          serviceOrdersPerSec: Math.round(s.serviceOrdersPerSec),
          noopOrdersPerSec: Math.round(s.noopOrdersPerSec),
          serviceUsPerOrder: round(s.serviceUsPerOrder, 2),
          noopUsPerOrder: round(s.noopUsPerOrder, 2),
          pairs: s.pairs.map((p) => ({ throughputRatio: round(p.throughputRatio, 3), cpuRatio: round(p.cpuRatio, 3), service: runJson(p.service), noop: runJson(p.noop) })),
        },
      ]),
    ),
    latency: latency.map((l) => ({ mode: l.mode, target: l.target, ratePerSec: l.ratePerSec, serverCores: round(l.serverCores, 3), clientCores: round(l.clientCores, 3), ...l.result, p99Met: l.result.latency_us.p99 < LATENCY_P99_TARGET_US })),
    profile,
  };
  mkdirSync(CONFIG.resultsDir, { recursive: true });
  const text = `${JSON.stringify(result, null, 2)}\n`;
  const dated = `grpc-${date.slice(0, 10)}${CONFIG.tag ? `-${CONFIG.tag}` : ''}.json`;
  writeFileSync(join(CONFIG.resultsDir, dated), text);
  writeFileSync(join(CONFIG.resultsDir, 'grpc-latest.json'), text);
  const history: Record<string, unknown> = { date, commit, node: process.version, cpu, cpus: cpus().length, loadavg: result.loadavgStart, loadavgEnd: result.loadavgEnd, seconds: CONFIG.seconds, migration: CONFIG.migration, method: 'fresh-server-per-run, sessions, shaped no-op, paired median', tag: CONFIG.tag, runtime: CONFIG.runtime, serviceNodeFlags: CONFIG.serviceNodeFlags.join(' '), modes: CONFIG.modes.join(','), pairs: CONFIG.pairs, clients: CONFIG.clients };
  for (const s of summary) {
    const k = s.mode === 'unary' ? 'unary' : `${s.mode}${CONFIG.batch}`;
    history[`${k}.noop`] = Math.round(s.noopOrdersPerSec);
    history[`${k}.service`] = Math.round(s.serviceOrdersPerSec);
    history[`${k}.ratio`] = round(s.throughputRatio, 3);
    history[`${k}.noopUsPerOrder`] = round(s.noopUsPerOrder, 2);
    history[`${k}.serviceUsPerOrder`] = round(s.serviceUsPerOrder, 2);
    history[`${k}.cpuRatio`] = round(s.cpuRatio, 3);
  }
  for (const l of latency) {
    const k = l.mode === 'unary' ? 'unary' : `${l.mode}${CONFIG.batch}`;
    history[`latency.${k}.${l.target}.p50us`] = l.result.latency_us.p50;
    history[`latency.${k}.${l.target}.p99us`] = l.result.latency_us.p99;
  }
  history.unexpectedErrors = runs.reduce((a, r) => a + unexpectedCount(r.counts), 0);
  appendFileSync(join(CONFIG.resultsDir, 'grpc-history.jsonl'), `${JSON.stringify(history)}\n`);
  console.log(`\nwrote ${join(CONFIG.resultsDir, dated)} (and grpc-latest.json), appended grpc-history.jsonl`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('bench:grpc failed:', err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
