/**
 * Login attempts, bounded per API key id and per peer address, with exponential backoff: after
 * `freeFailures` consecutive failed logins a key id (or a peer) must wait base × 2^(extra failures)
 * (capped) before its next attempt is even checked; the attempt is refused with RESOURCE_EXHAUSTED and
 * a retry hint, whatever the secret. A success clears the key id's failures (not the peer's, which
 * decay: a peer's counter is forgotten after `forgetAfterMs` without failures). Tables are bounded
 * (oldest entry dropped, O(1)). Per process: behind a load balancer each replica counts its own.
 */
import { RateLimitedError } from './errors.ts';

export interface LoginThrottleOptions {
  /** LOGIN_FREE_FAILURES_PER_KEY: failed logins of one key id before backoff starts. @default 5 */
  freeFailuresPerKey?: number;
  /** LOGIN_FREE_FAILURES_PER_PEER: failed logins from one IP address before backoff starts. @default 20 */
  freeFailuresPerPeer?: number;
  /** LOGIN_BACKOFF_BASE_MS: the first wait; it doubles with each further failure. @default 1000 */
  backoffBaseMs?: number;
  /** LOGIN_BACKOFF_MAX_MS: the longest wait. @default 300000 (5 min) */
  backoffMaxMs?: number;
  /** A counter without a failure for this long is forgotten. @default 900000 (15 min) */
  forgetAfterMs?: number;
  /** Most key ids and peers tracked (each table); the oldest is dropped at the cap. @default 100000 */
  maxTracked?: number;
}

interface Failures {
  count: number;
  lastMs: number;
}

export class LoginThrottle {
  private readonly o: Required<LoginThrottleOptions>;
  private readonly byKey = new Map<string, Failures>();
  private readonly byPeer = new Map<string, Failures>();
  /** Attempts refused before reaching the store (for tests and metrics). */
  refused = 0;

  constructor(options: LoginThrottleOptions = {}) {
    this.o = {
      freeFailuresPerKey: options.freeFailuresPerKey ?? 5,
      freeFailuresPerPeer: options.freeFailuresPerPeer ?? 20,
      backoffBaseMs: options.backoffBaseMs ?? 1000,
      backoffMaxMs: options.backoffMaxMs ?? 300_000,
      forgetAfterMs: options.forgetAfterMs ?? 900_000,
      maxTracked: options.maxTracked ?? 100_000,
    };
    for (const [k, v] of Object.entries(this.o)) if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`login throttle ${k} must be a positive integer, got ${v}`);
  }

  /** Throws RateLimitedError when the key id or the peer must still wait. */
  check(keyId: string, peer: string, nowMs: number): void {
    const wait = Math.max(this.waitMs(this.byKey.get(keyId), this.o.freeFailuresPerKey, nowMs), this.waitMs(this.byPeer.get(peer), this.o.freeFailuresPerPeer, nowMs));
    if (wait > 0) {
      this.refused++;
      throw new RateLimitedError(wait, 1, 'too many failed logins for this API key or from this address: nothing was checked');
    }
  }

  failed(keyId: string, peer: string, nowMs: number): void {
    this.bump(this.byKey, keyId, nowMs);
    this.bump(this.byPeer, peer, nowMs);
  }

  succeeded(keyId: string): void {
    this.byKey.delete(keyId);
  }

  private waitMs(f: Failures | undefined, free: number, nowMs: number): number {
    if (f === undefined || f.count < free) return 0;
    if (nowMs - f.lastMs >= this.o.forgetAfterMs) return 0;
    const backoff = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** Math.min(30, f.count - free));
    return Math.max(0, f.lastMs + backoff - nowMs);
  }

  private bump(table: Map<string, Failures>, key: string, nowMs: number): void {
    const f = table.get(key);
    const count = f === undefined || nowMs - f.lastMs >= this.o.forgetAfterMs ? 1 : f.count + 1;
    table.delete(key); // re-insert: insertion order = least recently failed first
    if (table.size >= this.o.maxTracked) table.delete(table.keys().next().value!);
    table.set(key, { count, lastMs: nowMs });
  }
}
