/**
 * The Performance Monitor (runbook "Performance Monitoring"): latency histograms, throughput and error rates
 * per pair × implementation × role, over a rolling last minute (1 s slots) and last 24 h (1 min slots), and
 * the JSON the runbook's jq filters read (`/admin/metrics/current|throughput|summary`, `/admin/errors/summary`,
 * `/admin/reports/daily`). Pure logic: the clock is injected; no timers, no Date.now(), no prom-client — the
 * metrics adapter reads these snapshots.
 *
 * What is counted (decided here, relied on by the adapters):
 * - A *command* is one book applying one command (new, cancel, replace, cancel-all), timed around
 *   `OrderBook.apply`. A dual-run command is two records: the served book (`role: 'served'`) and the shadow.
 *   Latency, error rate and `commands` figures are over **served** commands unless a field says otherwise;
 *   shadow timings are kept apart (per pair × impl) so they never inflate what clients saw.
 * - `ok: false` means the service failed the command (the book threw, a dependency was down). A business
 *   rejection (unknown order, post-only would take) is a correct answer: `ok: true`.
 * - An *order* is a new-order submission accepted by the service (`trading_orders_total`), counted by
 *   `recordOrders` once per submission whatever the number of books that applied it. Throughput is orders/s.
 * - *Trades* are fills reported by the served book (`recordTrades`).
 * - Errors by kind and code (`recordError`) feed `/admin/errors/summary` only; the adapter that calls
 *   `recordCommand(..., ok: false)` also calls `recordError` with the classified error.
 *
 * Windows: the last minute is the 60 whole seconds up to and including the current one; the last 24 h is the
 * 1 440 whole minutes up to and including the current one. Rates are divided by the full window length (60 s,
 * 86 400 s), as Prometheus' `rate()` does, so a service up for 10 s shows a low rate rather than a noisy one.
 * Memory is bounded: ring buffers per series, per-second histograms allocated once per slot and reused
 * (≈ 16 KB each with the default precision, so ≈ 1 MB per (pair, impl, role) that sees traffic every second).
 * Wall-clock time is never allowed to run backwards inside the monitor (an NTP step back holds the last time).
 */
import type { BookImplementation } from '../core/order-book.ts';
import type { Clock } from '../ports/clock.ts';
import { ValidationError } from './errors.ts';
import { DEFAULT_HIGHEST_NS, DEFAULT_SUB_BUCKET_BITS, LatencyHistogram, type LatencyHistogramOptions } from './latency-histogram.ts';

/** Which book's result was returned to the client (`served`) or only compared (`shadow`). */
export type CommandRole = 'served' | 'shadow';
/** The error kinds (validation, not_found, conflict, dependency down, internal) plus whatever an adapter classifies further (`timeout`, `divergence`, ...). */
export type ErrorKind = 'rejection' | 'validation' | 'unavailable' | 'invariant' | (string & {});

export const IMPLEMENTATIONS: readonly BookImplementation[] = ['legacy', 'adaptive'];
export const ROLES: readonly CommandRole[] = ['served', 'shadow'];

const SECOND_MS = 1_000;
const MINUTE_MS = 60_000;
const SECONDS_PER_MINUTE = 60;
const MINUTES_PER_DAY = 1_440;
const DAY_SECONDS = 86_400;

export const DEFAULT_BASELINE_MIN_MINUTES = 30;
export const DEFAULT_BASELINE_MIN_COMMANDS_PER_MINUTE = 20;
export const DEFAULT_MAX_PAIRS = 1_000;
export const DEFAULT_MAX_ERROR_KEYS = 256;
/** Where pairs beyond `maxPairs` (and error keys beyond `maxErrorKeys`) are counted. */
export const OVERFLOW_KEY = 'OTHER';

export interface PerformanceMonitorOptions {
  /**
   * The served p95 (ms) considered normal, for the runbook's "> 50 % slower" Level 2 rule. When unset the
   * baseline is learned: the median of the per-minute served p95s of the completed minutes in the last 24 h
   * that had at least `baselineMinCommandsPerMinute` commands, once `baselineMinMinutes` such minutes exist.
   * A median ignores a short incident; a configured value does not drift with a slow leak.
   * @default undefined (learned)
   */
  baselineP95Ms?: number;
  /**
   * Minutes of qualifying history before a learned baseline is reported. Lower reacts sooner but trusts a
   * baseline taken from a few possibly unusual minutes.
   * @default 30
   */
  baselineMinMinutes?: number;
  /**
   * Served commands a minute needs for its p95 to count toward the learned baseline (a p95 of 3 samples is noise).
   * @default 20
   */
  baselineMinCommandsPerMinute?: number;
  /**
   * Histogram layout for every series. More sub-bucket bits: finer percentiles, more memory (see LatencyHistogram).
   * @default { highestNs: 60 s, subBucketBits: 6 }
   */
  histogram?: LatencyHistogramOptions;
  /**
   * Distinct pairs tracked separately; further pairs are counted together under "OTHER" so memory stays
   * bounded whatever callers pass.
   * @default 1000
   */
  maxPairs?: number;
  /**
   * Distinct (pair, kind, code) error keys tracked (≈ 24 KB each); further keys are counted under "OTHER".
   * @default 256
   */
  maxErrorKeys?: number;
}

