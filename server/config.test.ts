import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

const base = { GRPC_HOST: '127.0.0.1' };

describe('session configuration', () => {
  it('defaults: sessions, in-process store, the documented limits', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({
      authMode: 'sessions',
      redisUrl: undefined,
      redisPrefix: 'trading:',
      sessionTtlMs: 86_400_000,
      rateLimitPerSecond: 1000,
      rateLimitBurst: 2000,
      idempotencyTtlMs: 86_400_000,
      redisOfflineGraceMs: 60_000,
    });
  });

  it('reads the variables', () => {
    const c = loadConfig({ ...base, REDIS_URL: 'redis://10.0.0.5:6380/2', REDIS_PREFIX: 'svc:', SESSION_TTL_MS: '60000', RATE_LIMIT_PER_SECOND: '50', RATE_LIMIT_BURST: '1500', IDEMPOTENCY_TTL_MS: '3600000', REDIS_OFFLINE_GRACE_MS: '0', AUTH_MODE: 'header' });
    expect(c).toMatchObject({ redisUrl: 'redis://10.0.0.5:6380/2', redisPrefix: 'svc:', sessionTtlMs: 60_000, rateLimitPerSecond: 50, rateLimitBurst: 1500, idempotencyTtlMs: 3_600_000, redisOfflineGraceMs: 0, authMode: 'header' });
  });

  it.each([
    [{ AUTH_MODE: 'none' }, 'AUTH_MODE'],
    [{ AUTH_MODE: 'header', GRPC_HOST: '0.0.0.0' }, 'AUTH_MODE'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [{ REDIS_PREFIX: 'has space' }, 'REDIS_PREFIX'],
    [{ RATE_LIMIT_BURST: '999' }, 'RATE_LIMIT_BURST'],
    [{ RATE_LIMIT_PER_SECOND: '0' }, 'RATE_LIMIT_PER_SECOND'],
    [{ SESSION_TTL_MS: '10' }, 'SESSION_TTL_MS'],
  ])('refuses %o naming %s', (env, variable) => {
    let err: unknown;
    try {
      loadConfig({ ...base, ...env });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(variable);
  });
});

describe('cluster configuration', () => {
  const db = { ...base, DATABASE_URL: 'postgres://u@db:5432/trading' };
  it('defaults: off, replica id from host and pid, 10 s lease renewed every third, balanced', () => {
    const c = loadConfig(base).cluster;
    expect(c).toMatchObject({ mode: 'off', leaseMs: 10_000, renewMs: 3333, placement: 'balanced', advertiseGrpc: undefined, advertiseAdmin: undefined });
    expect(c.replicaId).toMatch(new RegExp(`-${process.pid}$`));
  });

  it('reads the variables', () => {
    const c = loadConfig({
      ...db,
      CLUSTER_MODE: 'postgres',
      REPLICA_ID: 'trading-service-0',
      OWNERSHIP_LEASE_MS: '1500',
      OWNERSHIP_RENEW_MS: '300',
      OWNERSHIP_PLACEMENT: 'static',
      OWNERSHIP_STATIC: 'BTCUSDT=r1, ETHUSDT=r2',
      CLUSTER_ADVERTISE_GRPC: '10.0.0.7:50051',
      CLUSTER_ADVERTISE_ADMIN: 'http://10.0.0.7:8080',
    }).cluster;
    expect(c).toMatchObject({ mode: 'postgres', replicaId: 'trading-service-0', leaseMs: 1500, renewMs: 300, placement: 'static', advertiseGrpc: '10.0.0.7:50051', advertiseAdmin: 'http://10.0.0.7:8080' });
    expect([...c.staticOwners]).toEqual([['BTCUSDT', 'r1'], ['ETHUSDT', 'r2']]);
  });

  it('refuses bad values naming the variable', () => {
    const bad: [Record<string, string>, string][] = [
      [{ ...db, CLUSTER_MODE: 'redis' }, 'CLUSTER_MODE'],
      [{ ...base, CLUSTER_MODE: 'postgres' }, 'CLUSTER_MODE'], // no DATABASE_URL
      [{ ...db, PERSISTENCE: 'memory', CLUSTER_MODE: 'postgres' }, 'CLUSTER_MODE'],
      [{ ...db, REPLICA_ID: 'a b' }, 'REPLICA_ID'],
      [{ ...db, OWNERSHIP_LEASE_MS: '100' }, 'OWNERSHIP_LEASE_MS'],
      [{ ...db, OWNERSHIP_LEASE_MS: '1000', OWNERSHIP_RENEW_MS: '600' }, 'OWNERSHIP_RENEW_MS'],
      [{ ...db, OWNERSHIP_PLACEMENT: 'random' }, 'OWNERSHIP_PLACEMENT'],
      [{ ...db, OWNERSHIP_PLACEMENT: 'static' }, 'OWNERSHIP_STATIC'],
      [{ ...db, OWNERSHIP_STATIC: 'BTCUSDT:r1' }, 'OWNERSHIP_STATIC'],
      [{ ...db, OWNERSHIP_STATIC: 'BTCUSDT=r1,BTCUSDT=r2' }, 'OWNERSHIP_STATIC'],
      [{ ...db, CLUSTER_ADVERTISE_GRPC: 'no-port' }, 'CLUSTER_ADVERTISE_GRPC'],
      [{ ...db, CLUSTER_ADVERTISE_ADMIN: '10.0.0.7:8080' }, 'CLUSTER_ADVERTISE_ADMIN'],
    ];
    for (const [env, variable] of bad) {
      let err: unknown;
      try {
        loadConfig(env);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(env)).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(variable);
    }
  });
});
