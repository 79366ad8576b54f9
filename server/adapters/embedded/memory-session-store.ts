/**
 * In-process SessionStore: the default when REDIS_URL is unset (no embedded Redis installs here), and the
 * local fallback the ResilientSessionStore uses while Redis is down. Same semantics as the Redis store
 * (test/support/session-store-contract.ts runs against both). The clock is injected and no timers run:
 * expired entries are swept lazily, at most once per `sweepIntervalMs`, from the calls themselves, and
 * every table has a size cap so memory stays bounded whatever clients do.
 */
import type { Clock } from '../../ports/clock.ts';
import {
  InvalidCredentialsError,
  bucketRefillMs,
  checkAccount,
  checkClientOrderKey,
  checkCost,
  checkSessionTtl,
  compileSessionStoreOptions,
  integerOption,
  takeTokens,
  type ApiKeyCredentials,
  type ClientOrderResult,
  type CompiledSessionStoreOptions,
  type RateDecision,
  type Session,
  type SessionStore,
  type SessionStoreOptions,
} from '../../ports/session-store.ts';
import {
  clientOrderKey,
  isWellFormedKeyId,
  isWellFormedSecret,
  isWellFormedToken,
  newKeyId,
  newSecret,
  newToken,
  secretMatches,
  storedApiKey,
  tokenDigest,
  type StoredApiKey,
} from '../redis/session-credentials.ts';

export interface MemorySessionStoreOptions extends SessionStoreOptions {
  /** Wall clock for expiry and the rate limiter. */
  clock: Clock;
  /**
   * Most live sessions kept; at the cap the oldest session is dropped (its owner must log in again).
   * Each costs ~200 bytes.
   * @default 100000
   */
  maxSessions?: number;
  /**
   * Most remembered client order ids; at the cap the oldest is forgotten (the orders table still knows
   * it). All share one TTL, so insertion order is expiry order and forgetting the oldest is exact.
   * @default 100000
   */
  maxClientOrders?: number;
  /** Most accounts with a partly drained bucket; at the cap the oldest is forgotten (refilled). @default 100000 */
  maxRateBuckets?: number;
  /** Most API keys. Creation beyond it throws RangeError (keys are created by operators, not clients). @default 100000 */
  maxApiKeys?: number;
  /** Shortest interval between two sweeps of expired entries. Lower frees memory sooner, costs more scans. @default 10000 */
  sweepIntervalMs?: number;
}

interface MemorySession {
  readonly account: string;
  readonly expiresAtMs: number;
}

interface RememberedOrder {
  readonly result: ClientOrderResult;
  readonly expiresAtMs: number;
}

interface Bucket {
  mt: number;
  atMs: number;
}

export class MemorySessionStore implements SessionStore {
  private readonly options: CompiledSessionStoreOptions;
  private readonly clock: Clock;
  private readonly maxSessions: number;
  private readonly maxClientOrders: number;
  private readonly maxRateBuckets: number;
  private readonly maxApiKeys: number;
  private readonly sweepIntervalMs: number;
  private readonly apiKeys = new Map<string, StoredApiKey>();
  /** By token digest (see session-credentials.ts), in creation order. */
  private readonly sessions = new Map<string, MemorySession>();
  private readonly orders = new Map<string, RememberedOrder>();
  private readonly buckets = new Map<string, Bucket>();
  private lastSweepMs: number;

  constructor(raw: MemorySessionStoreOptions) {
    this.options = compileSessionStoreOptions(raw);
    this.clock = raw.clock;
    this.maxSessions = integerOption('maxSessions', raw.maxSessions ?? 100_000, 1, 100_000_000);
    this.maxClientOrders = integerOption('maxClientOrders', raw.maxClientOrders ?? 100_000, 1, 100_000_000);
    this.maxRateBuckets = integerOption('maxRateBuckets', raw.maxRateBuckets ?? 100_000, 1, 100_000_000);
    this.maxApiKeys = integerOption('maxApiKeys', raw.maxApiKeys ?? 100_000, 1, 100_000_000);
    this.sweepIntervalMs = integerOption('sweepIntervalMs', raw.sweepIntervalMs ?? 10_000, 0, 86_400_000);
    this.lastSweepMs = this.clock.nowMs();
  }

  /** Sizes of the tables, for tests and metrics. */
  sizes(): { apiKeys: number; sessions: number; clientOrders: number; rateBuckets: number } {
    return { apiKeys: this.apiKeys.size, sessions: this.sessions.size, clientOrders: this.orders.size, rateBuckets: this.buckets.size };
  }

  async createApiKey(account: string): Promise<ApiKeyCredentials> {
    checkAccount(account);
    if (this.apiKeys.size >= this.maxApiKeys) throw new RangeError(`at most ${this.maxApiKeys} API keys (option maxApiKeys)`);
    const keyId = newKeyId();
    const secret = newSecret();
    this.apiKeys.set(keyId, storedApiKey(account, secret, this.clock.nowMs()));
    return { keyId, secret };
  }

  async revokeApiKey(keyId: string): Promise<boolean> {
    return this.apiKeys.delete(keyId);
  }

