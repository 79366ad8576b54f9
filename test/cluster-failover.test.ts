/**
 * Three real replicas (CLUSTER_MODE=postgres) on one schema of the real PostgreSQL, under load through
 * the routing client, lease 3000 ms renewed every 500 ms:
 * (a) kill -9 the owner of a busy pair → another replica serves it within the lease bound, trading on it
 *     resumes;
 * (b) SIGSTOP an owner past its lease → another takes over and trades; SIGCONT → the old owner's queued
 *     journal writes are refused by the fence and it steps down;
 * (c) SIGTERM an owner → its pairs are handed over at once (well inside the lease); a new replica joins
 *     → the pairs rebalance onto it.
 * Afterwards: every acknowledged order is in the database (ledger check: nothing lost, nothing twice,
 * fills conserve), each pair's journal is gap-free from 1 and replays (one writer at a time: an
 * interleaved stale command would not replay).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLedger } from '../chaos/ledger-check.ts';
import type { TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { DEFAULT_INSTRUMENTS } from '../server/core/instrument.ts';
import { RoutingClient } from '../simulator/routing-client.ts';
import { ClusterLoad } from './support/cluster-load.ts';
import { isRunning, servingMap, startReplica, stopReplica, waitForServing, type Replica } from './support/cluster-replicas.ts';
import { expectJournalsGapFreeAndReplayable } from './support/cluster-journal-check.ts';
import { TEST_DATABASE_URL, testSchema } from './support/service-database.ts';

const PAIRS = DEFAULT_INSTRUMENTS.map((i) => i.symbol);
const LEASE_MS = 3000; // test/support/cluster-replicas.ts
const RENEW_MS = 500;
/** Takeover bound: the lease, one renew interval, and slack for recovery and this loaded 2-core machine. */
const TAKEOVER_BOUND_MS = LEASE_MS + RENEW_MS + 2500;

let schema: TestSchema;
const replicas: Replica[] = [];
let load: ClusterLoad;
let client: RoutingClient;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const everyPairServed = (m: Map<string, string>) => PAIRS.every((p) => m.has(p));
const live = () => replicas.filter(isRunning);

beforeAll(async () => {
  schema = await testSchema('ts_cluster');
  // JOURNAL_MAX_DELAY_MS=200: a group commit waits for company, so under load an owner always has
  // entries queued — the writes the fence must refuse after SIGCONT.
  const env = { JOURNAL_MAX_DELAY_MS: '200' };
  replicas.push(await startReplica('r1', schema.name, env)); // migrates the schema first
  replicas.push(...(await Promise.all(['r2', 'r3'].map((id) => startReplica(id, schema.name, env)))));
  await waitForServing(replicas, (m) => everyPairServed(m) && new Set(m.values()).size === 3);
  client = new RoutingClient({ targets: replicas.map((r) => r.grpc), adminUrls: replicas.map((r) => r.admin), attemptTimeoutMs: 1000 });
  await client.refresh();
  load = new ClusterLoad(client);
  load.start(PAIRS, 2, 3, 'load');
  for (const p of PAIRS) await waitForAcks(p, 0, 20);
}, 120_000);

afterAll(async () => {
  if (process.env['CLUSTER_TEST_LOGS'] !== undefined) for (const r of replicas) (await import('node:fs')).writeFileSync(`${process.env['CLUSTER_TEST_LOGS']}-${r.id}.log`, r.output.join(''));
  await load?.stop();
  client?.close();
  await Promise.all(replicas.map((r) => stopReplica(r)));
  await schema?.drop();
});

/** Waits until `pair` has `n` acknowledgements since `sinceMs` (a loaded machine is slow, not wrong). */
async function waitForAcks(pair: string, sinceMs: number, n: number, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (load.acksOf(pair, sinceMs) < n && Date.now() < until) await sleep(50);
  expect(load.acksOf(pair, sinceMs), `${pair}: acknowledgements since ${new Date(sinceMs).toISOString()}`).toBeGreaterThanOrEqual(n);
}

async function ownerOf(pair: string): Promise<Replica> {
  await waitForServing(live(), (x) => x.has(pair));
  const m = await servingMap(live());
  return replicas.find((r) => r.id === m.get(pair))!;
}

