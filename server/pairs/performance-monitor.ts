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
 *   `recordOrders` (or `recordCommand`'s `accepted`) once per submission whatever the number of books
 *   that applied it. Throughput is orders/s.
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
 * A command is written to its pair's series only; the all-pairs figures are merged from the pairs' series
 * when read (queries run per scrape or request, commands per order), and each minute's all-pairs served
 * p95 is kept when the minute closes (every series at once, from their histograms: O(pairs) per minute).
 * A delisted pair's series are folded into one per impl × role, so the totals keep what it contributed.
 *
 * This module records and answers; the ring buffers and series are monitor-series.ts, the report shapes
 * (the JSON contract) monitor-reports.ts.
 */
import type { BookImplementation } from '../core/order-book.ts';
import type { Clock } from '../ports/clock.ts';
import { ValidationError } from './errors.ts';
import { DEFAULT_HIGHEST_NS, DEFAULT_SUB_BUCKET_BITS, LatencyHistogram, type LatencyHistogramOptions } from './latency-histogram.ts';
import type {
  BaselineSource,
  CommandRole,
  CurrentFigures,
  DailyReport,
  ErrorCounts,
  ErrorsSummary,
  PairFlowFigures,
  PairLatencyRow,
  PairSummary,
  PeakThroughput,
  SummaryFigures,
  ThroughputFigures,
  WindowThroughput,
} from './monitor-reports.ts';
import {
  CommandSeries,
  CounterRing,
  DAY_SECONDS,
  FlowCounters,
  MINUTE_MS,
  MINUTES_PER_DAY,
  MinuteRing,
  SECOND_MS,
  SECONDS_PER_MINUTE,
  emptySeries,
  type CommandCounts,
  type MinuteFigures,
  type SeriesByImpl,
  type SlotTime,
} from './monitor-series.ts';

/** The error kinds (validation, not_found, conflict, dependency down, internal) plus whatever an adapter classifies further (`timeout`, `divergence`, ...). */
export type ErrorKind = 'rejection' | 'validation' | 'unavailable' | 'invariant' | (string & {});

export const IMPLEMENTATIONS: readonly BookImplementation[] = ['legacy', 'adaptive'];
export const ROLES: readonly CommandRole[] = ['served', 'shadow'];

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

function bump(rec: Record<string, number>, key: string, n: number): void {
  rec[key] = (rec[key] ?? 0) + n;
}

/** Adds `c` into `into` and returns `into`. */
function addCounts(into: CommandCounts, c: CommandCounts): CommandCounts {
  into.commands += c.commands;
  into.errors += c.errors;
  return into;
}

export class PerformanceMonitor {
  readonly options: CompiledPerformanceMonitorOptions;
  private readonly pairs = new Map<string, PairState>();
  /** Delisted pairs' commands, one series per impl × role, kept for the all-pairs figures until they age out. */
  private readonly departed: SeriesByImpl = emptySeries();
  /** All pairs' served commands (both implementations) per closed minute: what clients experienced. */
  private readonly servedMinutes = new MinuteRing();
  /** The minute commands are recorded in now; every series closes it at once when a later one begins. */
  private openMinute = -1;
  private readonly flow = new FlowCounters();
  private readonly errors = new Map<string, ErrorEntry>();
  private readonly scratch: LatencyHistogram; // used inside series while closing minutes
  private readonly closing: LatencyHistogram; // all pairs' served commands of the minute being closed
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
    this.closing = new LatencyHistogram(this.options.histogram);
    this.query = new LatencyHistogram(this.options.histogram);
  }

  // ----- recording (hot path: O(1), allocation only the first time a pair or slot is used) -----

  /**
   * One book applying one command, timed around `apply`; `accepted` counts it as an accepted new order as
   * well (as `recordOrders(pair)`). Shape matches `BookObserver.onBookCommand`. One series is written per
   * command, the pair's: the all-pairs figures are merged from the pairs' series when read. `atMs`: the
   * caller's reading of this monitor's clock when it has one (the manager reads it once per command).
   */
  recordCommand(pair: string, impl: BookImplementation, role: CommandRole, latencyNs: number, ok: boolean, accepted = false, atMs?: number): void {
    if (!(latencyNs >= 0) || latencyNs === Number.POSITIVE_INFINITY || (impl !== 'legacy' && impl !== 'adaptive') || (role !== 'served' && role !== 'shadow')) {
      this.invalid += 1; // monitoring must never fail a command: count the bug, keep going
      return;
    }
    const at = this.slotTime(this.now(atMs));
    const v = Math.floor(latencyNs);
    const st = this.pairState(pair);
    (st.series[impl][role] ??= this.newSeries()).record(at, v, this.scratch.bucketOf(v), ok);
    if (accepted) this.addOrders(st, at, 1);
  }

  /** New-order submissions accepted for `pair` (once per order, not per book). */
  recordOrders(pair: string, count = 1): void {
    if (!isCount(count)) {
      this.invalid += 1;
      return;
    }
    this.addOrders(this.pairState(pair), this.slotTime(this.now()), count);
  }

  /** Trades (fills) produced by the served book for `pair`. */
  recordTrades(pair: string, count: number): void {
    if (!isCount(count)) {
      this.invalid += 1;
      return;
    }
    const at = this.slotTime(this.now());
    this.pairState(pair).flow.addTrades(at, count);
    this.flow.addTrades(at, count);
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
    const st = this.pairs.get(pair);
    if (st !== undefined) {
      for (const impl of IMPLEMENTATIONS)
        for (const role of ROLES) {
          const s = st.series[impl][role];
          if (s !== undefined) (this.departed[impl][role] ??= this.newSeries()).absorb(s);
        }
      this.pairs.delete(pair);
    }
    for (const [key, e] of this.errors) if (e.pair === pair) this.errors.delete(key);
  }

  // ----- queries (allocate their result; O(pairs × window)) -----

  /** Last minute of served commands: the figures the runbook's health check reads. */
  current(): CurrentFigures {
    const now = this.tick();
    this.query.reset();
    const { commands, errors } = this.servedLastMinute(now, this.query);
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
    const now = this.tick();
    const window = (seconds: number, lastMinute: boolean): WindowThroughput => {
      const flowOf = (flow: FlowCounters, c: CommandCounts) => {
        const orders = lastMinute ? flow.ordersBySecond.sum(now) : flow.ordersByMinute.sum(now);
        const trades = lastMinute ? flow.tradesBySecond.sum(now) : flow.tradesByMinute.sum(now);
        return { orders, trades, commands: c.commands, errors: c.errors };
      };
      const per_pair: Record<string, PairFlowFigures> = {};
      for (const [pair, st] of this.sortedPairs()) {
        const counts = { commands: 0, errors: 0 };
        for (const s of [st.series.legacy.served, st.series.adaptive.served]) if (s !== undefined) addCounts(counts, lastMinute ? s.lastMinute(now) : s.last24h(now));
        const c = flowOf(st.flow, counts);
        per_pair[pair] = { orders: c.orders, orders_per_sec: c.orders / seconds, trades: c.trades, commands: c.commands, errors: c.errors };
      }
      const all = flowOf(this.flow, lastMinute ? this.servedLastMinute(now) : addCounts(this.servedMinutes.last24h(now), this.servedOpenMinute()));
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
    const now = this.tick();
    const minutes = this.servedDay(now);
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
    const now = this.tick();
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
    const now = this.tick();
    const p95 = (impl: BookImplementation, role: CommandRole): number => {
      this.query.reset();
      this.forEachSeries((s, i, r) => {
        if (i === impl && r === role) s.lastMinute(now, this.query);
      });
      return round6(this.query.percentileMs(95));
    };
    return {
      legacy: { served: p95('legacy', 'served'), shadow: p95('legacy', 'shadow') },
      adaptive: { served: p95('adaptive', 'served'), shadow: p95('adaptive', 'shadow') },
    };
  }

  /** Errors by kind, code and pair, over the last minute and 24 h. */
  errorsSummary(): ErrorsSummary {
    const now = this.tick();
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
    return this.baselineAt(this.tick());
  }

  // ----- internals -----

  /** The clock now (or `atMs`, a reading of it the caller already made), never before a time already used. */
  private now(atMs?: number): number {
    const t = atMs ?? this.clock.nowMs();
    if (t > this.lastMs) this.lastMs = t;
    return this.lastMs;
  }

  /** The time now for a query, with any minute that has ended closed first. */
  private tick(): number {
    const now = this.now();
    this.slotTime(now);
    return now;
  }

  /**
   * Slot numbers of `nowMs`, recomputed only when the millisecond changes (the divisions add up per command);
   * the first time of a new minute closes the previous one.
   */
  private slotTime(nowMs: number): SlotTime {
    const at = this.at;
    if (at.ms !== nowMs) {
      at.ms = nowMs;
      at.sec = Math.floor(nowMs / SECOND_MS);
      at.minute = Math.floor(nowMs / MINUTE_MS);
      at.si = at.sec % SECONDS_PER_MINUTE;
      at.mi = at.minute % MINUTES_PER_DAY;
      if (at.minute !== this.openMinute) this.closeMinute(at.minute);
    }
    return at;
  }

  /**
   * The minute recorded in has ended: every series fixes its p95 for it (its seconds are reused from now
   * on), and the all-pairs served figures of the minute are kept. Once a minute, O(pairs).
   */
  private closeMinute(next: number): void {
    const minute = this.openMinute;
    this.openMinute = next;
    if (minute < 0) return;
    this.closing.reset();
    const served = { commands: 0, errors: 0 };
    this.forEachSeries((s, _impl, role) => {
      if (role === 'served') addCounts(served, s.closeMinute(minute, this.closing));
      else s.closeMinute(minute);
    });
    if (served.commands === 0) return;
    this.servedMinutes.add(minute, served.commands, served.errors);
    this.servedMinutes.setP95Ms(minute, this.closing.percentileMs(95));
  }

  /** Every series: each pair's, then the delisted pairs'. */
  private forEachSeries(visit: (s: CommandSeries, impl: BookImplementation, role: CommandRole) => void): void {
    const each = (byImpl: SeriesByImpl) => {
      for (const impl of IMPLEMENTATIONS)
        for (const role of ROLES) {
          const s = byImpl[impl][role];
          if (s !== undefined) visit(s, impl, role);
        }
    };
    for (const st of this.pairs.values()) each(st.series);
    each(this.departed);
  }

  /** All pairs' served commands of the last minute; their histograms merged into `into` when given. */
  private servedLastMinute(now: number, into?: LatencyHistogram): CommandCounts {
    return this.sumServed((s) => s.lastMinute(now, into));
  }

  /** All pairs' served commands of the minute still open; their histograms merged into `into` when given. */
  private servedOpenMinute(into?: LatencyHistogram): CommandCounts {
    return this.sumServed((s) => s.minute(this.openMinute, into));
  }

  /** The sum of `read` over every served series. */
  private sumServed(read: (s: CommandSeries) => CommandCounts): CommandCounts {
    const counts = { commands: 0, errors: 0 };
    this.forEachSeries((s, _impl, role) => {
      if (role === 'served') addCounts(counts, read(s));
    });
    return counts;
  }

  /** All pairs' served minutes of the last 24 h with commands, oldest first: the closed ones and the open one. */
  private servedDay(now: number): MinuteFigures[] {
    const minutes = this.servedMinutes.minutes(now);
    this.query.reset();
    const open = this.servedOpenMinute(this.query);
    if (open.commands > 0) minutes.push({ minute: this.openMinute, commands: open.commands, errors: open.errors, p95Ms: this.query.percentileMs(95) });
    return minutes;
  }

  private addOrders(st: PairState, at: SlotTime, count: number): void {
    st.flow.addOrders(at, count);
    this.flow.addOrders(at, count);
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
        const minutes = st.series[impl].served?.minutes(now, this.openMinute) ?? [];
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
      const p95s = this.servedMinutes
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
