/**
 * Sessions as the inside sees them (docs/operations.md "Sessions"): API keys that log accounts in, bearer tokens
 * that name an account, the idempotency fast path for client order ids, and per-account rate limits.
 * Interfaces, options and their validation only: no sockets, no timers, no crypto. Implementations live
 * in server/adapters/redis (real Redis) and server/adapters/embedded (in-process, the `npm start` default);
 * test/support/session-store-contract.ts holds the behaviour both must show.
 */

/** An API key as handed to its owner, once: only a salted hash of the secret is ever stored. */
export interface ApiKeyCredentials {
  /** Public identifier (`ak_` + 16 base64url characters); safe to log. */
  readonly keyId: string;
  /** The secret (43 base64url characters, 32 random bytes). Shown once; cannot be recovered later. */
  readonly secret: string;
}

/** A logged-in session. */
export interface Session {
  /** Bearer token: 32 random bytes, base64url (43 characters). Stored only as its SHA-256 digest. */
  readonly token: string;
  readonly account: string;
  /** Wall-clock ms since the epoch after which `resolve(token)` answers undefined. */
  readonly expiresAtMs: number;
}

/** The answer of the rate limiter for one command (or one batch, `cost` = its item count). */
export interface RateDecision {
  readonly allowed: boolean;
  /** 0 when allowed; otherwise how long until `cost` tokens will be available (whole ms, rounded up). */
  readonly retryAfterMs: number;
}

/**
 * Opaque result of an order submission as first answered, serialized by the caller (for example the
 * encoded response message in base64). Stored and returned byte-for-byte.
 */
export type ClientOrderResult = string;

/**
 * A store's synchronous answers, when the store lives in this process (MemorySessionStore, and wrappers
 * of it that keep the capability): a call's session check, rate limit and idempotency fast path then
 * cost no promise (and no microtask hop) each. Same answers and errors as the async methods.
 */
export interface InProcessSessions {
  resolveNow(token: string): string | undefined;
  consumeNow(account: string, cost?: number): RateDecision;
  lookupClientOrderNow(account: string, pair: string, clientOrderId: string): ClientOrderResult | undefined;
  rememberClientOrderNow(account: string, pair: string, clientOrderId: string, result: ClientOrderResult): ClientOrderResult;
}

/** The client-order half of InProcessSessions (the idempotency fast path). */
export type InProcessClientOrders = Pick<InProcessSessions, 'lookupClientOrderNow' | 'rememberClientOrderNow'>;

const IN_PROCESS_METHODS = ['resolveNow', 'consumeNow', 'lookupClientOrderNow', 'rememberClientOrderNow'] as const;

/** `store`'s synchronous answers, or undefined when it has none (Redis). */
export function inProcessSessions(store: SessionStore): InProcessSessions | undefined {
  const s = store as SessionStore & Partial<InProcessSessions>;
  return IN_PROCESS_METHODS.every((m) => typeof s[m] === 'function') ? (s as InProcessSessions) : undefined;
}

export interface SessionStore {
  /** Creates an API key for `account`. The secret is returned once and stored only hashed. */
  createApiKey(account: string): Promise<ApiKeyCredentials>;
  /** Deletes an API key so it can no longer log in, and ends every session it opened. */
  revokeApiKey(keyId: string): Promise<boolean>;
  /**
   * Exchanges an API key for a session lasting `ttlMs`. Throws InvalidCredentialsError for an unknown key
   * or a wrong secret (one message for both: callers cannot probe for key ids), UnavailableError when the
   * store cannot be reached.
   */
  login(keyId: string, secret: string, ttlMs: number): Promise<Session>;
  /** The account of a live session; undefined for an unknown, malformed, logged-out or expired token. */
  resolve(token: string): Promise<string | undefined>;
  /** Ends a session; unknown tokens are ignored (logging out twice is not an error). */
  logout(token: string): Promise<void>;
  /**
   * Records the result of the first submission of (account, pair, clientOrderId) for the idempotency TTL
   * and returns the result now on record: `result` if this call stored it, otherwise the earlier one
   * (first writer wins, atomically, so two racing resubmissions agree).
   */
  rememberClientOrder(account: string, pair: string, clientOrderId: string, result: ClientOrderResult): Promise<ClientOrderResult>;
  /**
   * The recorded result of an earlier submission, or undefined. Undefined means "not in the fast path",
   * not "never submitted": the orders table stays the durable truth across restarts and TTL expiry.
   */
  lookupClientOrder(account: string, pair: string, clientOrderId: string): Promise<ClientOrderResult | undefined>;
  /**
   * Takes `cost` tokens (default 1; a batch costs its item count) from the account's bucket. Throws
   * RangeError when `cost` is not an integer in 1..burst (such a batch could never pass).
   */
  consume(account: string, cost?: number): Promise<RateDecision>;
  /** Releases connections and local state. */
  close(): Promise<void>;
}

/** The API key id or secret does not match a stored key. Maps to gRPC UNAUTHENTICATED. */
export class InvalidCredentialsError extends Error {
  constructor() {
    super('unknown API key id or wrong secret');
    this.name = 'InvalidCredentialsError';
  }
}

/** The store holds as many sessions as it may, none of them the account's own: log in later. RESOURCE_EXHAUSTED. */
export class SessionLimitError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'SessionLimitError';
  }
}

