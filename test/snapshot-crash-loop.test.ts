/**
 * Recovery stays bounded in a crash loop (issue 13, items 9 and 10), with real `kill -9`s of the real
 * service process (server/main.ts) on the real PostgreSQL (a fresh schema):
 * - commands replayed at recovery count towards SNAPSHOT_EVERY_COMMANDS, so a service killed before
 *   it reaches the threshold in any single life still snapshots once the total does;
 * - a recovery that replayed at least the threshold snapshots right after start, with no new command;
 * - /admin/persistence/status after a restart shows the snapshot recovery loaded and the commands
 *   replayed since it (not `null` / 0).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrdersServiceClient, type SubmitOrderBatchResponse } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import type { TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { limitOrder } from './grpc-harness.ts';
import { TEST_DATABASE_URL, testSchema } from './support/service-database.ts';

const ROOT = resolve(import.meta.dirname, '..');
const PAIR = 'BTCUSDT';
const THRESHOLD = 400;

interface Proc {
  child: ChildProcess;
  grpc: string;
  admin: string;
  output: string[];
}

interface PairStatus {
  pair: string;
  applied_sequence: number;
  commands_since_snapshot: number;
  last_snapshot: { sequence: number; resting_orders: number; loaded_at_start: boolean } | null;
}
interface Status {
  recovery: { pairs: Array<{ pair: string; snapshotSequence: number; replayed: number; sequence: number }> } | null;
  pairs: PairStatus[];
}

let schema: TestSchema;
let current: Proc | undefined;

beforeAll(async () => {
  schema = await testSchema('ts_snaploop');
});

afterAll(async () => {
  if (current !== undefined) await kill9(current);
  await schema?.drop();
});

async function start(snapshotEvery: number): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: schema.name,
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      ADMIN_HOST: '127.0.0.1',
      ADMIN_PORT: '0',
      AUTH_MODE: 'header',
      REDIS_URL: '',
      PERSISTENCE: 'postgres',
      MIGRATION_INITIAL_STATE: 'legacy_only',
      SNAPSHOT_EVERY_COMMANDS: String(snapshotEvery),
      SNAPSHOT_INTERVAL_MS: '0', // by count only: time never takes one here
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const ports = await new Promise<{ grpc: string; admin: string }>((resolvePorts, reject) => {
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      const m = /listening for gRPC on (127\.0\.0\.1:\d+); admin HTTP on (http:\/\/127\.0\.0\.1:\d+)/.exec(output.join(''));
      if (m) resolvePorts({ grpc: m[1]!, admin: m[2]! });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
    child.on('exit', (code, signal) => reject(new Error(`service exited (${code ?? signal}) before listening:\n${output.join('')}`)));
  });
  current = { child, output, ...ports };
  return current;
}

async function kill9(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGKILL');
  await exited;
}

async function status(p: Proc): Promise<{ recovered: Status['recovery']; pair: PairStatus }> {
  const res = await fetch(`${p.admin}/admin/persistence/status`);
  const body = (await res.json()) as Status;
  return { recovered: body.recovery, pair: body.pairs.find((x) => x.pair === PAIR)! };
}

/** Polls the status until `done` holds (bounded: 600 polls); returns the last status. */
async function until(p: Proc, done: (s: PairStatus) => boolean, what: string): Promise<PairStatus> {
  let last: PairStatus | undefined;
  for (let i = 0; i < 600; i++) {
    last = (await status(p)).pair;
    if (done(last)) return last;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`${what}: not reached; last status ${JSON.stringify(last)}\n${p.output.join('')}`);
}

/** `n` resting buy orders (acknowledged = durable), in batches of 50, prices spread below the market. */
async function submit(p: Proc, n: number, from: number): Promise<void> {
  const client = new OrdersServiceClient(p.grpc, credentials.createInsecure());
  const md = new Metadata();
  md.set('x-account-id', 'loop-trader');
  try {
    for (let done = 0; done < n; done += 50) {
      const orders = Array.from({ length: Math.min(50, n - done) }, (_, i) => limitOrder('buy', `${100 + ((from + done + i) % 200) / 100}`, '0.01'));
      const res = await new Promise<SubmitOrderBatchResponse>((ok, fail) => client.submitOrderBatch({ orders }, md, (err, r) => (err ? fail(err) : ok(r!))));
      expect(res.results.filter((r) => r.error !== undefined)).toEqual([]);
    }
  } finally {
    client.close();
  }
}

describe('snapshots in a crash loop (kill -9 between every round)', () => {
  it('counts replayed commands, snapshots after a long recovery, and shows the loaded snapshot after a restart', async () => {
    // Life 1: no count-based snapshots at all; 500 commands, then kill -9.
    let p = await start(0);
    await submit(p, 500, 0);
    expect((await status(p)).pair.last_snapshot).toBeNull();
    await kill9(p);

    // Life 2 (threshold 400): recovery replays 500 ≥ 400 → a snapshot at 500 right after start, no new command.
    p = await start(THRESHOLD);
    const r2 = (await status(p)).recovered!.pairs.find((x) => x.pair === PAIR)!;
    expect(r2).toMatchObject({ snapshotSequence: 0, replayed: 500, sequence: 500 });
    const s2 = await until(p, (s) => s.last_snapshot?.sequence === 500, 'snapshot after a recovery that replayed 500');
    expect(s2.last_snapshot).toMatchObject({ sequence: 500, resting_orders: 500, loaded_at_start: false });
    expect(s2.commands_since_snapshot).toBe(0);
    await kill9(p);

    // Life 3: recovery starts from that snapshot, replays nothing; status names the loaded snapshot.
    p = await start(THRESHOLD);
    const r3 = (await status(p)).recovered!.pairs.find((x) => x.pair === PAIR)!;
    expect(r3).toMatchObject({ snapshotSequence: 500, replayed: 0, sequence: 500 });
    const s3 = (await status(p)).pair;
    expect(s3.last_snapshot).toMatchObject({ sequence: 500, resting_orders: 500, loaded_at_start: true });
    expect(s3.commands_since_snapshot).toBe(0);
    await submit(p, 300, 500); // below the threshold in this life
    expect((await status(p)).pair.last_snapshot?.sequence).toBe(500);
    await kill9(p);

    // Life 4: 300 replayed after the snapshot: status says so (item 10); 150 more reach 450 ≥ 400 → snapshot.
    p = await start(THRESHOLD);
    const s4 = (await status(p)).pair;
    expect(s4.last_snapshot).toMatchObject({ sequence: 500, loaded_at_start: true });
    expect(s4.commands_since_snapshot).toBe(300);
    await submit(p, 150, 800);
    const s4b = await until(p, (s) => (s.last_snapshot?.sequence ?? 0) > 500, 'snapshot once replayed + new commands reach the threshold');
    expect(s4b.last_snapshot!.sequence).toBeGreaterThanOrEqual(500 + THRESHOLD);
    expect(s4b.last_snapshot!.loaded_at_start).toBe(false);
    await kill9(p);

    // Life 5: recovery starts from the newer snapshot and replays only what came after it.
    p = await start(THRESHOLD);
    const r5 = (await status(p)).recovered!.pairs.find((x) => x.pair === PAIR)!;
    expect(r5.snapshotSequence).toBe(s4b.last_snapshot!.sequence);
    expect(r5.replayed).toBe(950 - r5.snapshotSequence);
    expect(r5.sequence).toBe(950);
    expect((await status(p)).pair.commands_since_snapshot).toBe(r5.replayed);
    await kill9(p);
  });
});
