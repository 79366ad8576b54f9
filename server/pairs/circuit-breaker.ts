/**
 * Per-pair circuit breakers guarding the adaptive book: closed = the adaptive book takes part as the migration
 * controller says; open = the pair is served by the legacy book alone. Logic only: the clock is passed in, no timers,
 * no environment, and every transition is recorded with its reason.
 *
 * Runbook contract (docs/runbook.md "Scenario 2: circuit breaker activation", "Health checks", daily report):
 * - `GET /admin/circuit-breaker/status` is `CircuitBreakers.status()`: an array; jq reads `.open`, `.pair`, `.reason`.
 * - `GET /admin/circuit-breaker/history` is `CircuitBreakers.history()`: jq reads `.last_24h | length`.
 * - `POST /admin/circuit-breaker/activate-all`, `reset/PAIR`, `reset-all` map to `activateAll`, `get(pair).reset`,
 *   `resetAll`, each only after the manager did what the method's contract asks.
 */
import type { Clock } from '../ports/clock.ts';
import { ValidationError } from './errors.ts';

/** closed: adaptive book in use as routed; open: legacy book alone. */
export type BreakerState = 'closed' | 'open';

/**
 * Why a breaker opened.
 * - adaptive_error: the adaptive book threw (an exception or an InvariantError) while applying a command.
 * - divergence: the adaptive book's events or state differ from the legacy book's for the same command.
 * - latency: the adaptive book's p95 latency over the window exceeded the budget.
 * - operator: opened by hand (`activate-all`, or a manual trip).
 */
export type TripReason = 'adaptive_error' | 'divergence' | 'latency' | 'operator';

export const TRIP_REASONS: readonly TripReason[] = Object.freeze(['adaptive_error', 'divergence', 'latency', 'operator']);

export interface CircuitBreakerOptions {
  /**
   * Latency budget for the adaptive book, in milliseconds: the breaker trips with reason `latency` when the p95 of
   * the window is above it. Lower catches a slow adaptive book sooner but trips on GC pauses and bursts.
   * @default 5
   */
  latencyBudgetMs?: number;
  /**
   * Length of the rolling latency window, in milliseconds. Longer smooths bursts out but reacts later and keeps a
   * slow period in view for longer.
   * @default 10000
   */
  latencyWindowMs?: number;
  /**
   * Width of one time bucket of the window, in milliseconds; must divide `latencyWindowMs` (at most 600 buckets).
   * Old samples leave the window one whole bucket at a time, so the window is this much coarser than exact.
   * @default 1000
   */
  latencyBucketMs?: number;
  /**
   * Samples the window must hold before latency is judged at all, so a few slow commands on a quiet pair cannot
   * trip it. Raising it makes quiet pairs immune for longer.
   * @default 50
   */
  minSamples?: number;
  /**
   * How long transitions stay in the history (`history().last_24h`), in milliseconds.
   * @default 86400000 (24 h)
   */
  historyRetentionMs?: number;
  /**
   * Most history entries kept per pair whatever their age, so a flapping breaker cannot grow memory without bound.
   * The oldest go first.
   * @default 1000
   */
  historyMaxEntriesPerPair?: number;
}

export type CompiledCircuitBreakerOptions = Readonly<Required<CircuitBreakerOptions>>;

export const DEFAULT_LATENCY_BUDGET_MS = 5;
export const DEFAULT_LATENCY_WINDOW_MS = 10_000;
export const DEFAULT_LATENCY_BUCKET_MS = 1_000;
export const DEFAULT_MIN_SAMPLES = 50;
export const DEFAULT_HISTORY_RETENTION_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_HISTORY_MAX_ENTRIES_PER_PAIR = 1000;
/** Details longer than this are cut so one huge exception message cannot bloat the history. */
const MAX_DETAIL_LENGTH = 500;
const MAX_BUCKETS = 600;

function positiveNumber(raw: Record<string, unknown>, field: string, dflt: number): number {
  const v = raw[field];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ValidationError(field, `must be a positive finite number, got ${String(v)}`);
  return v;
}

function positiveInteger(raw: Record<string, unknown>, field: string, dflt: number): number {
  const v = raw[field];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new ValidationError(field, `must be a positive whole number, got ${String(v)}`);
  return v;
}

