/**
 * One load-client process of `npm run bench:grpc` (forked with an IPC channel, several at once, so the
 * client side has CPU to spare). The parent sends one job; the process warms up, answers `ready`, waits
 * for `go`, measures, and answers with what it counted and the CPU it used in the measured window:
 *
 *   parent → { type: 'job', job: ClientJob }       child → { type: 'ready' }
 *   parent → { type: 'go' }                        child → { type: 'result', result: ClientResult }
 *
 * A `throughput` job runs one closed-loop driver of loadtest/grpc-load-client.ts for its share of the
 * bench accounts; a `latency` job runs the open-loop generator of `npm run load` (loadtest/load-run.ts).
 */
import { credentials } from '@grpc/grpc-js';
import { OrdersServiceClient } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import {
  OrderFlowGenerator,
  batchThroughput,
  countsOf,
  streamThroughput,
  unaryThroughput,
  useSessionTokens,
  type TallyCounts,
  type ThroughputResult,
} from './grpc-load-client.ts';
import type { LoadArgs } from './load-args.ts';
import { runLoad, type LoadResult } from './load-run.ts';

export type BenchMode = 'unary' | 'batch' | 'stream';

export interface ThroughputJob {
  kind: 'throughput';
  mode: BenchMode;
  address: string;
  /** Bearer tokens of all bench accounts (the no-op gets placeholders of the same length). */
  tokens: string[];
  /** The bench accounts (indexes) this process sends for. */
  accounts: number[];
  seconds: number;
  warmupSeconds: number;
  seed: number;
  tag: string;
  /** unary: calls in flight; batch: SubmitOrderBatch calls in flight; stream: messages in flight per stream. */
  inFlight: number;
  /** Orders per SubmitOrderBatch call / OrderFlow message. */
  batch: number;
}

export interface LatencyJob {
  kind: 'latency';
  tokens: string[];
  args: LoadArgs;
  /**
   * Seconds of the same load (another seed) this process runs before it reports ready, so the measured
   * run starts with this client's code compiled too, not only the server's (a fresh client's first
   * seconds are slow, and an open-loop client counts its own stalls as latency).
   */
  warmupSeconds: number;
}

export type ClientJob = ThroughputJob | LatencyJob;

export interface ClientResult {
  /** CPU (user + system, µs) this process used from `go` to its last answer. */
  cpuUs: number;
  wallMs: number;
  throughput?: Omit<ThroughputResult, 'tally'> & { counts: TallyCounts };
  latency?: LoadResult;
}

type FromParent = { type: 'job'; job: ClientJob } | { type: 'go' };

function send(message: unknown): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, (err: Error | null) => (err ? reject(err) : resolve())));
}

function nextMessage(): Promise<FromParent> {
  return new Promise((resolve) => process.once('message', (m: FromParent) => resolve(m)));
}

function drive(job: ThroughputJob, client: OrdersServiceClient, seconds: number, tag: string): Promise<ThroughputResult> {
  const flow = new OrderFlowGenerator({ tag, seed: job.seed, cancels: job.mode !== 'batch', accounts: job.accounts });
  if (job.mode === 'unary') return unaryThroughput(client, flow, job.inFlight, seconds);
  if (job.mode === 'batch') return batchThroughput(client, flow, job.batch, job.inFlight, seconds);
  return streamThroughput(client, flow, job.batch, job.accounts.length, job.inFlight, seconds);
}

async function measure(job: ClientJob): Promise<ClientResult> {
  useSessionTokens(job.tokens);
  if (job.kind === 'latency') {
    if (job.warmupSeconds > 0) await runLoad({ ...job.args, durationSeconds: job.warmupSeconds, seed: job.args.seed + 1000 }, () => {});
    await send({ type: 'ready' });
    if ((await nextMessage()).type !== 'go') throw new Error('expected go');
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const latency = await runLoad(job.args, () => {});
    const c = process.cpuUsage(c0);
    return { cpuUs: c.user + c.system, wallMs: performance.now() - t0, latency };
  }
  const client = new OrdersServiceClient(job.address, credentials.createInsecure());
  try {
    if (job.warmupSeconds > 0) await drive(job, client, job.warmupSeconds, `w${job.tag}`);
    await send({ type: 'ready' });
    if ((await nextMessage()).type !== 'go') throw new Error('expected go');
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const { tally, ...rest } = await drive(job, client, job.seconds, job.tag);
    const c = process.cpuUsage(c0);
    const wallMs = performance.now() - t0;
    return { cpuUs: c.user + c.system, wallMs, throughput: { ...rest, counts: countsOf(tally) } };
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  if (process.send === undefined) throw new Error('grpc-bench-client runs as a child of bench:grpc (an IPC channel is needed)');
  const first = await nextMessage();
  if (first.type !== 'job') throw new Error('expected a job first');
  const result = await measure(first.job);
  await send({ type: 'result', result });
  process.disconnect();
}

main().catch((err: unknown) => {
  console.error('grpc-bench-client failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
