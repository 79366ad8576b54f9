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
