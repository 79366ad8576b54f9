/**
 * The JSON shapes of the Performance Monitor's reports (the admin API's contract: `/admin/metrics/current|
 * throughput|summary`, `/admin/errors/summary`, `/admin/reports/daily`, and the per-pair latency rows the
 * ramp gates and gauges read). Field names are the runbook's. Types only.
 */
import type { BookImplementation } from '../core/order-book.ts';

/** Which book's result was returned to the client (`served`) or only compared (`shadow`). */
export type CommandRole = 'served' | 'shadow';

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
