/**
 * Real replicas for the cluster suites: `server/main.ts` processes in CLUSTER_MODE=postgres on one
 * schema of the real PostgreSQL, loopback ports, and their /admin/cluster/status.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { TEST_DATABASE_URL } from './service-database.ts';

const ROOT = resolve(import.meta.dirname, '../..');

export interface Replica {
  id: string;
  child: ChildProcess;
  grpc: string;
  admin: string;
  output: string[];
  exited: Promise<number | null>;
}

export interface ClusterStatusView {
  replica_id: string;
  replicas: { replica_id: string; grpc_address: string; live: boolean; pairs: string[] }[];
  pairs: { pair: string; owner: string | null; fencing_token: number; lease_remaining_ms: number; serving_here: boolean }[];
}

export async function startReplica(id: string, schema: string, env: Record<string, string> = {}): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: schema,
      REDIS_URL: '', // sessions in process: AUTH_MODE=header, nothing to share
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      ADMIN_HOST: '127.0.0.1',
      ADMIN_PORT: '0',
      AUTH_MODE: 'header',
      RATE_LIMIT_PER_SECOND: '10000000',
      RATE_LIMIT_BURST: '1000000000',
      LOG_FORMAT: 'json',
      CLUSTER_MODE: 'postgres',
      REPLICA_ID: id,
      // Short enough for quick takeovers, long enough that a replica starved of CPU for a second (the
      // whole suite runs in parallel on 2 cores) does not lose its leases.
      OWNERSHIP_LEASE_MS: '3000',
      OWNERSHIP_RENEW_MS: '500',
      SNAPSHOT_EVERY_COMMANDS: '500',
      SNAPSHOT_INTERVAL_MS: '0',
      GRPC_SHUTDOWN_GRACE_MS: '2000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const ports = await new Promise<{ grpc: string; admin: string }>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`replica ${id} did not start within 60 s:\n${output.join('')}`)), 60_000);
    child.stdout!.on('data', (c: Buffer) => {
      output.push(c.toString());
      const m = /listening for gRPC on (127\.0\.0\.1:\d+); admin HTTP on (http:\/\/127\.0\.0\.1:\d+)/.exec(output.join(''));
      if (m) {
        clearTimeout(timer);
        ok({ grpc: m[1]!, admin: m[2]! });
      }
    });
    child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`replica ${id} exited (${code ?? signal}) before listening:\n${output.join('')}`));
    });
  });
  return { id, child, output, exited, ...ports };
}

export function isRunning(r: Replica): boolean {
  return r.child.exitCode === null && r.child.signalCode === null;
}

export async function stopReplica(r: Replica, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!isRunning(r)) return;
  r.child.kill('SIGCONT'); // a stopped process does not handle SIGTERM
  r.child.kill(signal);
  await r.exited;
}

export async function clusterStatus(r: Replica): Promise<ClusterStatusView> {
  const res = await fetch(`${r.admin}/admin/cluster/status`, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`status ${res.status}`);
  return (await res.json()) as ClusterStatusView;
}

/** pair → replica id serving it, as each live replica reports for itself (serving_here). */
export async function servingMap(replicas: readonly Replica[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const r of replicas) {
    if (!isRunning(r)) continue;
    try {
      const s = await clusterStatus(r);
      for (const p of s.pairs) if (p.serving_here) out.set(p.pair, r.id);
    } catch {
      // paused or gone: serves nothing we can see
    }
  }
  return out;
}

/** Polls until `done(map)` holds; returns how long it took. */
export async function waitForServing(replicas: readonly Replica[], done: (m: Map<string, string>) => boolean, timeoutMs = 20_000): Promise<number> {
  const started = Date.now();
  let last = new Map<string, string>();
  while (Date.now() - started < timeoutMs) {
    last = await servingMap(replicas);
    if (done(last)) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`cluster did not reach the expected placement within ${timeoutMs} ms; last: ${JSON.stringify([...last])}`);
}