/** Validates once and fills defaults; throws a ValidationError naming the first bad field. */
export function compileCircuitBreakerOptions(raw: CircuitBreakerOptions = {}): CompiledCircuitBreakerOptions {
  const r = raw as Record<string, unknown>;
  const known = new Set(['latencyBudgetMs', 'latencyWindowMs', 'latencyBucketMs', 'minSamples', 'historyRetentionMs', 'historyMaxEntriesPerPair']);
  for (const key of Object.keys(r)) if (!known.has(key)) throw new ValidationError(key, 'is not a circuit breaker option');
  const latencyBudgetMs = positiveNumber(r, 'latencyBudgetMs', DEFAULT_LATENCY_BUDGET_MS);
  const latencyWindowMs = positiveInteger(r, 'latencyWindowMs', DEFAULT_LATENCY_WINDOW_MS);
  const latencyBucketMs = positiveInteger(r, 'latencyBucketMs', Math.min(DEFAULT_LATENCY_BUCKET_MS, latencyWindowMs));
  if (latencyWindowMs % latencyBucketMs !== 0) throw new ValidationError('latencyBucketMs', `must divide latencyWindowMs (${latencyWindowMs}), got ${latencyBucketMs}`);
  if (latencyWindowMs / latencyBucketMs > MAX_BUCKETS)
    throw new ValidationError('latencyBucketMs', `gives ${latencyWindowMs / latencyBucketMs} buckets; at most ${MAX_BUCKETS} are allowed`);
  return Object.freeze({
    latencyBudgetMs,
    latencyWindowMs,
    latencyBucketMs,
    minSamples: positiveInteger(r, 'minSamples', DEFAULT_MIN_SAMPLES),
    historyRetentionMs: positiveInteger(r, 'historyRetentionMs', DEFAULT_HISTORY_RETENTION_MS),
    historyMaxEntriesPerPair: positiveInteger(r, 'historyMaxEntriesPerPair', DEFAULT_HISTORY_MAX_ENTRIES_PER_PAIR),
  });
}

/** The runbook's status object for one pair. */
export interface BreakerStatus {
  pair: string;
  open: boolean;
  /** Why it is open; null while closed (the last reason stays in the history). */
  reason: TripReason | null;
  detail: string | null;
  /** ISO time it opened; null while closed. */
  since: string | null;
  /** closed → open transitions since this process started. */
  trip_count: number;
  state: BreakerState;
}

/** One transition in the history. For a reset, `reason` is the trip reason it cleared and `by` who reset it. */
export interface BreakerHistoryEntry {
  pair: string;
  event: 'open' | 'reset';
  reason: TripReason;
  detail: string;
  by: string | null;
  /** ISO time of the transition. */
  at: string;
}

interface HistoryRecord {
  readonly event: 'open' | 'reset';
  readonly reason: TripReason;
  readonly detail: string;
  readonly by: string | null;
  readonly atMs: number;
}

/** What the latency window holds right now. */
export interface LatencyWindowSnapshot {
  samples: number;
  over_budget: number;
  /** Histogram estimate (upper edge of a log-scale bin, within ~19 %); null with no samples. */
  p95_ms: number | null;
}

// Log-scale histogram bins for the p95 *estimate* in details: bin 0 is < 1 µs, then 4 bins per power of two up
// to ~33 s, the last bin open-ended. The trip *decision* does not use it: it counts samples above the budget
// exactly (see LatencyWindow.isOverBudget), so bin edges never decide a trip.
const HIST_BASE_NS = 1000;
const HIST_SUB_BINS = 4;
const HIST_BINS = 1 + 25 * HIST_SUB_BINS + 1;

function histBin(latencyNs: number): number {
  if (latencyNs < HIST_BASE_NS) return 0;
  const i = 1 + Math.floor(Math.log2(latencyNs / HIST_BASE_NS) * HIST_SUB_BINS);
  return i < HIST_BINS ? i : HIST_BINS - 1;
}

function histUpperNs(bin: number): number {
  return bin === 0 ? HIST_BASE_NS : HIST_BASE_NS * 2 ** (bin / HIST_SUB_BINS);
}

/**
 * A rolling window of adaptive-book latencies in fixed time buckets (GJ outlier detection's CallCounter, with
 * more than two buckets). Everything is preallocated: recording a sample is O(1) with no allocation; a bucket
 * switch costs O(bins) once per bucket.
 *
 * p95 > budget is judged exactly, without the histogram: with the nearest-rank p95 (the ⌈0.95·n⌉-th smallest
 * sample), p95 > budget ⇔ fewer than ⌈0.95·n⌉ samples are ≤ budget.
 */
