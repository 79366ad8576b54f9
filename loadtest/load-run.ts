/**
 * The open-loop driver of `npm run load`: orders are due on a fixed schedule (order i of a transport at
 * start + i / rate) whatever happened to earlier ones, and every latency is measured from that INTENDED
 * send time, so a stalled server or a late client shows as latency instead of as a lower send rate
 * (coordinated omission). Transports: unary SubmitOrder/CancelOrder, OrderFlow stream messages and
 * SubmitOrderBatch calls of `batch` orders each, sharing the rate by `mix`. The order flow, the response
 * checks and the stream handling are loadtest/grpc-load-client.ts's (the same as bench:grpc).
 *
 * Bounded: the schedule ends after `durationSeconds`; at most `maxInFlight` orders are outstanding (later
 * ones wait, still measured from their due time); answers still missing DRAIN_GRACE_MS after the last
 * send are counted as lost.
 */
import { credentials } from '@grpc/grpc-js';
import * as hdr from 'hdr-histogram-js';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { OrdersServiceClient, type SubmitOrderRequest } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { BENCH_ACCOUNTS, FlowStream, OrderFlowGenerator, ResponseTally, cancelAllBenchOrders, loginBenchAccounts, sendUnary, useSessionTokens } from './grpc-load-client.ts';
import type { LoadArgs, Transport } from './load-args.ts';

export const DRAIN_GRACE_MS = 10_000;
const HIGHEST_US = 120_000_000;

export interface SecondSample {
  /** Seconds since the start (the second this row covers: [t, t+1)). */
  t: number;
  /** Orders sent in this second (by actual send time). */
  sent: number;
  /** Orders answered in this second. */
  completed: number;
  /** Unexpected failures counted in this second. */
  errors: number;
  /** Latency (µs, from the intended send time) of the orders DUE in this second. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LoadResult {
  started_at: string;
  args: Omit<LoadArgs, 'adminToken'>;
  load_average_before: number[];
  load_average_after: number[];
  /** Orders the schedule held; all were sent (late ones later, and measured so). */
  scheduled: number;
  completed: number;
  lost: number;
  target_per_sec: number;
  achieved_per_sec: number;
  latency_us: { p50: number; p90: number; p95: number; p99: number; p999: number; max: number; mean: number };
  /** How late the client itself sent, on average (timer granularity, its own CPU); part of the latencies. */
  mean_send_lag_us: number;
  errors: { unexpected: number; by_kind: Record<string, number>; cancel_not_found: number };
  error_rate: number;
  statuses: Record<string, number>;
  per_second: SecondSample[];
  /** The whole run's latency distribution: latency at each percentile (HdrHistogram). */
  distribution: { percentile: number; latency_us: number }[];
  /** The runbook's budgets: p95 < 20 ms, error rate < 1 %. */
  slo: { p95_under_20ms: boolean; error_rate_under_1pct: boolean };
}

const nowUs = (): number => performance.now() * 1000;

function histogram(packed = false): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: packed ? 2 : 3, bitBucketSize: packed ? 'packed' : 32 });
}

/**
 * The latency at `p`: HdrHistogram answers with the highest value equivalent to the bucket's, which can
 * lie a little above the largest value recorded; clamped to it so percentiles never exceed the max.
 */
function at(h: hdr.Histogram, p: number): number {
  return Math.min(h.getValueAtPercentile(p), h.maxValue);
}

function percentiles(h: hdr.Histogram): LoadResult['latency_us'] {
  return {
    p50: at(h, 50),
    p90: at(h, 90),
    p95: at(h, 95),
    p99: at(h, 99),
    p999: at(h, 99.9),
    max: h.maxValue,
    mean: Math.round(h.mean),
  };
}

/** Percentiles from 0 to 99.9999 on a "nines" scale, as HdrHistogram plots them. */
const DISTRIBUTION_POINTS = [0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 98, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 99.9999, 100];