export interface CompiledPerformanceMonitorOptions {
  readonly baselineP95Ms: number | undefined;
  readonly baselineMinMinutes: number;
  readonly baselineMinCommandsPerMinute: number;
  readonly histogram: Readonly<Required<LatencyHistogramOptions>>;
  readonly maxPairs: number;
  readonly maxErrorKeys: number;
}

function positiveInteger(r: Record<string, unknown>, field: string, fallback: number): number {
  const v = r[field];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new ValidationError(field, `must be a positive integer, got ${String(v)}`);
  return v;
}

/** Validates once and names the bad field (ValidationError). Idempotent on its own output. */
export function compilePerformanceMonitorOptions(raw: PerformanceMonitorOptions = {}): CompiledPerformanceMonitorOptions {
  const r = raw as Record<string, unknown>;
  const known = new Set(['baselineP95Ms', 'baselineMinMinutes', 'baselineMinCommandsPerMinute', 'histogram', 'maxPairs', 'maxErrorKeys']);
  for (const key of Object.keys(r)) if (!known.has(key)) throw new ValidationError(key, 'is not a performance monitor option');
  const b = r['baselineP95Ms'];
  if (b !== undefined && (typeof b !== 'number' || !Number.isFinite(b) || b <= 0))
    throw new ValidationError('baselineP95Ms', `must be a positive number of milliseconds, got ${String(b)}`);
  const h = (r['histogram'] ?? {}) as Record<string, unknown>;
  if (typeof h !== 'object' || h === null) throw new ValidationError('histogram', 'must be an object');
  for (const key of Object.keys(h)) if (key !== 'highestNs' && key !== 'subBucketBits') throw new ValidationError(`histogram.${key}`, 'is not a histogram option');
  const histogram = Object.freeze({
    highestNs: positiveInteger(h, 'highestNs', DEFAULT_HIGHEST_NS),
    subBucketBits: positiveInteger(h, 'subBucketBits', DEFAULT_SUB_BUCKET_BITS),
  });
  try {
    new LatencyHistogram(histogram); // the histogram knows its own limits; report them under our field names
  } catch (e) {
    throw new ValidationError(`histogram.${/subBucketBits/.test(String(e)) ? 'subBucketBits' : 'highestNs'}`, (e as Error).message);
  }
  return Object.freeze({
    baselineP95Ms: b as number | undefined,
    baselineMinMinutes: positiveInteger(r, 'baselineMinMinutes', DEFAULT_BASELINE_MIN_MINUTES),
    baselineMinCommandsPerMinute: positiveInteger(r, 'baselineMinCommandsPerMinute', DEFAULT_BASELINE_MIN_COMMANDS_PER_MINUTE),
    histogram,
    maxPairs: positiveInteger(r, 'maxPairs', DEFAULT_MAX_PAIRS),
    maxErrorKeys: positiveInteger(r, 'maxErrorKeys', DEFAULT_MAX_ERROR_KEYS),
  });
}

// ---------------------------------------------------------------------------------------------------------
// Ring buffers

/**
 * A count per time slot over a fixed number of slots. A slot is stamped with its absolute slot number, so a
 * stale slot is recognised and cleared on reuse, and an idle period needs no sweeping.
 */
class CounterRing {
  private readonly stamps: Float64Array;
  private readonly values: Float64Array;

  constructor(
    private readonly slots: number,
    private readonly slotMs: number,
  ) {
    this.stamps = new Float64Array(slots).fill(-1);
    this.values = new Float64Array(slots);
  }

  /** Adds n to the slot of nowMs; returns the slot's new value. */
  add(nowMs: number, n: number): number {
    const i = this.slotFor(nowMs);
    return (this.values[i]! += n);
  }

  /** Keeps the largest value seen in the slot of nowMs. */
  raise(nowMs: number, v: number): void {
    const i = this.slotFor(nowMs);
    if (v > this.values[i]!) this.values[i] = v;
  }

  sum(nowMs: number): number {
    const cur = Math.floor(nowMs / this.slotMs);
    let total = 0;
    for (let i = 0; i < this.slots; i++) if (this.isLive(this.stamps[i]!, cur)) total += this.values[i]!;
    return total;
  }

  /** The largest live slot (earliest on a tie); value 0 and slot -1 when none. */
  peak(nowMs: number): { value: number; slot: number } {
    const cur = Math.floor(nowMs / this.slotMs);
    let value = 0;
    let slot = -1;
    for (let i = 0; i < this.slots; i++) {
      const s = this.stamps[i]!;
      const v = this.values[i]!;
      if (this.isLive(s, cur) && (v > value || (v === value && v > 0 && s < slot))) {
        value = v;
        slot = s;
      }
    }
    return { value, slot };
  }