class LatencyWindow {
  private readonly buckets: number;
  private readonly bins: Uint32Array; // buckets × HIST_BINS
  private readonly windowBins = new Uint32Array(HIST_BINS);
  private readonly bucketTotal: Uint32Array;
  private readonly bucketOver: Uint32Array;
  private windowTotal = 0;
  private windowOver = 0;
  /** Absolute index (time / bucketMs) of the current bucket; its slot is epoch % buckets. */
  private epoch = -1;

  constructor(
    private readonly bucketMs: number,
    windowMs: number,
    private readonly budgetNs: number,
  ) {
    this.buckets = windowMs / bucketMs;
    this.bins = new Uint32Array(this.buckets * HIST_BINS);
    this.bucketTotal = new Uint32Array(this.buckets);
    this.bucketOver = new Uint32Array(this.buckets);
  }

  record(nowMs: number, latencyNs: number): void {
    this.advance(nowMs);
    const slot = this.epoch % this.buckets;
    const bin = histBin(latencyNs);
    this.bins[slot * HIST_BINS + bin]!++;
    this.windowBins[bin]!++;
    this.bucketTotal[slot]!++;
    this.windowTotal++;
    if (latencyNs > this.budgetNs) {
      this.bucketOver[slot]!++;
      this.windowOver++;
    }
  }

  /** Drops buckets that left the window. A clock that steps back keeps using the current bucket. */
  advance(nowMs: number): void {
    const epoch = Math.floor(nowMs / this.bucketMs);
    if (this.epoch < 0) {
      this.epoch = epoch;
      return;
    }
    if (epoch <= this.epoch) return;
    const gap = epoch - this.epoch;
    if (gap >= this.buckets) this.clear();
    else for (let k = 1; k <= gap; k++) this.expire((this.epoch + k) % this.buckets);
    this.epoch = epoch;
  }

  private expire(slot: number): void {
    if (this.bucketTotal[slot] === 0) return;
    const base = slot * HIST_BINS;
    for (let b = 0; b < HIST_BINS; b++) {
      const c = this.bins[base + b]!;
      if (c !== 0) {
        this.windowBins[b]! -= c;
        this.bins[base + b] = 0;
      }
    }
    this.windowTotal -= this.bucketTotal[slot]!;
    this.windowOver -= this.bucketOver[slot]!;
    this.bucketTotal[slot] = 0;
    this.bucketOver[slot] = 0;
  }

  clear(): void {
    this.bins.fill(0);
    this.windowBins.fill(0);
    this.bucketTotal.fill(0);
    this.bucketOver.fill(0);
    this.windowTotal = 0;
    this.windowOver = 0;
  }

  get samples(): number {
    return this.windowTotal;
  }

  get overBudget(): number {
    return this.windowOver;
  }

  isOverBudget(): boolean {
    const n = this.windowTotal;
    const rank = Math.floor((95 * n + 99) / 100); // ⌈0.95·n⌉ in integers
    return n - this.windowOver < rank;
  }

  p95EstimateMs(): number | null {
    const n = this.windowTotal;
    if (n === 0) return null;
    const rank = Math.floor((95 * n + 99) / 100);
    let seen = 0;
    for (let b = 0; b < HIST_BINS; b++) {
      seen += this.windowBins[b]!;
      if (seen >= rank) return Math.round(histUpperNs(b) / 1000) / 1000;
    }
    return null; // unreachable: the bins sum to n
  }
}

