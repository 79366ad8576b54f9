/**
 * Prometheus metrics (prom-client, our own Registry). Counters and the duration histogram are
 * recorded by the service's observers; gauges are computed at scrape time from the Performance Monitor,
 * the breakers and the migration controller, so nothing is kept twice.
 *
 * The per-command path (one duration observation per book per command, one count per accepted order) does
 * not go through prom-client: its `observe`/`inc` hash the label object on every call (≈ 6 % of server
 * CPU in bench:grpc). Counts are kept in plain per-series slots, found through a per-pair array, and
 * handed to prom-client at scrape time: the histogram is a registry metric of our own that renders the
 * same series prom-client's Histogram would, and the counters fold their pending counts in `collect()`. Runbook names are verbatim:
 * `trading_orders_total`, `trading_latency_p95`. Units are base units (seconds), as Prometheus expects:
 * `trading_latency_p95` is in SECONDS although the JSON endpoints say `latency_p95_ms`.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { BookImplementation } from '../../core/order-book.ts';
import type { CircuitBreakers } from '../../pairs/circuit-breaker.ts';
import type { MigrationController } from '../../pairs/migration-controller.ts';
import type { CommandRole } from '../../pairs/monitor-reports.ts';
import type { PerformanceMonitor } from '../../pairs/performance-monitor.ts';
import type { EventLoopMonitor } from './event-loop-monitor.ts';
import type { TradingGate } from '../../pairs/trading-gate.ts';

/** Buckets of `trading_command_duration_seconds`: 10 µs .. 1 s, with 0.02 (the runbook's 20 ms budget) as an edge. */
export const COMMAND_DURATION_BUCKETS_SECONDS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];

export interface TradingMetricsSources {
  /** Every pair symbol at start: each pair × implementation (× role) series exists from start at 0 (later pairs: addPair). */
  pairs: readonly string[];
  /**
   * The dependencies health checks look at, each up or not (`trading_dependency_up`); `required` ones
   * down make the service UNHEALTHY, the others DEGRADED. @default none
   */
  dependencies?: () => readonly { name: string; up: boolean; required: boolean }[];
  monitor: PerformanceMonitor;
  breakers: CircuitBreakers;
  migration: MigrationController;
  eventLoop: EventLoopMonitor;
  gate: TradingGate;
  /**
   * Resident-memory growth over the last minute, bytes per second (`trading_memory_growth_bytes_per_second`,
   * the runbook's "Monitor memory growth rate"). @default always 0
   */
  memoryGrowthBytesPerSecond?: () => number;
}

/** One (pair, implementation, role) series of the duration histogram: per-bucket (not cumulative) counts. */
interface DurationSeries {
  readonly labels: { pair: string; implementation: BookImplementation; role: CommandRole };
  /** counts[i]: observations in (bound[i-1], bound[i]]; the last slot is above the highest bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

const IMPL_INDEX: Record<BookImplementation, number> = { legacy: 0, adaptive: 1 };
const IMPLEMENTATIONS: readonly BookImplementation[] = ['legacy', 'adaptive'];
const ROLES: readonly CommandRole[] = ['served', 'shadow'];
/** `trading_errors_total` kinds: a book threw, a breaker tripped. */
export const ERROR_KINDS = ['book_error', 'breaker_trip'] as const;
const ROLE_INDEX: Record<CommandRole, number> = { served: 0, shadow: 1 };

/**
 * `trading_command_duration_seconds` as a registry metric of our own (prom-client's Metric shape: name,
 * help, type, aggregator, get()). Rendered exactly like a prom-client Histogram with the same buckets:
 * cumulative `_bucket{le}` series, `+Inf`, `_sum` (the same float additions), `_count`.
 */
class CommandDurationHistogram {
  readonly name = 'trading_command_duration_seconds';
  readonly help = 'Time one book took to apply one command, in seconds (served and shadow).';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds = COMMAND_DURATION_BUCKETS_SECONDS;
  /** pair → [legacy/served, legacy/shadow, adaptive/served, adaptive/shadow]. */
  private readonly byPair = new Map<string, (DurationSeries | undefined)[]>();
  /** Series in creation order (the order prom-client would print them). */
  private readonly series: DurationSeries[] = [];