  /** Value of one absolute slot if it is still held, else 0. */
  valueAt(slot: number): number {
    const i = slot % this.slots;
    return this.stamps[i] === slot ? this.values[i]! : 0;
  }

  private isLive(stamp: number, cur: number): boolean {
    return stamp > cur - this.slots && stamp <= cur;
  }

  private slotFor(nowMs: number): number {
    const s = Math.floor(nowMs / this.slotMs);
    const i = s % this.slots;
    if (this.stamps[i] !== s) {
      this.stamps[i] = s;
      this.values[i] = 0;
    }
    return i;
  }
}

/** A time as slot numbers (absolute second and minute) and ring positions; reused, never reallocated. */
interface SlotTime {
  ms: number;
  sec: number;
  minute: number;
  si: number;
  mi: number;
}

/** One minute of a command series, as the 24 h window keeps it. */
interface MinuteFigures {
  minute: number; // absolute minute number (epoch ms / 60 000)
  commands: number;
  errors: number;
  p95Ms: number;
}

/**
 * Commands of one (pair or all pairs) × impl × role: per-second counts and histograms for the last minute,
 * per-minute counts and percentiles for the last 24 h. A minute's percentiles are computed once, from its 60
 * second-histograms, when the first command of a later minute arrives (before any of them is overwritten);
 * until then queries compute them live.
 */
class CommandSeries {
  private readonly secStamp = new Float64Array(SECONDS_PER_MINUTE).fill(-1);
  private readonly secCommands = new Float64Array(SECONDS_PER_MINUTE);
  private readonly secErrors = new Float64Array(SECONDS_PER_MINUTE);
  private readonly secHist: (LatencyHistogram | undefined)[] = new Array<LatencyHistogram | undefined>(SECONDS_PER_MINUTE).fill(undefined);
  private readonly minStamp = new Float64Array(MINUTES_PER_DAY).fill(-1);
  private readonly minCommands = new Float64Array(MINUTES_PER_DAY);
  private readonly minErrors = new Float64Array(MINUTES_PER_DAY);
  private readonly minP95Ms = new Float64Array(MINUTES_PER_DAY);
  /** The minute whose percentiles still live only in the second slots; -1 when none. */
  private openMinute = -1;

  constructor(
    private readonly histogramOptions: Readonly<Required<LatencyHistogramOptions>>,
    /** Shared work histogram, owned by the monitor; single-threaded, so never in use twice at once. */
    private readonly scratch: LatencyHistogram,
  ) {}

  /** `at` is computed once per command by the monitor and shared by the (up to three) series it updates. */
  record(at: SlotTime, latencyNs: number, ok: boolean): void {
    const { sec, minute, si, mi } = at;
    if (minute !== this.openMinute) {
      if (this.openMinute >= 0) this.closeMinute(this.openMinute);
      this.openMinute = minute;
    }
    let h = this.secHist[si];
    if (this.secStamp[si] !== sec) {
      this.secStamp[si] = sec;
      this.secCommands[si] = 0;
      this.secErrors[si] = 0;
      h?.reset();
    }
    if (h === undefined) h = this.secHist[si] = new LatencyHistogram(this.histogramOptions); // once per slot, then reused
    this.secCommands[si]! += 1;
    if (!ok) this.secErrors[si]! += 1;
    h.record(latencyNs);
    if (this.minStamp[mi] !== minute) {
      this.minStamp[mi] = minute;
      this.minCommands[mi] = 0;
      this.minErrors[mi] = 0;
      this.minP95Ms[mi] = 0;
    }
    this.minCommands[mi]! += 1;
    if (!ok) this.minErrors[mi]! += 1;
  }

  /** Command and error counts of the last minute; also merges its histograms into `into` when given (not reset here). */
  lastMinute(nowMs: number, into?: LatencyHistogram): { commands: number; errors: number } {
    const cur = Math.floor(nowMs / SECOND_MS);
    let commands = 0;
    let errors = 0;
    for (let i = 0; i < SECONDS_PER_MINUTE; i++) {
      const s = this.secStamp[i]!;
      if (s > cur - SECONDS_PER_MINUTE && s <= cur) {
        commands += this.secCommands[i]!;
        errors += this.secErrors[i]!;
        const h = this.secHist[i];
        if (into !== undefined && h !== undefined) into.merge(h);
      }
    }
    return { commands, errors };
  }

  /** Command and error counts of the last 24 h (no percentiles computed). */
  last24h(nowMs: number): { commands: number; errors: number } {
    const cur = Math.floor(nowMs / MINUTE_MS);
    let commands = 0;
    let errors = 0;
    for (let i = 0; i < MINUTES_PER_DAY; i++) {
      const m = this.minStamp[i]!;
      if (m > cur - MINUTES_PER_DAY && m <= cur) {
        commands += this.minCommands[i]!;
        errors += this.minErrors[i]!;
      }
    }
    return { commands, errors };
  }

