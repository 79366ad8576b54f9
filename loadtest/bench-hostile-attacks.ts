/**
 * Issue 7, the other attacks, measured: an attacker process runs one attack against an in-process
 * server (default limits) for BENCH_SECONDS while a probe calls GetOrderBook (ETHUSDT, depth 5) every
 * 5 ms; prints the probe's p50/p99/max, the event-loop delay, RSS (peak while attacked, and after a GC)
 * and what the attacker achieved, with the load average. Never fails on timing.
 *
 *   node --expose-gc --import tsx loadtest/bench-hostile-attacks.ts
 *   BENCH_ATTACK: order-flow       8 accounts × 16 OrderFlow streams that never read, while each account
 *                                  sends a 500-order SubmitOrderBatch every 500 ms (each event → 16 streams)
 *                 order-book       8 raw HTTP/2 connections granting no window pipeline full-depth
 *                                  GetOrderBook calls on a 20,000-level book (answers never read), 100 at a
 *                                  time, each refused one asked again at once; a lost connection is reopened
 *                 idle-connections TCP connections from 127.0.0.2…21 that never send the HTTP/2 preface,
 *                                  reopened as the server closes them
 *                 login-flood      4 loops of Login with unknown key ids and wrong secrets, as fast as answered
 *                 none             the probe alone (the floor the machine allows now)
 *   The attacker connects from 127.0.0.2 (idle connections: 127.0.0.2…21), the probe from 127.0.0.1.
 *   BENCH_SECONDS (10)
 * Writes bench-results/hostile-attacks-latest.json.
 */
import { spawn } from 'node:child_process';
import { connect as http2Connect } from 'node:http2';
import { connect } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { credentials, Metadata } from '@grpc/grpc-js';
import { GetOrderBookRequest, MarketDataServiceClient } from '../server/adapters/grpc/generated/trading/v1/market_data.ts';
import { OrdersServiceClient } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { LoginRequest } from '../server/adapters/grpc/generated/trading/v1/sessions.ts';
import type { NewOrderRequest } from '../server/pairs/trading-pair.ts';
import { limitOrder, startHarness, tokenFor, unary } from '../test/grpc-harness.ts';
import { envInt, fullGc } from './bench-support.ts';

const ATTACKS = ['order-flow', 'order-book', 'idle-connections', 'login-flood', 'none'] as const;
type Attack = (typeof ATTACKS)[number];
const MIB = 1024 * 1024;
const ACCOUNTS = 8;
/** Where the attacker connects from (the probe is 127.0.0.1: per-address limits must not count it). */
const ATTACKER_ADDRESS = '127.0.0.2';

/** What the attacker process did so far, printed as a JSON line every 500 ms. */
const achieved: Record<string, number> = {};
function report(): void {
  process.stdout.write(`${JSON.stringify(achieved)}\n`);
}
const count = (k: string, n = 1): void => {
  achieved[k] = (achieved[k] ?? 0) + n;
};

async function attacker(attack: Attack, target: string, tokens: string[]): Promise<void> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  if (attack === 'order-flow') {
    for (const token of tokens) {
      for (let i = 0; i < 16; i++) {
        const c = new OrdersServiceClient(target, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
        const md = new Metadata();
        md.set('authorization', `Bearer ${token}`);
        const s = c.orderFlow(md);
        s.on('error', () => {});
        s.on('status', () => count('streams_ended'));
        s.pause();
        count('streams_opened');
      }
    }
  } else if (attack === 'order-book') {
    const message = GetOrderBookRequest.encode({ pair: 'BTCUSDT', depth: 0 }).finish();
    const body = Buffer.alloc(5 + message.length);
    body.writeUInt32BE(message.length, 1);
    body.set(message, 5);
    const connection = (): void => {
      const session = http2Connect(`http://${target}`, { settings: { initialWindowSize: 0 }, createConnection: () => connect({ host, port, localAddress: ATTACKER_ADDRESS }) });
      session.on('error', () => {});
      session.once('close', () => {
        count('connections_lost');
        setTimeout(connection, 10); // cut or refused: come back
      });
      const call = (): void => {
        if (session.destroyed || session.closed) return;
        const s = session.request({ ':method': 'POST', ':path': '/trading.v1.MarketDataService/GetOrderBook', 'content-type': 'application/grpc', te: 'trailers' });
        s.on('error', () => {});
        count('calls');
        s.on('response', (headers) => {
          if (headers['grpc-status'] === undefined) count('answers_held');
          else count('refused');
        });
        s.on('close', () => setImmediate(call)); // refused (trailers-only) or reset: ask again at once
        s.end(body);
      };
      // As many as the connection allows at once (GRPC_MAX_CONCURRENT_STREAMS, 100).
      for (let i = 0; i < 100; i++) call();
    };
    for (let c = 0; c < 8; c++) connection();
  } else if (attack === 'idle-connections') {
    const open = (localAddress: string): void => {
      const s = connect({ host, port, localAddress });
      s.on('error', () => {});
      s.on('data', () => {});
      s.once('connect', () => count('connected'));
      s.once('close', () => {
        count('closed_by_server');
        setTimeout(() => open(localAddress), 10);
      });
    };
    for (let a = 2; a <= 21; a++) for (let i = 0; i < 300; i++) open(`127.0.0.${a}`);
  } else if (attack === 'login-flood') {
    // grpc-js cannot choose its source address: a raw HTTP/2 client from ATTACKER_ADDRESS, as a script would.
    const session = http2Connect(`http://${target}`, { createConnection: () => connect({ host, port, localAddress: ATTACKER_ADDRESS }) });
    session.on('error', () => {});
    const login = (apiKeyId: string): Promise<string | undefined> =>
      new Promise((resolve) => {
        const message = LoginRequest.encode({ apiKeyId, apiKeySecret: 'wrong' }).finish();
        const body = Buffer.alloc(5 + message.length);
        body.writeUInt32BE(message.length, 1);
        body.set(message, 5);
        const s = session.request({ ':method': 'POST', ':path': '/trading.v1.SessionService/Login', 'content-type': 'application/grpc', te: 'trailers' });
        let code: string | undefined;
        s.on('response', (hd) => (code = hd['grpc-status'] as string | undefined));
        s.on('trailers', (hd) => (code = hd['grpc-status'] as string | undefined));
        s.on('data', () => {});
        s.on('error', () => resolve(undefined));
        s.on('close', () => resolve(code));
        s.end(body);
      });
    for (let loop = 0; loop < 4; loop++) {
      void (async () => {
        for (let i = 0; ; i++) {
          const code = await login(`ak_${loop}_${i}`);
          count(code === '8' ? 'refused_by_throttle' : 'failed');
        }
      })();
    }
  }
  setInterval(report, 500);
  report();
  await new Promise(() => {});
}