describe('a cluster of three replicas on one PostgreSQL', () => {
  it('(a) kill -9 of a busy owner: another replica serves its pair within the lease bound and trading resumes', async () => {
    const pair = 'BTCUSDT';
    const victim = await ownerOf(pair);
    await stopReplica(victim, 'SIGKILL');
    const killedAt = Date.now();
    const took = await waitForServing(live(), (x) => everyPairServed(x) && x.get(pair) !== victim.id, 20_000);
    const m = await servingMap(live());
    expect(took).toBeLessThan(TAKEOVER_BOUND_MS);
    await waitForAcks(pair, killedAt + took, 10);
    const heir = replicas.find((r) => r.id === m.get(pair))!;
    const metrics = await (await fetch(`${heir.admin}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`trading_pair_owned\\{pair="${pair}"\\} 1\\b`));
    expect(metrics).toMatch(new RegExp(`trading_ownership_changes_total\\{pair="${pair}",reason="acquired"\\} [1-9]`));
  }, 60_000);

  it('(b) SIGSTOP past the lease: another takes over and trades; after SIGCONT the fence refuses the old writes and it steps down', async () => {
    const pair = 'ETHUSDT';
    // One pause/resume cycle proves the fence only if entries were still queued (not already in the
    // statement PostgreSQL committed before the takeover) at SIGSTOP; the group commit waits 200 ms, so
    // that is nearly always so — up to three cycles make "nearly" certain. Every cycle must step down.
    let fenced = false;
    for (let cycle = 0; cycle < 3 && !fenced; cycle++) {
      const paused = await ownerOf(pair);
      const before = paused.output.length;
      for (let i = 0; i < 100; i++) {
        const s = (await (await fetch(`${paused.admin}/admin/persistence/status`)).json()) as { journal: { pending_entries: number } };
        if (s.journal.pending_entries > 0) break;
        await sleep(20);
      }
      paused.child.kill('SIGSTOP');
      const stoppedAt = Date.now();
      const took = await waitForServing(live().filter((r) => r !== paused), (m) => m.has(pair), 20_000);
      expect(took).toBeLessThan(TAKEOVER_BOUND_MS);
      await waitForAcks(pair, stoppedAt + took, 5); // the new owner trades (calls held by the paused one time out and are retried)
      paused.child.kill('SIGCONT');
      // The old owner's queued entries carry its old token: refused by the fence in the journal write.
      const said = () => paused.output.slice(before).join('');
      const steppedDown = () => /"event":"ownership_lost"[^\n]*"pair":"ETHUSDT"/.test(said());
      const refused = () => /"event":"journal_fenced"[^\n]*"pair":"ETHUSDT"/.test(said());
      for (const until = Date.now() + 5_000; Date.now() < until && !(steppedDown() && refused()); ) await sleep(100);
      expect(said()).toMatch(/"event":"ownership_lost"[^\n]*"pair":"ETHUSDT"/);
      fenced = refused();
      await waitForServing(live(), (x) => everyPairServed(x), 10_000);
    }
    expect(fenced, 'the fence refused the resumed owner\'s queued ETHUSDT entries').toBe(true);
  }, 90_000);

  it('(c) SIGTERM hands the pairs over at once; a joining replica takes its share', async () => {
    const pair = 'SOLUSDT';
    const leaving = await ownerOf(pair);
    const t0 = Date.now();
    leaving.child.kill('SIGTERM');
    const took = await waitForServing(live().filter((r) => r !== leaving), (m) => everyPairServed(m), 20_000);
    expect(took).toBeLessThan(LEASE_MS); // released, not expired
    expect(await leaving.exited).toBe(0);
    expect(leaving.output.join('')).toMatch(/"event":"ownership_released"[^\n]*"pair":"SOLUSDT"[^\n]*"reason":"released"/);
    await waitForAcks(pair, t0 + took, 5);

    // Join: one replica is left serving the three pairs; a new one takes its share (the placement's
    // bound: at most ceil(3 / 2) = 2 pairs each, so both serve).
    expect(live().length).toBe(1);
    const joined = await startReplica('r4', schema.name, { JOURNAL_MAX_DELAY_MS: '200' });
    replicas.push(joined);
    await waitForServing(live(), (m) => everyPairServed(m) && [...m.values()].includes('r4') && new Set(m.values()).size === 2, 20_000);
    await sleep(1000);
  }, 90_000);

  it('lost nothing acknowledged, journaled nothing twice, and every journal is gap-free and replays', async () => {
    await load.stop();
    const report = await checkLedger(TEST_DATABASE_URL, schema.name, load.acked);
    expect(report.problems).toEqual([]);
    expect(report.lost).toBe(0);
    expect(report.duplicated).toBe(0);
    expect(report.acknowledged).toBeGreaterThan(200);

    await expectJournalsGapFreeAndReplayable(schema);
  }, 60_000);
});
