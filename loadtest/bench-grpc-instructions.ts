/**
 * Server instructions per order through gRPC, the service against the no-op, counted by `valgrind
 * --tool=callgrind` (load-independent: the machine's other work changes the time, not the count).
 * bench:grpc's CPU-per-order ratio on a quiet machine, measurable on a busy one.
 *
 *   node --import tsx loadtest/bench-grpc-instructions.ts
 *   BENCH_INSTR_STREAMS (2)  BENCH_INSTR_MESSAGES (40: OrderFlow messages of 100 per stream, after as many
 *   warm-up messages)  BENCH_INSTR_LABEL (free text)
 *
 * Both servers run as bench:grpc runs them (buildService: the built service with sessions, client order
 * ids on every order, the default shadow migration; the bundled no-op answering in the service's
 * response shape), under callgrind with `node --single-threaded` (no background compiler or GC
 * threads, so the count repeats). Each runs three times: W warm-up messages per stream; W + M; W and
 * then idle as long as the M took. The difference over M × streams × 100, less the idle run's
 * per-second count for the extra time, is the figure: start-up, warm-up, shutdown and timers cancel out.
 * The client runs here, outside valgrind. Appends a line to bench-results/grpc-instructions.jsonl.
 */
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { credentials } from '@grpc/grpc-js';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OrdersServiceClient } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { buildService, startServer, stopServer, tokensFor, type Target } from './bench-processes.ts';
import { envInt, gitCommit } from './bench-support.ts';
import { countsOf, FlowStream, OrderFlowGenerator, ResponseTally, unexpectedCount, useSessionTokens } from './grpc-load-client.ts';
import { shapeOf, type ResponseShape } from './response-shape.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const streams = envInt('BENCH_INSTR_STREAMS', 2);
const messages = envInt('BENCH_INSTR_MESSAGES', 40);
const BATCH = 100;

/** Sends `total` messages of BATCH on each of `all`, two in flight per stream; resolves when all are answered. */
function drive(all: readonly FlowStream[], flow: OrderFlowGenerator, total: number): Promise<void> {
  return new Promise<void>((resolve) => {
    let live = all.length;
    for (const s of all) {
      let sent = 0;
      s.onAnswer = () => {
        if (sent < total) {
          sent++;
          s.send(flow, BATCH, 0);
        } else if (s.inFlight === 0 && --live === 0) resolve();
      };
      for (let i = 0; i < Math.min(2, total); i++, sent++) s.send(flow, BATCH, 0);
    }
  });
}

/**
 * One server under callgrind: `messages` warm-up messages per stream, then either `messages` more
 * (`full`) or nothing for `idleMs` (`idle`: what the server's timers and the runtime cost per second
 * while it waits), then shutdown. `afterWarmMs`: wall time from the end of the warm-up to the stop.
 */
async function count(target: Target, kind: 'warm' | 'full' | 'idle', shape: ResponseShape | undefined, idleMs = 0): Promise<{ ir: number; afterWarmMs: number; tally: ResponseTally }> {
  const out = join(tmpdir(), `grpc-instr-${process.pid}-${target}-${kind}.out`);
  const server = await startServer({
    target,
    env: { PERSISTENCE: 'memory', RATE_LIMIT_PER_SECOND: '1000000', RATE_LIMIT_BURST: '1000000' },
    shape,
    runtime: 'dist',
    nodeFlags: ['--single-threaded'],
    wrap: ['valgrind', '--tool=callgrind', `--callgrind-out-file=${out}`, '--'],
    startTimeoutMs: 600_000,
  });
  const tally = new ResponseTally();
  let warmEnd = performance.now();
  try {
    useSessionTokens(await tokensFor(server));
    const client = new OrdersServiceClient(server.address, credentials.createInsecure());
    const flow = new OrderFlowGenerator({ tag: 'instr', seed: 1, cancels: true });
    const all = Array.from({ length: streams }, (_, i) => new FlowStream(client, i, tally));
    await drive(all, flow, messages);
    warmEnd = performance.now();
    if (kind === 'full') await drive(all, flow, messages);
    if (kind === 'idle') await new Promise((r) => setTimeout(r, idleMs));
    await Promise.all(all.map((s) => s.end()));
    client.close();
  } finally {
    await stopServer(server, 300_000);
  }
  const afterWarmMs = performance.now() - warmEnd;
  const summary = /^summary: (\d+)$/m.exec(readFileSync(out, 'utf8'));
  rmSync(out);
  if (summary === null) throw new Error(`no summary line in ${out}`);
  return { ir: Number(summary[1]), afterWarmMs, tally };
}

const loadStart = loadavg()[0]!;
const commit = gitCommit(ROOT, ['server', 'loadtest']);
buildService();
const orders = messages * streams * BATCH;
/**
 * Instructions per order: (full − warm − idle rate × the full run's extra wall time) / orders, where the
 * idle rate is (idle − warm) / the idle run's extra wall time. Under valgrind a run lasts minutes, so the
 * servers' per-second work (timers, monitors, sweeps) would otherwise count as per-order work.
 */
const per = async (target: Target, shape: ResponseShape | undefined): Promise<{ perOrder: number; idlePerSecond: number; shape: ResponseShape; unexpected: number }> => {
  const warm = await count(target, 'warm', shape);
  const full = await count(target, 'full', shape);
  const idle = await count(target, 'idle', shape, Math.max(1000, full.afterWarmMs - warm.afterWarmMs));
  const idlePerMs = Math.max(0, (idle.ir - warm.ir) / Math.max(1, idle.afterWarmMs - warm.afterWarmMs));
  const perOrder = Math.round((full.ir - warm.ir - idlePerMs * (full.afterWarmMs - warm.afterWarmMs)) / orders);
  const c = countsOf(full.tally);
  return { perOrder, idlePerSecond: Math.round(idlePerMs * 1000), shape: shapeOf(c), unexpected: unexpectedCount(c) + unexpectedCount(countsOf(warm.tally)) };
};
const service = await per('service', undefined);
const noop = await per('noop', service.shape);
const line = {
  date: new Date().toISOString(),
  commit,
  label: process.env.BENCH_INSTR_LABEL ?? '',
  node: process.version,
  streams,
  ordersCounted: orders,
  serviceInstructionsPerOrder: service.perOrder,
  noopInstructionsPerOrder: noop.perOrder,
  idleInstructionsPerSecond: { service: service.idlePerSecond, noop: noop.idlePerSecond },
  ratio: Math.round((service.perOrder / noop.perOrder) * 1000) / 1000,
  unexpectedAnswers: service.unexpected + noop.unexpected,
  loadAverage: [loadStart, loadavg()[0]!].map((l) => Math.round(l * 100) / 100),
};
appendFileSync(join(ROOT, 'bench-results/grpc-instructions.jsonl'), `${JSON.stringify(line)}\n`);
console.log(
  `OrderFlow ×${BATCH}: service ${service.perOrder} instructions per order, no-op ${noop.perOrder} (×${line.ratio}; target ≤ 1.5) — commit ${commit}, ${orders} orders counted, ${line.unexpectedAnswers} unexpected answers, load ${line.loadAverage.join(' → ')}`,
);
process.exit(0);