  /** The minutes of the last 24 h that had commands, oldest first, with their p95. */
  minutes(nowMs: number): MinuteFigures[] {
    const cur = Math.floor(nowMs / MINUTE_MS);
    const out: MinuteFigures[] = [];
    for (let i = 0; i < MINUTES_PER_DAY; i++) {
      const m = this.minStamp[i]!;
      if (m > cur - MINUTES_PER_DAY && m <= cur && this.minCommands[i]! > 0) {
        const p95Ms = m === this.openMinute ? this.openMinuteP95Ms() : this.minP95Ms[i]!;
        out.push({ minute: m, commands: this.minCommands[i]!, errors: this.minErrors[i]!, p95Ms });
      }
    }
    return out.sort((a, b) => a.minute - b.minute);
  }

  private mergeMinute(minute: number): void {
    this.scratch.reset();
    for (let i = 0; i < SECONDS_PER_MINUTE; i++) {
      const h = this.secHist[i];
      if (h !== undefined && Math.floor(this.secStamp[i]! / SECONDS_PER_MINUTE) === minute) this.scratch.merge(h);
    }
  }

  private openMinuteP95Ms(): number {
    this.mergeMinute(this.openMinute);
    return this.scratch.percentileMs(95);
  }

  private closeMinute(minute: number): void {
    const mi = minute % MINUTES_PER_DAY;
    if (this.minStamp[mi] !== minute) return;
    this.mergeMinute(minute);
    this.minP95Ms[mi] = this.scratch.percentileMs(95);
  }
}

type SeriesByImpl = Record<BookImplementation, Record<CommandRole, CommandSeries | undefined>>;

/** Orders and trades of one pair (or all pairs): per second for the last minute, per minute for 24 h. */
class FlowCounters {
  readonly ordersBySecond = new CounterRing(SECONDS_PER_MINUTE, SECOND_MS);
  readonly ordersByMinute = new CounterRing(MINUTES_PER_DAY, MINUTE_MS);
  /** Per minute, the most orders seen in any one of its seconds (peak burst, kept for 24 h). */
  readonly busiestSecondByMinute = new CounterRing(MINUTES_PER_DAY, MINUTE_MS);
  readonly tradesBySecond = new CounterRing(SECONDS_PER_MINUTE, SECOND_MS);
  readonly tradesByMinute = new CounterRing(MINUTES_PER_DAY, MINUTE_MS);

  addOrders(nowMs: number, n: number): void {
    const inSecond = this.ordersBySecond.add(nowMs, n);
    this.ordersByMinute.add(nowMs, n);
    this.busiestSecondByMinute.raise(nowMs, inSecond);
  }

  addTrades(nowMs: number, n: number): void {
    this.tradesBySecond.add(nowMs, n);
    this.tradesByMinute.add(nowMs, n);
  }
}

interface PairState {
  readonly series: SeriesByImpl;
  readonly flow: FlowCounters;
}

interface ErrorEntry {
  readonly pair: string;
  readonly kind: string;
  readonly code: string;
  readonly bySecond: CounterRing;
  readonly byMinute: CounterRing;
}

// ---------------------------------------------------------------------------------------------------------
// Snapshot shapes (the JSON contract; field names are the runbook's)

export type BaselineSource = 'configured' | 'learned' | 'none';

/** `/admin/metrics/current`: the last minute of served commands. Every number is 0 when there is no data. */
export interface CurrentFigures {
  at: string;
  window_seconds: number;
  latency_p50_ms: number;
  latency_p95_ms: number;
  latency_p99_ms: number;
  latency_max_ms: number;
  latency_mean_ms: number;
  commands: number;
  errors: number;
  /** errors / commands, 0..1. */
  error_rate: number;
  /** Orders per second over the minute. */
  throughput_per_sec: number;
  commands_per_sec: number;
  orders_last_minute: number;
  trades_last_minute: number;
  /** The p95 (ms) considered normal; 0 when `baseline_source` is 'none'. */
  baseline_p95_ms: number;
  baseline_source: BaselineSource;
  /** Samples refused as invalid (negative/NaN latency, bad counts) since start: a bug upstream if not 0. */
  invalid_samples: number;
}

export interface PairFlowFigures {
  orders: number;
  orders_per_sec: number;
  trades: number;
  commands: number;
  errors: number;
}

export interface WindowThroughput {
  window_seconds: number;
  orders: number;
  orders_per_sec: number;
  commands: number;
  commands_per_sec: number;
  trades: number;
  trades_per_sec: number;
  errors: number;
  per_pair: Record<string, PairFlowFigures>;
}

export interface PeakThroughput {
  /** Highest one-minute average of orders per second in the last 24 h. */
  orders_per_sec: number;
  /** Start of that minute (ISO), null when no orders. */
  minute: string | null;
  /** Most orders in a single second in the last 24 h (the burst a one-minute average hides). */
  busiest_second_orders: number;
}

/** `/admin/metrics/throughput`. */
export interface ThroughputFigures {
  at: string;
  last_minute: WindowThroughput;
  last_24h: WindowThroughput;
  peak_24h: PeakThroughput;
}

