/**
 * The runbook's thresholds turned into a health status and active alerts (runbook "Health Checks",
 * "Severity Levels"). `evaluateHealth` is a pure function of the
 * figures it is given; `AlertTracker` adds time: `since` stays fixed while an alert stays active, listeners
 * hear only real changes (as nice-grpc's healthState), and resolved alerts go to a bounded history.
 * No timers, no I/O: the HTTP adapter calls `evaluate` on `/health` and `/admin/alerts/active`.
 *
 * Rules (a value *equal* to its threshold is fine; only beyond it counts, as the runbook's `>` tests):
 * | check            | beyond threshold                       | status    | alert (level, severity)                    |
 * |------------------|----------------------------------------|-----------|--------------------------------------------|
 * | p95 latency      | > 20 ms                                | DEGRADED  | latency_p95_high 3 medium; 2 high when also > 1.5 × baseline |
 * | error rate       | > 0.01                                 | DEGRADED  | error_rate_high 2 high                      |
 * | memory           | > 6000 MiB                             | DEGRADED  | memory_high 2 high ("memory leak detection") |
 * | memory growth    | > 500 MiB/min in every fifth of 5 min  | (none)    | memory_growth_high 2 high ("memory leak detection") |
 * | breakers open    | ≥ 1                                    | DEGRADED  | circuit_breaker_open 2 high; 1 critical at ≥ 2 |
 * | trading halted   | halted                                 | DEGRADED  | trading_halted 1 critical                   |
 * | maintenance mode | on                                     | DEGRADED  | maintenance_mode 3 medium                   |
 * | dependency down  | any required one                       | UNHEALTHY | dependency_down 1 critical                  |
 * Why halted is DEGRADED and not UNHEALTHY: the runbook's emergency_resume.sh runs the comprehensive health
 * check (`curl -f /health`, 503 on UNHEALTHY) *while* trading is still halted, and must get through it.
 * Why the "> 50 % slower" rule only escalates an alert already over 20 ms: with microsecond baselines a 50 %
 * swing is noise nobody should be paged for; a slowdown that matters crosses the 20 ms budget first.
 */
import type { Clock } from '../ports/clock.ts';
import { ValidationError } from './errors.ts';
import type { CurrentFigures } from './monitor-reports.ts';

export type HealthStatus = 'HEALTHY' | 'DEGRADED' | 'UNHEALTHY';
export type AlertSeverity = 'critical' | 'high' | 'medium';
/** Runbook severity levels: 1 critical (15 min response), 2 high (30 min), 3 medium (2 h). */
export type AlertLevel = 1 | 2 | 3;
export type AlertName =
  | 'latency_p95_high'
  | 'error_rate_high'
  | 'memory_high'
  | 'memory_growth_high'
  | 'circuit_breaker_open'
  | 'trading_halted'
  | 'maintenance_mode'
  | 'dependency_down'
  | 'dependency_degraded';

const SEVERITY: Record<AlertLevel, AlertSeverity> = { 1: 'critical', 2: 'high', 3: 'medium' };

