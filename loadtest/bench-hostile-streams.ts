/**
 * Issue 7 item 1, measured: N StreamMarketData streams whose clients never read, while the book gets
 * D new levels (each a market-data delta); a probe client calls GetOrderBook every 5 ms meanwhile.
 * Prints RSS and heap growth (after a GC, with --expose-gc), the server's queued-bytes figure when it
 * has one, and the probe's p50/p99/max, with the load average. Never fails on timing.
 *
 *   node --expose-gc --import tsx loadtest/bench-hostile-streams.ts
 *   BENCH_STREAMS (300)  unread streams      BENCH_DELTAS (20000)  book changes
 *   BENCH_MAX_QUEUED_BYTES_PER_STREAM / BENCH_MAX_QUEUED_BYTES_TOTAL (the server defaults): other limits
 *   BENCH_ATTACKER (child): `child` opens the unread streams from a separate process (so their clients'
 *   work does not share the server's event loop and the probe measures the server); `inline` in this one
 *   BENCH_CLIENT_WINDOW (0): the HTTP/2 window the attacking clients grant ('grpc-node.flow_control_window').
 *   0: they never grant any — nothing can be sent to them, the attack of issue 7. `paused`: grpc-js's
 *   default window and a paused stream, which is NOT unread: grpc-js keeps taking DATA into its own memory
 *   (the window stays open), so this is 300 subscribers that read as fast as the server writes
 *   Writes bench-results/hostile-streams-latest.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { credentials } from '@grpc/grpc-js';
import { MarketDataServiceClient } from '../server/adapters/grpc/generated/trading/v1/market_data.ts';
import type { NewOrderRequest } from '../server/pairs/trading-pair.ts';
import { DEFAULT_STREAM_LIMITS } from '../server/adapters/grpc/stream-limits.ts';
import { startHarness } from '../test/grpc-harness.ts';
import { envInt } from './bench-support.ts';

const STREAMS = envInt('BENCH_STREAMS', 300, 0);
const CLIENT_WINDOW = process.env['BENCH_CLIENT_WINDOW'] ?? '0';
/** Channel options of an attacking client (one connection each, no shared subchannel). */
function attackerOptions(): Record<string, number> {
  const o: Record<string, number> = { 'grpc.use_local_subchannel_pool': 1 };
  if (CLIENT_WINDOW !== 'paused') o['grpc-node.flow_control_window'] = Number(CLIENT_WINDOW);
  return o;
}
const DELTAS = envInt('BENCH_DELTAS', 20_000);
const MIB = 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc;

/** Attacker mode (a child process): N paused streams to `target`, one connection each; stays until killed. */
async function attacker(target: string, n: number): Promise<void> {
  let statuses = 0;
  for (let i = 0; i < n; i++) {
    const c = new MarketDataServiceClient(target, credentials.createInsecure(), attackerOptions());
    const s = c.streamMarketData({ pair: 'BTCUSDT', depth: 0 });
    s.on('error', () => {});
    s.on('status', () => {
      statuses++;
      process.stdout.write(`ended ${statuses}\n`);
    });
    s.pause();
  }
  await new Promise((r) => setTimeout(r, 500));
  process.stdout.write('ready\n');
  await new Promise(() => {});
}