async function main(): Promise<void> {
  if (process.argv[2] === 'attacker') return attacker(process.argv[3] as Attack, process.argv[4]!, JSON.parse(process.argv[5] ?? '[]') as string[]);
  const attack = (process.env['BENCH_ATTACK'] ?? 'order-book') as Attack;
  if (!ATTACKS.includes(attack)) throw new Error(`BENCH_ATTACK must be one of ${ATTACKS.join(', ')}, got "${attack}"`);
  const seconds = envInt('BENCH_SECONDS', 10);
  const h = await startHarness();
  const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `attacker-${i}`);
  const tokens = attack === 'order-flow' ? await Promise.all(accounts.map((a) => tokenFor(a))) : [];
  if (attack === 'order-book') {
    const pair = h.pairs.get('BTCUSDT')!;
    for (let i = 0; i < 20_000; i++) {
      const buy = i % 2 === 0;
      pair.submit(1, { clientOrderId: '', side: buy ? 0 : 1, type: 0, tif: 0, postOnly: false, price: buy ? 1_000_000 - i : 2_000_000 + i, quantity: 1, stp: 0 } as NewOrderRequest);
    }
  }
  fullGc();
  const base = process.memoryUsage();
  let last: Record<string, number> = {};
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'attacker', attack, h.address, JSON.stringify(tokens)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        if (line.startsWith('{')) {
          last = JSON.parse(line) as Record<string, number>;
          resolve();
        }
      }
    });
  });
  const probe = new MarketDataServiceClient(h.address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  await new Promise<void>((resolve) => probe.getOrderBook({ pair: 'ETHUSDT', depth: 5 }, () => resolve()));
  const latencies: number[] = [];
  let probeErrors = 0;
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const started = performance.now();
  const until = started + seconds * 1000;
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
  let batches = 0;
  const trading =
    attack === 'order-flow'
      ? (async () => {
          for (let round = 0; performance.now() < until; round++) {
            await Promise.all(
              accounts.map((a, k) =>
                unary(h.orders.submitOrderBatch.bind(h.orders), { orders: Array.from({ length: 500 }, (_, j) => limitOrder(j % 2 === 0 ? 'buy' : 'sell', j % 2 === 0 ? String(10_000 - round - j / 1000 - k / 100_000) : String(20_000 + round + j / 1000 + k / 100_000), '0.001')) }, a).then(() => batches++),
              ),
            );
            await new Promise((r) => setTimeout(r, 500));
          }
        })()
      : Promise.resolve();
  while (performance.now() < until) {
    const t0 = performance.now();
    await new Promise<void>((resolve) =>
      probe.getOrderBook({ pair: 'ETHUSDT', depth: 5 }, (err) => {
        if (err) probeErrors++;
        resolve();
      }),
    );
    latencies.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 5));
  }
  await trading;
  loopDelay.disable();
  clearInterval(sampler);
  const during = process.memoryUsage();
  child.kill();
  fullGc();
  const after = process.memoryUsage();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  const result = {
    attack,
    seconds,
    rss_base_mib: +(base.rss / MIB).toFixed(1),
    rss_peak_mib: +(Math.max(peakRss, during.rss) / MIB).toFixed(1),
    rss_end_of_attack_mib: +(during.rss / MIB).toFixed(1),
    heap_after_gc_mib: +(after.heapUsed / MIB).toFixed(1),
    attacker: last,
    order_batches_sent: batches,
    server: {
      open_connections_at_end: h.server.connectionGuard.openConnections,
      connections_refused: h.server.connectionGuard.refused,
      preface_timeouts: h.server.connectionGuard.prefaceTimeouts,
      slow_consumers_ended: h.server.streamGovernor.slowConsumersEnded,
      queued_mib_at_end: +(h.server.streamGovernor.queuedBytes / MIB).toFixed(2),
    },
    probe_calls: latencies.length,
    probe_errors: probeErrors,
    probe_p50_ms: +q(0.5).toFixed(2),
    probe_p99_ms: +q(0.99).toFixed(2),
    probe_max_ms: +(latencies.at(-1) ?? NaN).toFixed(2),
    event_loop_delay_p99_ms: +(loopDelay.percentile(99) / 1e6).toFixed(1),
    event_loop_delay_max_ms: +(loopDelay.max / 1e6).toFixed(1),
    loadavg: loadavg().map((x) => +x.toFixed(2)),
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync('bench-results', { recursive: true });
  writeFileSync('bench-results/hostile-attacks-latest.json', `${JSON.stringify(result, null, 2)}\n`);
  probe.close();
  await h.close();
  process.exit(0);
}

void main();
