/**
 * In-process SessionStore: the default when REDIS_URL is unset (no embedded Redis installs here), and the
 * local fallback the ResilientSessionStore uses while Redis is down. Same semantics as the Redis store
 * (test/support/session-store-contract.ts runs against both). The clock is injected and no timers run:
 * expired entries are swept lazily, at most once per `sweepIntervalMs`, from the calls themselves, and
 * every table has a size cap so memory stays bounded whatever clients do.
 */
import type { Clock } from '../../ports/clock.ts';
import { AccountOrders } from './account-orders.ts';
import {
  InvalidCredentialsError,
  SessionLimitError,
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
   * Most live sessions kept in total (~200 bytes each). At the cap a login drops the oldest session of
   * the same account, never another account's; an account with none is refused (RangeError → the
   * login fails) until sessions expire or log out.
   * @default 100000
   */
  maxSessions?: number;
  /**
   * Most remembered client order ids in total. At the cap an account's new record replaces its own
   * oldest one; an account with none is not recorded (the order registry and the orders table still
   * answer). Records of one account never push out another's.
   * @default 1000000
   */
  maxClientOrders?: number;
  /**
   * Most remembered client order ids of one account; beyond it its own oldest is forgotten (the orders
   * table still knows it). All share one TTL, so insertion order is expiry order.
   * @default 100000
   */
  maxClientOrdersPerAccount?: number;
  /** Most accounts with a partly drained bucket; at the cap the oldest is forgotten (refilled). @default 100000 */
  maxRateBuckets?: number;
  /** Most API keys. Creation beyond it throws RangeError (keys are created by operators, not clients). @default 100000 */
  maxApiKeys?: number;
  /** Shortest interval between two sweeps of expired entries. Lower frees memory sooner, costs more scans. @default 10000 */
  sweepIntervalMs?: number;
}

interface MemorySession {
  readonly account: string;
  readonly keyId: string;
  readonly expiresAtMs: number;
}

/**
 * `s` as one sequential string, for a string the table keeps. V8 holds a concatenation (`a + b`, a
 * template literal: the idempotency record) as a tree of its parts until something reads it whole, and
 * a kept tree keeps every part alive: 567 bytes of heap per idempotency record against 292 flat (node
 * 20, `npm run bench:retained`), and the young-generation collector copies all of it.
 * Reading a character makes V8 flatten the string in place; the collector then drops the tree.
 */
function flat(s: string): string {
  if (s.length > 0) s.charCodeAt(0);
  return s;
}

interface Bucket {
  mt: number;
  atMs: number;
}

export class MemorySessionStore implements SessionStore {
  private readonly options: CompiledSessionStoreOptions;
  private readonly clock: Clock;
  private readonly maxSessions: number;
  private readonly maxSessionsPerAccount: number;
  private readonly maxClientOrders: number;
  private readonly maxClientOrdersPerAccount: number;
  private readonly maxRateBuckets: number;
  private readonly maxApiKeys: number;
  private readonly sweepIntervalMs: number;
  private readonly apiKeys = new Map<string, StoredApiKey>();
  /** By token digest (see session-credentials.ts), in creation order. */
  private readonly sessions = new Map<string, MemorySession>();
  /** account → its session digests, oldest first (eviction and revocation without a scan). */
  private readonly sessionsByAccount = new Map<string, Set<string>>();
  /** API key id → digests of the sessions it opened (a revoked key's sessions end). */
  private readonly sessionsByKey = new Map<string, Set<string>>();
  /** account → its remembered client orders by pair and client order id, oldest (= first to expire) first. */
  private readonly ordersByAccount = new Map<string, AccountOrders>();
  private orderCount = 0;
  private readonly buckets = new Map<string, Bucket>();
  private lastSweepMs: number;

  constructor(raw: MemorySessionStoreOptions) {
    this.options = compileSessionStoreOptions(raw);
    this.clock = raw.clock;
    this.maxSessions = integerOption('maxSessions', raw.maxSessions ?? 100_000, 1, 100_000_000);
    this.maxSessionsPerAccount = this.options.maxSessionsPerAccount;
    this.maxClientOrders = integerOption('maxClientOrders', raw.maxClientOrders ?? 1_000_000, 1, 100_000_000);
    this.maxClientOrdersPerAccount = integerOption('maxClientOrdersPerAccount', raw.maxClientOrdersPerAccount ?? 100_000, 1, 100_000_000);
    this.maxRateBuckets = integerOption('maxRateBuckets', raw.maxRateBuckets ?? 100_000, 1, 100_000_000);
    this.maxApiKeys = integerOption('maxApiKeys', raw.maxApiKeys ?? 100_000, 1, 100_000_000);
    this.sweepIntervalMs = integerOption('sweepIntervalMs', raw.sweepIntervalMs ?? 10_000, 0, 86_400_000);
    this.lastSweepMs = this.clock.nowMs();
  }

  /** Sizes of the tables, for tests and metrics. */
  sizes(): { apiKeys: number; sessions: number; clientOrders: number; rateBuckets: number } {
    return { apiKeys: this.apiKeys.size, sessions: this.sessions.size, clientOrders: this.orderCount, rateBuckets: this.buckets.size };
  }

  async createApiKey(account: string): Promise<ApiKeyCredentials> {
    checkAccount(account);
    if (this.apiKeys.size >= this.maxApiKeys) throw new RangeError(`at most ${this.maxApiKeys} API keys (option maxApiKeys)`);
    const keyId = newKeyId();
    const secret = newSecret();
    this.apiKeys.set(keyId, storedApiKey(account, secret, this.clock.nowMs()));
    return { keyId, secret };
  }

