/**
 * Keeps sessions working while Redis is unreachable (docs/operations.md "Sessions"; a dependency down).
 * A decorator over the Redis store:
 * - sessions already validated by this process keep resolving from a local cache for `offlineGraceMs`
 *   after the outage began (never past their own expiry); unknown tokens, and every token after the
 *   grace, get UnavailableError('redis') (the token may be valid: UNAVAILABLE, not UNAUTHENTICATED);
 * - logins and API key changes fail with UnavailableError('redis');
 * - rate limits fall back to a local token bucket (per replica instead of global, same limits);
 * - client order results are mirrored in a bounded local table, answered from it while Redis is down
 *   and after it returns (records made during the outage exist only here);
 * - logouts during the outage take effect locally at once and are replayed to Redis on recovery.
 * While down, only one call per `probeIntervalMs` tries Redis (and so may wait up to the command
 * timeout), or the next call at once when the client reports a new connection; the rest take the
 * fallback without waiting. The first successful call marks Redis back up.
 */
import type { Clock } from '../../ports/clock.ts';
import { UnavailableError } from '../../ports/errors.ts';
import {
  InvalidCredentialsError,
  integerOption,
  type ApiKeyCredentials,
  type ClientOrderResult,
  type RateDecision,
  type Session,
  type SessionStore,
  type SessionStoreOptions,
} from '../../ports/session-store.ts';
import { MemorySessionStore } from '../embedded/memory-session-store.ts';
import { isWellFormedToken, tokenDigest } from './session-credentials.ts';

/** A SessionStore that can also say when a session ends (RedisSessionStore does). */
export interface ExpiringSessionStore extends SessionStore {
  resolveSession(token: string): Promise<{ readonly account: string; readonly expiresAtMs: number } | undefined>;
  /** Optional: changes whenever the connection is (re)established, so recovery is tried at once. */
  connectionGeneration?(): number;
}

export interface ResilientSessionStoreOptions extends SessionStoreOptions {
  /** The real store; its UnavailableErrors mean "down". Pass the same SessionStoreOptions used to build it. */
  inner: ExpiringSessionStore;
  clock: Clock;
  /**
   * How long after Redis became unreachable already-validated sessions keep working. Longer rides out
   * longer outages; but a session revoked on another replica stays usable here that long.
   * @default 60000
   */
  offlineGraceMs?: number;
  /** While down, at most one call per interval tries Redis. Lower detects recovery sooner. @default 1000 */
  probeIntervalMs?: number;
  /** Most validated sessions cached (~200 bytes each); the oldest is dropped at the cap. @default 100000 */
  maxCachedSessions?: number;
  /** Most client order results mirrored locally; the oldest is dropped at the cap. @default 100000 */
  maxMirroredClientOrders?: number;
  /** Most logouts remembered for replay after an outage; beyond it the oldest are dropped (they expire anyway). @default 10000 */
  maxPendingLogouts?: number;
  /** Told when Redis goes down (`online` false, with the error) and when it is back; for health and logs. */
  onStateChange?: (online: boolean, detail: string) => void;
}

export interface ResilientSessionStoreStatus {
  readonly online: boolean;
  /** Wall-clock ms when the current outage began; undefined while online. */
  readonly offlineSinceMs: number | undefined;
  readonly lastError: string | undefined;
  readonly cachedSessions: number;
  readonly pendingLogouts: number;
}

interface CachedSession {
  readonly account: string;
  readonly expiresAtMs: number;
}

export class ResilientSessionStore implements SessionStore {
  private readonly inner: ExpiringSessionStore;
  private readonly clock: Clock;
  private readonly local: MemorySessionStore;
  private readonly offlineGraceMs: number;
  private readonly probeIntervalMs: number;
  private readonly maxCachedSessions: number;
  private readonly maxPendingLogouts: number;
  private readonly onStateChange: (online: boolean, detail: string) => void;
  /** Validated sessions by token digest, oldest first. */
  private readonly cache = new Map<string, CachedSession>();
  /** Tokens logged out while Redis was down, replayed when it returns. */
  private readonly pendingLogouts = new Set<string>();
  private offlineSinceMs: number | undefined = undefined;
  private nextProbeAtMs = 0;
  /** The inner store's connection generation when the outage was last confirmed. */
  private generationAtFailure = -1;
  private probeInFlight = false;
  private lastError: string | undefined = undefined;