  /** The series of (pair, implementation, role), created at 0 on first use (or up front, to exist from start). */
  ensure(pair: string, implementation: BookImplementation, role: CommandRole): DurationSeries {
    let slots = this.byPair.get(pair);
    if (slots === undefined) this.byPair.set(pair, (slots = [undefined, undefined, undefined, undefined]));
    const i = IMPL_INDEX[implementation] * 2 + ROLE_INDEX[role];
    let s = slots[i];
    if (s === undefined) {
      s = { labels: { pair, implementation, role }, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      slots[i] = s;
      this.series.push(s);
    }
    return s;
  }

  /** Drops every series of a pair (delisted). */
  remove(pair: string): void {
    const slots = this.byPair.get(pair);
    if (slots === undefined) return;
    this.byPair.delete(pair);
    for (let i = this.series.length - 1; i >= 0; i--) if (this.series[i]!.labels.pair === pair) this.series.splice(i, 1);
  }

  observe(pair: string, implementation: BookImplementation, role: CommandRole, seconds: number): void {
    const slots = this.byPair.get(pair);
    const s = slots?.[IMPL_INDEX[implementation] * 2 + ROLE_INDEX[role]] ?? this.ensure(pair, implementation, role);
    const bounds = this.bounds;
    let b = 0;
    while (b < bounds.length && !(seconds <= bounds[b]!)) b++;
    s.counts[b]! += 1;
    s.sum += seconds;
    s.count += 1;
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: { labels: Record<string, string | number>; value: number; metricName: string }[] }> {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series) {
      let acc = 0;
      for (let b = 0; b < this.bounds.length; b++) {
        acc += s.counts[b]!;
        values.push({ labels: { le: this.bounds[b]!, ...s.labels }, value: acc, metricName: bucket });
      }
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: bucket });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    this.byPair.clear();
    this.series.length = 0;
  }
}

/** Per-pair counts not yet handed to a prom-client Counter (folded in at scrape time). */
interface PendingCounts {
  orders: [legacy: number, adaptive: number];
  trades: number;
}

export class TradingMetrics {
  readonly registry = new Registry();
  private readonly errors: Counter<'pair' | 'kind'>;
  private readonly failures: Counter<'pair' | 'implementation' | 'role'>;
  private readonly duration = new CommandDurationHistogram();
  private readonly pending = new Map<string, PendingCounts>();
  private readonly ordersTotal: Counter<'pair' | 'implementation'>;
  private readonly tradesTotal: Counter<'pair'>;
  private readonly latencyP95: Gauge<'pair' | 'implementation' | 'role'>;
  private readonly breakerOpen: Gauge<'pair'>;
  /** The pairs whose series exist (created at 0 by addPair, dropped by removePair). */
  private readonly pairs = new Set<string>();