function cutDetail(detail: string): string {
  return detail.length <= MAX_DETAIL_LENGTH ? detail : `${detail.slice(0, MAX_DETAIL_LENGTH - 1)}…`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

type BreakerInput = { readonly kind: 'trip'; readonly reason: TripReason; readonly detail: string } | { readonly kind: 'reset'; readonly by: string };

/** The breaker of one pair. Single-writer like the pair itself. */
export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private reason: TripReason | null = null;
  private detail: string | null = null;
  private sinceMs: number | null = null;
  private tripCount = 0;
  private readonly records: HistoryRecord[] = [];
  private readonly latency: LatencyWindow;
  private readonly options: CompiledCircuitBreakerOptions;

  constructor(
    readonly pair: string,
    private readonly clock: Clock,
    options: CircuitBreakerOptions = {},
  ) {
    if (typeof pair !== 'string' || pair.length === 0) throw new ValidationError('pair', 'must be a non-empty string');
    this.options = compileCircuitBreakerOptions(options); // idempotent on compiled options
    this.latency = new LatencyWindow(this.options.latencyBucketMs, this.options.latencyWindowMs, this.options.latencyBudgetMs * 1_000_000);
  }

  /** True while the pair must be served by the legacy book alone. Read by the order-book manager per command. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  get currentState(): BreakerState {
    return this.state;
  }

  /**
   * Opens the breaker. Returns true if this call opened it; a trip while already open changes nothing (the first
   * reason stays, `trip_count` counts closed → open transitions only, and no history entry is added).
   */
  trip(reason: TripReason, detail: string): boolean {
    if (!TRIP_REASONS.includes(reason)) throw new ValidationError('reason', `must be one of ${TRIP_REASONS.join(', ')}, got ${String(reason)}`);
    return this.transition({ kind: 'trip', reason, detail: cutDetail(String(detail)) });
  }

  /**
   * Closes the breaker; returns true if it was open. `by` names who reset it (operator, script), for the history.
   *
   * Contract: the caller (the order-book manager) calls this only after it rebuilt the adaptive book to the true
   * state of the pair (the state that was served and journaled while the breaker was open). The breaker cannot
   * check that; resetting without a rebuild would put a stale book back on the path. The latency window starts
   * empty, so samples from before the trip cannot re-trip the rebuilt book.
   */
  reset(by: string): boolean {
    if (typeof by !== 'string' || by.trim().length === 0) throw new ValidationError('by', 'must name who resets the breaker');
    return this.transition({ kind: 'reset', by });
  }

  /**
   * Feeds one adaptive-book latency (nanoseconds, e.g. a difference of `Clock.monotonicNs()`). O(1), no
   * allocation. Trips with reason `latency` as soon as the window holds at least `minSamples` samples and its p95
   * is above `latencyBudgetMs`. Ignored while open (the adaptive book is off the path) and for values that are
   * not a non-negative number. Returns true if this sample opened the breaker. `nowMs`: the caller's reading
   * of this clock when it already has one (the manager reads it once per command).
   */
  recordAdaptiveLatency(latencyNs: number, nowMs: number = this.clock.nowMs()): boolean {
    if (this.state === 'open' || !(latencyNs >= 0)) return false;
    this.latency.record(nowMs, latencyNs);
    if (this.latency.samples < this.options.minSamples || !this.latency.isOverBudget()) return false;
    const windowS = this.options.latencyWindowMs / 1000;
    const p95 = this.latency.p95EstimateMs();
    return this.transition({
      kind: 'trip',
      reason: 'latency',
      detail: `adaptive p95 above the ${this.options.latencyBudgetMs} ms budget (≈${p95} ms): ${this.latency.overBudget} of ${this.latency.samples} samples over budget in the last ${windowS} s`,
    });
  }

  /** The latency window as of now (old buckets dropped first). */
  latencyWindow(): LatencyWindowSnapshot {
    this.latency.advance(this.clock.nowMs());
    return { samples: this.latency.samples, over_budget: this.latency.overBudget, p95_ms: this.latency.p95EstimateMs() };
  }

  status(): BreakerStatus {
    return {
      pair: this.pair,
      open: this.state === 'open',
      reason: this.reason,
      detail: this.detail,
      since: this.sinceMs === null ? null : iso(this.sinceMs),
      trip_count: this.tripCount,
      state: this.state,
    };
  }

  /** Transitions within the retention, oldest first. */
  history(nowMs: number = this.clock.nowMs()): BreakerHistoryEntry[] {
    this.prune(nowMs);
    return this.records.map((r) => ({ pair: this.pair, event: r.event, reason: r.reason, detail: r.detail, by: r.by, at: iso(r.atMs) }));
  }

  /** @internal for CircuitBreakers.history: records with their numeric time, to merge pairs in time order. */
  historyRecords(nowMs: number): readonly HistoryRecord[] {
    this.prune(nowMs);
    return this.records;
  }

  /** The one transition function: every state change goes through here and is recorded with its reason. */
  private transition(input: BreakerInput): boolean {
    const now = this.clock.nowMs();
    switch (this.state) {
      case 'closed':
        if (input.kind !== 'trip') return false;
        this.state = 'open';
        this.reason = input.reason;
        this.detail = input.detail;
        this.sinceMs = now;
        this.tripCount++;
        this.append({ event: 'open', reason: input.reason, detail: input.detail, by: null, atMs: now });
        return true;
      case 'open': {
        if (input.kind !== 'reset') return false;
        const cleared = this.reason!;
        this.state = 'closed';
        this.reason = null;
        this.detail = null;
        this.sinceMs = null;
        this.latency.clear();
        this.append({ event: 'reset', reason: cleared, detail: `reset by ${input.by}`, by: input.by, atMs: now });
        return true;
      }
    }
  }

  private append(record: HistoryRecord): void {
    this.records.push(record);
    this.prune(record.atMs);
  }

  private prune(nowMs: number): void {
    const oldest = nowMs - this.options.historyRetentionMs;
    let drop = 0;
    while (drop < this.records.length && this.records[drop]!.atMs < oldest) drop++;
    drop = Math.max(drop, this.records.length - this.options.historyMaxEntriesPerPair);
    if (drop > 0) this.records.splice(0, drop);
  }
}

