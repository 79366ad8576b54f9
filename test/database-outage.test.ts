// The service in-process with its PostgreSQL behind a TCP fault proxy (the real server, made
// unreachable): while the proxy is down or hung, commands in flight are answered UNAVAILABLE "applied,
// not yet durable", new commands are refused with UNAVAILABLE naming PostgreSQL (nothing applied),
// /health is UNHEALTHY (503) with the dependency_down alert; when the proxy is back the service resumes
// by itself, the pending commands become durable (and their market data is released), and nothing
// acknowledged is lost.
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradingService } from '../server/adapters/trading-service.ts';
import { MarketDataServiceClient, type MarketDataUpdate } from '../server/adapters/grpc/generated/trading/v1/market_data.ts';
import { OrdersServiceClient } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { OrderStatus } from '../server/adapters/grpc/generated/trading/v1/types.ts';
import type { PostgresPersistence } from '../server/adapters/postgres/postgres-persistence.ts';
import type { TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { loadConfig } from '../server/config.ts';
import { limitOrder } from './grpc-harness.ts';
import { openTestPersistence, TEST_DATABASE_URL, testSchema } from './support/service-database.ts';
import { TcpFaultProxy } from './support/tcp-fault-proxy.ts';

const quiet = { info: () => {}, error: () => {} };
let schema: TestSchema;
let proxy: TcpFaultProxy;
let db: PostgresPersistence;
let service: TradingService;
let orders: OrdersServiceClient;
let marketData: MarketDataServiceClient;
let admin: string;

function md(account: string): Metadata {
  const m = new Metadata();
  m.set('x-account-id', account);
  return m;
}
const submit = (cid: string, side: 'buy' | 'sell' = 'buy', price = '100.00', account = 'alice') =>
  new Promise<any>((ok, fail) => orders.submitOrder(limitOrder(side, price, '0.01', { clientOrderId: cid }), md(account), (e, r) => (e ? fail(e) : ok(r))));
const getOrder = (cid: string, account = 'alice') =>
  new Promise<any>((ok, fail) => orders.getOrder({ pair: 'BTCUSDT', order: { $case: 'clientOrderId', value: cid } }, md(account), (e, r) => (e ? fail(e) : ok(r))));
const failure = async (p: Promise<unknown>): Promise<ServiceError> => {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
};
const health = async () => {
  const res = await fetch(`${admin}/health`);
  return { status: res.status, json: (await res.json()) as any };
};
async function eventually(check: () => Promise<boolean> | boolean, tries = 300): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not reached');
}

beforeAll(async () => {
  schema = await testSchema('ts_svc_outage');
  const url = new URL(TEST_DATABASE_URL);
  proxy = new TcpFaultProxy({ upstreamHost: url.hostname, upstreamPort: Number(url.port || 5432) });
  await proxy.start();
  const viaProxy = new URL(url);
  viaProxy.hostname = proxy.host;
  viaProxy.port = String(proxy.port);
  db = await openTestPersistence(schema, { connectionString: viaProxy.toString(), writeTimeoutMs: 400, journal: { retryDelayMs: 20, maxRetryDelayMs: 100 } });
  service = new TradingService(loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', AUTH_MODE: 'header', SNAPSHOT_EVERY_COMMANDS: '0', SNAPSHOT_INTERVAL_MS: '0' }), {
    logger: quiet,
    persistence: db,
  });
  const ports = await service.start();
  orders = new OrdersServiceClient(`127.0.0.1:${ports.grpcPort}`, credentials.createInsecure());
  marketData = new MarketDataServiceClient(`127.0.0.1:${ports.grpcPort}`, credentials.createInsecure());
  admin = `http://127.0.0.1:${ports.adminPort}`;
});

afterAll(async () => {
  proxy?.up();
  orders?.close();
  marketData?.close();
  await service?.stop(1_000);
  await db?.close(10_000);
  await proxy?.stop();
  await schema?.drop();
});