  /** Deletes the key and ends every session it opened. */
  async revokeApiKey(keyId: string): Promise<boolean> {
    const removed = this.apiKeys.delete(keyId);
    for (const digest of [...(this.sessionsByKey.get(keyId) ?? [])]) this.dropSession(digest);
    this.sessionsByKey.delete(keyId);
    return removed;
  }

  async login(keyId: string, secret: string, ttlMs: number): Promise<Session> {
    checkSessionTtl(ttlMs, this.options);
    const stored = isWellFormedKeyId(keyId) && isWellFormedSecret(secret) ? this.apiKeys.get(keyId) : undefined;
    // An unknown key id costs the same hash and compare as a wrong secret (no timing oracle for key ids).
    if (!secretMatches(secret, stored ?? DUMMY_API_KEY) || stored === undefined) throw new InvalidCredentialsError();
    const now = this.maybeSweep();
    const account = stored.account;
    let mine = this.sessionsByAccount.get(account);
    if (mine !== undefined && mine.size >= this.maxSessionsPerAccount) this.dropSession(mine.values().next().value!);
    if (this.sessions.size >= this.maxSessions) {
      mine = this.sessionsByAccount.get(account);
      if (mine === undefined || mine.size === 0) throw new SessionLimitError(`the session store holds ${this.sessions.size} sessions, its limit (maxSessions); log in again later`);
      this.dropSession(mine.values().next().value!);
    }
    const token = newToken();
    const expiresAtMs = now + ttlMs;
    const digest = tokenDigest(token);
    this.sessions.set(digest, { account, keyId, expiresAtMs });
    addTo(this.sessionsByAccount, account, digest);
    addTo(this.sessionsByKey, keyId, digest);
    return { token, account, expiresAtMs };
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
      this.dropSession(digest);
      return undefined;
    }
    return session.account;
  }

  async logout(token: string): Promise<void> {
    if (isWellFormedToken(token)) this.dropSession(tokenDigest(token));
  }

  private dropSession(digest: string): void {
    const s = this.sessions.get(digest);
    if (s === undefined) return;
    this.sessions.delete(digest);
    removeFrom(this.sessionsByAccount, s.account, digest);
    removeFrom(this.sessionsByKey, s.keyId, digest);
  }

  async rememberClientOrder(account: string, pair: string, clientOrderId: string, result: ClientOrderResult): Promise<ClientOrderResult> {
    return this.rememberClientOrderNow(account, pair, clientOrderId, result);
  }

  /** Synchronous rememberClientOrder, for the ResilientSessionStore's local mirror. */
  rememberClientOrderNow(account: string, pair: string, clientOrderId: string, result: ClientOrderResult): ClientOrderResult {
    checkAccount(account);
    checkClientOrderKey(pair, clientOrderId);
    const now = this.maybeSweep();
    let mine = this.ordersByAccount.get(account);
    const existing = mine === undefined ? -1 : mine.indexOf(pair, clientOrderId);
    if (existing >= 0 && now < mine!.expiresAt(existing)) return mine!.resultAt(existing);
    if (mine === undefined) this.ordersByAccount.set(account, (mine = new AccountOrders()));
    // An expired record is replaced at the end, keeping queue order = expiry order.
    if (existing >= 0 && mine.delete(pair, clientOrderId)) this.orderCount--;
    if (mine.size >= this.maxClientOrdersPerAccount || (this.orderCount >= this.maxClientOrders && mine.size > 0)) {
      if (mine.dropOldest()) this.orderCount--;
    }
    if (this.orderCount >= this.maxClientOrders) {
      // Full of other accounts' records, none of them may be pushed out: not kept (the registry and the orders table answer).
      if (mine.size === 0) this.ordersByAccount.delete(account);
      return result;
    }
    mine.add(flat(pair), flat(clientOrderId), flat(result), now + this.options.idempotencyTtlMs);
    this.orderCount++;
    return result;
  }

  async lookupClientOrder(account: string, pair: string, clientOrderId: string): Promise<ClientOrderResult | undefined> {
    return this.lookupClientOrderNow(account, pair, clientOrderId);
  }

  lookupClientOrderNow(account: string, pair: string, clientOrderId: string): ClientOrderResult | undefined {
    checkAccount(account);
    checkClientOrderKey(pair, clientOrderId);
    const mine = this.ordersByAccount.get(account);
    const found = mine === undefined ? -1 : mine.indexOf(pair, clientOrderId);
    if (found < 0) return undefined;
    if (this.clock.nowMs() >= mine!.expiresAt(found)) {
      mine!.delete(pair, clientOrderId);
      this.orderCount--;
      if (mine!.size === 0) this.ordersByAccount.delete(account);
      return undefined;
    }
    return mine!.resultAt(found);
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
    this.sessionsByAccount.clear();
    this.sessionsByKey.clear();
    this.ordersByAccount.clear();
    this.orderCount = 0;
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
    for (const [k, s] of this.sessions) if (now >= s.expiresAtMs) this.dropSession(k);
    // Queue order is expiry order within an account: each stops at its first live record.
    for (const [account, mine] of this.ordersByAccount) {
      this.orderCount -= mine.dropExpired(now);
      if (mine.size === 0) this.ordersByAccount.delete(account);
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

/** Compared against when the key id is unknown, so both failures cost one HMAC and one compare. */
const DUMMY_API_KEY = storedApiKey('dummy', 'x'.repeat(43), 0);

function addTo(index: Map<string, Set<string>>, key: string, value: string): void {
  let set = index.get(key);
  if (set === undefined) index.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom(index: Map<string, Set<string>>, key: string, value: string): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(value);
  if (set.size === 0) index.delete(key);
}
