import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';
import { warmUp, warmUpConfig } from './warm-up.ts';

describe('WARMUP_ORDERS', () => {
  it('is off by default, read as a whole number of orders, and refused outside 0..1,000,000 naming the variable', () => {
    expect(loadConfig({}).warmUpOrders).toBe(0);
    expect(loadConfig({ WARMUP_ORDERS: '40000' }).warmUpOrders).toBe(40_000);
    for (const bad of ['-1', '1.5', '1000001', 'lots']) {
      let err: unknown;
      try {
        loadConfig({ WARMUP_ORDERS: bad });
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe('WARMUP_ORDERS');
    }
  });
});

describe('the start-up warm-up', () => {
  // The real service's configuration points at things the warm-up must not touch: a port taken here, an
  // unreachable Redis and database, a cluster, tracing, chaos and an admin token.
  let taken: Server;
  let takenPort: number;
  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    takenPort = (taken.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  const realConfig = () =>
    loadConfig({
      GRPC_HOST: '0.0.0.0',
      GRPC_PORT: String(takenPort),
      ADMIN_PORT: String(takenPort),
      ADMIN_TOKEN: 'a-token-of-at-least-sixteen-chars',
      REDIS_URL: 'redis://127.0.0.1:1',
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
      CLUSTER_MODE: 'postgres',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
      CHAOS_ENABLED: '1',
      RATE_LIMIT_PER_SECOND: '10',
      // Limits that would refuse the warm-up's own connections, streams and resting orders.
      GRPC_MAX_CONNECTIONS: '1',
      GRPC_MAX_STREAMS_PER_ACCOUNT: '1',
      MAX_OPEN_ORDERS_PER_ACCOUNT: '1',
      MAX_INSTRUMENTS: '1',
      MIGRATION_INITIAL_STATE: 'legacy_only',
    });

  it('runs on its own: in memory, on loopback ports of its own, without Redis, the database, a cluster, tracing, chaos, the admin token or the real limits; the same books', () => {
    const c = warmUpConfig(realConfig());
    expect(c.limits).toEqual(loadConfig({}).limits);
    expect(c.maxInstruments).toBe(loadConfig({}).maxInstruments);
    expect(c.migrationInitialState).toBe('legacy_only');
    expect(c).toMatchObject({ grpcHost: '127.0.0.1', grpcPort: 0, adminHost: '127.0.0.1', adminPort: 0, adminToken: undefined, authMode: 'sessions', redisUrl: undefined, persistence: 'memory', databaseUrl: undefined, otelEndpoint: undefined, chaosEnabled: false, instruments: undefined });
    expect(c.cluster.mode).toBe('off');
    expect(c.rateLimitPerSecond).toBeGreaterThanOrEqual(1_000_000); // the real limit would refuse the warm-up's own orders
  });

  it('sends the orders over real OrderFlow streams with sessions, every command answered without error, and stops', async () => {
    const report = await warmUp(realConfig(), 2_000);
    expect(report).toMatchObject({ commands: 2_000, errors: 0 });
    expect(report.ms).toBeGreaterThan(0);
    // The real service's port is untouched (still ours), so the real service can bind it next.
    expect(taken.listening).toBe(true);
  });

  it('rounds a small count up to one message per stream', async () => {
    expect((await warmUp(realConfig(), 1)).commands).toBe(200);
  });
});
