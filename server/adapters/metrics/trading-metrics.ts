/**
 * Prometheus metrics (prom-client, our own Registry; STYLE.md §9). Counters and the duration histogram are
 * recorded by the service's observers; gauges are computed at scrape time from the Performance Monitor,
 * the breakers and the migration controller, so nothing is kept twice. Runbook names are verbatim:
 * `trading_orders_total`, `trading_latency_p95`. Units are base units (seconds), as Prometheus expects:
 * `trading_latency_p95` is in SECONDS although the JSON endpoints say `latency_p95_ms`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BookImplementation } from '../../core/order-book.ts';
import type { CircuitBreakers } from '../../pairs/circuit-breaker.ts';
import type { MigrationController } from '../../pairs/migration-controller.ts';
import type { CommandRole, PerformanceMonitor } from '../../pairs/performance-monitor.ts';
import type { EventLoopMonitor } from './event-loop-monitor.ts';
import type { TradingGate } from '../trading-gate.ts';

/** Buckets of `trading_command_duration_seconds`: 10 µs .. 1 s, with 0.02 (the runbook's 20 ms budget) as an edge. */
export const COMMAND_DURATION_BUCKETS_SECONDS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];

export interface TradingMetricsSources {
  monitor: PerformanceMonitor;
  breakers: CircuitBreakers;
  migration: MigrationController;
  eventLoop: EventLoopMonitor;
  gate: TradingGate;
}

type Child<T> = T extends Counter<string> ? ReturnType<T['labels']> : never;

export class TradingMetrics {
  readonly registry = new Registry();
  private readonly orders: Counter<'pair' | 'implementation'>;
  private readonly trades: Counter<'pair'>;
  private readonly errors: Counter<'pair' | 'kind'>;
  private readonly duration: Histogram<'pair' | 'implementation' | 'role'>;
  // Label lookups hash strings; the hot path reuses children.
  private readonly orderChildren = new Map<string, Child<Counter<'pair' | 'implementation'>>>();
  private readonly durationChildren = new Map<string, ReturnType<Histogram<'pair' | 'implementation' | 'role'>['labels']>>();

  constructor(sources: TradingMetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.orders = new Counter({ name: 'trading_orders_total', help: 'New orders accepted, by pair and the implementation whose result was served.', labelNames: ['pair', 'implementation'], registers });
    this.trades = new Counter({ name: 'trading_trades_total', help: 'Trades (fills) reported by the served book.', labelNames: ['pair'], registers });
    this.errors = new Counter({ name: 'trading_errors_total', help: 'Failed book commands and breaker trips, by pair and kind.', labelNames: ['pair', 'kind'], registers });
    this.duration = new Histogram({
      name: 'trading_command_duration_seconds',
      help: 'Time one book took to apply one command, in seconds (served and shadow).',
      labelNames: ['pair', 'implementation', 'role'],
      buckets: COMMAND_DURATION_BUCKETS_SECONDS,
      registers,
    });
    new Gauge({
      name: 'trading_latency_p95',
      help: 'p95 of book command latency over the last minute, in SECONDS (base unit), per pair x implementation x role; from the Performance Monitor.',
      labelNames: ['pair', 'implementation', 'role'],
      registers,
      collect() {
        this.reset();
        for (const row of sources.monitor.perPair()) this.set({ pair: row.pair, implementation: row.impl, role: row.role }, row.latency_p95_ms / 1000);
      },
    });
    new Gauge({
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
      help: 'Event-loop delay over the last sampling window, in seconds, by quantile (0.5, 0.99) and max.',
      labelNames: ['quantile'],
      registers,
      collect() {
        const w = sources.eventLoop.latest();
        this.set({ quantile: '0.5' }, w.delay_p50_ms / 1000);
        this.set({ quantile: '0.99' }, w.delay_p99_ms / 1000);
        this.set({ quantile: 'max' }, w.delay_max_ms / 1000);
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

  /** One book applying one command (the manager's observer). */
  observeCommand(pair: string, implementation: BookImplementation, role: CommandRole, latencyNs: number): void {
    const key = `${pair}|${implementation}|${role}`;
    let child = this.durationChildren.get(key);
    if (child === undefined) this.durationChildren.set(key, (child = this.duration.labels(pair, implementation, role)));
    child.observe(latencyNs / 1e9);
  }

  orderAccepted(pair: string, implementation: string): void {
    const key = `${pair}|${implementation}`;
    let child = this.orderChildren.get(key);
    if (child === undefined) this.orderChildren.set(key, (child = this.orders.labels(pair, implementation)));
    child.inc();
  }

  tradesReported(pair: string, count: number): void {
    this.trades.labels(pair).inc(count);
  }

  error(pair: string, kind: string): void {
    this.errors.labels(pair, kind).inc();
  }

  contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
