/**
 * Idempotency across a restart where the session store forgot everything (the in-process store, or an
 * expired fast-path record): the durable truth is PostgreSQL's journal, and the order registry that
 * recovery rebuilds from it answers the resubmission. Real PostgreSQL, real gRPC, real sessions (API key
 * from the admin API, SessionService.Login); the second service is a new process-equivalent on the same
 * schema with a fresh in-process session store.
 */
import { credentials, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrdersServiceClient, type SubmitOrderResponse } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { OrderStatus } from '../server/adapters/grpc/generated/trading/v1/types.ts';
import { TradingService } from '../server/adapters/trading-service.ts';
import type { TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { loadConfig } from '../server/config.ts';
import { adminApiKeys, bearer, failure, limitOrder, loginAt } from './grpc-harness.ts';
import { openTestPersistence, testSchema } from './support/service-database.ts';

const quiet = { info: () => {}, error: () => {} };
let schema: TestSchema;

async function start() {
  const db = await openTestPersistence(schema);
  const service = new TradingService(
    loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', MIGRATION_INITIAL_STATE: 'legacy_only', SNAPSHOT_EVERY_COMMANDS: '0', SNAPSHOT_INTERVAL_MS: '0' }),
    { logger: quiet, persistence: db },
  );
  const ports = await service.start();
  const address = `127.0.0.1:${ports.grpcPort}`;
  const orders = new OrdersServiceClient(address, credentials.createInsecure());
  const login = async (account: string) => bearer((await loginAt(address, await adminApiKeys(`http://127.0.0.1:${ports.adminPort}`)(account))).token);
  return {
    service,
    orders,
    login,
    async stop() {
      orders.close();
      await service.stop(1_000);
      await db.close(5_000);
    },
  };
}

function submit(orders: OrdersServiceClient, req: unknown, md: Metadata): Promise<SubmitOrderResponse> {
  return new Promise((resolve, reject) => orders.submitOrder(req as never, md, (err: ServiceError | null, res: SubmitOrderResponse) => (err ? reject(err) : resolve(res))));
}

beforeAll(async () => {
  schema = await testSchema('ts_idem_restart');
});
afterAll(async () => {
  await schema?.drop();
});

describe('a resubmitted client order id after a restart with an empty session store', () => {
  it('is answered from the recovered registry: the same order, no second one; different fields are ALREADY_EXISTS', async () => {
    const order = limitOrder('buy', '20.00', '0.01', { pair: 'SOLUSDT', clientOrderId: 'survives-restart' });
    const first = await start();
    let original: SubmitOrderResponse;
    try {
      original = await submit(first.orders, order, await first.login('restart-acct'));
    } finally {
      await first.stop();
    }

    const second = await start();
    try {
      const md = await second.login('restart-acct');
      const again = await submit(second.orders, order, md);
      // The first response is no longer on record (in-process store): the order as it stands, no events.
      expect(again.order).toEqual({ ...original.order, updatedAtUnixMs: again.order!.updatedAtUnixMs });
      expect(again.order?.status).toBe(OrderStatus.ORDER_STATUS_NEW);
      expect(again.events).toEqual([]);
      expect(second.service.pairs.get('SOLUSDT')!.openOrderCount).toBe(1);
      const different = await failure(submit(second.orders, { ...order, price: '21.00' }, md));
      expect(different.details).toMatch(/^client_order_id: client order id "survives-restart" is already used by order \d+ with different fields/);
      expect(second.service.pairs.get('SOLUSDT')!.openOrderCount).toBe(1);
    } finally {
      await second.stop();
    }
  });
});
