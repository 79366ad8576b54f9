/**
 * The processes of the service benchmarks (`bench:grpc`, `bench:durability`): a fresh server process per
 * measurement (the real service, server/main.ts built or from the sources, or the no-op grpc-js server), load-client child
 * processes (loadtest/grpc-bench-client.ts) that warm up, start together and report what they counted,
 * and the server's CPU time over the measured window (/proc/<pid>/stat) beside the clients' own.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createTestSchema } from '../server/adapters/postgres/test-schema.ts';
import type { BenchMode, ClientJob, ClientResult, ThroughputJob } from './grpc-bench-client.ts';
import { BENCH_ACCOUNTS, loginBenchAccounts } from './grpc-load-client.ts';
import type { LoadArgs } from './load-args.ts';
import type { ResponseShape } from './response-shape.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export type Target = 'service' | 'noop';

export interface ServerProcess {
  target: Target;
  child: ChildProcess;
  address: string;
  /** The admin HTTP API (service only). */
  admin: string | undefined;
}

/** Settings the benchmarks set themselves; inherited values of these would make runs incomparable. */
const SCRUBBED = ['AUTH_MODE', 'REDIS_URL', 'RATE_LIMIT_PER_SECOND', 'RATE_LIMIT_BURST', 'IDEMPOTENCY_TTL_MS', 'ADMIN_TOKEN', 'PERSISTENCE', 'DATABASE_URL', 'DATABASE_SCHEMA', 'NOOP_RESPONSE_SHAPE'];

export interface ServerOptions {
  target: Target;
  /** On top of the defaults: ports 0 on loopback, JSON logs, the in-process session store. */
  env: Record<string, string>;
  /** The no-op's answers (loadtest/response-shape.ts). */
  shape?: ResponseShape;
  /** Run under `--cpu-prof`, writing the profile here. */
  profileDir?: string;
  /**
   * How the service runs: `dist`, as `npm start` runs it (the tsc build, `node --enable-source-maps
   * dist/server/main.js`; call buildService first), or `tsx`, from the sources (tsx wraps every nested
   * function in a naming helper, a per-call cost the build does not have). The no-op runs bundled
   * (buildService) with `dist`, under tsx with `tsx`.
   */
  runtime: ServiceRuntime;
  /** Node flags for either server (service: after BENCH_SERVICE_NODE_FLAGS). */
  nodeFlags?: readonly string[];
  /** A command the server runs under (e.g. valgrind and its options), node and its arguments after it. */
  wrap?: readonly string[];
  /** How long the server may take to listen. @default 60000 */
  startTimeoutMs?: number;
  /** The checkout the service runs from (its dist/ or sources; bench:service-ab runs another build). @default this checkout */
  root?: string;
}

export type ServiceRuntime = 'dist' | 'tsx';

/** BENCH_SERVICE_RUNTIME: `dist` (default) or `tsx`. */
export function serviceRuntime(): ServiceRuntime {
  const v = process.env.BENCH_SERVICE_RUNTIME || 'dist';
  if (v !== 'dist' && v !== 'tsx') throw new Error(`BENCH_SERVICE_RUNTIME must be "dist" or "tsx", got ${JSON.stringify(v)}`);
  return v;
}

/** BENCH_SERVICE_NODE_FLAGS: extra node flags for the service process only (e.g. `--max-semi-space-size=64`), to measure a flag against the same no-op. */
export function serviceNodeFlags(): string[] {
  return (process.env.BENCH_SERVICE_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f !== '');
}

/** Where `buildService` bundles the no-op server (packages stay external, so it lives under node_modules). */
const NOOP_BUNDLE = join(ROOT, 'node_modules/.cache/bench-noop/noop-grpc-server.mjs');

/**
 * `npm run build:server` in `root` (this checkout by default; what `npm start` runs first), so its dist/
 * holds the sources being measured, and the no-op server bundled with esbuild: both run as plain
 * JavaScript, neither pays tsx's per-function naming helper (`BENCH_SERVICE_RUNTIME=tsx` runs both from
 * sources instead).
 */
export function buildService(root = ROOT): void {
  execFileSync('npm', ['run', 'build:server', '--silent'], { cwd: root, stdio: 'inherit' });
  execFileSync(join(ROOT, 'node_modules/.bin/esbuild'), [join(ROOT, 'loadtest/noop-grpc-server.ts'), '--bundle', '--platform=node', '--format=esm', '--target=node20', '--packages=external', `--outfile=${NOOP_BUNDLE}`, '--log-level=warning'], { stdio: 'inherit' });
}