export interface AlertOptions {
  /**
   * p95 latency (ms) of served commands over the last minute above which the service is DEGRADED (runbook
   * health check step 5, troubleshooting "Latency P95 > 20ms").
   * @default 20
   */
  latencyP95Ms?: number;
  /**
   * A p95 over `latencyP95Ms` is Level 2 rather than 3 when it is more than this factor of the baseline
   * (runbook Level 2: "significant performance degradation (>50% slower)"). Must be >= 1.
   * @default 1.5
   */
  latencyRegressionFactor?: number;
  /** Error rate (0..1) of served commands over the last minute above which the service is DEGRADED. @default 0.01 */
  errorRate?: number;
  /** Process memory (MiB) above which the service is DEGRADED with a Level 2 memory alert. @default 6000 */
  memoryMiB?: number;
  /** Open breakers at which the breaker alert becomes Level 1 (runbook: "multiple circuit breakers open"). @default 2 */
  criticalOpenBreakers?: number;
  /**
   * Resident-memory growth (MiB per minute) that, sustained over `memoryGrowthWindowMs`, raises the Level 2
   * `memory_growth_high` alert (runbook Level 2 "Memory leak detection"). It does not change the health status:
   * the runbook degrades on memory only above `memoryMiB`. 500 MiB/min for 5 min is 2.5 GiB: from a normal
   * footprint of 1–2 GiB that reaches the 6000 MiB line within about ten minutes, so this warns before it.
   * @default 500
   */
  memoryGrowthMiBPerMinute?: number;
  /**
   * The window over which growth must be sustained: it is cut into `MEMORY_GROWTH_SLOTS` equal slots and the
   * rate must be above `memoryGrowthMiBPerMinute` in every one of them, so one spike (a snapshot load, a burst
   * of resting orders) or the garbage collector's saw-tooth does not page anyone. Integer >= 1000 ms.
   * @default 300000
   */
  memoryGrowthWindowMs?: number;
}

export const DEFAULT_LATENCY_P95_MS = 20;
export const DEFAULT_LATENCY_REGRESSION_FACTOR = 1.5;
export const DEFAULT_ERROR_RATE = 0.01;
export const DEFAULT_MEMORY_MIB = 6000;
export const DEFAULT_CRITICAL_OPEN_BREAKERS = 2;
export const DEFAULT_MEMORY_GROWTH_MIB_PER_MINUTE = 500;
export const DEFAULT_MEMORY_GROWTH_WINDOW_MS = 300_000;
/** Slots of the growth window; growth must exceed the rate in each (one minute each by default). */
export const MEMORY_GROWTH_SLOTS = 5;

export type CompiledAlertOptions = Readonly<Required<AlertOptions>>;

function numberField(r: Record<string, unknown>, field: string, fallback: number, ok: (v: number) => boolean, rule: string): number {
  const v = r[field];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new ValidationError(field, `must be ${rule}, got ${String(v)}`);
  return v;
}

/** Validates the thresholds once and names the bad field (ValidationError). Idempotent on its own output. */
export function compileAlertOptions(raw: AlertOptions = {}): CompiledAlertOptions {
  const r = raw as Record<string, unknown>;
  const known = new Set(['latencyP95Ms', 'latencyRegressionFactor', 'errorRate', 'memoryMiB', 'criticalOpenBreakers', 'memoryGrowthMiBPerMinute', 'memoryGrowthWindowMs']);
  for (const key of Object.keys(r)) if (!known.has(key)) throw new ValidationError(key, 'is not an alert option');
  return Object.freeze({
    latencyP95Ms: numberField(r, 'latencyP95Ms', DEFAULT_LATENCY_P95_MS, (v) => v > 0, 'a positive number of milliseconds'),
    latencyRegressionFactor: numberField(r, 'latencyRegressionFactor', DEFAULT_LATENCY_REGRESSION_FACTOR, (v) => v >= 1, 'a number >= 1'),
    errorRate: numberField(r, 'errorRate', DEFAULT_ERROR_RATE, (v) => v >= 0 && v < 1, 'a fraction in [0, 1)'),
    memoryMiB: numberField(r, 'memoryMiB', DEFAULT_MEMORY_MIB, (v) => v > 0, 'a positive number of MiB'),
    criticalOpenBreakers: numberField(r, 'criticalOpenBreakers', DEFAULT_CRITICAL_OPEN_BREAKERS, (v) => Number.isSafeInteger(v) && v >= 2, 'an integer >= 2'),
    memoryGrowthMiBPerMinute: numberField(r, 'memoryGrowthMiBPerMinute', DEFAULT_MEMORY_GROWTH_MIB_PER_MINUTE, (v) => v > 0, 'a positive number of MiB per minute'),
    memoryGrowthWindowMs: numberField(r, 'memoryGrowthWindowMs', DEFAULT_MEMORY_GROWTH_WINDOW_MS, (v) => Number.isSafeInteger(v) && v >= 1000, 'an integer >= 1000 (milliseconds)'),
  });
}