export interface Last24hFigures {
  orders: number;
  trades: number;
  commands: number;
  errors: number;
  error_rate: number;
  /** Mean of the per-minute served p95s over the minutes that had commands (ms). */
  avg_latency_p95_ms: number;
  max_latency_p95_ms: number;
  minutes_with_commands: number;
  peak_throughput_per_sec: number;
}

export interface PairSummary {
  orders_24h: number;
  trades_24h: number;
  commands_24h: number;
  errors_24h: number;
  error_rate_24h: number;
  /** Per implementation, mean of the per-minute served p95s (ms); 0 for an implementation that served nothing. */
  avg_latency_p95_ms: Record<BookImplementation, number>;
}

/** `/admin/metrics/summary`. */
export interface SummaryFigures {
  at: string;
  avg_latency_p95: number;
  total_orders_24h: number;
  total_trades_24h: number;
  total_commands_24h: number;
  error_rate_24h: number;
  peak_throughput_24h: number;
  baseline_p95_ms: number;
  baseline_source: BaselineSource;
  last_24h: Last24hFigures;
  last_minute: CurrentFigures;
  per_pair: Record<string, PairSummary>;
}

/** One row per (pair, impl, role) that has recorded commands: the `trading_latency_p95` gauge's source. */
export interface PairLatencyRow {
  pair: string;
  impl: BookImplementation;
  role: CommandRole;
  latency_p50_ms: number;
  latency_p95_ms: number;
  latency_p99_ms: number;
  commands: number;
  errors: number;
  error_rate: number;
}

export interface ErrorCounts {
  total: number;
  by_kind: Record<string, number>;
  by_code: Record<string, number>;
  by_pair: Record<string, number>;
}

/** `/admin/errors/summary`. */
export interface ErrorsSummary {
  at: string;
  last_minute: ErrorCounts;
  last_24h: ErrorCounts;
  /** Every (pair, kind, code) seen in the last 24 h, most frequent first. */
  entries: { pair: string; kind: string; code: string; last_minute: number; last_24h: number }[];
}

/** `/admin/reports/daily`: the fields of the runbook's generate_performance_report.sh, plus detail. */
export interface DailyReport {
  /** UTC calendar date of the report's end (the runbook's `date +%Y-%m-%d`, in UTC). */
  date: string;
  generated_at: string;
  period: { from: string; to: string };
  summary: { avg_latency_p95: number; total_orders: number; total_trades: number; error_rate: number; peak_throughput: number };
  per_pair: Record<string, PairSummary>;
  errors_24h: ErrorCounts;
}

