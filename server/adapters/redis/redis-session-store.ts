/**
 * SessionStore on a real Redis (ioredis), used when REDIS_URL is set. Every key lives under `prefix`
 * (tests use a random one, so runs never collide). Sessions are stored by token digest with PX TTLs; the
 * idempotency record and the token bucket change atomically in Lua scripts. A lost connection never
 * queues or retries commands (either could apply twice): calls fail fast with UnavailableError('redis')
 * and ioredis reconnects in the background. Wrap it in ResilientSessionStore to keep serving while Redis
 * is down. Must not be used by core/ or pairs/ except through the SessionStore port.
 */
import { Redis, ReplyError } from 'ioredis';
import type { Clock } from '../../ports/clock.ts';
import { UnavailableError } from '../../ports/errors.ts';
import {
  InvalidCredentialsError,
  bucketRefillMs,
  checkAccount,
  checkClientOrderKey,
  checkCost,
  checkSessionTtl,
  compileSessionStoreOptions,
  integerOption,
  SessionStoreOptionError,
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
} from './session-credentials.ts';

export interface RedisSessionStoreOptions extends SessionStoreOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  url: string;
  /** Wall clock for session and idempotency expiry and for the token bucket (the same on every replica, via NTP). */
  clock: Clock;
  /** Prefix of every key, so several services or test runs can share one Redis. @default "trading:" */
  prefix?: string;
  /**
   * The identity of the database the idempotency records describe (its random id, migration 002):
   * records live under `<prefix>order:<scope>:…`, so after a database reset (or against another
   * database) with Redis kept, no record answers for an order the database does not hold.
   * @default "" (unscoped)
   */
  idempotencyScope?: string;
  /**
   * A command not answered within this fails with UnavailableError. Lower detects a hung Redis (or a
   * black-holed network) sooner; too low fails healthy calls during a slow fsync.
   * @default 500
   */
  commandTimeoutMs?: number;
  /** Longest wait for a TCP connection before a reconnect attempt counts as failed. @default 2000 */
  connectTimeoutMs?: number;
  /** Reconnect backoff doubles from 50 ms up to this. Lower recovers sooner, costs more connection attempts. @default 2000 */
  reconnectMaxDelayMs?: number;
  /** Told about connection errors (ioredis 'error' events); they are never left unhandled. @default ignore */
  onConnectionError?: (err: Error) => void;
  /**
   * IDEMPOTENCY_RECORDS_PER_ACCOUNT: most client order id records one account keeps in Redis (each
   * also lives at most the idempotency TTL). Beyond it the account's own oldest record is deleted, in
   * the same script that stores the new one — never another account's; a retry of that order is then
   * answered from the `orders` table (the fallback of record). Higher keeps more retries on the fast
   * path; lower bounds what one account can make Redis hold (~150 bytes a record plus its index entry).
   * @default 100000
   */
  maxClientOrdersPerAccount?: number;
}

export const DEFAULT_REDIS_PREFIX = 'trading:';

/** Consecutive command timeouts after which the connection is presumed dead and replaced. */
const RECONNECT_AFTER_TIMEOUTS = 3;

/**
 * First writer wins: returns the live record, or stores ARGV[1] (`<expiresAtMs>:<result>`) with PX
 * ARGV[2] and indexes it in the account's zset KEYS[2] (member ARGV[5], scored by its expiry ARGV[6]).
 * Expired index entries are dropped; beyond ARGV[4] records the account's own oldest are deleted
 * (record keys are ARGV[7] .. member). Returns the record on file.
 */
const REMEMBER_SCRIPT = `
local old = redis.call('GET', KEYS[1])
if old then
  local e = tonumber(string.match(old, '^(%d+):'))
  if e and e > tonumber(ARGV[3]) then return old end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[5])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if over > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #oldest, 2 do
    if oldest[i] == ARGV[5] then redis.call('ZADD', KEYS[2], ARGV[6], ARGV[5]) else redis.call('DEL', ARGV[7] .. oldest[i]) end
  end
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return ARGV[1]
`;

/**
 * The token bucket of ports/session-store.ts takeTokens(), in Lua: integer millitokens, state in a hash
 * {mt, ts}, forgotten after a full refill (PEXPIRE). ARGV: capacity, rate (mt/ms), now, cost (mt), ttl.
 */
const CONSUME_SCRIPT = `
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local need = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'mt', 'ts')
local mt = tonumber(state[1])
local ts = tonumber(state[2])
if mt == nil or ts == nil then mt = cap; ts = now end
if now > ts then
  mt = math.min(cap, mt + (now - ts) * rate)
  ts = now
end
local allowed = 0
local retry = 0
if mt >= need then
  mt = mt - need
  allowed = 1
else
  retry = math.ceil((need - mt) / rate)
end
redis.call('HSET', KEYS[1], 'mt', string.format('%d', mt), 'ts', string.format('%d', ts))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {allowed, retry}
`;

