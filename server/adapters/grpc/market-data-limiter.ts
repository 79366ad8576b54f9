/**
 * Unauthenticated market-data reads, bounded per peer address: a token bucket (calls per second and a
 * burst) where a call costs 1 plus 1 per MARKET_DATA_LEVELS_PER_TOKEN levels it returns, so pipelined
 * full-depth snapshots of a deep book run out of budget fast. Refused → RESOURCE_EXHAUSTED with a retry
 * hint. In-process, bounded table (oldest peer forgotten at the cap); whole milliseconds, no floats for
 * anything but the refill arithmetic of a rate (never money).
 */
import { RateLimitedError } from './errors.ts';

export interface MarketDataLimitOptions {
  /** MARKET_DATA_CALLS_PER_SECOND_PER_PEER: sustained cost per second per IP address. @default 200 */
  callsPerSecondPerPeer?: number;
  /** MARKET_DATA_BURST_PER_PEER: cost one address may spend at once. @default 400 */
  burstPerPeer?: number;
  /** Most peers tracked; the oldest is forgotten (refilled) at the cap. @default 100000 */
  maxPeers?: number;
}

/** A snapshot costs one extra token per this many levels (both sides together). */
export const MARKET_DATA_LEVELS_PER_TOKEN = 1000;

interface Bucket {
  tokens: number;
  atMs: number;
}

export class MarketDataLimiter {
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxPeers: number;
  private readonly buckets = new Map<string, Bucket>();
  refused = 0;

  constructor(options: MarketDataLimitOptions = {}) {
    this.rate = options.callsPerSecondPerPeer ?? 200;
    this.burst = options.burstPerPeer ?? 400;
    this.maxPeers = options.maxPeers ?? 100_000;
    for (const [k, v] of Object.entries({ rate: this.rate, burst: this.burst, maxPeers: this.maxPeers })) if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`market data limit ${k} must be a positive integer, got ${v}`);
  }

  /** Takes `cost` from the peer's bucket or throws RateLimitedError (nothing is read). */
  take(peer: string, cost: number, nowMs: number): void {
    let b = this.buckets.get(peer);
    if (b === undefined) {
      if (this.buckets.size >= this.maxPeers) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: this.burst, atMs: nowMs };
      this.buckets.set(peer, b);
    }
    if (nowMs > b.atMs) {
      b.tokens = Math.min(this.burst, b.tokens + ((nowMs - b.atMs) * this.rate) / 1000);
      b.atMs = nowMs;
    }
    const need = Math.min(cost, this.burst);
    if (b.tokens >= need) {
      b.tokens -= need;
      return;
    }
    this.refused++;
    throw new RateLimitedError(Math.ceil(((need - b.tokens) * 1000) / this.rate), cost, 'market data rate limit exceeded for this address');
  }
}
