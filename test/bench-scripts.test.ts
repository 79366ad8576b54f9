// `npm run bench:grpc` and `npm run bench:durability` in a tiny configuration (1 s runs, one pair, no
// recovery part, the service from its sources so the test does not rebuild dist/), so the scripts cannot rot: they run end to end against real server processes (the
// service with sessions, the no-op, PostgreSQL for the durable runs), answer every order without an
// unexpected error and write their JSON. Nothing here depends on timing: the assertions are about what
// was counted (the no-op answers in the shape the service's answers were counted in), never how fast.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCAL_TEST_DATABASE_URL } from '../server/adapters/postgres/test-schema.ts';

const root = join(import.meta.dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'bench-scripts-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const TINY = { BENCH_SERVICE_RUNTIME: 'tsx', BENCH_SECONDS: '1', BENCH_WARMUP_SECONDS: '0', BENCH_LATENCY_WARMUP_SECONDS: '1', BENCH_PAIRS: '1', BENCH_REPEATS: '1', BENCH_CLIENTS: '2', BENCH_RECOVERY_COMMANDS: '0', BENCH_RESULTS_DIR: out };

function run(script: string, env: Record<string, string>): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'loadtest', script)], { cwd: root, env: { ...process.env, ...TINY, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 420_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

interface RunJson {
  orders: number;
  unexpectedErrors: number;
  messagesPerOrder: number;
  eventsPerOrder: number;
  serverUsPerOrder: number;
  counts: { answered: { submit: number; cancel: number }; responseMessages: number; pushedMessages: number };
}

describe('bench:grpc, tiny', () => {
  it('measures every mode on fresh servers, the no-op answering in the shape of the service', { timeout: 480_000 }, async () => {
    const r = await run('bench-grpc.ts', {});
    expect(r.status, r.output.slice(-3000)).toBe(0);
    const file = readdirSync(out).find((f) => /^grpc-\d{4}-\d{2}-\d{2}\.json$/.test(f));
    expect(file).toBeDefined();
    const result = JSON.parse(readFileSync(join(out, file!), 'utf8')) as {
      config: { clients: number };
      modes: Record<string, { pairs: { service: RunJson; noop: RunJson; cpuRatio: number; throughputRatio: number }[] }>;
      latency: { mode: string; target: string; completed: number; scheduled: number; errors: { unexpected: number } }[];
    };
    expect(Object.keys(result.modes).sort()).toEqual(['batch', 'stream', 'unary']);
    for (const [mode, m] of Object.entries(result.modes)) {
      expect(m.pairs).toHaveLength(1);
      const { service, noop } = m.pairs[0]!;
      for (const s of [service, noop]) {
        expect(s.orders, mode).toBeGreaterThan(0);
        expect(s.unexpectedErrors, mode).toBe(0);
        expect(s.serverUsPerOrder, mode).toBeGreaterThan(0);
      }
      // The no-op wrote as many messages and events per order as the service (within what 1 s of a
      // different count of orders rounds to).
      expect(Math.abs(noop.messagesPerOrder - service.messagesPerOrder), mode).toBeLessThanOrEqual(0.02 * service.messagesPerOrder + 0.002);
      expect(Math.abs(noop.eventsPerOrder - service.eventsPerOrder), mode).toBeLessThanOrEqual(0.03 * service.eventsPerOrder);
    }
    // OrderFlow: the service pushes event messages beside its one reply per request; the no-op too.
    expect(result.modes.stream!.pairs[0]!.service.counts.pushedMessages).toBeGreaterThan(0);
    expect(result.modes.stream!.pairs[0]!.noop.counts.pushedMessages).toBeGreaterThan(0);
    expect(result.latency.map((l) => `${l.mode} ${l.target}`).sort()).toEqual(['batch noop', 'batch service', 'stream noop', 'stream service', 'unary noop', 'unary service']);
    for (const l of result.latency) {
      expect(l.completed, `${l.mode} ${l.target}`).toBe(l.scheduled);
      expect(l.errors.unexpected).toBe(0);
    }
  });
});

describe('bench:durability, tiny', () => {
  it('pairs a durable run on PostgreSQL with an in-memory one and reports the ratio and latency', { timeout: 480_000 }, async () => {
    const r = await run('bench-durability.ts', { DATABASE_URL: process.env.DATABASE_URL || LOCAL_TEST_DATABASE_URL });
    expect(r.status, r.output.slice(-3000)).toBe(0);
    const result = JSON.parse(readFileSync(join(out, 'durability-latest.json'), 'utf8')) as {
      throughput: { pairs: { ratio: number; memory: { ordersPerSec: number; answered: number }; postgres: { ordersPerSec: number; answered: number } }[]; medianRatio: number; unexpectedErrors: number };
      latency: { postgres: { p99: number; scheduled: number; completed: number }; memory: { p99: number; scheduled: number; completed: number } } | null;
    };
    expect(result.throughput.pairs).toHaveLength(1);
    const p = result.throughput.pairs[0]!;
    // Every command sent was answered (durably for postgres), in the window or in the drain after it.
    expect(p.memory.answered).toBeGreaterThan(0);
    expect(p.postgres.answered).toBeGreaterThan(0);
    expect(result.throughput.medianRatio).toBeCloseTo(p.ratio, 3);
    expect(result.throughput.unexpectedErrors).toBe(0);
    // The open-loop run scheduled orders (at least one message a second) and every one was acknowledged.
    for (const l of [result.latency!.postgres, result.latency!.memory]) {
      expect(l.scheduled).toBeGreaterThan(0);
      expect(l.completed).toBe(l.scheduled);
    }
  });
});