  constructor(sources: TradingMetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // prom-client names these gauges `_total`, which Prometheus reserves for counters (`promtool check
    // metrics` flags them); prom-client's `nodejs_active_resources{type}` says the same without the suffix.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    const pairs = this.pairs;
    const pending = this.pending;
    this.ordersTotal = new Counter({
      name: 'trading_orders_total',
      help: 'New orders accepted, by pair and the implementation whose result was served.',
      labelNames: ['pair', 'implementation'],
      registers,
      collect() {
        for (const [pair, p] of pending) {
          if (p.orders[0] > 0) this.inc({ pair, implementation: 'legacy' }, p.orders[0]);
          if (p.orders[1] > 0) this.inc({ pair, implementation: 'adaptive' }, p.orders[1]);
          p.orders[0] = p.orders[1] = 0;
        }
      },
    });
    this.tradesTotal = new Counter({
      name: 'trading_trades_total',
      help: 'Trades (fills) reported by the served book.',
      labelNames: ['pair'],
      registers,
      collect() {
        for (const [pair, p] of pending) {
          if (p.trades > 0) this.inc({ pair }, p.trades);
          p.trades = 0;
        }
      },
    });
    this.errors = new Counter({ name: 'trading_errors_total', help: 'Failed book commands and breaker trips, by pair and kind.', labelNames: ['pair', 'kind'], registers });
    this.failures = new Counter({
      name: 'trading_command_failures_total',
      help: 'Book commands that threw, by pair, implementation and role (served failures over served commands is the error rate health checks use).',
      labelNames: ['pair', 'implementation', 'role'],
      registers,
    });
    this.registry.registerMetric(this.duration as unknown as Metric);
    this.latencyP95 = new Gauge({
      name: 'trading_latency_p95',
      help: 'p95 of book command latency over the last minute, in SECONDS (base unit), per pair x implementation x role; from the Performance Monitor.',
      labelNames: ['pair', 'implementation', 'role'],
      registers,
      collect() {
        this.reset();
        for (const pair of pairs) for (const implementation of IMPLEMENTATIONS) for (const role of ROLES) this.set({ pair, implementation, role }, 0);
        for (const row of sources.monitor.perPair()) if (pairs.has(row.pair)) this.set({ pair: row.pair, implementation: row.impl, role: row.role }, row.latency_p95_ms / 1000);
      },
    });
    for (const pair of sources.pairs) this.addPair(pair);
    new Gauge({
      name: 'trading_latency_baseline_p95_seconds',
      help: 'The served p95 considered normal (learned median of per-minute p95s, or configured), in seconds; 0 while none is known. Health escalates a p95 above 20 ms to Level 2 beyond 1.5x this.',
      registers,
      collect() {
        this.set(sources.monitor.current().baseline_p95_ms / 1000);
      },
    });
    new Gauge({
      name: 'trading_dependency_up',
      help: 'Per dependency health checks look at: 1 up, 0 down; required=true ones down make /health UNHEALTHY, the others DEGRADED.',
      labelNames: ['dependency', 'required'],
      registers,
      collect() {
        this.reset();
        for (const d of sources.dependencies?.() ?? []) this.set({ dependency: d.name, required: String(d.required) }, d.up ? 1 : 0);
      },
    });
    this.breakerOpen = new Gauge({
      name: 'trading_circuit_breaker_open',
      help: '1 while the pair\'s circuit breaker is open (served by the legacy book alone), else 0.',
      labelNames: ['pair'],
      registers,
      collect() {
        for (const s of sources.breakers.status()) this.set({ pair: s.pair }, s.open ? 1 : 0);
      },
    });
    new Gauge({
      name: 'trading_migration_percentage',
      help: 'Share (0-100) of the pair\'s commands whose adaptive-book result is served.',
      labelNames: ['pair', 'state'],
      registers,
      collect() {
        this.reset();
        for (const s of sources.migration.status()) this.set({ pair: s.pair, state: s.state }, s.current_percentage);
      },
    });
    new Gauge({
      name: 'trading_pair_halted',
      help: '1 while the pair alone is halted by an operator (POST /admin/instruments/PAIR/halt), else 0.',
      labelNames: ['pair'],
      registers,
      collect() {
        this.reset();
        for (const pair of pairs) this.set({ pair }, sources.gate.pairHalt(pair).on ? 1 : 0);
      },
    });
    new Gauge({
      name: 'trading_halted',
      help: '1 while new orders are refused (operator halt or maintenance), by mode.',
      labelNames: ['mode'],
      registers,
      collect() {
        this.set({ mode: 'halt' }, sources.gate.isHalted ? 1 : 0);
        this.set({ mode: 'maintenance' }, sources.gate.isInMaintenance ? 1 : 0);
      },
    });
    new Gauge({
      name: 'trading_event_loop_delay_seconds',
      help: 'Event-loop delay over the last sampling window, in seconds, by statistic (p50, p99, max). Not a summary: hence `stat`, not `quantile`.',
      labelNames: ['stat'],
      registers,
      collect() {
        const w = sources.eventLoop.latest();
        this.set({ stat: 'p50' }, w.delay_p50_ms / 1000);
        this.set({ stat: 'p99' }, w.delay_p99_ms / 1000);
        this.set({ stat: 'max' }, w.delay_max_ms / 1000);
      },
    });
    new Gauge({
      name: 'trading_memory_growth_bytes_per_second',
      help: 'Growth of resident memory over the last minute of samples, bytes per second (negative when it shrinks); sustained above 500 MiB/min it raises memory_growth_high (Level 2, memory leak detection).',
      registers,
      collect() {
        this.set(sources.memoryGrowthBytesPerSecond?.() ?? 0);
      },
    });
    new Gauge({
      name: 'trading_event_loop_utilization_ratio',
      help: 'Share (0-1) of the last sampling window the event loop spent busy.',
      registers,
      collect() {
        this.set(sources.eventLoop.latest().utilization);
      },
    });
  }