  async login(keyId: string, secret: string, ttlMs: number): Promise<Session> {
    checkSessionTtl(ttlMs, this.options);
    const stored = isWellFormedKeyId(keyId) && isWellFormedSecret(secret) ? this.apiKeys.get(keyId) : undefined;
    if (stored === undefined || !secretMatches(secret, stored)) throw new InvalidCredentialsError();
    const now = this.maybeSweep();
    if (this.sessions.size >= this.maxSessions) this.sweep(now);
    if (this.sessions.size >= this.maxSessions) this.dropOldest(this.sessions);
    const token = newToken();
    const expiresAtMs = now + ttlMs;
    this.sessions.set(tokenDigest(token), { account: stored.account, expiresAtMs });
    return { token, account: stored.account, expiresAtMs };
  }

  async resolve(token: string): Promise<string | undefined> {
    return this.resolveNow(token);
  }

  /** Synchronous resolve; the in-process store can answer without waiting. */
  resolveNow(token: string): string | undefined {
    if (!isWellFormedToken(token)) return undefined;
    const digest = tokenDigest(token);
    const session = this.sessions.get(digest);
    if (session === undefined) return undefined;
    if (this.clock.nowMs() >= session.expiresAtMs) {
      this.sessions.delete(digest);
      return undefined;
    }
    return session.account;
  }

  async logout(token: string): Promise<void> {
    if (isWellFormedToken(token)) this.sessions.delete(tokenDigest(token));
  }

  async rememberClientOrder(account: string, pair: string, clientOrderId: string, result: ClientOrderResult): Promise<ClientOrderResult> {
    return this.rememberClientOrderNow(account, pair, clientOrderId, result);
  }

  /** Synchronous rememberClientOrder, for the ResilientSessionStore's local mirror. */
  rememberClientOrderNow(account: string, pair: string, clientOrderId: string, result: ClientOrderResult): ClientOrderResult {
    checkAccount(account);
    checkClientOrderKey(pair, clientOrderId);
    const key = clientOrderKey(account, pair, clientOrderId);
    const now = this.maybeSweep();
    const existing = this.orders.get(key);
    if (existing !== undefined && now < existing.expiresAtMs) return existing.result;
    // Re-inserting moves the key to the end, keeping insertion order = expiry order.
    this.orders.delete(key);
    if (this.orders.size >= this.maxClientOrders) this.dropOldest(this.orders);
    this.orders.set(key, { result, expiresAtMs: now + this.options.idempotencyTtlMs });
    return result;
  }

  async lookupClientOrder(account: string, pair: string, clientOrderId: string): Promise<ClientOrderResult | undefined> {
    return this.lookupClientOrderNow(account, pair, clientOrderId);
  }

  lookupClientOrderNow(account: string, pair: string, clientOrderId: string): ClientOrderResult | undefined {
    checkAccount(account);
    checkClientOrderKey(pair, clientOrderId);
    const key = clientOrderKey(account, pair, clientOrderId);
    const found = this.orders.get(key);
    if (found === undefined) return undefined;
    if (this.clock.nowMs() >= found.expiresAtMs) {
      this.orders.delete(key);
      return undefined;
    }
    return found.result;
  }

  async consume(account: string, cost = 1): Promise<RateDecision> {
    return this.consumeNow(account, cost);
  }

  /** Synchronous consume, for the ResilientSessionStore's local limiter. */
  consumeNow(account: string, cost = 1): RateDecision {
    checkAccount(account);
    checkCost(cost, this.options);
    const now = this.maybeSweep();
    const bucket = this.buckets.get(account);
    const taken = takeTokens(this.options, now, cost, bucket?.mt, bucket?.atMs);
    if (bucket !== undefined) {
      bucket.mt = taken.mt;
      bucket.atMs = taken.atMs;
    } else {
      if (this.buckets.size >= this.maxRateBuckets) this.dropOldest(this.buckets);
      this.buckets.set(account, { mt: taken.mt, atMs: taken.atMs });
    }
    return taken.decision;
  }

  async close(): Promise<void> {
    this.apiKeys.clear();
    this.sessions.clear();
    this.orders.clear();
    this.buckets.clear();
  }

  /** Returns the current time, sweeping first when the last sweep is older than sweepIntervalMs. */
  private maybeSweep(): number {
    const now = this.clock.nowMs();
    if (now - this.lastSweepMs >= this.sweepIntervalMs) this.sweep(now);
    return now;
  }

  private sweep(now: number): void {
    this.lastSweepMs = now;
    for (const [k, s] of this.sessions) if (now >= s.expiresAtMs) this.sessions.delete(k);
    // Insertion order is expiry order: stop at the first live entry.
    for (const [k, o] of this.orders) {
      if (now < o.expiresAtMs) break;
      this.orders.delete(k);
    }
    // A bucket idle for a full refill is indistinguishable from a missing (full) one.
    const refillMs = bucketRefillMs(this.options);
    for (const [k, b] of this.buckets) if (now - b.atMs >= refillMs) this.buckets.delete(k);
  }

  private dropOldest(map: Map<string, unknown>): void {
    const first = map.keys().next();
    if (first.done !== true) map.delete(first.value);
  }
}