/** Semantics shared by every SessionStore implementation. */
export interface SessionStoreOptions {
  /**
   * How long a client order id's first result is remembered. Longer catches later retries; shorter uses
   * less memory (Redis or in-process). The orders table answers beyond it.
   * @default 86400000 (24 h)
   */
  idempotencyTtlMs?: number;
  /** Longest session `login` accepts. @default 86400000 (24 h) */
  maxSessionTtlMs?: number;
  /**
   * Sustained commands per second per account (the bucket's refill rate). Batch items count one each.
   * @default 1000
   */
  rateLimitPerSecond?: number;
  /** Bucket size: commands an idle account may send at once. Also the largest accepted `cost`. @default 2000 */
  rateLimitBurst?: number;
  /**
   * SESSIONS_PER_ACCOUNT: most live sessions of one account; a login beyond it ends that account's
   * oldest session. One API key logging in in a loop can only push out its own sessions.
   * @default 100
   */
  maxSessionsPerAccount?: number;
}

export const DEFAULT_IDEMPOTENCY_TTL_MS = 86_400_000;
export const DEFAULT_MAX_SESSION_TTL_MS = 86_400_000;
export const DEFAULT_RATE_LIMIT_PER_SECOND = 1000;
export const DEFAULT_RATE_LIMIT_BURST = 2000;
export const DEFAULT_MAX_SESSIONS_PER_ACCOUNT = 100;

export type CompiledSessionStoreOptions = Readonly<Required<SessionStoreOptions>>;

/** Thrown by compile*Options: names the option and why its value was refused. */
export class SessionStoreOptionError extends Error {
  constructor(
    readonly option: string,
    readonly reason: string,
  ) {
    super(`${option}: ${reason}`);
    this.name = 'SessionStoreOptionError';
  }
}

/** Checks that `value` is an integer in [min, max]; returns it. */
export function integerOption(option: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new SessionStoreOptionError(option, `must be an integer in ${min}..${max}, got ${value}`);
  return value;
}

export function compileSessionStoreOptions(raw: SessionStoreOptions = {}): CompiledSessionStoreOptions {
  return Object.freeze({
    idempotencyTtlMs: integerOption('idempotencyTtlMs', raw.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS, 1, 30 * 86_400_000),
    maxSessionTtlMs: integerOption('maxSessionTtlMs', raw.maxSessionTtlMs ?? DEFAULT_MAX_SESSION_TTL_MS, 1, 365 * 86_400_000),
    // Upper bounds keep the token bucket's integer millitoken arithmetic exact (see rate-limit notes).
    rateLimitPerSecond: integerOption('rateLimitPerSecond', raw.rateLimitPerSecond ?? DEFAULT_RATE_LIMIT_PER_SECOND, 1, 10_000_000),
    rateLimitBurst: integerOption('rateLimitBurst', raw.rateLimitBurst ?? DEFAULT_RATE_LIMIT_BURST, 1, 1_000_000_000),
    maxSessionsPerAccount: integerOption('maxSessionsPerAccount', raw.maxSessionsPerAccount ?? DEFAULT_MAX_SESSIONS_PER_ACCOUNT, 1, 100_000_000),
  });
}

/** Accounts as the gRPC layer accepts them: 1-128 printable ASCII characters, no spaces. */
const ACCOUNT = /^[\x21-\x7e]{1,128}$/;

/** Argument checks shared by the implementations; violations are bugs in the caller, hence RangeError. */
export function checkAccount(account: string): void {
  if (typeof account !== 'string' || !ACCOUNT.test(account)) throw new RangeError(`account must be 1-128 printable ASCII characters without spaces, got ${JSON.stringify(account)}`);
}

export function checkSessionTtl(ttlMs: number, options: CompiledSessionStoreOptions): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1 || ttlMs > options.maxSessionTtlMs) throw new RangeError(`ttlMs must be an integer in 1..${options.maxSessionTtlMs}, got ${ttlMs}`);
}

export function checkCost(cost: number, options: CompiledSessionStoreOptions): void {
  if (!Number.isSafeInteger(cost) || cost < 1 || cost > options.rateLimitBurst) throw new RangeError(`cost must be an integer in 1..${options.rateLimitBurst} (the burst), got ${cost}`);
}

export function checkClientOrderKey(pair: string, clientOrderId: string): void {
  if (typeof pair !== 'string' || pair.length === 0 || pair.length > 64) throw new RangeError(`pair must be 1-64 characters, got ${JSON.stringify(pair)}`);
  if (typeof clientOrderId !== 'string' || clientOrderId.length === 0 || clientOrderId.length > 128) throw new RangeError(`clientOrderId must be 1-128 characters, got ${JSON.stringify(clientOrderId)}`);
}

/**
 * The token bucket, in integer millitokens so every implementation (TypeScript here, Lua in Redis)
 * computes the same numbers without rounding drift: capacity = burst * 1000, refill = ratePerSecond
 * millitokens per ms, a command costs 1000. `stateMt`/`stateAtMs` undefined means a full bucket.
 */
export function takeTokens(
  options: CompiledSessionStoreOptions,
  nowMs: number,
  cost: number,
  stateMt: number | undefined,
  stateAtMs: number | undefined,
): { decision: RateDecision; mt: number; atMs: number } {
  const capacity = options.rateLimitBurst * 1000;
  let mt = stateMt ?? capacity;
  let atMs = stateAtMs ?? nowMs;
  // A clock that steps back (another replica's, or NTP) refills nothing rather than going negative.
  if (nowMs > atMs) {
    mt = Math.min(capacity, mt + (nowMs - atMs) * options.rateLimitPerSecond);
    atMs = nowMs;
  }
  const need = cost * 1000;
  if (mt >= need) return { decision: { allowed: true, retryAfterMs: 0 }, mt: mt - need, atMs };
  return { decision: { allowed: false, retryAfterMs: Math.ceil((need - mt) / options.rateLimitPerSecond) }, mt, atMs };
}

/** How long an idle bucket takes to refill completely; after that its state can be forgotten. */
export function bucketRefillMs(options: CompiledSessionStoreOptions): number {
  return Math.ceil((options.rateLimitBurst * 1000) / options.rateLimitPerSecond);
}