// ---------------------------------------------------------------------------------------------------------

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function ratio(num: number, den: number): number {
  return den > 0 ? num / den : 0;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function median(sorted: readonly number[]): number {
  const n = sorted.length;
  return n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function emptySeries(): SeriesByImpl {
  return { legacy: { served: undefined, shadow: undefined }, adaptive: { served: undefined, shadow: undefined } };
}

function bump(rec: Record<string, number>, key: string, n: number): void {
  rec[key] = (rec[key] ?? 0) + n;
}

export class PerformanceMonitor {
  readonly options: CompiledPerformanceMonitorOptions;
  private readonly pairs = new Map<string, PairState>();
  /** All pairs, per impl × role. */
  private readonly totals: SeriesByImpl;
  /** All pairs, both implementations, served only: what clients experienced. */
  private readonly served: CommandSeries;
  private readonly flow = new FlowCounters();
  private readonly errors = new Map<string, ErrorEntry>();
  private readonly scratch: LatencyHistogram; // used inside series while closing minutes
  private readonly query: LatencyHistogram; // used by queries to merge a window
  private lastMs = Number.NEGATIVE_INFINITY;
  private readonly at: SlotTime = { ms: Number.NaN, sec: 0, minute: 0, si: 0, mi: 0 };
  private invalid = 0;
  private baselineCache: { minute: number; value: number | undefined } = { minute: -1, value: undefined };

  constructor(
    private readonly clock: Clock,
    options: PerformanceMonitorOptions = {},
  ) {
    this.options = compilePerformanceMonitorOptions(options);
    this.scratch = new LatencyHistogram(this.options.histogram);
    this.query = new LatencyHistogram(this.options.histogram);
    this.served = this.newSeries();
    this.totals = {
      legacy: { served: this.newSeries(), shadow: this.newSeries() },
      adaptive: { served: this.newSeries(), shadow: this.newSeries() },
    };
  }

  // ----- recording (hot path: O(1), allocation only the first time a pair or slot is used) -----

  /** One book applying one command, timed around `apply`. Shape matches `BookObserver.onBookCommand`. */
  recordCommand(pair: string, impl: BookImplementation, role: CommandRole, latencyNs: number, ok: boolean): void {
    if (!(latencyNs >= 0) || latencyNs === Number.POSITIVE_INFINITY || (impl !== 'legacy' && impl !== 'adaptive') || (role !== 'served' && role !== 'shadow')) {
      this.invalid += 1; // monitoring must never fail a command: count the bug, keep going
      return;
    }
    const at = this.slotTime(this.now());
    const byRole = this.pairState(pair).series[impl];
    const series = (byRole[role] ??= this.newSeries());
    series.record(at, latencyNs, ok);
    this.totals[impl][role]!.record(at, latencyNs, ok);
    if (role === 'served') this.served.record(at, latencyNs, ok);
  }

  /** New-order submissions accepted for `pair` (once per order, not per book). */
  recordOrders(pair: string, count = 1): void {
    if (!isCount(count)) {
      this.invalid += 1;
      return;
    }
    const now = this.now();
    this.pairState(pair).flow.addOrders(now, count);
    this.flow.addOrders(now, count);
  }

  /** Trades (fills) produced by the served book for `pair`. */
  recordTrades(pair: string, count: number): void {
    if (!isCount(count)) {
      this.invalid += 1;
      return;
    }
    const now = this.now();
    this.pairState(pair).flow.addTrades(now, count);
    this.flow.addTrades(now, count);
  }

  /** A classified error, for `/admin/errors/summary` (the rates come from `recordCommand`'s `ok`). */
  recordError(pair: string, kind: ErrorKind, code: string | number): void {
    const now = this.now();
    const codeText = String(code);
    const key = `${pair}\u0000${kind}\u0000${codeText}`;
    let e = this.errors.get(key);
    if (e === undefined) {
      if (this.errors.size >= this.options.maxErrorKeys) {
        const overflow = `${OVERFLOW_KEY}\u0000${OVERFLOW_KEY}\u0000${OVERFLOW_KEY}`;
        e = this.errors.get(overflow) ?? this.newErrorEntry(overflow, OVERFLOW_KEY, OVERFLOW_KEY, OVERFLOW_KEY);
      } else {
        e = this.newErrorEntry(key, pair, kind, codeText);
      }
    }
    e.bySecond.add(now, 1);
    e.byMinute.add(now, 1);
  }

  /** Forgets a delisted pair's rows and error entries (the all-pairs totals keep what it contributed). */
  forgetPair(pair: string): void {
    this.pairs.delete(pair);
    for (const [key, e] of this.errors) if (e.pair === pair) this.errors.delete(key);
  }

  // ----- queries (allocate their result; O(pairs × window)) -----

  /** Last minute of served commands: the figures the runbook's health check reads. */
  current(): CurrentFigures {
    const now = this.now();
    this.query.reset();
    const { commands, errors } = this.served.lastMinute(now, this.query);
    const h = this.query;
    const baseline = this.baselineAt(now);
    const orders = this.flow.ordersBySecond.sum(now);
    return {
      at: new Date(now).toISOString(),
      window_seconds: SECONDS_PER_MINUTE,
      latency_p50_ms: round6(h.percentileMs(50)),
      latency_p95_ms: round6(h.percentileMs(95)),
      latency_p99_ms: round6(h.percentileMs(99)),
      latency_max_ms: round6(h.maxNs / 1e6),
      latency_mean_ms: round6(h.meanNs / 1e6),
      commands,
      errors,
      error_rate: ratio(errors, commands),
      throughput_per_sec: orders / SECONDS_PER_MINUTE,
      commands_per_sec: commands / SECONDS_PER_MINUTE,
      orders_last_minute: orders,
      trades_last_minute: this.flow.tradesBySecond.sum(now),
      baseline_p95_ms: baseline.value,
      baseline_source: baseline.source,
      invalid_samples: this.invalid,
    };
  }

  /** Orders, commands and trades over the last minute and 24 h, and the 24 h peak. */
  throughput(): ThroughputFigures {
    const now = this.now();
    const window = (seconds: number, lastMinute: boolean): WindowThroughput => {
      const countsOf = (flow: FlowCounters, series: readonly (CommandSeries | undefined)[]) => {
        let commands = 0;
        let errors = 0;
        for (const s of series) {
          if (s === undefined) continue;
          const c = lastMinute ? s.lastMinute(now) : s.last24h(now);
          commands += c.commands;
          errors += c.errors;
        }
        const orders = lastMinute ? flow.ordersBySecond.sum(now) : flow.ordersByMinute.sum(now);
        const trades = lastMinute ? flow.tradesBySecond.sum(now) : flow.tradesByMinute.sum(now);
        return { orders, trades, commands, errors };
      };
      const per_pair: Record<string, PairFlowFigures> = {};
      for (const [pair, st] of this.sortedPairs()) {
        const c = countsOf(st.flow, [st.series.legacy.served, st.series.adaptive.served]);
        per_pair[pair] = { orders: c.orders, orders_per_sec: c.orders / seconds, trades: c.trades, commands: c.commands, errors: c.errors };
      }
      const all = countsOf(this.flow, [this.served]);
      return {
        window_seconds: seconds,
        orders: all.orders,
        orders_per_sec: all.orders / seconds,
        commands: all.commands,
        commands_per_sec: all.commands / seconds,
        trades: all.trades,
        trades_per_sec: all.trades / seconds,
        errors: all.errors,
        per_pair,
      };
    };
    return { at: new Date(now).toISOString(), last_minute: window(SECONDS_PER_MINUTE, true), last_24h: window(DAY_SECONDS, false), peak_24h: this.peakAt(now) };
  }

  /** The 24 h summary the runbook's morning checklist and daily report read. */
  summary(): SummaryFigures {
    const now = this.now();
    const minutes = this.served.minutes(now);
    const commands = minutes.reduce((a, m) => a + m.commands, 0);
    const errors = minutes.reduce((a, m) => a + m.errors, 0);
    const p95s = minutes.map((m) => m.p95Ms);
    const peak = this.peakAt(now);
    const avgP95 = round6(mean(p95s));
    const orders = this.flow.ordersByMinute.sum(now);
    const trades = this.flow.tradesByMinute.sum(now);
    const baseline = this.baselineAt(now);
    return {
      at: new Date(now).toISOString(),
      avg_latency_p95: avgP95,
      total_orders_24h: orders,
      total_trades_24h: trades,
      total_commands_24h: commands,
      error_rate_24h: ratio(errors, commands),
      peak_throughput_24h: peak.orders_per_sec,
      baseline_p95_ms: baseline.value,
      baseline_source: baseline.source,
      last_24h: {
        orders,
        trades,
        commands,
        errors,
        error_rate: ratio(errors, commands),
        avg_latency_p95_ms: avgP95,
        max_latency_p95_ms: round6(p95s.reduce((a, b) => Math.max(a, b), 0)),
        minutes_with_commands: minutes.length,
        peak_throughput_per_sec: peak.orders_per_sec,
      },
      last_minute: this.current(),
      per_pair: this.pairSummaries(now),
    };
  }

  /** Last-minute percentiles per pair × impl × role (served and shadow), sorted; for `trading_latency_p95`. */
  perPair(): PairLatencyRow[] {
    const now = this.now();
    const rows: PairLatencyRow[] = [];
    for (const [pair, st] of this.sortedPairs()) {
      for (const impl of IMPLEMENTATIONS) {
        for (const role of ROLES) {
          const s = st.series[impl][role];
          if (s === undefined) continue;
          this.query.reset();
          const { commands, errors } = s.lastMinute(now, this.query);
          rows.push({
            pair,
            impl,
            role,
            latency_p50_ms: round6(this.query.percentileMs(50)),
            latency_p95_ms: round6(this.query.percentileMs(95)),
            latency_p99_ms: round6(this.query.percentileMs(99)),
            commands,
            errors,
            error_rate: ratio(errors, commands),
          });
        }
      }
    }
    return rows;
  }

  /** Last-minute p95 (ms) of all pairs per impl × role, e.g. for an aggregate gauge. */
  perImplementation(): Record<BookImplementation, Record<CommandRole, number>> {
    const now = this.now();
    const p95 = (s: CommandSeries | undefined): number => {
      this.query.reset();
      s?.lastMinute(now, this.query);
      return round6(this.query.percentileMs(95));
    };
    return {
      legacy: { served: p95(this.totals.legacy.served), shadow: p95(this.totals.legacy.shadow) },
      adaptive: { served: p95(this.totals.adaptive.served), shadow: p95(this.totals.adaptive.shadow) },
    };
  }

  /** Errors by kind, code and pair, over the last minute and 24 h. */
  errorsSummary(): ErrorsSummary {
    const now = this.now();
    const empty = (): ErrorCounts => ({ total: 0, by_kind: {}, by_code: {}, by_pair: {} });
    const lastMinute = empty();
    const last24h = empty();
    const entries: ErrorsSummary['entries'] = [];
    for (const e of this.errors.values()) {
      const m = e.bySecond.sum(now);
      const d = e.byMinute.sum(now);
      if (d === 0 && m === 0) continue;
      for (const [counts, n] of [
        [lastMinute, m],
        [last24h, d],
      ] as const) {
        if (n === 0) continue;
        counts.total += n;
        bump(counts.by_kind, e.kind, n);
        bump(counts.by_code, e.code, n);
        bump(counts.by_pair, e.pair, n);
      }
      entries.push({ pair: e.pair, kind: e.kind, code: e.code, last_minute: m, last_24h: d });
    }
    entries.sort((a, b) => b.last_24h - a.last_24h || b.last_minute - a.last_minute || (a.pair + a.kind + a.code < b.pair + b.kind + b.code ? -1 : 1));
    return { at: new Date(now).toISOString(), last_minute: lastMinute, last_24h: last24h, entries };
  }

  /**
   * The daily performance report: `date` and `summary` as the runbook's generate_performance_report.sh writes
   * them, plus per-pair and error detail. `extra` carries what other components own (`migration_summary`,
   * `circuit_breaker_activations`); it cannot overwrite the monitor's fields.
   */
  dailyReport<E extends Record<string, unknown> = Record<never, never>>(extra?: E): Omit<E, keyof DailyReport> & DailyReport {
    const s = this.summary();
    const now = this.lastMs;
    const report: DailyReport = {
      date: new Date(now).toISOString().slice(0, 10),
      generated_at: new Date(now).toISOString(),
      period: { from: new Date((Math.floor(now / MINUTE_MS) - MINUTES_PER_DAY + 1) * MINUTE_MS).toISOString(), to: new Date(now).toISOString() },
      summary: {
        avg_latency_p95: s.avg_latency_p95,
        total_orders: s.total_orders_24h,
        total_trades: s.total_trades_24h,
        error_rate: s.error_rate_24h,
        peak_throughput: s.peak_throughput_24h,
      },
      per_pair: s.per_pair,
      errors_24h: this.errorsSummary().last_24h,
    };
    return { ...(extra ?? ({} as E)), ...report };
  }

  /** The baseline p95 in force now (configured, learned, or none → 0). */
  baseline(): { value: number; source: BaselineSource } {
    return this.baselineAt(this.now());
  }

  // ----- internals -----

  private now(): number {
    const t = this.clock.nowMs();
    if (t > this.lastMs) this.lastMs = t;
    return this.lastMs;
  }

  /** Slot numbers of `nowMs`, recomputed only when the millisecond changes (the divisions add up per command). */
  private slotTime(nowMs: number): SlotTime {
    const at = this.at;
    if (at.ms !== nowMs) {
      at.ms = nowMs;
      at.sec = Math.floor(nowMs / SECOND_MS);
      at.minute = Math.floor(nowMs / MINUTE_MS);
      at.si = at.sec % SECONDS_PER_MINUTE;
      at.mi = at.minute % MINUTES_PER_DAY;
    }
    return at;
  }

  private newSeries(): CommandSeries {
    return new CommandSeries(this.options.histogram, this.scratch);
  }

  private newErrorEntry(key: string, pair: string, kind: string, code: string): ErrorEntry {
    const e: ErrorEntry = {
      pair,
      kind,
      code,
      bySecond: new CounterRing(SECONDS_PER_MINUTE, SECOND_MS),
      byMinute: new CounterRing(MINUTES_PER_DAY, MINUTE_MS),
    };
    this.errors.set(key, e);
    return e;
  }

  private pairState(pair: string): PairState {
    let st = this.pairs.get(pair);
    if (st === undefined) {
      // Beyond the cap every new pair shares one "OTHER" entry (the cap may be exceeded by that one entry).
      const key = this.pairs.size >= this.options.maxPairs ? OVERFLOW_KEY : pair;
      st = this.pairs.get(key);
      if (st === undefined) {
        st = { series: emptySeries(), flow: new FlowCounters() };
        this.pairs.set(key, st);
      }
    }
    return st;
  }

  private sortedPairs(): [string, PairState][] {
    return [...this.pairs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  private peakAt(now: number): PeakThroughput {
    const peak = this.flow.ordersByMinute.peak(now);
    const burst = this.flow.busiestSecondByMinute.peak(now);
    return {
      orders_per_sec: peak.value / SECONDS_PER_MINUTE,
      minute: peak.slot >= 0 && peak.value > 0 ? new Date(peak.slot * MINUTE_MS).toISOString() : null,
      busiest_second_orders: burst.value,
    };
  }

  private pairSummaries(now: number): Record<string, PairSummary> {
    const out: Record<string, PairSummary> = {};
    for (const [pair, st] of this.sortedPairs()) {
      let commands = 0;
      let errors = 0;
      const avg = { legacy: 0, adaptive: 0 };
      for (const impl of IMPLEMENTATIONS) {
        const minutes = st.series[impl].served?.minutes(now) ?? [];
        for (const m of minutes) {
          commands += m.commands;
          errors += m.errors;
        }
        avg[impl] = round6(mean(minutes.map((m) => m.p95Ms)));
      }
      out[pair] = {
        orders_24h: st.flow.ordersByMinute.sum(now),
        trades_24h: st.flow.tradesByMinute.sum(now),
        commands_24h: commands,
        errors_24h: errors,
        error_rate_24h: ratio(errors, commands),
        avg_latency_p95_ms: avg,
      };
    }
    return out;
  }

  private baselineAt(now: number): { value: number; source: BaselineSource } {
    if (this.options.baselineP95Ms !== undefined) return { value: this.options.baselineP95Ms, source: 'configured' };
    // Only completed minutes count, and they no longer change, so one computation per minute suffices.
    const minute = Math.floor(now / MINUTE_MS);
    if (this.baselineCache.minute !== minute) {
      const p95s = this.served
        .minutes(now)
        .filter((m) => m.minute < minute && m.commands >= this.options.baselineMinCommandsPerMinute)
        .map((m) => m.p95Ms)
        .sort((a, b) => a - b);
      this.baselineCache = { minute, value: p95s.length >= this.options.baselineMinMinutes ? round6(median(p95s)) : undefined };
    }
    const v = this.baselineCache.value;
    return v === undefined ? { value: 0, source: 'none' } : { value: v, source: 'learned' };
  }
}
