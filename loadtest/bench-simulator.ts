/**
 * `npm run bench:simulator`: how fast the simulator produces load, so it is never the bottleneck.
 *
 * 1. In-process: the seeded simulation against TradingPair with a virtual clock (hashing and ledger off):
 *    - driver: agents + TradingPair + book, end to end;
 *    - engine replay: the recorded command stream alone into fresh pairs (TradingPair + book);
 *    - generation: a fresh population with the same seed fed exactly the answers a traced run gave it
 *      (simulator/trace-replay.ts): the agents, scheduler and fair value alone. It must reproduce the
 *      same commands (checked per turn by a fingerprint of kind, client order id, side, price and quantity;
 *      a mismatch fails the bench as a determinism bug). Quoted per second of wall time and per second of
 *      this process's CPU time in the loop (the fair measure on a shared machine), beside the CPU time of
 *      reading the trace alone (the recorded answers are cold in the caches; a live driver hands them over hot).
 * 2. Over gRPC: the real service (server/main.ts, PERSISTENCE=memory, started here on free ports as its
 *    own process) at a few offered rates; for each, the rate the driver actually offered (sent per
 *    second on schedule), what the service acknowledged per second, and the ack latency from the intended
 *    send time. The driver keeps its schedule past the point where the service saturates, which is what
 *    "offers at least the service's own maximum rate" means.
 *
 *   npm run bench:simulator
 *   BENCH_SIM_SECONDS (virtual seconds in-process, 60), BENCH_SIM_REPS (3), BENCH_SIM_GRPC_RATES ("2000,5000,10000"),
 *   BENCH_SIM_GRPC_SECONDS (10), BENCH_SIM_GRPC=0 skips part 2.
 *
 * Prints figures with the load average and writes bench-results/simulator-latest.json plus a line in
 * bench-results/simulator-history.jsonl. Never fails on time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { BOOK_IMPLEMENTATIONS } from '../server/core/book-implementations.ts';
import { DEFAULT_INSTRUMENTS, compileInstrument } from '../server/core/instrument.ts';
import { singleBook } from '../server/pairs/serving-book.ts';
import { TradingPair } from '../server/pairs/trading-pair.ts';
import { ManualClock } from '../server/ports/clock.ts';
import { startGrpcSimulation } from '../simulator/grpc-driver.ts';
import { runInProcessSimulation, type RecordedCommand, type TraceOp } from '../simulator/in-process-driver.ts';
import { replayTrace } from '../simulator/trace-replay.ts';
import { fullGc, gitCommit, envInt } from './bench-support.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_DIR = join(ROOT, 'bench-results');


const CONFIG = {
  seconds: envInt('BENCH_SIM_SECONDS', 60, 0),
  reps: Math.max(1, envInt('BENCH_SIM_REPS', 3, 0)),
  rate: 10_000,
  grpc: process.env.BENCH_SIM_GRPC !== '0',
  grpcRates: (process.env.BENCH_SIM_GRPC_RATES ?? '2000,5000,10000').split(',').map((s) => Number(s.trim())).filter((n) => n > 0),
  grpcSeconds: Math.max(1, envInt('BENCH_SIM_GRPC_SECONDS', 10, 0)),
  pairs: ['BTCUSDT', 'ETHUSDT'],
};

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** The engine's share: the recorded commands into fresh pairs, with no agents and no subscribers. */
function replay(recorded: readonly RecordedCommand[]): number {
  const clock = new ManualClock(1_700_000_000_000);
  const pairs = new Map(CONFIG.pairs.map((p) => [p, new TradingPair({ instrument: compileInstrument(DEFAULT_INSTRUMENTS.find((s) => s.symbol === p)!), createBook: singleBook(BOOK_IMPLEMENTATIONS.legacy), clock })]));
  const t0 = performance.now();
  for (const { pair: symbol, account, command: c } of recorded) {
    const pair = pairs.get(symbol)!;
    if (c.kind === 'submit') {
      pair.submit(account, { clientOrderId: c.clientOrderId, side: c.side, type: c.type, tif: c.tif, postOnly: c.postOnly, price: c.price, quantity: c.quantity, stp: 1 });
    } else {
      const id = pair.resolveClientOrderId(account, c.clientOrderId);
      if (typeof id !== 'number') continue;
      if (c.kind === 'cancel') pair.cancel(account, id);
      else pair.replace(account, id, c.price, c.quantity);
    }
  }
  return performance.now() - t0;
}

/**
 * The trace feed alone: one pass reading the fields of the recorded answers that the agents read (market
 * view, results, events, trades), with no agents. The generation loop pays this too (the answers come from
 * a large recorded trace, cold in the caches, where a live driver hands them over hot); printed so the
 * agents' own share can be told apart. CPU ms.
 */
