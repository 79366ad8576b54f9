/**
 * Unauthenticated market-data reads, bounded per peer address:
 * - a token bucket (calls per second and a burst) where a call costs 1 plus 1 per
 *   MARKET_DATA_LEVELS_PER_TOKEN levels it returns, so pipelined full-depth snapshots of a deep book run
 *   out of budget fast. Refused → RESOURCE_EXHAUSTED with a retry hint. In-process, bounded table
 *   (oldest peer forgotten at the cap); whole milliseconds, no floats for anything but the refill
 *   arithmetic of a rate (never money);
 * - answers in flight: a GetOrderBook answer counts from the call until its HTTP/2 stream closes (sent
 *   and read, or reset), so a client that pipelines calls and never reads the answers holds at most
 *   `maxInFlightPerPeer` of them (each up to a full-depth snapshot) however long it waits;
 * - floods: refusals are cheap but not free (each is a grpc-js call), and a client pipelining calls as
 *   fast as they are refused can keep the event loop busy by itself; after `floodRefusals` in a row
 *   the address is flooding (isFlooding) and the service cuts its connection.
 */
import { RateLimitedError, ResourceExhaustedError } from './errors.ts';

export interface MarketDataLimitOptions {
  /** MARKET_DATA_CALLS_PER_SECOND_PER_PEER: sustained cost per second per IP address. @default 200 */
  callsPerSecondPerPeer?: number;
  /** MARKET_DATA_BURST_PER_PEER: cost one address may spend at once. @default 400 */
  burstPerPeer?: number;
  /** Most peers tracked; the oldest is forgotten (refilled) at the cap. @default 100000 */
  maxPeers?: number;
  /** MARKET_DATA_MAX_IN_FLIGHT_PER_PEER: GetOrderBook answers one IP address may have unsent or unread at once. @default 32 */
  maxInFlightPerPeer?: number;
  /**
   * MARKET_DATA_FLOOD_REFUSALS: calls from one address refused (rate limit or answers in flight) within
   * one second after which it is flooding — it ignores the retry hints — and its connection is cut
   * (see GRPC_ABUSE_PENALTY_MS). @default 1000
   */
  floodRefusals?: number;
}

/** A snapshot costs one extra token per this many levels (both sides together). */
export const MARKET_DATA_LEVELS_PER_TOKEN = 1000;

interface Bucket {
  tokens: number;
  atMs: number;
  /** Calls refused since `windowMs` (a one-second window). */
  refusedInWindow: number;
  windowMs: number;
}

export class MarketDataLimiter {
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxPeers: number;
  private readonly maxInFlight: number;
  private readonly floodRefusals: number;
  private readonly buckets = new Map<string, Bucket>();
  /** Answers in flight per peer (only peers with at least one: bounded by the open connections). */
  private readonly inFlight = new Map<string, number>();
  refused = 0;

  constructor(options: MarketDataLimitOptions = {}) {
    this.rate = options.callsPerSecondPerPeer ?? 200;
    this.burst = options.burstPerPeer ?? 400;
    this.maxPeers = options.maxPeers ?? 100_000;
    this.maxInFlight = options.maxInFlightPerPeer ?? 32;
    this.floodRefusals = options.floodRefusals ?? 1000;
    for (const [k, v] of Object.entries({ rate: this.rate, burst: this.burst, maxPeers: this.maxPeers, maxInFlightPerPeer: this.maxInFlight, floodRefusals: this.floodRefusals }))
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`market data limit ${k} must be a positive integer, got ${v}`);
  }

  /** True while `peer` has had MARKET_DATA_FLOOD_REFUSALS calls refused within the current second. */
  isFlooding(peer: string, nowMs: number): boolean {
    const b = this.buckets.get(peer);
    return b !== undefined && nowMs - b.windowMs < 1000 && b.refusedInWindow >= this.floodRefusals;
  }

  /**
   * Counts one answer in flight to `peer` until the returned function is called (once is enough; more
   * calls change nothing); at the cap throws ResourceExhaustedError and counts nothing.
   */
  enter(peer: string, nowMs: number): () => void {
    const n = this.inFlight.get(peer) ?? 0;
    if (n >= this.maxInFlight) {
      this.refused++;
      const b = this.buckets.get(peer);
      if (b !== undefined) countRefusal(b, nowMs);
      throw new ResourceExhaustedError(`too many market data answers in flight to this address (${n}, limit ${this.maxInFlight}: MARKET_DATA_MAX_IN_FLIGHT_PER_PEER); read them before asking again`);
    }
    this.inFlight.set(peer, n + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const m = (this.inFlight.get(peer) ?? 1) - 1;
      if (m <= 0) this.inFlight.delete(peer);
      else this.inFlight.set(peer, m);
    };
  }

  /** Takes `cost` from the peer's bucket or throws RateLimitedError (nothing is read). */
  take(peer: string, cost: number, nowMs: number): void {
    let b = this.buckets.get(peer);
    if (b === undefined) {
      if (this.buckets.size >= this.maxPeers) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: this.burst, atMs: nowMs, refusedInWindow: 0, windowMs: nowMs };
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
    countRefusal(b, nowMs);
    throw new RateLimitedError(Math.ceil(((need - b.tokens) * 1000) / this.rate), cost, 'market data rate limit exceeded for this address');
  }
}

function countRefusal(b: Bucket, nowMs: number): void {
  if (nowMs - b.windowMs >= 1000) {
    b.windowMs = nowMs;
    b.refusedInWindow = 0;
  }
  b.refusedInWindow++;
}