export async function startServer(o: ServerOptions): Promise<ServerProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of SCRUBBED) delete env[k];
  Object.assign(env, { GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_HOST: '127.0.0.1', ADMIN_PORT: '0', LOG_FORMAT: 'json' }, o.env);
  if (o.shape !== undefined) env.NOOP_RESPONSE_SHAPE = JSON.stringify(o.shape);
  const profile = [...(o.nodeFlags ?? []), ...(o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [])];
  const args =
    o.target === 'noop' ? (o.runtime === 'dist' ? [...profile, NOOP_BUNDLE] : ['--import', 'tsx', ...profile, 'loadtest/noop-grpc-server.ts'])
    : o.runtime === 'dist' ? ['--enable-source-maps', ...serviceNodeFlags(), ...profile, 'dist/server/main.js']
    : ['--import', 'tsx', ...serviceNodeFlags(), ...profile, 'server/main.ts'];
  const wrap = o.wrap ?? [];
  const cwd = o.target === 'service' ? (o.root ?? ROOT) : ROOT;
  const child = wrap.length > 0 ? spawn(wrap[0]!, [...wrap.slice(1), process.execPath, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const startTimeoutMs = o.startTimeoutMs ?? 60_000;
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[${o.target}] ${d.toString()}`));
  return new Promise<ServerProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${o.target} server did not report its port within ${startTimeoutMs / 1000} s`));
    }, startTimeoutMs);
    child.once('exit', (code) => reject(new Error(`${o.target} server exited with ${code} before listening`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /listening (?:for gRPC )?on (127\.0\.0\.1:\d+)(?:; admin HTTP on (http:\/\/127\.0\.0\.1:\d+))?/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ target: o.target, child, address: m[1]!, admin: m[2] });
      }
    });
  });
}

/**
 * A fresh service process for `use`, stopped afterwards; with `freshSchema`, on a new schema of that
 * database (DATABASE_URL and DATABASE_SCHEMA set for it: no journal carried over), dropped afterwards.
 */
export async function withService<T>(
  o: Omit<ServerOptions, 'target'> & { freshSchema?: { databaseUrl: string; prefix: string } },
  use: (server: ServerProcess) => Promise<T>,
): Promise<T> {
  const { freshSchema, ...options } = o;
  const schema = freshSchema === undefined ? undefined : await createTestSchema(freshSchema.databaseUrl, freshSchema.prefix);
  try {
    const env = schema === undefined ? options.env : { ...options.env, DATABASE_URL: freshSchema!.databaseUrl, DATABASE_SCHEMA: schema.name };
    const server = await startServer({ ...options, target: 'service', env });
    try {
      return await use(server);
    } finally {
      await stopServer(server);
    }
  } finally {
    await schema?.drop();
  }
}

/** SIGTERM, then SIGKILL once `killAfterMs` passed without an exit. */
export async function stopServer(p: ServerProcess, killAfterMs = 15_000): Promise<void> {
  if (p.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(timer);
}

const CLK_TCK = 100; // USER_HZ: 100 on every Linux the service targets

/** CPU time (user + system) of a process, in ms, from /proc; NaN where /proc is missing. */
export function processCpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}

interface Client {
  child: ChildProcess;
  next(): Promise<{ type: 'ready' } | { type: 'result'; result: ClientResult }>;
}