  constructor(raw: ResilientSessionStoreOptions) {
    this.inner = raw.inner;
    this.clock = raw.clock;
    this.offlineGraceMs = integerOption('offlineGraceMs', raw.offlineGraceMs ?? 60_000, 0, 86_400_000);
    this.probeIntervalMs = integerOption('probeIntervalMs', raw.probeIntervalMs ?? 1000, 0, 600_000);
    this.maxCachedSessions = integerOption('maxCachedSessions', raw.maxCachedSessions ?? 100_000, 1, 100_000_000);
    this.maxPendingLogouts = integerOption('maxPendingLogouts', raw.maxPendingLogouts ?? 10_000, 1, 100_000_000);
    this.onStateChange = raw.onStateChange ?? (() => {});
    this.local = new MemorySessionStore({
      idempotencyTtlMs: raw.idempotencyTtlMs,
      maxSessionTtlMs: raw.maxSessionTtlMs,
      rateLimitPerSecond: raw.rateLimitPerSecond,
      rateLimitBurst: raw.rateLimitBurst,
      clock: raw.clock,
      maxClientOrders: integerOption('maxMirroredClientOrders', raw.maxMirroredClientOrders ?? 100_000, 1, 100_000_000),
    });
  }

  status(): ResilientSessionStoreStatus {
    return {
      online: this.offlineSinceMs === undefined,
      offlineSinceMs: this.offlineSinceMs,
      lastError: this.lastError,
      cachedSessions: this.cache.size,
      pendingLogouts: this.pendingLogouts.size,
    };
  }

  async createApiKey(account: string): Promise<ApiKeyCredentials> {
    return this.through(
      () => this.inner.createApiKey(account),
      (down) => {
        throw down;
      },
    );
  }

  async revokeApiKey(keyId: string): Promise<boolean> {
    return this.through(
      () => this.inner.revokeApiKey(keyId),
      (down) => {
        throw down;
      },
    );
  }

  async login(keyId: string, secret: string, ttlMs: number): Promise<Session> {
    const session = await this.through(
      () => this.inner.login(keyId, secret, ttlMs),
      (down) => {
        throw new UnavailableError('redis', `cannot log in while the session store is unreachable (${down.detail})`);
      },
    );
    this.cacheSession(tokenDigest(session.token), { account: session.account, expiresAtMs: session.expiresAtMs });
    return session;
  }

  async resolve(token: string): Promise<string | undefined> {
    // Logged out here while Redis was down: dead at once, even before the replay reaches Redis.
    if (!isWellFormedToken(token) || this.pendingLogouts.has(token)) return undefined;
    const digest = tokenDigest(token);
    const session = await this.through(
      () => this.inner.resolveSession(token),
      (down) => this.resolveOffline(digest, down),
    );
    if (session === undefined) this.cache.delete(digest);
    else if (this.offlineSinceMs === undefined) this.cacheSession(digest, session);
    return session?.account;
  }

  async logout(token: string): Promise<void> {
    if (!isWellFormedToken(token)) return;
    this.cache.delete(tokenDigest(token));
    await this.through(
      () => this.inner.logout(token),
      () => {
        if (this.pendingLogouts.size >= this.maxPendingLogouts) this.pendingLogouts.delete(this.pendingLogouts.values().next().value!);
        this.pendingLogouts.add(token);
      },
    );
  }

  async rememberClientOrder(account: string, pair: string, clientOrderId: string, result: ClientOrderResult): Promise<ClientOrderResult> {
    // A result recorded locally during an outage wins over a later one, as Redis's first writer would.
    const earlier = this.local.lookupClientOrderNow(account, pair, clientOrderId);
    if (earlier !== undefined) return earlier;
    const onRecord = await this.through(
      () => this.inner.rememberClientOrder(account, pair, clientOrderId, result),
      () => result,
    );
    return this.local.rememberClientOrderNow(account, pair, clientOrderId, onRecord);
  }