async function main(): Promise<void> {
  if (process.argv[2] === 'attacker') return attacker(process.argv[3]!, Number(process.argv[4]));
  const inline = (process.env['BENCH_ATTACKER'] ?? 'child') === 'inline';
  const h = await startHarness({
    streamLimits: {
      maxQueuedBytesPerStream: envInt('BENCH_MAX_QUEUED_BYTES_PER_STREAM', DEFAULT_STREAM_LIMITS.maxQueuedBytesPerStream),
      maxQueuedBytesTotal: envInt('BENCH_MAX_QUEUED_BYTES_TOTAL', DEFAULT_STREAM_LIMITS.maxQueuedBytesTotal),
    },
  });
  const pair = h.pairs.get('BTCUSDT')!;
  gc?.();
  const base = process.memoryUsage();
  const clients: MarketDataServiceClient[] = [];
  let ended = 0;
  let child: ReturnType<typeof spawn> | undefined;
  if (!inline) {
    child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'attacker', h.address, String(STREAMS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => {
      child!.stdout!.setEncoding('utf8');
      child!.stdout!.on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) {
          if (line === 'ready') resolve();
          const m = /^ended (\d+)$/.exec(line);
          if (m !== null) ended = Number(m[1]);
        }
      });
    });
  }
  for (let i = 0; inline && i < STREAMS; i++) {
    // One connection per client (no shared subchannel), as separate attacking processes would have.
    const c = new MarketDataServiceClient(h.address, credentials.createInsecure(), attackerOptions());
    clients.push(c);
    const s = c.streamMarketData({ pair: 'BTCUSDT', depth: 0 });
    s.on('error', () => {});
    s.on('status', () => ended++);
    s.pause();
  }
  // Every stream open (or its connection refused by GRPC_MAX_CONNECTIONS_PER_PEER) before the attack starts.
  for (let i = 0; i < 400 && h.server.streamGovernor.openStreams + h.server.connectionGuard.refused < STREAMS; i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500));
  const opened = h.server.streamGovernor.openStreams;
  const probe = new MarketDataServiceClient(h.address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  // One call first: the probe's connection is set up before the attack (its first call is not timed).
  await new Promise<void>((resolve) => probe.getOrderBook({ pair: 'ETHUSDT', depth: 5 }, () => resolve()));
  const latencies: number[] = [];
  /** Probe calls over 50 ms: when (ms since the attack began), how long, and the server's stream state then. */
  const slowCalls: { at_ms: number; ms: number; open_streams: number; queued_mib: number }[] = [];
  let started = performance.now();
  let probing = true;
  const probeLoop = (async () => {
    while (probing) {
      const t0 = performance.now();
      await new Promise<void>((resolve) => probe.getOrderBook({ pair: 'ETHUSDT', depth: 5 }, () => resolve()));
      const ms = performance.now() - t0;
      latencies.push(ms);
      if (ms > 50) slowCalls.push({ at_ms: Math.round(t0 - started), ms: Math.round(ms), open_streams: h.server.streamGovernor.openStreams, queued_mib: Math.round(h.server.streamGovernor.queuedBytes / MIB) });
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  let peakRss = 0;
  let peakQueued = 0;
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  // CPU time of each event-loop turn during the attack (one getrusage per turn): how long the probe's
  // next callback waits at least, on a machine with a core to spare — much less load-dependent than wall time.
  const turnCpuMs: number[] = [];
  let measuringTurns = true;
  let lastCpu = process.cpuUsage();
  const turn = (): void => {
    const c = process.cpuUsage();
    turnCpuMs.push((c.user - lastCpu.user + c.system - lastCpu.system) / 1000);
    lastCpu = c;
    if (measuringTurns) setImmediate(turn);
  };
  setImmediate(turn);
  const cpuAtStart = process.cpuUsage();
  started = performance.now();
  /** Wall time of each batch of 100 submits (matching plus the synchronous fan-out of its deltas to every subscriber). */
  const batchMs: number[] = [];
  for (let done = 0; done < DELTAS; done += 100) {
    const b0 = performance.now();
    for (let k = 0; k < 100; k++) {
      const i = done + k;
      const buy = i % 2 === 0;
      pair.submit(1, { clientOrderId: '', side: buy ? 0 : 1, type: 0, tif: 0, postOnly: false, price: buy ? 1_000_000 - i : 2_000_000 + i, quantity: 1, stp: 0 } as NewOrderRequest);
    }
    batchMs.push(performance.now() - b0);
    await new Promise((r) => setImmediate(r));
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    peakQueued = Math.max(peakQueued, h.server.streamGovernor.queuedBytes);
  }
  const attackMs = performance.now() - started;
  const firstBatches = batchMs.slice(0, 5).reduce((a, b) => a + b, 0); // mean of the first 5, every stream still subscribed
  const firstTwenty = batchMs.slice(0, 20).map((x) => +x.toFixed(1));
  const attackCpu = process.cpuUsage(cpuAtStart);
  measuringTurns = false;
  loopDelay.disable();
  await new Promise((r) => setTimeout(r, 1_000));
  probing = false;
  await probeLoop;
  gc?.();
  const after = process.memoryUsage();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  turnCpuMs.sort((a, b) => a - b);
  const turnQ = (p: number) => turnCpuMs[Math.min(turnCpuMs.length - 1, Math.floor(p * turnCpuMs.length))] ?? NaN;
  const result = {
    attacker: inline ? 'inline' : 'child process',
    client_window: CLIENT_WINDOW,
    max_queued_bytes_per_stream: h.server.streamGovernor.limits.maxQueuedBytesPerStream,
    max_queued_bytes_total: h.server.streamGovernor.limits.maxQueuedBytesTotal,
    streams: STREAMS,
    streams_open_at_start: opened,
    connections_refused: h.server.connectionGuard.refused,
    deltas: DELTAS,
    attack_ms: Math.round(attackMs),
    rss_base_mib: +(base.rss / MIB).toFixed(1),
    rss_peak_mib: +(peakRss / MIB).toFixed(1),
    rss_after_gc_mib: +(after.rss / MIB).toFixed(1),
    heap_after_gc_mib: +(after.heapUsed / MIB).toFixed(1),
    heap_growth_after_gc_mib: +((after.heapUsed - base.heapUsed) / MIB).toFixed(1),
    server_peak_queued_mib: +(peakQueued / MIB).toFixed(2),
    streams_ended_by_server: ended,
    probe_calls: latencies.length,
    probe_p50_ms: +q(0.5).toFixed(2),
    probe_p99_ms: +q(0.99).toFixed(2),
    probe_max_ms: +(latencies.at(-1) ?? NaN).toFixed(2),
    probe_calls_over_50ms: slowCalls,
    batch_of_100_p50_ms: +(batchMs.sort((a, b) => a - b)[batchMs.length >> 1] ?? NaN).toFixed(2),
    batch_of_100_first_ms: +(firstBatches / 5).toFixed(2),
    batch_first_20_ms: firstTwenty,
    attack_cpu_ms: Math.round((attackCpu.user + attackCpu.system) / 1000),
    loop_turns: turnCpuMs.length,
    turn_cpu_p99_ms: +turnQ(0.99).toFixed(2),
    turn_cpu_p999_ms: +turnQ(0.999).toFixed(2),
    turn_cpu_max_ms: +(turnCpuMs.at(-1) ?? NaN).toFixed(2),
    event_loop_delay_p99_ms: +(loopDelay.percentile(99) / 1e6).toFixed(1),
    event_loop_delay_max_ms: +(loopDelay.max / 1e6).toFixed(1),
    loadavg: loadavg().map((x) => +x.toFixed(2)),
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync('bench-results', { recursive: true });
  writeFileSync('bench-results/hostile-streams-latest.json', `${JSON.stringify(result, null, 2)}\n`);
  for (const c of clients) c.close();
  child?.kill();
  probe.close();
  await h.close();
  process.exit(0);
}

void main();