/** What the monitor measured: a subset of `PerformanceMonitor.current()`. */
export type HealthFigures = Pick<CurrentFigures, 'latency_p95_ms' | 'error_rate' | 'baseline_p95_ms'>;

/** What the rest of the service reports. */
export interface SystemState {
  /** Resident memory of the process in MiB (the adapter reads it; the runbook sums `kubectl top`). */
  memoryMiB: number;
  /** Pairs whose circuit breaker is open; the count is its length. */
  breakersOpen: readonly string[];
  tradingHalted: boolean;
  maintenance: boolean;
  /** Required dependencies that are down, e.g. ['postgres', 'redis']. */
  dependenciesDown: readonly string[];
  /**
   * Dependencies that are unreachable while the service carries on without them for a while (Redis:
   * validated sessions keep working from a local cache, new logins fail): DEGRADED, not UNHEALTHY.
   * @default []
   */
  dependenciesDegraded?: readonly string[];
  /**
   * Resident-memory samples, oldest first (the adapter takes one every alert tick), for the growth alert. Only
   * the last sample's time matters as "now": the rule is a function of the samples alone.
   * @default []
   */
  memorySamples?: readonly MemorySample[];
}

export interface MemorySample {
  atMs: number;
  rssMiB: number;
}

export interface MemoryGrowth {
  /** Whether the samples reach back over the whole window (else nothing can fire). */
  covered: boolean;
  /** Lowest growth rate among the window's slots, MiB/min: the rate sustained over the whole window. */
  sustainedMiBPerMinute: number;
  /** Growth over the whole window, MiB/min. */
  averageMiBPerMinute: number;
}

/**
 * Growth of resident memory over the `windowMs` ending at the last sample, cut into `slots` equal slots; the
 * RSS at a slot boundary is that of the latest sample at or before it. Pure. Not covered (all 0) until a sample
 * at or before the window's start exists.
 */
export function memoryGrowth(samples: readonly MemorySample[], windowMs: number, slots: number = MEMORY_GROWTH_SLOTS): MemoryGrowth {
  const none: MemoryGrowth = { covered: false, sustainedMiBPerMinute: 0, averageMiBPerMinute: 0 };
  if (samples.length < 2) return none;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    if (!Number.isFinite(s.atMs) || !Number.isFinite(s.rssMiB) || s.rssMiB < 0) throw new ValidationError(`memorySamples[${i}]`, `must have finite atMs and rssMiB >= 0, got ${String(s.atMs)}, ${String(s.rssMiB)}`);
    if (i > 0 && s.atMs < samples[i - 1]!.atMs) throw new ValidationError(`memorySamples[${i}]`, 'must not be older than the sample before it');
  }
  const nowMs = samples[samples.length - 1]!.atMs;
  const startMs = nowMs - windowMs;
  if (samples[0]!.atMs > startMs) return none;
  let j = 0;
  const rssAt = (t: number): number => {
    while (j + 1 < samples.length && samples[j + 1]!.atMs <= t) j++;
    return samples[j]!.rssMiB;
  };
  const slotMinutes = windowMs / slots / 60_000;
  const boundaries: number[] = [];
  for (let i = 0; i <= slots; i++) boundaries.push(rssAt(i === slots ? nowMs : startMs + (windowMs * i) / slots));
  let sustained = Infinity;
  for (let i = 0; i < slots; i++) sustained = Math.min(sustained, (boundaries[i + 1]! - boundaries[i]!) / slotMinutes);
  return { covered: true, sustainedMiBPerMinute: sustained, averageMiBPerMinute: (boundaries[slots]! - boundaries[0]!) / (windowMs / 60_000) };
}

export interface NumericCheck {
  value: number;
  threshold: number;
  ok: boolean;
}