export interface Progress {
  (line: string, final: boolean): void;
}

export async function runLoad(args: LoadArgs, progress: Progress): Promise<LoadResult> {
  const startedAt = new Date().toISOString();
  const loadBefore = loadavg().map((x) => Math.round(x * 100) / 100);
  if (args.auth === 'sessions') useSessionTokens(await loginBenchAccounts(args.target, args.admin, args.adminToken));
  const clients = Array.from({ length: args.connections }, () => new OrdersServiceClient(args.target, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
  await cancelAllBenchOrders(clients[0]!);

  const tag = `load-${Date.now().toString(36)}`;
  const flow = new OrderFlowGenerator({ tag: `${tag}u`, seed: args.seed, cancels: true });
  const batchFlow = new OrderFlowGenerator({ tag: `${tag}b`, seed: args.seed + 1, cancels: false });
  const tally = new ResponseTally();
  const total = histogram();
  const perSecond: hdr.Histogram[] = [];
  const seconds = args.durationSeconds;

  // Per transport: events/s (calls or messages), orders per event, how many the schedule holds.
  const plan = (['unary', 'stream', 'batch'] as Transport[])
    .map((t) => {
      const ordersPerSec = args.rate * args.mix[t];
      const size = t === 'unary' ? 1 : args.batch;
      const perSec = ordersPerSec / size;
      return { t, size, intervalUs: 1e6 / perSec, count: Math.floor(perSec * seconds), sent: 0 };
    })
    .filter((p) => p.count > 0);
  const scheduled = plan.reduce((a, p) => a + p.count * p.size, 0);

  let inFlight = 0;
  let completed = 0;
  let sentOrders = 0;
  let lagSumUs = 0;
  let lagEvents = 0;
  const t0 = nowUs();
  const record = (dueUs: number, orders: number): void => {
    const lat = Math.min(HIGHEST_US, Math.max(1, Math.round(nowUs() - dueUs)));
    total.recordValueWithCount(lat, orders);
    const sec = Math.min(seconds - 1, Math.max(0, Math.floor((dueUs - t0) / 1e6)));
    (perSecond[sec] ??= histogram(true)).recordValueWithCount(lat, orders);
    completed += orders;
    inFlight -= orders;
  };

  const streams = plan.some((p) => p.t === 'stream') ? Array.from({ length: args.streams }, (_, i) => new FlowStream(clients[i % clients.length]!, i % BENCH_ACCOUNTS.length, tally)) : [];
  for (const s of streams) s.onAnswer = (batch, results) => record(batch.dueUs, results);
  let nextStream = 0;
  let nextBatchAccount = 0;

  const send = (t: Transport, size: number, dueUs: number, i: number): void => {
    const client = clients[i % clients.length]!;
    inFlight += size;
    sentOrders += size;
    if (t === 'unary') {
      sendUnary(client, flow.next(flow.pickAccount()), tally, () => record(dueUs, 1));
    } else if (t === 'stream') {
      streams[nextStream++ % streams.length]!.send(flow, size, dueUs);
    } else {
      const acct = nextBatchAccount++ % BENCH_ACCOUNTS.length;
      const orders: SubmitOrderRequest[] = [];
      for (let k = 0; k < size; k++) {
        const cmd = batchFlow.next(acct);
        if (cmd.kind === 'submit') orders.push(cmd.req);
      }
      client.submitOrderBatch({ orders }, BENCH_ACCOUNTS[acct]!.metadata, (err, res) => {
        if (err) tally.callError('submit', err);
        else {
          if (res.results.length !== orders.length) tally.error(`batch:${res.results.length} results for ${orders.length} orders`);
          for (const r of res.results) {
            if (r.error !== undefined) tally.itemError('submit', r.error);
            else tally.order(r.order, 'submit');
          }
        }
        record(dueUs, size);
      });
    }
  };

  // Per-second throughput rows and the progress line.
  const rows: { sent: number; completed: number; errors: number }[] = [];
  let lastSent = 0;
  let lastCompleted = 0;
  let lastErrors = 0;
  const snapshot = (final: boolean): void => {
    const errors = tally.unexpectedCount;
    rows.push({ sent: sentOrders - lastSent, completed: completed - lastCompleted, errors: errors - lastErrors });
    lastSent = sentOrders;
    lastCompleted = completed;
    lastErrors = errors;
    const el = rows.length;
    const last = perSecond[Math.max(0, Math.min(seconds - 1, el - 2))];
    const p99 = last ? (at(last, 99) / 1000).toFixed(2) : '-';
    if (final || el % args.progressEvery === 0)
      progress(
        `[${String(el).padStart(4)}s/${seconds}s] sent ${sentOrders}/${scheduled} (${rows.at(-1)!.sent}/s of ${args.rate}/s) answered ${completed} in flight ${inFlight} errors ${errors} p99(last s) ${p99} ms`,
        final,
      );
  };

  await new Promise<void>((resolve) => {
    const ticker = setInterval(() => snapshot(false), 1000);
    let drainTimer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearInterval(ticker);
      clearTimeout(drainTimer);
      resolve();
    };
    const tick = (): void => {
      const now = nowUs();
      let more = false;
      for (const p of plan) {
        while (p.sent < p.count && t0 + p.sent * p.intervalUs <= now && inFlight < args.maxInFlight) {
          const due = t0 + p.sent * p.intervalUs;
          lagSumUs += nowUs() - due;
          lagEvents++;
          send(p.t, p.size, due, p.sent);
          p.sent++;
        }
        if (p.sent < p.count) more = true;
      }
      if (more) setTimeout(tick, 1);
      else {
        // Everything sent: wait for the answers, but not forever.
        drainTimer = setTimeout(finish, DRAIN_GRACE_MS);
        const poll = (): void => {
          if (inFlight <= 0) finish();
          else if (!done) setTimeout(poll, 5);
        };
        poll();
      }
    };
    tick();
  });
  snapshot(true);
  const lost = Math.max(0, inFlight);
  if (lost > 0) tally.error(`lost: no answer ${DRAIN_GRACE_MS} ms after the last send`);
  await Promise.all(streams.map((s) => s.end()));
  for (const c of clients) c.close();

  const elapsedS = (nowUs() - t0) / 1e6;
  const lat = percentiles(total);
  const unexpected = tally.unexpectedCount;
  const errorRate = scheduled === 0 ? 0 : unexpected / scheduled;
  const { adminToken: _omitted, ...shownArgs } = args;
  return {
    started_at: startedAt,
    args: shownArgs,
    load_average_before: loadBefore,
    load_average_after: loadavg().map((x) => Math.round(x * 100) / 100),
    scheduled,
    completed,
    lost,
    target_per_sec: args.rate,
    achieved_per_sec: Math.round(completed / Math.max(seconds, elapsedS)),
    latency_us: lat,
    mean_send_lag_us: lagEvents === 0 ? 0 : Math.round(lagSumUs / lagEvents),
    errors: { unexpected, by_kind: { ...tally.unexpected }, cancel_not_found: tally.cancelNotFound },
    error_rate: errorRate,
    statuses: { ...tally.statuses },
    per_second: rows.map((r, t) => {
      const h = perSecond[t];
      return { t, ...r, p50: h ? at(h, 50) : 0, p90: h ? at(h, 90) : 0, p99: h ? at(h, 99) : 0, max: h?.maxValue ?? 0 };
    }),
    distribution: DISTRIBUTION_POINTS.map((p) => ({ percentile: p, latency_us: total.totalCount === 0 ? 0 : at(total, p) })),
    slo: { p95_under_20ms: total.totalCount > 0 && lat.p95 < 20_000, error_rate_under_1pct: errorRate < 0.01 },
  };
}