/**
 * Stores a session and indexes it, atomically: KEYS = session, account index (zset by expiry), key
 * index (set). ARGV: session JSON, ttl ms, digest, expiresAtMs, now, per-account cap, session key
 * prefix. Expired index entries are dropped; beyond the cap the account's oldest sessions are ended.
 */
const LOGIN_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[6])
if over > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #oldest, 2 do redis.call('DEL', ARGV[7] .. oldest[i]) end
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
local ttl = redis.call('PTTL', KEYS[3])
if ttl < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
return over
`;

/** Deletes an API key and every session it opened. KEYS = api key, key index; ARGV: session key prefix. */
const REVOKE_SCRIPT = `
local removed = redis.call('DEL', KEYS[1])
local digests = redis.call('SMEMBERS', KEYS[2])
for _, d in ipairs(digests) do redis.call('DEL', ARGV[1] .. d) end
redis.call('DEL', KEYS[2])
return removed
`;

interface SessionCommands {
  storeSession(sessionKey: string, accountIndex: string, keyIndex: string, json: string, ttlMs: number, digest: string, expiresAtMs: number, nowMs: number, cap: number, sessionPrefix: string): Promise<number>;
  revokeKey(apiKey: string, keyIndex: string, sessionPrefix: string): Promise<number>;
  rememberClientOrder(key: string, accountIndex: string, value: string, ttlMs: number, nowMs: number, cap: number, member: string, expiresAtMs: number, recordPrefix: string): Promise<string>;
  consumeTokens(key: string, capacity: number, rate: number, nowMs: number, need: number, ttlMs: number): Promise<[number, number]>;
}

interface StoredSession {
  readonly account: string;
  readonly expiresAtMs: number;
}

export class RedisSessionStore implements SessionStore {
  private readonly options: CompiledSessionStoreOptions;
  private readonly clock: Clock;
  private readonly prefix: string;
  private readonly orderKind: string;
  private readonly client: Redis & SessionCommands;
  private readonly bucketTtlMs: number;
  private readonly maxClientOrdersPerAccount: number;
  private lastError: Error | undefined;
  private consecutiveTimeouts = 0;
  private readyEvents = 0;

  constructor(raw: RedisSessionStoreOptions) {
    this.options = compileSessionStoreOptions(raw);
    this.clock = raw.clock;
    this.prefix = raw.prefix ?? DEFAULT_REDIS_PREFIX;
    const scope = raw.idempotencyScope ?? '';
    if (!/^[A-Za-z0-9_-]{0,64}$/.test(scope)) throw new SessionStoreOptionError('idempotencyScope', 'must be at most 64 letters, digits, "-" or "_"');
    this.orderKind = scope === '' ? 'order' : `order:${scope}`;
    if (!/^[\x21-\x7e]{0,64}$/.test(this.prefix)) throw new SessionStoreOptionError('prefix', 'must be at most 64 printable ASCII characters without spaces');
    if (!/^rediss?:\/\//.test(raw.url)) throw new SessionStoreOptionError('url', `must start with redis:// or rediss://, got ${JSON.stringify(raw.url)}`);
    const commandTimeoutMs = integerOption('commandTimeoutMs', raw.commandTimeoutMs ?? 500, 1, 600_000);
    const connectTimeoutMs = integerOption('connectTimeoutMs', raw.connectTimeoutMs ?? 2000, 1, 600_000);
    const reconnectMaxDelayMs = integerOption('reconnectMaxDelayMs', raw.reconnectMaxDelayMs ?? 2000, 1, 600_000);
    this.maxClientOrdersPerAccount = integerOption('maxClientOrdersPerAccount', raw.maxClientOrdersPerAccount ?? 100_000, 1, 100_000_000);
    // A full bucket needs no state; keep it a second past the refill so a just-expired key is always full.
    this.bucketTtlMs = bucketRefillMs(this.options) + 1000;
    const onConnectionError = raw.onConnectionError ?? (() => {});

    const client = new Redis(raw.url, {
      // No offline queue and no per-command retries: a command either reaches Redis on the live
      // connection or fails now. Queued or replayed commands could consume tokens or store results
      // twice, and would hold gRPC calls for the whole outage.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: commandTimeoutMs,
      connectTimeout: connectTimeoutMs,
      // Never give up: reconnect with capped exponential backoff, so the store recovers by itself.
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 16), reconnectMaxDelayMs),
      lazyConnect: false,
    });
    // Without a listener, ioredis 'error' events would crash the process on the first refused connection.
    client.on('error', (err: Error) => {
      this.lastError = err;
      onConnectionError(err);
    });
    client.on('ready', () => {
      this.readyEvents += 1;
    });
    client.defineCommand('rememberClientOrder', { numberOfKeys: 2, lua: REMEMBER_SCRIPT });
    client.defineCommand('consumeTokens', { numberOfKeys: 1, lua: CONSUME_SCRIPT });
    client.defineCommand('storeSession', { numberOfKeys: 3, lua: LOGIN_SCRIPT });
    client.defineCommand('revokeKey', { numberOfKeys: 2, lua: REVOKE_SCRIPT });
    this.client = client as Redis & SessionCommands;
  }

  /** How many times the connection became ready; a change means Redis is reachable again. */
  connectionGeneration(): number {
    return this.readyEvents;
  }

  /** True while the connection is up and usable. */
  isReady(): boolean {
    return this.client.status === 'ready';
  }

  /**
   * Resolves when the connection is ready; rejects with UnavailableError after `timeoutMs`. The store
   * keeps trying to connect either way: this is for startup checks and tests.
   */
  async ready(timeoutMs = 5000): Promise<void> {
    if (this.isReady()) return;
    await new Promise<void>((resolve, reject) => {
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        reject(new UnavailableError('redis', `not connected after ${timeoutMs} ms (${this.lastError?.message ?? this.client.status})`));
      }, timeoutMs);
      this.client.once('ready', onReady);
    });
  }

  async createApiKey(account: string): Promise<ApiKeyCredentials> {
    checkAccount(account);
    const keyId = newKeyId();
    const secret = newSecret();
    const stored = storedApiKey(account, secret, this.clock.nowMs());
    const ok = await this.run('create an API key', () => this.client.set(this.key('apikey', keyId), JSON.stringify(stored), 'NX'));
    // 96 random bits: a collision means the CSPRNG is broken, not bad luck.
    if (ok !== 'OK') throw new Error(`API key id collision on ${keyId}`);
    return { keyId, secret };
  }

  async revokeApiKey(keyId: string): Promise<boolean> {
    if (!isWellFormedKeyId(keyId)) return false;
    const removed = await this.run('revoke an API key', () => this.client.revokeKey(this.key('apikey', keyId), this.key('keysessions', keyId), this.key('session', '')));
    return removed > 0;
  }

  async login(keyId: string, secret: string, ttlMs: number): Promise<Session> {
    checkSessionTtl(ttlMs, this.options);
    // A malformed or unknown key id costs the same round trip, hash and compare as a wrong secret.
    const raw = await this.run('log in', () => this.client.get(this.key('apikey', isWellFormedKeyId(keyId) ? keyId : 'ak_malformed')));
    const stored = raw === null ? undefined : (JSON.parse(raw) as StoredApiKey);
    if (!secretMatches(secret, stored ?? DUMMY_API_KEY) || stored === undefined || !isWellFormedKeyId(keyId) || !isWellFormedSecret(secret)) throw new InvalidCredentialsError();
    const token = newToken();
    const now = this.clock.nowMs();
    const expiresAtMs = now + ttlMs;
    const session: StoredSession = { account: stored.account, expiresAtMs };
    const digest = tokenDigest(token);
    await this.run('log in', () =>
      this.client.storeSession(
        this.key('session', digest),
        this.key('accountsessions', encodeURIComponent(stored.account)),
        this.key('keysessions', keyId),
        JSON.stringify(session),
        ttlMs,
        digest,
        expiresAtMs,
        now,
        this.options.maxSessionsPerAccount,
        this.key('session', ''),
      ),
    );
    return { token, account: stored.account, expiresAtMs };
  }

  async resolve(token: string): Promise<string | undefined> {
    const session = await this.resolveSession(token);
    return session?.account;
  }

  /** The account and expiry of a live session (the ResilientSessionStore caches both). */
  async resolveSession(token: string): Promise<StoredSession | undefined> {
    if (!isWellFormedToken(token)) return undefined;
    const raw = await this.run('resolve a session', () => this.client.get(this.key('session', tokenDigest(token))));
    if (raw === null) return undefined;
    const session = JSON.parse(raw) as StoredSession;
    // PX removes it on Redis's clock; this check makes expiry exact on ours (and testable with a ManualClock).
    return this.clock.nowMs() < session.expiresAtMs ? session : undefined;
  }

  async logout(token: string): Promise<void> {
    if (!isWellFormedToken(token)) return;
    await this.run('log out', () => this.client.del(this.key('session', tokenDigest(token))));
  }

  async rememberClientOrder(account: string, pair: string, clientOrderId: string, result: ClientOrderResult): Promise<ClientOrderResult> {
    checkAccount(account);
    checkClientOrderKey(pair, clientOrderId);
    const now = this.clock.nowMs();
    const ttlMs = this.options.idempotencyTtlMs;
    const expiresAtMs = now + ttlMs;
    const value = `${expiresAtMs}:${result}`;
    const member = clientOrderKey(account, pair, clientOrderId);
    const onRecord = await this.run('remember a client order id', () =>
      this.client.rememberClientOrder(this.key(this.orderKind, member), this.clientOrderIndex(account), value, ttlMs, now, this.maxClientOrdersPerAccount, member, expiresAtMs, this.key(this.orderKind, '')),
    );
    return resultOf(onRecord);
  }

  async lookupClientOrder(account: string, pair: string, clientOrderId: string): Promise<ClientOrderResult | undefined> {
    checkAccount(account);
    checkClientOrderKey(pair, clientOrderId);
    const raw = await this.run('look up a client order id', () => this.client.get(this.key(this.orderKind, clientOrderKey(account, pair, clientOrderId))));
    if (raw === null) return undefined;
    const colon = raw.indexOf(':');
    return this.clock.nowMs() < Number(raw.slice(0, colon)) ? raw.slice(colon + 1) : undefined;
  }

  async consume(account: string, cost = 1): Promise<RateDecision> {
    checkAccount(account);
    checkCost(cost, this.options);
    const [allowed, retryAfterMs] = await this.run('check the rate limit', () =>
      this.client.consumeTokens(
        this.key('rate', encodeURIComponent(account)),
        this.options.rateLimitBurst * 1000,
        this.options.rateLimitPerSecond,
        this.clock.nowMs(),
        cost * 1000,
        this.bucketTtlMs,
      ),
    );
    return { allowed: allowed === 1, retryAfterMs: Number(retryAfterMs) };
  }

  /**
   * Stores `value` under the marker `name` unless one exists (no expiry); returns the value on record.
   * For one-time service facts such as "the demo API key was created" (first writer wins across replicas).
   */
  async claimMarker(name: string, value: string): Promise<string> {
    const key = this.key('marker', name);
    const set = await this.run('record a marker', () => this.client.set(key, value, 'NX'));
    if (set === 'OK') return value;
    const onRecord = await this.run('read a marker', () => this.client.get(key));
    return onRecord ?? value;
  }

  async close(): Promise<void> {
    try {
      if (this.isReady()) await this.client.quit();
    } catch {
      // Already gone; disconnect below is all that is left to do.
    }
    this.client.disconnect();
  }

  private key(kind: string, id: string): string {
    return `${this.prefix}${kind}:${id}`;
  }

  /**
   * The zset of an account's client order id records, by expiry, beside the records (`order[:scope]:`):
   * its id starts with ':', which no record id does (their parts are URI-encoded, ':' included).
   */
  private clientOrderIndex(account: string): string {
    return this.key(this.orderKind, `:index:${encodeURIComponent(account)}`);
  }

  /** Client order id records of `account` in its index now (for tests and operators). */
  async clientOrderRecords(account: string): Promise<number> {
    checkAccount(account);
    return this.run('count client order ids', () => this.client.zcard(this.clientOrderIndex(account)));
  }

  /**
   * Runs one Redis call. A reply error (WRONGTYPE, a script bug) is a bug and propagates as is; anything
   * else (closed or unwritable connection, timeout) means Redis is unreachable: UnavailableError.
   */
  private async run<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      const value = await call();
      this.consecutiveTimeouts = 0;
      return value;
    } catch (err) {
      if (err instanceof ReplyError) throw err;
      const detail = err instanceof Error ? err.message : String(err);
      if (detail === 'Command timed out') this.onTimeout();
      throw new UnavailableError('redis', `cannot ${what}: ${detail}`);
    }
  }

  /**
   * A connection whose commands keep timing out may be half-open (peer gone without a FIN or RST), and
   * ioredis would wait on it forever. After RECONNECT_AFTER_TIMEOUTS in a row, drop it and reconnect.
   */
  private onTimeout(): void {
    this.consecutiveTimeouts += 1;
    if (this.consecutiveTimeouts < RECONNECT_AFTER_TIMEOUTS) return;
    this.consecutiveTimeouts = 0;
    this.client.disconnect(true);
  }
}

/** Compared against for an unknown key id, so both failures cost one HMAC and one compare. */
const DUMMY_API_KEY = storedApiKey('dummy', 'x'.repeat(43), 0);

function resultOf(onRecord: string): ClientOrderResult {
  return onRecord.slice(onRecord.indexOf(':') + 1);
}
