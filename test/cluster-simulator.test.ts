/**
 * The simulator's gRPC driver against a cluster (docs/cluster.md): two real replicas on one schema,
 * sessions in the shared Redis; each agent trades at its pair's owner. Mid-run a third replica joins and
 * takes a pair over (hand-over): the agents of that pair are refused, re-read the owners and reconnect to
 * the new owner. Every order the simulator's ledger holds as acknowledged is in the database, none twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLedger } from '../chaos/ledger-check.ts';
import type { TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { startGrpcSimulation } from '../simulator/grpc-driver.ts';
import { servingMap, startReplica, stopReplica, waitForServing, type Replica } from './support/cluster-replicas.ts';
import { TEST_DATABASE_URL, testSchema } from './support/service-database.ts';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PAIRS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
let schema: TestSchema;
const replicas: Replica[] = [];

const env = () => ({ AUTH_MODE: 'sessions', REDIS_URL, REDIS_PREFIX: `${schema.name}:` });

beforeAll(async () => {
  schema = await testSchema('ts_cluster_sim');
  replicas.push(await startReplica('s1', schema.name, env()));
  replicas.push(await startReplica('s2', schema.name, env()));
  await waitForServing(replicas, (m) => PAIRS.every((p) => m.has(p)) && new Set(m.values()).size === 2);
}, 120_000);

afterAll(async () => {
  if (process.env['CLUSTER_TEST_LOGS'] !== undefined) for (const r of replicas) (await import('node:fs')).writeFileSync(`${process.env['CLUSTER_TEST_LOGS']}-${r.id}.log`, r.output.join(''));
  await Promise.all(replicas.map((r) => stopReplica(r)));
  await schema?.drop();
});

describe('the simulator against a cluster', () => {
  it('trades every pair at its owner, follows a hand-over to a joining replica, and loses nothing acknowledged', async () => {
    const sim = await startGrpcSimulation({
      target: replicas[0]!.grpc,
      adminUrl: replicas[0]!.admin,
      cluster: { targets: replicas.map((r) => r.grpc), adminUrls: replicas.map((r) => r.admin) },
      seed: 12,
      ratePerSecond: 300,
      pairs: PAIRS,
      durationMs: 9_000,
    });
    await new Promise((r) => setTimeout(r, 2_000));
    const before = await servingMap(replicas);
    replicas.push(await startReplica('s3', schema.name, env()));
    await waitForServing(replicas, (m) => PAIRS.every((p) => m.has(p)) && [...m.values()].includes('s3'), 20_000);
    const after = await servingMap(replicas);
    const moved = PAIRS.filter((p) => before.get(p) !== after.get(p));
    expect(moved.length).toBeGreaterThan(0);
    const report = await sim.done;

    expect(report.commands.acknowledged).toBeGreaterThan(report.commands.sent * 0.5);
    const ledger = report.ledger!;
    // Every pair traded (the moved one at both owners: its agents reconnected to the new one).
    for (const p of PAIRS) expect(ledger.orders.filter((o) => o.pair === p).length, p).toBeGreaterThan(20);
    const check = await checkLedger(
      TEST_DATABASE_URL,
      schema.name,
      ledger.orders.map((o) => ({ pair: o.pair, account: o.account, clientOrderId: o.clientOrderId, orderId: o.orderId })),
    );
    expect(check.problems).toEqual([]);
    expect(check.lost).toBe(0);
    expect(check.duplicated).toBe(0);
  }, 90_000);
});