  /**
   * Creates every series of a pair at 0 (Prometheus instrumentation guide: series with known labels exist
   * from the start), so rate() and the runbook's `curl /metrics | grep` find them on a fresh pair.
   */
  addPair(pair: string): void {
    if (this.pairs.has(pair)) return;
    this.pairs.add(pair);
    this.pendingOf(pair);
    this.tradesTotal.inc({ pair }, 0);
    for (const kind of ERROR_KINDS) this.errors.inc({ pair, kind }, 0);
    for (const implementation of IMPLEMENTATIONS) {
      this.ordersTotal.inc({ pair, implementation }, 0);
      for (const role of ROLES) {
        this.failures.inc({ pair, implementation, role }, 0);
        this.duration.ensure(pair, implementation, role);
      }
    }
  }

  /** Removes every series of a delisted pair (nothing of it stays in /metrics). */
  removePair(pair: string): void {
    if (!this.pairs.delete(pair)) return;
    this.pending.delete(pair);
    this.tradesTotal.remove({ pair });
    this.breakerOpen.remove({ pair });
    for (const kind of ERROR_KINDS) this.errors.remove({ pair, kind });
    for (const implementation of IMPLEMENTATIONS) {
      this.ordersTotal.remove({ pair, implementation });
      for (const role of ROLES) {
        this.failures.remove({ pair, implementation, role });
        this.latencyP95.remove({ pair, implementation, role });
      }
    }
    this.duration.remove(pair);
  }

  /** One book applying one command (the manager's observer). No allocation, no label hashing. */
  observeCommand(pair: string, implementation: BookImplementation, role: CommandRole, latencyNs: number): void {
    this.duration.observe(pair, implementation, role, latencyNs / 1e9);
  }

  orderAccepted(pair: string, implementation: BookImplementation): void {
    this.pendingOf(pair).orders[IMPL_INDEX[implementation]] += 1;
  }

  tradesReported(pair: string, count: number): void {
    this.pendingOf(pair).trades += count;
  }

  private pendingOf(pair: string): PendingCounts {
    let p = this.pending.get(pair);
    if (p === undefined) this.pending.set(pair, (p = { orders: [0, 0], trades: 0 }));
    return p;
  }

  error(pair: string, kind: string): void {
    this.errors.labels(pair, kind).inc();
  }

  /** A book threw on a command (rare: prom-client's label lookup is fine here). */
  commandFailed(pair: string, implementation: BookImplementation, role: CommandRole): void {
    this.failures.labels(pair, implementation, role).inc();
    this.errors.labels(pair, 'book_error').inc();
  }

  contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