export interface HealthChecks {
  latency_p95_ms: NumericCheck & { baseline_p95_ms: number; regression_threshold_ms: number };
  error_rate: NumericCheck;
  memory_mib: NumericCheck;
  /** value = open breakers, threshold 0. */
  breakers_open: NumericCheck & { pairs: string[] };
  trading_halted: { value: boolean; ok: boolean };
  maintenance: { value: boolean; ok: boolean };
  /** value = required dependencies down, threshold 0. */
  dependencies_down: NumericCheck & { names: string[] };
  /** value = dependencies unreachable but bridged by a fallback (DEGRADED), threshold 0. */
  dependencies_degraded: NumericCheck & { names: string[] };
}

export interface AlertDraft {
  name: AlertName;
  severity: AlertSeverity;
  level: AlertLevel;
  message: string;
  value: number | boolean;
  threshold: number | boolean;
  pairs?: string[];
  dependencies?: string[];
}

export interface Alert extends AlertDraft {
  /** When this alert became active (ISO); stable while it stays active, whatever its level does. */
  since: string;
}

export interface ResolvedAlert extends Alert {
  resolved_at: string;
}

export interface HealthEvaluation {
  status: HealthStatus;
  checks: HealthChecks;
  alerts: AlertDraft[];
}

export interface HealthReport {
  status: HealthStatus;
  at: string;
  checks: HealthChecks;
  alerts: Alert[];
}

