/**
 * Cluster benchmark (`npm run bench:cluster`, docs/cluster.md): real replicas (server/main.ts,
 * CLUSTER_MODE=postgres) on a fresh schema of DATABASE_URL, loopback.
 * 1. Aggregate acknowledged orders/s with 1, 2 and 3 replicas: closed-loop unary SubmitOrder through the
 *    RoutingClient (BENCH_WORKERS per pair, BENCH_CONCURRENCY calls each in flight), crossing limit
 *    orders on the three pairs, every ack durable. Configurations alternate (1, 2, 3, 1, 2, 3 …) so a
 *    drifting machine load hits all alike; reported: each run, the median per configuration, and the
 *    ratios 2/1 and 3/1 of runs of the same round, median of the rounds. On a 2-core machine that also
 *    runs the load generator and PostgreSQL, these measure contention more than scale-out.
 * 2. Takeover of a dead owner's pair: kill -9 of BTCUSDT's owner under load; time until another replica
 *    serves it (its /admin/cluster/status) and until the first order on it is acknowledged again
 *    (client view), BENCH_TAKEOVERS times, median.
 * 3. Extra latency of a routed call: sequential SubmitOrder on BTCUSDT, alternating direct (to the
 *    owner) and routed (to a non-owner: UNAVAILABLE + x-pair-owner-address, then to the owner) —
 *    BENCH_ROUTED_CALLS pairs; medians and the median of the paired differences.
 *
 *   DATABASE_URL (postgres://postgres@127.0.0.1:5432/test)  BENCH_SECONDS (5)  BENCH_WARMUP_SECONDS (1)
 *   BENCH_ROUNDS (2)  BENCH_WORKERS (3)  BENCH_CONCURRENCY (4)  BENCH_TAKEOVERS (3)  BENCH_ROUTED_CALLS (200)
 *   BENCH_LEASE_MS (1500)  BENCH_RENEW_MS (300)
 *
 * Writes bench-results/cluster-latest.json and appends to cluster-history.jsonl. Never fails on timing.
 */
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { OrdersServiceClient, type SubmitOrderRequest } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { createTestSchema, LOCAL_TEST_DATABASE_URL, type TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { DEFAULT_INSTRUMENTS } from '../server/core/instrument.ts';
import { RoutingClient } from '../simulator/routing-client.ts';
import { limitOrder } from '../test/grpc-harness.ts';
import { ClusterLoad } from '../test/support/cluster-load.ts';
import { isRunning, servingMap, startReplica, stopReplica, waitForServing, type Replica } from '../test/support/cluster-replicas.ts';
import { envInt, gitCommit, median } from './bench-support.ts';

const ROOT = join(import.meta.dirname, '..');
const URL = process.env['DATABASE_URL'] ?? LOCAL_TEST_DATABASE_URL;
const SECONDS = envInt('BENCH_SECONDS', 5);
const WARMUP_S = envInt('BENCH_WARMUP_SECONDS', 1, 0);
const ROUNDS = envInt('BENCH_ROUNDS', 2);
const WORKERS = envInt('BENCH_WORKERS', 3);
const CONCURRENCY = envInt('BENCH_CONCURRENCY', 4);
const TAKEOVERS = envInt('BENCH_TAKEOVERS', 3, 0);
const ROUTED_CALLS = envInt('BENCH_ROUTED_CALLS', 200, 0);
const LEASE_MS = envInt('BENCH_LEASE_MS', 1500, 300);
const RENEW_MS = envInt('BENCH_RENEW_MS', 300, 50);
const PAIRS = DEFAULT_INSTRUMENTS.map((i) => i.symbol);
const ENV = { OWNERSHIP_LEASE_MS: String(LEASE_MS), OWNERSHIP_RENEW_MS: String(RENEW_MS), SNAPSHOT_EVERY_COMMANDS: '5000' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round2 = (x: number) => Math.round(x * 100) / 100;

async function cluster(schema: TestSchema, n: number, tag: string): Promise<Replica[]> {
  const rs = [await startReplica(`${tag}-1`, schema.name, ENV)];
  rs.push(...(await Promise.all(Array.from({ length: n - 1 }, (_, i) => startReplica(`${tag}-${i + 2}`, schema.name, ENV)))));
  await waitForServing(rs, (m) => PAIRS.every((p) => m.has(p)) && new Set(m.values()).size === Math.min(n, PAIRS.length), 30_000);
  return rs;
}

async function throughput(schema: TestSchema, n: number, tag: string): Promise<{ replicas: number; orders_per_sec: number; load_avg_1m: number }> {
  const rs = await cluster(schema, n, tag);
  const client = new RoutingClient({ targets: rs.map((r) => r.grpc), adminUrls: rs.map((r) => r.admin) });
  await client.refresh();
  const load = new ClusterLoad(client);
  load.start(PAIRS, WORKERS, CONCURRENCY, tag);
  await sleep(WARMUP_S * 1000);
  const t0 = Date.now();
  const before = load.acked.length;
  await sleep(SECONDS * 1000);
  const acks = load.acked.length - before;
  const seconds = (Date.now() - t0) / 1000;
  await load.stop();
  client.close();
  await Promise.all(rs.map((r) => stopReplica(r, 'SIGTERM')));
  return { replicas: n, orders_per_sec: Math.round(acks / seconds), load_avg_1m: round2(loadavg()[0]!) };
}

async function takeovers(schema: TestSchema): Promise<{ serving_ms: number[]; first_ack_ms: number[] }> {
  const out = { serving_ms: [] as number[], first_ack_ms: [] as number[] };
  if (TAKEOVERS === 0) return out;
  const rs = await cluster(schema, 3, 'tk');
  const client = new RoutingClient({ targets: rs.map((r) => r.grpc), adminUrls: rs.map((r) => r.admin), attemptTimeoutMs: 1000 });
  await client.refresh();
  const load = new ClusterLoad(client);
  load.start(PAIRS, 2, 2, 'tk');
  try {
    for (let i = 0; i < TAKEOVERS; i++) {
      await sleep(1500);
      const owner = (await servingMap(rs)).get('BTCUSDT')!;
      const victim = rs.find((r) => r.id === owner)!;
      await stopReplica(victim, 'SIGKILL');
      const killedAt = Date.now();
      const live = rs.filter(isRunning);
      out.serving_ms.push(await waitForServing(live, (m) => m.has('BTCUSDT'), 30_000));
      while (load.acksOf('BTCUSDT', killedAt) === 0 && Date.now() - killedAt < 30_000) await sleep(10);
      out.first_ack_ms.push(Date.now() - killedAt);
      // Back to three: a new replica joins (and takes its share).
      rs.splice(rs.indexOf(victim), 1, await startReplica(`tk-r${i}`, schema.name, ENV));
      await waitForServing(rs, (m) => PAIRS.every((p) => m.has(p)) && new Set(m.values()).size === 3, 30_000);
    }
  } finally {
    await load.stop();
    client.close();
    await Promise.all(rs.map((r) => stopReplica(r, 'SIGTERM')));
  }
  return out;
}

function submit(c: OrdersServiceClient, req: SubmitOrderRequest, md: Metadata): Promise<ServiceError | undefined> {
  return new Promise((resolve) => c.submitOrder(req, md, { deadline: Date.now() + 5000 }, (err) => resolve(err ?? undefined)));
}

async function routedLatency(schema: TestSchema): Promise<{ direct_ms_p50: number; routed_ms_p50: number; extra_ms_p50_of_pairs: number; calls: number }> {
  const rs = await cluster(schema, 3, 'rt');
  try {
    const m = await servingMap(rs);
    const owner = rs.find((r) => r.id === m.get('BTCUSDT'))!;
    const other = rs.find((r) => r !== owner)!;
    const toOwner = new OrdersServiceClient(owner.grpc, credentials.createInsecure());
    const toOther = new OrdersServiceClient(other.grpc, credentials.createInsecure());
    const md = new Metadata();
    md.set('x-account-id', 'bench-routed');
    const direct: number[] = [];
    const routed: number[] = [];
    let n = 0;
    const order = () => limitOrder(n % 2 ? 'buy' : 'sell', n % 2 ? '90.00' : '110.00', '0.01', { pair: 'BTCUSDT', clientOrderId: `rt-${n++}` });
    for (let i = 0; i < 20; i++) await submit(toOwner, order(), md); // warm both channels
    await submit(toOther, order(), md);
    for (let i = 0; i < ROUTED_CALLS; i++) {
      let t = performance.now();
      const e1 = await submit(toOwner, order(), md);
      if (e1 !== undefined) throw e1;
      direct.push(performance.now() - t);
      t = performance.now();
      const req = order();
      const refused = await submit(toOther, req, md);
      const address = refused?.metadata.get('x-pair-owner-address')[0];
      if (address !== owner.grpc) throw new Error(`expected a refusal naming ${owner.grpc}, got ${refused?.message ?? 'success'}`);
      const e2 = await submit(toOwner, req, md);
      if (e2 !== undefined) throw e2;
      routed.push(performance.now() - t);
    }
    toOwner.close();
    toOther.close();
    return {
      direct_ms_p50: round2(median(direct)),
      routed_ms_p50: round2(median(routed)),
      extra_ms_p50_of_pairs: round2(median(routed.map((r, i) => r - direct[i]!))),
      calls: ROUTED_CALLS,
    };
  } finally {
    await Promise.all(rs.map((r) => stopReplica(r, 'SIGTERM')));
  }
}

async function main(): Promise<void> {
  const started = new Date().toISOString();
  const runs: { round: number; replicas: number; orders_per_sec: number; load_avg_1m: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const n of [1, 2, 3]) {
      const schema = await createTestSchema(URL, 'bench_cluster');
      try {
        const r = await throughput(schema, n, `t${round}n${n}`);
        runs.push({ round, ...r });
        console.log(`round ${round + 1}: ${n} replica(s): ${r.orders_per_sec} acknowledged orders/s (load avg ${r.load_avg_1m})`);
      } finally {
        await schema.drop();
      }
    }
  }
  const per = (n: number) => runs.filter((r) => r.replicas === n);
  const ratio = (n: number) => median([...Array(ROUNDS).keys()].map((round) => runs.find((r) => r.round === round && r.replicas === n)!.orders_per_sec / runs.find((r) => r.round === round && r.replicas === 1)!.orders_per_sec));
  const summary = Object.fromEntries([1, 2, 3].map((n) => [`replicas_${n}_orders_per_sec_median`, median(per(n).map((r) => r.orders_per_sec))]));

  let schema = await createTestSchema(URL, 'bench_cluster');
  let takeover: Awaited<ReturnType<typeof takeovers>>;
  try {
    takeover = await takeovers(schema);
  } finally {
    await schema.drop();
  }
  console.log(`takeover of a killed owner's pair (lease ${LEASE_MS} ms, renew ${RENEW_MS} ms): serving again after ${takeover.serving_ms.join(', ')} ms; first ack after ${takeover.first_ack_ms.join(', ')} ms`);

  schema = await createTestSchema(URL, 'bench_cluster');
  let routed: Awaited<ReturnType<typeof routedLatency>> | undefined;
  try {
    routed = ROUTED_CALLS > 0 ? await routedLatency(schema) : undefined;
  } finally {
    await schema.drop();
  }
  if (routed !== undefined) console.log(`routed call: direct p50 ${routed.direct_ms_p50} ms, routed p50 ${routed.routed_ms_p50} ms, extra (median of pairs) ${routed.extra_ms_p50_of_pairs} ms`);

  const result = {
    benchmark: 'cluster',
    started,
    commit: gitCommit(ROOT, ['server', 'simulator', 'loadtest', 'test/support']),
    machine: { cpus: cpus().length, load_avg_1m_end: round2(loadavg()[0]!) },
    settings: { seconds: SECONDS, warmup_seconds: WARMUP_S, rounds: ROUNDS, workers_per_pair: WORKERS, concurrency: CONCURRENCY, lease_ms: LEASE_MS, renew_ms: RENEW_MS },
    throughput: { runs, ...summary, ratio_2_to_1_median: round2(ratio(2)), ratio_3_to_1_median: round2(ratio(3)) },
    takeover: { ...takeover, serving_ms_median: median(takeover.serving_ms), first_ack_ms_median: median(takeover.first_ack_ms), bound_ms: LEASE_MS + RENEW_MS },
    routed_call: routed ?? null,
  };
  console.log(JSON.stringify(result, null, 2));
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cluster-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  appendFileSync(join(dir, 'cluster-history.jsonl'), `${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('bench:cluster failed:', err);
    process.exit(1);
  },
);