/** The breakers of every pair the process serves. */
export class CircuitBreakers {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly options: CompiledCircuitBreakerOptions;

  constructor(
    pairs: Iterable<string>,
    private readonly clock: Clock,
    options: CircuitBreakerOptions = {},
  ) {
    this.options = compileCircuitBreakerOptions(options);
    for (const pair of pairs) this.add(pair);
  }

  /** Adds a pair's breaker (closed); returns the existing one if the pair is known. */
  add(pair: string): CircuitBreaker {
    let b = this.breakers.get(pair);
    if (b === undefined) {
      b = new CircuitBreaker(pair, this.clock, this.options);
      this.breakers.set(pair, b);
    }
    return b;
  }

  /** Forgets a pair's breaker and its history (delisted). */
  remove(pair: string): void {
    this.breakers.delete(pair);
  }

  has(pair: string): boolean {
    return this.breakers.has(pair);
  }

  /** The pair's breaker; an unknown pair is a ValidationError naming it (the `reset/PAIR` path). */
  get(pair: string): CircuitBreaker {
    const b = this.breakers.get(pair);
    if (b === undefined) throw new ValidationError('pair', `unknown pair "${pair}"`);
    return b;
  }

  pairs(): string[] {
    return [...this.breakers.keys()];
  }

  /** Runbook `GET /admin/circuit-breaker/status`: one status per pair, in the order pairs were added. */
  status(): BreakerStatus[] {
    return [...this.breakers.values()].map((b) => b.status());
  }

  /** Runbook `GET /admin/circuit-breaker/history`: every pair's transitions within the retention, oldest first. */
  history(nowMs: number = this.clock.nowMs()): { last_24h: BreakerHistoryEntry[] } {
    const merged: { pair: string; r: HistoryRecord; seq: number }[] = [];
    let seq = 0;
    for (const b of this.breakers.values()) for (const r of b.historyRecords(nowMs)) merged.push({ pair: b.pair, r, seq: seq++ });
    merged.sort((x, y) => x.r.atMs - y.r.atMs || x.seq - y.seq);
    return {
      last_24h: merged.map(({ pair, r }) => ({ pair, event: r.event, reason: r.reason, detail: r.detail, by: r.by, at: iso(r.atMs) })),
    };
  }

  /**
   * Runbook `activate-all`: opens every closed breaker with reason `operator`; open ones keep their reason.
   * Returns the pairs this call opened.
   */
  activateAll(detail: string): string[] {
    const opened: string[] = [];
    for (const b of this.breakers.values()) if (b.trip('operator', detail)) opened.push(b.pair);
    return opened;
  }

  /** Pairs whose breaker is open: what the manager must rebuild before `resetAll`. */
  openPairs(): string[] {
    return [...this.breakers.values()].filter((b) => b.isOpen).map((b) => b.pair);
  }

  /**
   * Runbook `reset-all`: closes every open breaker; returns the pairs it closed. Same contract as
   * `CircuitBreaker.reset`: the manager rebuilds the adaptive book of every pair in `openPairs()` first.
   */
  resetAll(by: string): string[] {
    if (typeof by !== 'string' || by.trim().length === 0) throw new ValidationError('by', 'must name who resets the breakers');
    const closed: string[] = [];
    for (const b of this.breakers.values()) if (b.isOpen && b.reset(by)) closed.push(b.pair);
    return closed;
  }

  openCount(): number {
    let n = 0;
    for (const b of this.breakers.values()) if (b.isOpen) n++;
    return n;
  }
}