function requireNumber(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ValidationError(field, `must be a finite number >= 0, got ${String(v)}`);
  return v;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function fmt(x: number): string {
  return String(round3(x));
}

/** Applies the runbook thresholds. Pure: same input, same output. Alerts come most severe first, then by name. */
export function evaluateHealth(figures: HealthFigures, system: SystemState, options: CompiledAlertOptions | AlertOptions = {}): HealthEvaluation {
  const o = compileAlertOptions(options);
  const p95 = requireNumber('latency_p95_ms', figures.latency_p95_ms);
  const errorRate = requireNumber('error_rate', figures.error_rate);
  const baseline = requireNumber('baseline_p95_ms', figures.baseline_p95_ms);
  const memory = requireNumber('memoryMiB', system.memoryMiB);
  const breakerPairs = [...new Set(system.breakersOpen)].sort();
  const depsDown = [...new Set(system.dependenciesDown)].sort();
  const depsDegraded = [...new Set(system.dependenciesDegraded ?? [])].sort();
  const regressionMs = baseline > 0 ? baseline * o.latencyRegressionFactor : 0;

  const checks: HealthChecks = {
    latency_p95_ms: { value: p95, threshold: o.latencyP95Ms, ok: !(p95 > o.latencyP95Ms), baseline_p95_ms: baseline, regression_threshold_ms: regressionMs },
    error_rate: { value: errorRate, threshold: o.errorRate, ok: !(errorRate > o.errorRate) },
    memory_mib: { value: memory, threshold: o.memoryMiB, ok: !(memory > o.memoryMiB) },
    breakers_open: { value: breakerPairs.length, threshold: 0, ok: breakerPairs.length === 0, pairs: breakerPairs },
    trading_halted: { value: system.tradingHalted, ok: !system.tradingHalted },
    maintenance: { value: system.maintenance, ok: !system.maintenance },
    dependencies_down: { value: depsDown.length, threshold: 0, ok: depsDown.length === 0, names: depsDown },
    dependencies_degraded: { value: depsDegraded.length, threshold: 0, ok: depsDegraded.length === 0, names: depsDegraded },
  };

  const alerts: AlertDraft[] = [];
  const add = (name: AlertName, level: AlertLevel, message: string, value: number | boolean, threshold: number | boolean, extra: Partial<AlertDraft> = {}) =>
    alerts.push({ name, severity: SEVERITY[level], level, message, value, threshold, ...extra });

  if (!checks.latency_p95_ms.ok) {
    const regressed = baseline > 0 && p95 > regressionMs;
    add(
      'latency_p95_high',
      regressed ? 2 : 3,
      regressed
        ? `p95 latency ${fmt(p95)} ms is above ${fmt(o.latencyP95Ms)} ms and ${fmt((p95 / baseline - 1) * 100)} % slower than the ${fmt(baseline)} ms baseline`
        : `p95 latency ${fmt(p95)} ms is above ${fmt(o.latencyP95Ms)} ms`,
      p95,
      o.latencyP95Ms,
    );
  }
  if (!checks.error_rate.ok) add('error_rate_high', 2, `error rate ${fmt(errorRate * 100)} % is above ${fmt(o.errorRate * 100)} %`, errorRate, o.errorRate);
  if (!checks.memory_mib.ok) add('memory_high', 2, `memory ${fmt(memory)} MiB is above ${fmt(o.memoryMiB)} MiB (possible leak)`, memory, o.memoryMiB);
  const growth = memoryGrowth(system.memorySamples ?? [], o.memoryGrowthWindowMs);
  if (growth.covered && growth.sustainedMiBPerMinute > o.memoryGrowthMiBPerMinute)
    add(
      'memory_growth_high',
      2,
      `resident memory grew at least ${fmt(growth.sustainedMiBPerMinute)} MiB/min (average ${fmt(growth.averageMiBPerMinute)}) throughout the last ${fmt(o.memoryGrowthWindowMs / 60_000)} min, above ${fmt(o.memoryGrowthMiBPerMinute)} MiB/min (possible leak)`,
      round3(growth.sustainedMiBPerMinute),
      o.memoryGrowthMiBPerMinute,
    );
  if (breakerPairs.length > 0) {
    const critical = breakerPairs.length >= o.criticalOpenBreakers;
    add(
      'circuit_breaker_open',
      critical ? 1 : 2,
      `${breakerPairs.length} circuit breaker${breakerPairs.length > 1 ? 's' : ''} open (${breakerPairs.join(', ')}): served by the legacy book`,
      breakerPairs.length,
      0,
      { pairs: breakerPairs },
    );
  }
  if (system.tradingHalted) add('trading_halted', 1, 'trading halted: new orders are refused', true, false);
  if (system.maintenance) add('maintenance_mode', 3, 'maintenance mode is enabled', true, false);
  if (depsDegraded.length > 0)
    add('dependency_degraded', 2, `dependency unreachable, service running on its fallback: ${depsDegraded.join(', ')}`, depsDegraded.length, 0, { dependencies: depsDegraded });
  if (depsDown.length > 0) add('dependency_down', 1, `required dependency down: ${depsDown.join(', ')}`, depsDown.length, 0, { dependencies: depsDown });

  alerts.sort((a, b) => a.level - b.level || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // memory_growth_high has no check: it warns, the runbook degrades on memory only above memoryMiB.
  const degraded = Object.values(checks).some((c) => !c.ok);
  const status: HealthStatus = depsDown.length > 0 ? 'UNHEALTHY' : degraded ? 'DEGRADED' : 'HEALTHY';
  return { status, checks, alerts };
}

export interface AlertTrackerOptions {
  /** Thresholds, see AlertOptions. */
  thresholds?: AlertOptions;
  /** Resolved alerts kept for `/admin/alerts/history`; the oldest are dropped first. @default 100 */
  historyLimit?: number;
}

export const DEFAULT_ALERT_HISTORY_LIMIT = 100;

/** What changed in one evaluation; only emitted when something did. */
export interface AlertChange {
  at: string;
  status: HealthStatus;
  previousStatus: HealthStatus;
  raised: Alert[];
  /** Still active, but with another level or another set of pairs/dependencies. */
  changed: Alert[];
  /** In the order they were raised. */
  resolved: ResolvedAlert[];
}

export type AlertListener = (change: AlertChange) => void;

/** Identity of an alert's state for change detection: values drift every evaluation, these do not. */
function signature(a: AlertDraft): string {
  return `${a.level}|${(a.pairs ?? []).join(',')}|${(a.dependencies ?? []).join(',')}`;
}

/**
 * Keeps alert state across evaluations: `since` is set when an alert first appears and kept until it
 * resolves; resolved alerts go to a bounded history. Listeners run after the state is updated, so one that
 * throws cannot leave the tracker half-changed (the error propagates to the caller of `evaluate`).
 */
export class AlertTracker {
  readonly thresholds: CompiledAlertOptions;
  readonly historyLimit: number;
  private readonly activeByName = new Map<AlertName, Alert>();
  private readonly resolvedHistory: ResolvedAlert[] = [];
  private readonly listeners = new Set<AlertListener>();
  private lastStatus: HealthStatus = 'HEALTHY';
  private last: HealthReport | undefined;

  constructor(
    private readonly clock: Clock,
    options: AlertTrackerOptions = {},
  ) {
    const r = options as Record<string, unknown>;
    for (const key of Object.keys(r)) if (key !== 'thresholds' && key !== 'historyLimit') throw new ValidationError(key, 'is not an alert tracker option');
    this.thresholds = compileAlertOptions(options.thresholds);
    const limit = options.historyLimit ?? DEFAULT_ALERT_HISTORY_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 0) throw new ValidationError('historyLimit', `must be an integer >= 0, got ${String(limit)}`);
    this.historyLimit = limit;
  }

  /** Evaluates the rules now, updates the active set and history, and notifies listeners on a real change. */
  evaluate(figures: HealthFigures, system: SystemState): HealthReport {
    const e = evaluateHealth(figures, system, this.thresholds);
    const at = new Date(this.clock.nowMs()).toISOString();
    const raised: Alert[] = [];
    const changed: Alert[] = [];
    const resolved: ResolvedAlert[] = [];
    const seen = new Set<AlertName>();
    for (const draft of e.alerts) {
      seen.add(draft.name);
      const prev = this.activeByName.get(draft.name);
      const alert: Alert = { ...draft, since: prev?.since ?? at };
      if (prev === undefined) raised.push(alert);
      else if (signature(prev) !== signature(draft)) changed.push(alert);
      this.activeByName.set(draft.name, alert);
    }
    for (const [name, alert] of this.activeByName) {
      if (seen.has(name)) continue;
      this.activeByName.delete(name);
      const r: ResolvedAlert = { ...alert, resolved_at: at };
      resolved.push(r);
      this.resolvedHistory.push(r);
    }
    if (this.resolvedHistory.length > this.historyLimit) this.resolvedHistory.splice(0, this.resolvedHistory.length - this.historyLimit);
    const previousStatus = this.lastStatus;
    this.lastStatus = e.status;
    const report: HealthReport = { status: e.status, at, checks: e.checks, alerts: e.alerts.map((a) => this.activeByName.get(a.name)!) };
    this.last = report;
    if (previousStatus !== e.status || raised.length > 0 || changed.length > 0 || resolved.length > 0) {
      const change: AlertChange = { at, status: e.status, previousStatus, raised, changed, resolved };
      for (const l of [...this.listeners]) l(change);
    }
    return report;
  }

  /** Active alerts as of the last evaluation, most severe first. */
  active(): Alert[] {
    return this.last?.alerts.slice() ?? [];
  }

  /** The status of the last evaluation (HEALTHY before the first). */
  status(): HealthStatus {
    return this.lastStatus;
  }

  /** The last report, if any evaluation happened. */
  lastReport(): HealthReport | undefined {
    return this.last;
  }

  /** Resolved alerts, oldest first, at most `historyLimit`. */
  history(): ResolvedAlert[] {
    return this.resolvedHistory.slice();
  }

  /** Calls `listener` on every real change; returns the unsubscribe function. */
  subscribe(listener: AlertListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