describe('PostgreSQL unreachable through the fault proxy', () => {
  for (const fault of ['down', 'blackhole'] as const) {
    it(`${fault}: refuses with UNAVAILABLE, health UNHEALTHY with an alert, resumes by itself, loses nothing acknowledged`, async () => {
      const tag = fault;
      const acked = await submit(`${tag}-before`);
      expect(acked.order.orderId).not.toBe('');
      expect((await health()).status).toBe(200);

      const updates: MarketDataUpdate[] = [];
      const stream = marketData.streamMarketData({ pair: 'BTCUSDT', depth: 5 });
      stream.on('data', (u: MarketDataUpdate) => updates.push(u));
      stream.on('error', () => {});
      await eventually(() => updates.length > 0); // the snapshot
      const lastSeq = Number(updates.at(-1)!.sequence);

      if (fault === 'down') proxy.down();
      else proxy.blackhole();

      // A command applied before the journal noticed: applied, not yet durable.
      const inFlight = await failure(submit(`${tag}-in-flight`, 'sell', '100.00', 'bob'));
      expect(inFlight.code).toBe(status.UNAVAILABLE);
      expect(inFlight.details).toMatch(/postgresql unavailable: BTCUSDT: the command was applied but is not yet durable .*check its fate by client_order_id/);
      // Its market data (a trade with the resting order) is held.
      await new Promise((r) => setTimeout(r, 100));
      expect(updates.filter((u) => Number(u.sequence) > lastSeq)).toEqual([]);

      // New commands are refused, nothing applied.
      const applied = service.pairs.get('BTCUSDT')!.lastCommandSequence;
      const refused = await failure(submit(`${tag}-refused`));
      expect(refused.code).toBe(status.UNAVAILABLE);
      expect(refused.details).toMatch(/PostgreSQL is unreachable .*BTCUSDT takes no commands until journal writes succeed again — nothing was applied/);
      const refusedCancel = await failure(new Promise((ok, fail) => orders.cancelOrder({ pair: 'ETHUSDT', order: { $case: 'orderId', value: '1' } }, md('alice'), (e, r) => (e ? fail(e) : ok(r)))));
      expect(refusedCancel.code).toBe(status.UNAVAILABLE);
      expect(service.pairs.get('BTCUSDT')!.lastCommandSequence).toBe(applied);
      // Reading the not-yet-durable order is refused too: a reply never shows what a crash could take back.
      expect((await failure(getOrder(`${tag}-in-flight`, 'bob'))).code).toBe(status.UNAVAILABLE);

      const h = await health();
      expect(h.status).toBe(503);
      expect(h.json.status).toBe('UNHEALTHY');
      expect(h.json.checks.dependencies_down.names).toContain('postgresql');
      expect(h.json.alerts.map((a: any) => a.name)).toContain('dependency_down');

      // Back: resumes by itself, the pending command is written and its market data released.
      proxy.up();
      await eventually(async () => (await health()).status === 200);
      await eventually(() => updates.some((u) => Number(u.sequence) > lastSeq));
      const fate = await getOrder(`${tag}-in-flight`, 'bob');
      expect(fate.order.status).toBe(OrderStatus.ORDER_STATUS_FILLED); // it traded with the resting order
      expect(fate.order.clientOrderId).toBe(`${tag}-in-flight`);
      const after = await submit(`${tag}-after`);
      expect(after.order.clientOrderId).toBe(`${tag}-after`);
      // Everything acknowledged (and the in-flight command) is in the journal, once.
      const { rows } = await db.pool.query<{ client_order_id: string }>(`SELECT client_order_id FROM orders WHERE pair = 'BTCUSDT' AND client_order_id LIKE $1 ORDER BY order_id`, [`${tag}-%`]);
      expect(rows.map((r) => r.client_order_id)).toEqual([`${tag}-before`, `${tag}-in-flight`, `${tag}-after`]);
      const journal = await db.pool.query<{ n: string; max: string }>(`SELECT count(*) AS n, max(sequence) AS max FROM journal WHERE pair = 'BTCUSDT'`);
      expect(journal.rows[0]!.n).toBe(journal.rows[0]!.max);
      expect(Number(journal.rows[0]!.max)).toBe(service.pairs.get('BTCUSDT')!.lastCommandSequence);
      stream.cancel();
    });
  }
});