  async lookupClientOrder(account: string, pair: string, clientOrderId: string): Promise<ClientOrderResult | undefined> {
    const mirrored = this.local.lookupClientOrderNow(account, pair, clientOrderId);
    if (mirrored !== undefined) return mirrored;
    return this.through(
      () => this.inner.lookupClientOrder(account, pair, clientOrderId),
      () => undefined,
    );
  }

  async consume(account: string, cost = 1): Promise<RateDecision> {
    return this.through(
      () => this.inner.consume(account, cost),
      () => this.local.consumeNow(account, cost),
    );
  }

  async close(): Promise<void> {
    this.cache.clear();
    this.pendingLogouts.clear();
    await this.local.close();
    await this.inner.close();
  }

  /**
   * Runs `call` on Redis unless it is known down and this is not the probe's turn; on UnavailableError
   * (now or known) runs `fallback`. Any other error is a bug and propagates.
   */
  private async through<T>(call: () => Promise<T>, fallback: (down: UnavailableError) => T): Promise<T> {
    const now = this.clock.nowMs();
    let probing = false;
    if (this.offlineSinceMs !== undefined) {
      const reconnected = this.generation() !== this.generationAtFailure;
      if (this.probeInFlight || (now < this.nextProbeAtMs && !reconnected)) return fallback(new UnavailableError('redis', this.lastError ?? 'unreachable'));
      this.probeInFlight = probing = true;
    }
    try {
      const value = await call();
      if (this.offlineSinceMs !== undefined) this.markOnline();
      return value;
    } catch (err) {
      if (!(err instanceof UnavailableError)) {
        // Redis answered (the key or secret was wrong): it is reachable.
        if (err instanceof InvalidCredentialsError && this.offlineSinceMs !== undefined) this.markOnline();
        throw err;
      }
      this.markOffline(err);
      return fallback(err);
    } finally {
      if (probing) this.probeInFlight = false;
    }
  }

  private markOffline(err: UnavailableError): void {
    const now = this.clock.nowMs();
    this.lastError = err.detail;
    this.nextProbeAtMs = now + this.probeIntervalMs;
    this.generationAtFailure = this.generation();
    if (this.offlineSinceMs !== undefined) return;
    this.offlineSinceMs = now;
    this.onStateChange(false, err.detail);
  }

  private generation(): number {
    return this.inner.connectionGeneration?.() ?? 0;
  }

  private markOnline(): void {
    const downForMs = this.clock.nowMs() - (this.offlineSinceMs ?? 0);
    this.offlineSinceMs = undefined;
    this.onStateChange(true, `reachable again after ${downForMs} ms`);
    void this.replayLogouts();
  }

  /** Sends logouts made during the outage; any that fail stay pending for the next recovery. */
  private async replayLogouts(): Promise<void> {
    for (const token of [...this.pendingLogouts]) {
      try {
        await this.inner.logout(token);
        this.pendingLogouts.delete(token);
      } catch (err) {
        if (err instanceof UnavailableError) this.markOffline(err);
        return;
      }
    }
  }

  private resolveOffline(digest: string, down: UnavailableError): CachedSession | undefined {
    const cached = this.cache.get(digest);
    const now = this.clock.nowMs();
    if (cached !== undefined && now >= cached.expiresAtMs) return undefined;
    if (cached === undefined) throw new UnavailableError('redis', `cannot verify an unknown session token while the session store is unreachable (${down.detail})`);
    const offlineForMs = now - (this.offlineSinceMs ?? now);
    if (offlineForMs > this.offlineGraceMs)
      throw new UnavailableError('redis', `cannot verify the session: the session store has been unreachable for ${offlineForMs} ms, beyond the ${this.offlineGraceMs} ms grace (${down.detail})`);
    return cached;
  }

  private cacheSession(digest: string, session: CachedSession): void {
    this.cache.delete(digest);
    if (this.cache.size >= this.maxCachedSessions) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(digest, session);
  }
}