function startClient(job: ClientJob): Client {
  const child = fork(join(ROOT, 'loadtest/grpc-bench-client.ts'), [], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const inbox: unknown[] = [];
  const waiting: ((m: unknown) => void)[] = [];
  let failure: Error | undefined;
  child.on('message', (m) => {
    const w = waiting.shift();
    if (w) w(m);
    else inbox.push(m);
  });
  child.on('exit', (code) => {
    if (code === 0) return;
    failure = new Error(`client process exited with ${code}`);
    for (const w of waiting.splice(0)) w(undefined);
  });
  child.send({ type: 'job', job });
  return {
    child,
    next: () =>
      new Promise((resolve, reject) => {
        if (inbox.length > 0) return resolve(inbox.shift() as never);
        if (failure) return reject(failure);
        waiting.push((m) => (m === undefined ? reject(failure) : resolve(m as never)));
      }),
  };
}

export interface Window {
  results: ClientResult[];
  serverCpuMs: number;
  clientCpuUs: number;
  wallMs: number;
  /** One-minute load average when the window opened and closed. */
  loadStart: number;
  loadEnd: number;
}

/** Starts the jobs, waits until every client has warmed up, then measures all of them at once. */
export async function measureWindow(server: ServerProcess, jobs: ClientJob[]): Promise<Window> {
  const clients = jobs.map(startClient);
  try {
    for (const c of clients) if ((await c.next()).type !== 'ready') throw new Error('client did not get ready');
    const loadStart = loadavg()[0]!;
    const s0 = processCpuMs(server.child.pid);
    const t0 = performance.now();
    for (const c of clients) c.child.send({ type: 'go' });
    const results: ClientResult[] = [];
    for (const c of clients) {
      const m = await c.next();
      if (m.type !== 'result') throw new Error('client answered without a result');
      results.push(m.result);
    }
    const wallMs = performance.now() - t0;
    const serverCpuMs = processCpuMs(server.child.pid) - s0;
    return { results, serverCpuMs, wallMs, clientCpuUs: results.reduce((a, r) => a + r.cpuUs, 0), loadStart, loadEnd: loadavg()[0]! };
  } finally {
    for (const c of clients) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  }
}

/** Session tokens of the bench accounts for the service; placeholders of the same length for the no-op (same metadata size). */
export async function tokensFor(server: ServerProcess): Promise<string[]> {
  if (server.target === 'noop') return BENCH_ACCOUNTS.map((_, i) => `noop-placeholder-token-${i}`.padEnd(43, 'x'));
  return loginBenchAccounts(server.address, server.admin!, undefined);
}

export interface JobPlan {
  mode: BenchMode;
  clients: number;
  seconds: number;
  warmupSeconds: number;
  seed: number;
  tag: string;
  /** unary: calls in flight, all clients together; batch: calls in flight, all together; stream: messages in flight per stream. */
  inFlight: number;
  batch: number;
}

/** One job per client process, each on its share of the bench accounts (account i to client i mod clients). */
export function throughputJobs(plan: JobPlan, address: string, tokens: string[]): ThroughputJob[] {
  const share = (total: number, i: number): number => Math.max(1, Math.floor(total / plan.clients) + (i < total % plan.clients ? 1 : 0));
  return Array.from({ length: plan.clients }, (_, i) => ({
    kind: 'throughput' as const,
    mode: plan.mode,
    address,
    tokens,
    accounts: BENCH_ACCOUNTS.map((_, a) => a).filter((a) => a % plan.clients === i),
    seconds: plan.seconds,
    warmupSeconds: plan.warmupSeconds,
    seed: plan.seed + i,
    tag: `${plan.tag}c${i}`,
    inFlight: plan.mode === 'stream' ? plan.inFlight : share(plan.inFlight, i),
    batch: plan.batch,
  }));
}

/**
 * BENCH_LATENCY_WARMUP_SECONDS (3): the open-loop client's warm-up at the measured rate, in the process
 * that then measures (LatencyJob.warmupSeconds): a fresh server and a fresh client both need about that
 * long before their first seconds stop showing as a tail (seen: p99 per second 0.5-1 s, then 11-22 ms).
 */
export function latencyWarmupSeconds(): number {
  const raw = process.env.BENCH_LATENCY_WARMUP_SECONDS;
  const n = raw === undefined || raw === '' ? 3 : Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`BENCH_LATENCY_WARMUP_SECONDS must be a whole number of seconds >= 0, got "${raw}"`);
  return n;
}

/**
 * An open-loop run of `mode` at `ratePerSec` orders a second against `server` for `seconds`, as the latency
 * job of loadtest/load-run.ts takes it: one stream per bench account, two connections, the accounts'
 * sessions already logged in (tokensFor).
 */
export function openLoopArgs(mode: BenchMode, ratePerSec: number, server: ServerProcess, o: { seconds: number; batch: number; seed: number }): LoadArgs {
  return {
    // At least one call or message a second, so a mode whose closed-loop rate was near 0 still measures something.
    rate: Math.max(mode === 'unary' ? 1 : o.batch, Math.round(ratePerSec)),
    durationSeconds: o.seconds,
    mix: { unary: mode === 'unary' ? 1 : 0, stream: mode === 'stream' ? 1 : 0, batch: mode === 'batch' ? 1 : 0 },
    batch: o.batch,
    streams: BENCH_ACCOUNTS.length,
    connections: 2,
    target: server.address,
    admin: server.admin ?? '',
    adminToken: undefined,
    auth: 'header', // "do not log in": the job's tokens are already the accounts' sessions
    out: '',
    seed: o.seed,
    maxInFlight: 1_000_000,
    progressEvery: 1_000_000,
  };
}
