// The simulator's gRPC driver against a real TradingService (in memory mode, sessions, admin API on
// 127.0.0.1:0): agents get API keys through the admin API, log in, trade over OrderFlow, and every order
// the ledger holds is what the service holds (same order id, status and filled quantity by client order
// id; the open orders are exactly the service's open orders); fills conserve quantity. And the CLI:
// a bad argument, an unreachable target, an unknown pair or a refused API key is one line on stderr and
// exit code 2; a short run exits 0 and writes the report, the picture and the ledger.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradingService } from '../server/adapters/trading-service.ts';
import { loadConfig } from '../server/config.ts';
import { startGrpcSimulation, SimulationSetupError, type SimulationReport } from '../simulator/grpc-driver.ts';

const quiet = { info: () => {}, error: () => {} };
let service: TradingService;
let target: string;
let admin: string;

beforeAll(async () => {
  service = new TradingService(loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', PERSISTENCE: 'memory' }), { logger: quiet });
  const ports = await service.start();
  target = `127.0.0.1:${ports.grpcPort}`;
  admin = `http://127.0.0.1:${ports.adminPort}`;
});

afterAll(async () => {
  await service?.stop(1_000);
});

const units = (decimal: string) => BigInt(decimal.replace('.', ''));

describe('gRPC driver against the real service', () => {
  let report: SimulationReport;

  beforeAll(async () => {
    const sim = await startGrpcSimulation({ target, adminUrl: admin, seed: 11, ratePerSecond: 400, pairs: ['BTCUSDT', 'ETHUSDT'], durationMs: 3_000 });
    const during = sim.progress();
    expect(during.agents).toBe(22);
    report = await sim.done;
  }, 60_000);

  it('offers the commands at the rate, all answered, none breaking a rule', () => {
    expect(report.commands.sent).toBeGreaterThan(1000);
    expect(report.commands.noAnswer).toBe(0);
    expect(report.commands.notSent).toBe(0);
    expect(report.errorsByCode.INVALID_ARGUMENT ?? 0).toBe(0);
    expect(report.errorsByCode.UNAUTHENTICATED ?? 0).toBe(0);
    expect(report.errorsByCode.RESOURCE_EXHAUSTED ?? 0).toBe(0);
    expect(report.commands.acknowledged).toBeGreaterThan(report.commands.sent * 0.8);
    expect(report.ackLatencyMs.count).toBe(report.commands.sent);
    expect(report.ackLatencyMs.p99).toBeGreaterThanOrEqual(report.ackLatencyMs.p50);
  });

  it('every ledger order is what the service holds, by client order id; open orders are exactly the service’s', () => {
    const ledger = report.ledger!;
    expect(ledger.orders.length).toBeGreaterThan(200);
    let compared = 0;
    for (const e of ledger.orders) {
      const account = service.pairs.accounts.find(e.account);
      expect(account, e.account).toBeDefined();
      const held = service.pairs.get(e.pair)!.findByClientOrderId(account!, e.clientOrderId);
      const open = e.status === 'new' || e.status === 'partially_filled';
      if (open) expect(held, `${e.clientOrderId} is open in the ledger`).toBeDefined();
      if (held === undefined) continue; // closed and beyond the retention
      compared++;
      expect(String(held.orderId)).toBe(e.orderId);
      expect(held.status, e.clientOrderId).toBe(e.status);
      const lot = service.pairs.get(e.pair)!.instrument.lot.units;
      expect(BigInt(held.filled) * lot).toBe(units(e.filledQuantity));
    }
    expect(compared).toBeGreaterThan(200);
    for (const symbol of ['BTCUSDT', 'ETHUSDT']) {
      const pair = service.pairs.get(symbol)!;
      const accounts = new Set(ledger.orders.filter((e) => e.pair === symbol).map((e) => e.account));
      const heldOpen = [...accounts].flatMap((a) => pair.listOpenOrders(service.pairs.accounts.find(a)!).map((o) => `${a}/${o.clientOrderId}`)).sort();
      const ledgerOpen = ledger.orders.filter((e) => e.pair === symbol && (e.status === 'new' || e.status === 'partially_filled')).map((e) => `${e.account}/${e.clientOrderId}`).sort();
      expect(ledgerOpen).toEqual(heldOpen);
    }
  });

  it('fills conserve quantity per pair, and both sides of every trade were seen', () => {
    const fills = report.ledger!.fills;
    expect(fills.length).toBeGreaterThan(50);
    for (const symbol of ['BTCUSDT', 'ETHUSDT']) {
      const mine = fills.filter((f) => f.pair === symbol);
      const sum = (side: string) => mine.filter((f) => f.side === side).reduce((s, f) => s + units(f.quantity), 0n);
      expect(sum('buy')).toBe(sum('sell'));
      const perTrade = new Map<string, number>();
      for (const f of mine) perTrade.set(f.tradeId, (perTrade.get(f.tradeId) ?? 0) + 1);
      expect([...perTrade.values()].every((n) => n === 2)).toBe(true);
    }
  });

  it('setup errors name their cause: unknown pair, a refused API key, rate <= 0', async () => {
    await expect(startGrpcSimulation({ target, adminUrl: admin, seed: 1, ratePerSecond: 10, pairs: ['DOGEUSDT'] })).rejects.toThrow(/unknown pair "DOGEUSDT": .* trades BTCUSDT, ETHUSDT, SOLUSDT/);
    const bad = Array.from({ length: 11 }, (_, i) => ({ keyId: `ak_nope${i}`, secret: 'wrong' }));
    const refused = await startGrpcSimulation({ target, adminUrl: admin, seed: 1, ratePerSecond: 10, pairs: ['BTCUSDT'], apiKeys: bad }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SimulationSetupError);
    expect((refused as SimulationSetupError).message).toMatch(/login with API key "ak_nope0" was refused: UNAUTHENTICATED/);
    await expect(startGrpcSimulation({ target, adminUrl: admin, seed: 1, ratePerSecond: 0, pairs: ['BTCUSDT'] })).rejects.toThrow(/--rate must be a positive/);
  });
});

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'simulator/cli.ts', ...args], { cwd: join(__dirname, '..'), timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

function expectOneLineExit2(r: { code: number; stderr: string }, message: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^simulate: /);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('npm run simulate (the CLI)', () => {
  it('rate <= 0, a bad duration, an unknown flag: one line, exit code 2', async () => {
    const [rate, duration, flag] = await Promise.all([cli(['--target', target, '--rate', '0']), cli(['--duration', 'soon']), cli(['--speed', '9'])]);
    expectOneLineExit2(rate, /--rate must be a positive number of commands per second, got "0"/);
    expectOneLineExit2(duration, /--duration must look like 60s, 500ms or 2m/);
    expectOneLineExit2(flag, /unknown argument "--speed"/);
  }, 90_000);

  it('an unreachable target, an unknown pair, a wrong API key: one line, exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
    const keys = join(dir, 'keys.json');
    writeFileSync(keys, JSON.stringify(Array.from({ length: 11 }, (_, i) => ({ keyId: `ak_wrong${i}`, secret: 'not-the-secret' }))));
    const port = await closedPort();
    const [unreachable, pair, key] = await Promise.all([
      cli(['--target', `127.0.0.1:${port}`, '--duration', '1s']),
      cli(['--target', target, '--admin', admin, '--pairs', 'DOGEUSDT', '--duration', '1s']),
      cli(['--target', target, '--api-keys', keys, '--pairs', 'BTCUSDT', '--rate', '100', '--duration', '1s']),
    ]);
    expectOneLineExit2(unreachable, new RegExp(`cannot reach the trading service at 127\\.0\\.0\\.1:${port}: UNAVAILABLE`));
    expectOneLineExit2(pair, /unknown pair "DOGEUSDT"/);
    expectOneLineExit2(key, /login with API key "ak_wrong0" was refused: UNAUTHENTICATED/);
  }, 90_000);

  it('a short run exits 0 with a summary and writes report.json, report.svg and ledger.json', async () => {
    const out = mkdtempSync(join(tmpdir(), 'sim-out-'));
    const r = await cli(['--target', target, '--admin', admin, '--seed', '3', '--duration', '2s', '--rate', '300', '--pairs', 'SOLUSDT', '--out', out]);
    expect(r.stderr).not.toMatch(/unexpected|INVALID_ARGUMENT|\n\s+at /);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ack latency from intended send time/);
    expect(r.stdout).toMatch(/SOLUSDT: \d+ trades/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as SimulationReport;
    expect(report.commands.sent).toBeGreaterThan(400);
    expect(report.errorsByCode.INVALID_ARGUMENT ?? 0).toBe(0);
    expect(readFileSync(join(out, 'report.svg'), 'utf8')).toMatch(/^<svg [^>]*>[\s\S]*SOLUSDT[\s\S]*ack latency[\s\S]*<\/svg>$/);
    const ledger = JSON.parse(readFileSync(join(out, 'ledger.json'), 'utf8'));
    expect(ledger.orders.length).toBeGreaterThan(0);
  }, 90_000);
});
