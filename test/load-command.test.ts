// `npm run load` (loadtest/load.ts) against an in-process TradingService on ports 0: a short open-loop run
// over all three transports answers every scheduled order, writes a JSON report whose figures add up and
// an HTML page with its three SVG charts; bad arguments are one line and exit code 2.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoadArgsError, parseLoadArgs } from '../loadtest/load-args.ts';
import type { LoadResult } from '../loadtest/load-run.ts';
import { TradingService } from '../server/adapters/trading-service.ts';
import { loadConfig } from '../server/config.ts';

const root = join(import.meta.dirname, '..');
const loadArgs = (args: string[]) => ['--import', 'tsx', join(root, 'loadtest', 'load.ts'), ...args];
const load = (args: string[]) => spawnSync(process.execPath, loadArgs(args), { cwd: root, encoding: 'utf8', timeout: 120_000 });
/** Without blocking this process' event loop: the service under load runs in it. */
function loadAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, loadArgs(args), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('load arguments', () => {
  it('parses rate, duration, mix and batch; the mix is normalised to shares', () => {
    const a = parseLoadArgs(['--rate', '20000', '--duration', '2m', '--mix', 'unary=70,stream=20,batch=10', '--batch=50']);
    expect(a.rate).toBe(20000);
    expect(a.durationSeconds).toBe(120);
    expect(a.mix).toEqual({ unary: 0.7, stream: 0.2, batch: 0.1 });
    expect(a.batch).toBe(50);
  });

  it.each([
    [['--rate', 'fast'], /--rate must be a whole number/],
    [['--rate', '0'], /--rate must be between 1 and 200000/],
    [['--duration', '10 minutes'], /--duration must look like 60s/],
    [['--duration', '2h'], /--duration must be between 1s and 1h/],
    [['--mix', 'udp=5'], /--mix must look like/],
    [['--mix', 'unary=0'], /at least one transport/],
    [['--target', 'nohost'], /--target must be host:port/],
    [['--bogus'], /unknown argument "--bogus"/],
    [['--rate'], /--rate needs a value/],
  ])('refuses %j with one precise message', (argv, message) => {
    expect(() => parseLoadArgs(argv)).toThrow(LoadArgsError);
    expect(() => parseLoadArgs(argv)).toThrow(message);
  });

  it('the command prints one line and exits 2 on a bad argument', () => {
    const r = load(['--rate', 'lots']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual(['load: --rate must be a whole number, got "lots"']);
  });
});

describe('a short run against a real service', () => {
  let service: TradingService;
  let out: string;
  let grpcPort: number;
  let adminPort: number;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'load-report-'));
    service = new TradingService(loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', PERSISTENCE: 'memory', RATE_LIMIT_PER_SECOND: '100000', RATE_LIMIT_BURST: '200000' }), {
      logger: { info: () => {}, error: () => {} },
    });
    ({ grpcPort, adminPort } = await service.start());
  });

  afterAll(async () => {
    await service?.stop(1_000);
    rmSync(out, { recursive: true, force: true });
  });

  it('answers every scheduled order over unary, OrderFlow and SubmitOrderBatch and writes JSON + HTML', async () => {
    const r = await loadAsync(['--rate', '300', '--duration', '2s', '--mix', 'unary=50,stream=30,batch=20', '--batch', '10', '--target', `127.0.0.1:${grpcPort}`, '--admin', `http://127.0.0.1:${adminPort}`, '--out', out]);
    expect(r.stderr).toMatch(/\[\s+\d+s\/2s\] sent \d+\/600/); // the progress line
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^load: 600\/600 orders answered/m);
    const files = readdirSync(out).sort();
    expect(files.filter((f) => f.endsWith('.json'))).toHaveLength(1);
    const report = JSON.parse(readFileSync(join(out, files.find((f) => f.endsWith('.json'))!), 'utf8')) as LoadResult;
    expect(report.scheduled).toBe(600); // 150 unary + 9 stream messages x 10 + 6 batches x 10, per second
    expect(report.completed).toBe(600);
    expect(report.lost).toBe(0);
    expect(report.errors.unexpected).toBe(0);
    expect(report.per_second.length).toBeGreaterThanOrEqual(2);
    expect(report.per_second.reduce((a, s) => a + s.completed, 0)).toBe(600);
    const l = report.latency_us;
    expect(l.p50).toBeGreaterThan(0);
    expect(l.p50).toBeLessThanOrEqual(l.p95);
    expect(l.p95).toBeLessThanOrEqual(l.p99);
    expect(l.p99).toBeLessThanOrEqual(l.max);
    const d = report.distribution.map((x) => x.latency_us);
    expect([...d].sort((a, b) => a - b)).toEqual(d);
    expect(report.args).not.toHaveProperty('adminToken');
    const html = readFileSync(join(out, files.find((f) => f.endsWith('.html'))!), 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(3);
    for (const title of ['Latency percentiles over time', 'Throughput over time', 'Latency distribution']) expect(html).toContain(title);
  });
});
