/**
 * The credential formats every SessionStore shares (the Redis store and the in-process one import this,
 * so keys and tokens look the same whichever runs): random key ids, secrets and tokens, salted secret
 * hashes compared in constant time, token digests used as storage keys. No I/O, no state.
 *
 * Why HMAC-SHA256 and not scrypt: secrets and tokens are 32 bytes from the CSPRNG (256 bits of entropy),
 * so nobody can guess them from a leaked hash, slow or not; a slow KDF protects low-entropy *passwords*
 * and would only make every login burn ~50 ms of CPU here. The per-key salt keeps equal secrets (there
 * are none in practice) from having equal hashes.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY_ID = /^ak_[A-Za-z0-9_-]{16}$/;
const SECRET_OR_TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface StoredApiKey {
  readonly account: string;
  /** base64url, 16 random bytes. */
  readonly salt: string;
  /** base64url HMAC-SHA256(key = salt, message = secret). */
  readonly hash: string;
  readonly createdAtMs: number;
}

export function newKeyId(): string {
  return `ak_${randomBytes(12).toString('base64url')}`;
}

/** 32 random bytes, base64url: used for API key secrets and for session tokens. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export const newToken = newSecret;

export function isWellFormedKeyId(keyId: unknown): keyId is string {
  return typeof keyId === 'string' && KEY_ID.test(keyId);
}

export function isWellFormedSecret(secret: unknown): secret is string {
  return typeof secret === 'string' && SECRET_OR_TOKEN.test(secret);
}

export const isWellFormedToken = isWellFormedSecret;

export function hashSecret(secret: string, salt: string): string {
  return createHmac('sha256', Buffer.from(salt, 'base64url')).update(secret, 'utf8').digest('base64url');
}

export function storedApiKey(account: string, secret: string, nowMs: number): StoredApiKey {
  const salt = randomBytes(16).toString('base64url');
  return { account, salt, hash: hashSecret(secret, salt), createdAtMs: nowMs };
}

/** Constant-time check of a presented secret against a stored key. */
export function secretMatches(secret: string, stored: StoredApiKey): boolean {
  const presented = Buffer.from(hashSecret(secret, stored.salt), 'base64url');
  const expected = Buffer.from(stored.hash, 'base64url');
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

/**
 * Storage key of a session: SHA-256 of the token. A dump of the store (RDB file, `MONITOR`, a heap
 * snapshot) then holds nothing a client could present. A plain hash is enough for 256-bit tokens.
 */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

/** Unambiguous composite key of a client order id: each part URI-encoded, so a `:` inside a part cannot collide. */
export function clientOrderKey(account: string, pair: string, clientOrderId: string): string {
  return `${encodeURIComponent(account)}:${encodeURIComponent(pair)}:${encodeURIComponent(clientOrderId)}`;
}