function traceFeedCpuMs(trace: readonly TraceOp[]): number {
  const c0 = process.cpuUsage();
  let x = 0;
  for (const op of trace) {
    switch (op.op) {
      case 'turn':
        x += op.nowMs + op.commands.length;
        for (const b of op.best) x += b ?? 0;
        break;
      case 'result': {
        const r = op.result;
        x += op.agent + r.command.clientOrderId.length + r.code.length + (r.order === undefined ? 0 : r.order.remaining + r.order.price + r.order.lastSequence + r.order.status.length);
        break;
      }
      case 'event': {
        const e = op.event;
        x += op.agent + e.clientOrderId.length + e.sequence + e.remaining + e.status.length + (e.type === 'fill' ? e.side + e.price + e.quantity : 0);
        break;
      }
      case 'trade':
        x += op.trade.price + op.trade.quantity + op.trade.takerSide + op.trade.pair.length;
        break;
    }
  }
  const c = process.cpuUsage(c0);
  if (x === -1) console.log('unreachable');
  return (c.user + c.system) / 1000;
}

function inProcess() {
  const instruments = CONFIG.pairs.map((p) => compileInstrument(DEFAULT_INSTRUMENTS.find((s) => s.symbol === p)!));
  const runs: { commands: number; driverMs: number; replayMs: number; generationMs: number; mismatches: number; driverPerSec: number; enginePerSec: number; generationPerSec: number; generationCpuMs: number; generationPerCpuSec: number; traceFeedCpuMs: number; generationNetOfFeedPerCpuSec: number }[] = [];
  const base = { seed: 7, pairs: CONFIG.pairs, ratePerSecond: CONFIG.rate, durationMs: CONFIG.seconds * 1000, hash: false, ledger: false } as const;
  for (let rep = 0; rep < CONFIG.reps + 1; rep++) {
    fullGc();
    const t0 = performance.now();
    const r = runInProcessSimulation({ ...base, recordCommands: true });
    const driverMs = performance.now() - t0;
    fullGc();
    const replayMs = replay(r.recorded!);
    const traced = runInProcessSimulation({ ...base, trace: true });
    fullGc();
    // CPU time of the timed loop only (not building the population or checking the commands afterwards).
    const cpuNow = (): number => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    const g = replayTrace({ seed: base.seed, instruments }, traced.trace!, () => performance.now(), cpuNow);
    const generationCpuMs = g.cpuMs;
    const feedCpuMs = traceFeedCpuMs(traced.trace!);
    const row = {
      commands: r.commands,
      driverMs: Math.round(driverMs),
      replayMs: Math.round(replayMs),
      generationMs: Math.round(g.ms),
      mismatches: g.mismatches,
      driverPerSec: Math.round((r.commands / driverMs) * 1000),
      enginePerSec: Math.round((r.commands / replayMs) * 1000),
      generationPerSec: Math.round((g.commands / g.ms) * 1000),
      generationCpuMs: Math.round(generationCpuMs),
      /** Per second of this process's CPU time: on a shared machine the wall clock also counts other processes' turns. */
      generationPerCpuSec: Math.round((g.commands / generationCpuMs) * 1000),
      /** CPU ms of a pass reading the recorded answers alone (no agents). */
      traceFeedCpuMs: Math.round(feedCpuMs),
      /** An estimate: generation per CPU second once the trace feed's own CPU time is taken out. */
      generationNetOfFeedPerCpuSec: Math.round((g.commands / Math.max(1, generationCpuMs - feedCpuMs)) * 1000),
    };
    if (g.commands !== r.commands || g.mismatches !== 0) throw new Error(`the trace replay produced ${g.commands} commands with ${g.mismatches} mismatching turns, the run ${r.commands}: the simulator is not deterministic`);
    if (rep === 0) {
      console.log(`in-process warm-up: ${row.commands} commands, driver ${row.driverMs} ms, engine replay ${row.replayMs} ms, generation ${row.generationMs} ms (not counted)`);
      continue;
    }
    runs.push(row);
    console.log(
      `in-process rep ${rep}: ${row.commands} commands; generation ${row.generationPerSec.toLocaleString('en')}/s wall, ${row.generationPerCpuSec.toLocaleString('en')}/s per CPU second (agents + scheduler + fair value, fed the traced answers; same commands: ${row.mismatches === 0}; reading the trace alone ${row.traceFeedCpuMs} of ${row.generationCpuMs} CPU ms, ~${row.generationNetOfFeedPerCpuSec.toLocaleString('en')}/s per CPU second without it); ` +
        `driver ${row.driverPerSec.toLocaleString('en')}/s (agents + TradingPair + book); engine replay ${row.enginePerSec.toLocaleString('en')}/s; load ${load()}`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return {
    runs,
    median: {
      driverPerSec: median(runs.map((r) => r.driverPerSec)),
      enginePerSec: median(runs.map((r) => r.enginePerSec)),
      generationPerSec: median(runs.map((r) => r.generationPerSec)),
      generationPerCpuSec: median(runs.map((r) => r.generationPerCpuSec)),
      generationNetOfFeedPerCpuSec: median(runs.map((r) => r.generationNetOfFeedPerCpuSec)),
      bestGenerationPerSec: Math.max(...runs.map((r) => r.generationPerSec)),
    },
  };
}

async function startService(): Promise<{ child: ChildProcess; target: string; admin: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PERSISTENCE: 'memory', GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_HOST: '127.0.0.1', ADMIN_PORT: '0', REDIS_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start within 60 s:\n${out}`)), 60_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /listening for gRPC on ([\d.]+:\d+); admin HTTP on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, target: m[1]!, admin: m[2]! });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`service exited with ${code}:\n${out}`)));
  });
}

async function overGrpc() {
  const rows: Record<string, unknown>[] = [];
  const { child, target, admin } = await startService();
  try {
    // A fresh process is slow for its first seconds (JIT): one short run first, not counted.
    const warm = await startGrpcSimulation({ target, adminUrl: admin, seed: 6, ratePerSecond: CONFIG.grpcRates[0] ?? 1000, pairs: CONFIG.pairs, durationMs: 3000, drainTimeoutMs: 10_000 });
    await warm.done;
    for (const rate of CONFIG.grpcRates) {
      const sim = await startGrpcSimulation({ target, adminUrl: admin, seed: 7, ratePerSecond: rate, pairs: CONFIG.pairs, durationMs: CONFIG.grpcSeconds * 1000, drainTimeoutMs: 10_000 });
      const r = await sim.done;
      const row = {
        rate,
        agents: r.agents.length,
        sent: r.commands.sent,
        offeredPerSec: r.offeredPerSecond,
        acknowledgedPerSec: r.acknowledgedPerSecond,
        answered: r.commands.acknowledged + r.commands.failed,
        noAnswer: r.commands.noAnswer,
        notSent: r.commands.notSent,
        errorsByCode: r.errorsByCode,
        ackLatencyMs: r.ackLatencyMs,
        load: load(),
      };
      rows.push(row);
      console.log(
        `gRPC at ${rate}/s (${row.agents} agents, ${CONFIG.grpcSeconds} s): offered ${row.offeredPerSec}/s (${r.commands.idleSlots} idle slots), acknowledged ${row.acknowledgedPerSec}/s, not sent ${row.notSent}; ack latency p50 ${r.ackLatencyMs.p50.toFixed(2)} ms p99 ${r.ackLatencyMs.p99.toFixed(2)} ms p99.9 ${r.ackLatencyMs.p999.toFixed(2)} ms; errors ${JSON.stringify(r.errorsByCode)}; load ${row.load}`,
      );
    }
  } finally {
    child.kill('SIGTERM');
  }
  return rows;
}

async function main(): Promise<void> {
  console.log(`bench:simulator on ${cpus().length} cpus, load ${load()}; in-process ${CONFIG.seconds} virtual s at ${CONFIG.rate}/s × ${CONFIG.reps} reps`);
  const inProc = inProcess();
  const grpc = CONFIG.grpc ? await overGrpc() : [];
  const result = {
    bench: 'simulator',
    at: new Date().toISOString(),
    commit: gitCommit(ROOT, ['simulator', 'loadtest', 'server']),
    node: process.version,
    cpus: cpus().length,
    loadavgAtEnd: loadavg(),
    config: CONFIG,
    inProcess: inProc,
    grpc,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'simulator-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  appendFileSync(join(RESULTS_DIR, 'simulator-history.jsonl'), `${JSON.stringify(result)}\n`);
  console.log(`in-process median (load ${load()}): generation ${inProc.median.generationPerSec.toLocaleString('en')}/s wall (best ${inProc.median.bestGenerationPerSec.toLocaleString('en')}/s), ${inProc.median.generationPerCpuSec.toLocaleString('en')}/s per CPU second (~${inProc.median.generationNetOfFeedPerCpuSec.toLocaleString('en')}/s without reading the trace); driver ${inProc.median.driverPerSec.toLocaleString('en')}/s, engine ${inProc.median.enginePerSec.toLocaleString('en')}/s`);
  console.log('wrote bench-results/simulator-latest.json');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
