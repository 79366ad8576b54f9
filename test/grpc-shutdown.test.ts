// Graceful shutdown of the real service process: SIGTERM → health NOT_SERVING, open streams ended with
// UNAVAILABLE after what they had queued, in-flight calls answered, exit code 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MarketDataServiceClient, type MarketDataUpdate } from '../server/adapters/grpc/generated/trading/v1/market_data.ts';
import { OrdersServiceClient, type OrderFlowResponse, type SubmitOrderBatchResponse } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { bearer, limitOrder, loginAt } from './grpc-harness.ts';

const root = join(import.meta.dirname, '..');
let child: ChildProcess | undefined;

// Its own data directory (used when no DATABASE_URL is set), never the checkout's ./data that a
// user's `npm start` may be using; searchable by all so that, as root, the cluster stays in it.
const dataDir = mkdtempSync(join(tmpdir(), 'grpc-shutdown-'));
chmodSync(dataDir, 0o755);

afterEach(() => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
});

afterAll(() => {
  try {
    rmSync(readlinkSync(join(dataDir, 'postgres', 'pgdata')), { recursive: true, force: true }); // a relocated cluster, if any
  } catch {
    // not a link: the cluster is inside dataDir
  }
  rmSync(dataDir, { recursive: true, force: true });
});

/**
 * Starts `server/main.ts` on a free port with the in-process session store; resolves once it has printed
 * its listening line and the demo account's API key (which the test logs in with, as a new user would).
 */
function startService(): Promise<{ port: number; demo: { keyId: string; secret: string }; output: () => string; exit: Promise<number | null> }> {
  // `node --import tsx` rather than `npx tsx`: npx does not pass SIGTERM on to the service.
  const proc = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: root,
    // Free ports only (ADMIN_PORT defaults to 8080, which a running `npm start` holds).
    // A small start-up warm-up too, so the real process's wiring of it (before the real service) is exercised.
    env: { ...process.env, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', DATA_DIR: dataDir, GRPC_SHUTDOWN_GRACE_MS: '5000', REDIS_URL: '', WARMUP_ORDERS: '2000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening for gRPC on 127\.0\.0\.1:(\d+)/.exec(out);
      const demo = /API key id (ak_[A-Za-z0-9_-]+), secret ([A-Za-z0-9_-]+)/.exec(out);
      if (m && demo) resolve({ port: Number(m[1]), demo: { keyId: demo[1]!, secret: demo[2]! }, output: () => out, exit });
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`service exited early with ${code}:\n${out}`)));
    setTimeout(() => reject(new Error(`service did not start:\n${out}`)), 30_000);
  });
}

describe('graceful shutdown', () => {
  it('on SIGTERM ends open streams with UNAVAILABLE after their queued messages, answers in-flight calls, exits 0', async () => {
    const service = await startService();
    const warmed = service.output().indexOf('warmed up with 2000 commands over loopback gRPC');
    expect(warmed, service.output()).toBeGreaterThanOrEqual(0);
    expect(service.output()).toMatch(/warmed up with 2000 commands over loopback gRPC in \d+ ms \(0 answered with an error\)/);
    expect(warmed).toBeLessThan(service.output().indexOf('listening for gRPC'));
    const address = `127.0.0.1:${service.port}`;
    const orders = new OrdersServiceClient(address, credentials.createInsecure());
    const marketData = new MarketDataServiceClient(address, credentials.createInsecure());
    const md = bearer((await loginAt(address, service.demo)).token);
    try {
      // A market-data stream, open (snapshot received) when the signal comes.
      const mdStream = marketData.streamMarketData({ pair: 'BTCUSDT', depth: 10 });
      const updates: MarketDataUpdate[] = [];
      const mdEnd = new Promise<ServiceError>((resolve) => mdStream.on('error', resolve));
      await new Promise<void>((resolve) => mdStream.once('data', (u: MarketDataUpdate) => (updates.push(u), resolve())));
      mdStream.on('data', (u: MarketDataUpdate) => updates.push(u));

      // An order-flow stream with a command applied before the signal.
      const flow = orders.orderFlow(md);
      const flowResponses: OrderFlowResponse[] = [];
      const flowEnd = new Promise<ServiceError>((resolve) => flow.on('error', resolve));
      const firstResponse = new Promise<void>((resolve) => flow.once('data', () => resolve()));
      flow.on('data', (r: OrderFlowResponse) => flowResponses.push(r));
      flow.write({ commands: [{ correlationId: 'before', command: { $case: 'submit', value: limitOrder('buy', '100.00', '1') } }] });
      await firstResponse;

      // A unary call racing the signal: it is either applied and answered, or refused with UNAVAILABLE.
      const batch = new Promise<SubmitOrderBatchResponse | ServiceError>((resolve) =>
        orders.submitOrderBatch({ orders: Array.from({ length: 200 }, () => limitOrder('buy', '99.00', '0.001')) }, md, (err, res) => resolve(err ?? res)),
      );
      child!.kill('SIGTERM');

      const [mdError, flowError, batchResult, code] = await Promise.all([mdEnd, flowEnd, batch, service.exit]);
      expect(code).toBe(0);
      expect(service.output()).toMatch(/SIGTERM received/);
      expect(service.output()).toMatch(/stopped \(graceful\)/);
      expect(mdError.code).toBe(status.UNAVAILABLE);
      expect(mdError.details).toMatch(/shutting down/);
      expect(updates[0]!.update?.$case).toBe('snapshot');
      expect(flowError.code).toBe(status.UNAVAILABLE);
      expect(flowResponses.flatMap((r) => r.messages).some((m) => m.message?.$case === 'result' && m.message.value.correlationId === 'before')).toBe(true);
      if ('code' in batchResult) expect(batchResult.code).toBe(status.UNAVAILABLE);
      else expect(batchResult.results.filter((r) => r.error === undefined)).toHaveLength(200);
    } finally {
      orders.close();
      marketData.close();
    }
  });
});
