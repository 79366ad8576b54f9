/**
 * Session-store metrics. The store is wrapped (`instrument`) so each answer the service already awaits
 * adds 1 to a pre-resolved series (no label hashing, no extra round trip); the up/down state and the local
 * session cache size are read at scrape time.
 *   trading_session_store_up{backend}                       gauge    1 while reachable (memory: always 1)
 *   trading_session_rate_limit_decisions_total{result}      counter  allowed | refused (RESOURCE_EXHAUSTED)
 *   trading_session_idempotency_lookups_total{result}       counter  hit | miss of the client-order-id fast path
 *   trading_session_logins_total{result}                    counter  ok | refused | failed
 *   trading_session_cached_sessions                         gauge    sessions the Redis wrapper keeps locally for outages
 */
import { Gauge, type Registry } from 'prom-client';
import { InvalidCredentialsError, inProcessSessions, type InProcessSessions, type SessionStore } from '../../ports/session-store.ts';
import { CounterFamily } from './metric-families.ts';

export interface SessionMetricsSources {
  backend: 'memory' | 'redis';
  isOnline(): boolean;
  /** The outage cache's size (ResilientSessionStore.status().cachedSessions); absent for the in-process store. */
  cachedSessions?: () => number;
}

export class SessionMetrics {
  readonly rateLimit = new CounterFamily<'result'>('trading_session_rate_limit_decisions_total', 'Per-account rate-limit decisions of the session store, by result (allowed, refused).', ['result']);
  readonly idempotency = new CounterFamily<'result'>('trading_session_idempotency_lookups_total', 'Client-order-id lookups in the session store fast path, by result (hit, miss).', ['result']);
  readonly logins = new CounterFamily<'result'>('trading_session_logins_total', 'SessionService logins, by result (ok, refused: bad key or secret, failed: store unreachable).', ['result']);

  constructor(registry: Registry, sources: SessionMetricsSources) {
    for (const f of [this.rateLimit, this.idempotency, this.logins]) f.register(registry);
    for (const r of ['allowed', 'refused']) this.rateLimit.series({ result: r });
    for (const r of ['hit', 'miss']) this.idempotency.series({ result: r });
    for (const r of ['ok', 'refused', 'failed']) this.logins.series({ result: r });
    const registers = [registry];
    new Gauge({
      name: 'trading_session_store_up',
      help: '1 while the session store answers (Redis reachable; the in-process store always), else 0.',
      labelNames: ['backend'],
      registers,
      collect() {
        this.set({ backend: sources.backend }, sources.isOnline() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'trading_session_cached_sessions',
      help: 'Validated sessions kept in process so they keep working while Redis is unreachable.',
      registers,
      collect() {
        this.set(sources.cachedSessions?.() ?? 0);
      },
    });
  }

  /** `store`, counting rate-limit decisions, idempotency hits and logins on the way. */
  instrument(store: SessionStore): SessionStore {
    const allowed = this.rateLimit.series({ result: 'allowed' });
    const refused = this.rateLimit.series({ result: 'refused' });
    const hit = this.idempotency.series({ result: 'hit' });
    const miss = this.idempotency.series({ result: 'miss' });
    const loginOk = this.logins.series({ result: 'ok' });
    const loginRefused = this.logins.series({ result: 'refused' });
    const loginFailed = this.logins.series({ result: 'failed' });
    const instrumented: SessionStore = {
      createApiKey: (account) => store.createApiKey(account),
      revokeApiKey: (keyId) => store.revokeApiKey(keyId),
      login: (keyId, secret, ttlMs) =>
        store.login(keyId, secret, ttlMs).then(
          (s) => {
            loginOk.inc();
            return s;
          },
          (err: unknown) => {
            (err instanceof InvalidCredentialsError ? loginRefused : loginFailed).inc();
            throw err;
          },
        ),
      resolve: (token) => store.resolve(token),
      logout: (token) => store.logout(token),
      rememberClientOrder: (account, pair, id, result) => store.rememberClientOrder(account, pair, id, result),
      lookupClientOrder: (account, pair, id) =>
        store.lookupClientOrder(account, pair, id).then((r) => {
          (r === undefined ? miss : hit).inc();
          return r;
        }),
      consume: (account, cost) =>
        store.consume(account, cost).then((d) => {
          (d.allowed ? allowed : refused).inc();
          return d;
        }),
      close: () => store.close(),
    };
    // The in-process store's synchronous answers (session check, rate limit, client-order table: no
    // promise per call or order) stay visible through the wrapper, counted the same way.
    const now = inProcessSessions(store);
    if (now === undefined) return instrumented;
    const sync: InProcessSessions = {
      resolveNow: (token) => now.resolveNow(token),
      consumeNow: (account, cost) => {
        const d = now.consumeNow(account, cost);
        (d.allowed ? allowed : refused).inc();
        return d;
      },
      lookupClientOrderNow: (account, pair, id) => {
        const r = now.lookupClientOrderNow(account, pair, id);
        (r === undefined ? miss : hit).inc();
        return r;
      },
      rememberClientOrderNow: (account, pair, id, result) => now.rememberClientOrderNow(account, pair, id, result),
    };
    return Object.assign(instrumented, sync);
  }
}
