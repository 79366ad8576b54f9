/**
 * The one call the composition root makes for sessions: the in-process store when no Redis URL is
 * configured (the `npm start` default), otherwise the Redis store wrapped in the ResilientSessionStore.
 * Does not wait for Redis: the service starts while Redis is down and serves what it can (see
 * resilient-session-store.ts); `status()` tells health checks which it is.
 */
import type { Clock } from '../../ports/clock.ts';
import type { SessionStore, SessionStoreOptions } from '../../ports/session-store.ts';
import { MemorySessionStore } from '../embedded/memory-session-store.ts';
import { RedisSessionStore } from './redis-session-store.ts';
import { ResilientSessionStore } from './resilient-session-store.ts';

export interface OpenSessionStoreOptions extends SessionStoreOptions {
  clock: Clock;
  /** REDIS_URL; undefined selects the in-process store. */
  redisUrl?: string;
  /** Key prefix in Redis. @default "trading:" */
  redisPrefix?: string;
  /** See RedisSessionStoreOptions.idempotencyScope (the database id). @default "" */
  idempotencyScope?: string;
  /** In-process store only: see MemorySessionStoreOptions.maxClientOrders. @default 1000000 */
  maxClientOrders?: number;
  /** See MemorySessionStoreOptions.maxClientOrdersPerAccount and RedisSessionStoreOptions.maxClientOrdersPerAccount (both stores). @default 100000 */
  maxClientOrdersPerAccount?: number;
  /** See ResilientSessionStoreOptions.offlineGraceMs. @default 60000 */
  offlineGraceMs?: number;
  /** Told when Redis becomes unreachable or reachable again (log it; feed health). */
  onStateChange?: (online: boolean, detail: string) => void;
}

export interface OpenedSessionStore {
  readonly store: SessionStore;
  readonly backend: 'memory' | 'redis';
  /** False while Redis is unreachable (always true for the in-process store). */
  isOnline(): boolean;
  /**
   * Waits up to `timeoutMs` for the first connection; rejects with UnavailableError('redis') if Redis is
   * not there (the store keeps trying; log it and start anyway). Resolves at once for the in-process store.
   */
  ready(timeoutMs?: number): Promise<void>;
  /**
   * Records `value` under `name` unless a value is there already, and returns the value on record
   * (first writer wins). In Redis it has no expiry and survives restarts; in-process it lasts as long
   * as the process. For one-time facts such as "the demo API key exists".
   */
  claimMarker(name: string, value: string): Promise<string>;
}

export function openSessionStore(options: OpenSessionStoreOptions): OpenedSessionStore {
  const { clock, redisUrl, redisPrefix, idempotencyScope, offlineGraceMs, onStateChange, maxClientOrders, maxClientOrdersPerAccount, ...semantics } = options;
  if (redisUrl === undefined) {
    const markers = new Map<string, string>();
    const claimMarker = async (name: string, value: string): Promise<string> => {
      if (!markers.has(name)) markers.set(name, value);
      return markers.get(name)!;
    };
    return { store: new MemorySessionStore({ ...semantics, clock, maxClientOrders, maxClientOrdersPerAccount }), backend: 'memory', isOnline: () => true, ready: async () => {}, claimMarker };
  }
  const inner = new RedisSessionStore({ ...semantics, clock, url: redisUrl, prefix: redisPrefix, idempotencyScope, maxClientOrdersPerAccount });
  const store = new ResilientSessionStore({ ...semantics, clock, inner, offlineGraceMs, onStateChange });
  // Before the first call has failed, the connection state is the better witness (startup with Redis down).
  return {
    store,
    backend: 'redis',
    isOnline: () => store.status().online && inner.isReady(),
    ready: (timeoutMs) => inner.ready(timeoutMs),
    claimMarker: (name, value) => inner.claimMarker(name, value),
  };
}
