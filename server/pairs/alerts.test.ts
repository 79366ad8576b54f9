import { describe, expect, it } from 'vitest';
import { ManualClock } from '../ports/clock.ts';
import { AlertTracker, compileAlertOptions, evaluateHealth, type AlertChange, type HealthFigures, type SystemState } from './alerts.ts';
import { ValidationError } from './errors.ts';
import { PerformanceMonitor } from './performance-monitor.ts';

const calm: HealthFigures = { latency_p95_ms: 2, error_rate: 0, baseline_p95_ms: 0 };
const ok: SystemState = { memoryMiB: 1_000, breakersOpen: [], tradingHalted: false, maintenance: false, dependenciesDown: [] };

function evaluate(figures: Partial<HealthFigures> = {}, system: Partial<SystemState> = {}) {
  return evaluateHealth({ ...calm, ...figures }, { ...ok, ...system });
}

describe('evaluateHealth: runbook thresholds', () => {
  it('all within thresholds: HEALTHY, every check ok, no alerts', () => {
    const e = evaluate();
    expect(e.status).toBe('HEALTHY');
    expect(e.alerts).toEqual([]);
    expect(Object.values(e.checks).every((c) => c.ok)).toBe(true);
  });

  it('p95 of exactly 20 ms is not degraded', () => {
    const e = evaluate({ latency_p95_ms: 20 });
    expect(e.status).toBe('HEALTHY');
    expect(e.checks.latency_p95_ms).toMatchObject({ value: 20, threshold: 20, ok: true });
  });

  it('p95 of 20.1 ms is DEGRADED with a Level 3 (medium) latency alert', () => {
    const e = evaluate({ latency_p95_ms: 20.1 });
    expect(e.status).toBe('DEGRADED');
    expect(e.alerts).toEqual([expect.objectContaining({ name: 'latency_p95_high', level: 3, severity: 'medium', value: 20.1, threshold: 20 })]);
  });

  it('p95 over 20 ms and more than 50 % slower than the baseline is Level 2 (high)', () => {
    const e = evaluate({ latency_p95_ms: 20.1, baseline_p95_ms: 13.3 }); // 20.1 > 19.95
    expect(e.alerts[0]).toMatchObject({ name: 'latency_p95_high', level: 2, severity: 'high' });
    expect(e.checks.latency_p95_ms.regression_threshold_ms).toBeCloseTo(19.95, 10);
  });

  it('p95 exactly 50 % slower than the baseline stays Level 3', () => {
    expect(evaluate({ latency_p95_ms: 21, baseline_p95_ms: 14 }).alerts[0]).toMatchObject({ level: 3 });
  });

  it('without a baseline (0) the latency alert stays Level 3', () => {
    expect(evaluate({ latency_p95_ms: 500, baseline_p95_ms: 0 }).alerts[0]).toMatchObject({ level: 3 });
  });

  it('a slowdown below the 20 ms budget raises nothing, however large relative to the baseline', () => {
    expect(evaluate({ latency_p95_ms: 10, baseline_p95_ms: 0.05 }).status).toBe('HEALTHY');
  });

  it('error rate of exactly 0.01 is fine; just above is DEGRADED with a Level 2 alert', () => {
    expect(evaluate({ error_rate: 0.01 }).status).toBe('HEALTHY');
    const e = evaluate({ error_rate: 0.0101 });
    expect(e.status).toBe('DEGRADED');
    expect(e.alerts).toEqual([expect.objectContaining({ name: 'error_rate_high', level: 2, severity: 'high' })]);
  });

  it('memory of exactly 6000 MiB is fine; 6001 MiB is DEGRADED with a Level 2 memory alert', () => {
    expect(evaluate({}, { memoryMiB: 6000 }).status).toBe('HEALTHY');
    const e = evaluate({}, { memoryMiB: 6001 });
    expect(e.status).toBe('DEGRADED');
    expect(e.alerts).toEqual([expect.objectContaining({ name: 'memory_high', level: 2, severity: 'high', value: 6001, threshold: 6000 })]);
  });

  it('one open breaker is DEGRADED with a Level 2 alert naming the pair', () => {
    const e = evaluate({}, { breakersOpen: ['BTCUSDT'] });
    expect(e.status).toBe('DEGRADED');
    expect(e.alerts).toEqual([expect.objectContaining({ name: 'circuit_breaker_open', level: 2, severity: 'high', value: 1, pairs: ['BTCUSDT'] })]);
    expect(e.checks.breakers_open).toMatchObject({ value: 1, ok: false, pairs: ['BTCUSDT'] });
  });

  it('several open breakers are a Level 1 (critical) alert, still DEGRADED (the legacy book serves)', () => {
    const e = evaluate({}, { breakersOpen: ['SOLUSDT', 'BTCUSDT'] });
    expect(e.status).toBe('DEGRADED');
    expect(e.alerts).toEqual([expect.objectContaining({ name: 'circuit_breaker_open', level: 1, severity: 'critical', value: 2, pairs: ['BTCUSDT', 'SOLUSDT'] })]);
  });

  it('trading halted is DEGRADED, not UNHEALTHY, with a critical Level 1 alert (emergency_resume.sh must pass the health check)', () => {
    const e = evaluate({}, { tradingHalted: true });
    expect(e.status).toBe('DEGRADED');
    expect(e.alerts).toEqual([expect.objectContaining({ name: 'trading_halted', level: 1, severity: 'critical' })]);
  });

  it('maintenance mode is DEGRADED with a Level 3 notice', () => {
    const e = evaluate({}, { maintenance: true });
    expect(e.status).toBe('DEGRADED');
    expect(e.alerts).toEqual([expect.objectContaining({ name: 'maintenance_mode', level: 3 })]);
  });

  it('a required dependency down is UNHEALTHY with a Level 1 alert, whatever else holds', () => {
    const e = evaluate({ latency_p95_ms: 30 }, { dependenciesDown: ['postgres'], tradingHalted: true });
    expect(e.status).toBe('UNHEALTHY');
    expect(e.alerts.map((a) => [a.name, a.level])).toEqual([
      ['dependency_down', 1],
      ['trading_halted', 1],
      ['latency_p95_high', 3],
    ]);
    expect(e.alerts[0]!.dependencies).toEqual(['postgres']);
  });

  it('a dependency bridged by a fallback (Redis down, sessions cached) is DEGRADED with a Level 2 alert, not UNHEALTHY', () => {
    const e = evaluate({}, { dependenciesDegraded: ['redis'] });
    expect(e.status).toBe('DEGRADED');
    expect(e.checks.dependencies_degraded).toEqual({ value: 1, threshold: 0, ok: false, names: ['redis'] });
    expect(e.alerts).toEqual([expect.objectContaining({ name: 'dependency_degraded', level: 2, severity: 'high', dependencies: ['redis'] })]);
  });

  it('thresholds come from options', () => {
    const e = evaluateHealth({ ...calm, latency_p95_ms: 6 }, ok, { latencyP95Ms: 5 });
    expect(e.status).toBe('DEGRADED');
  });

  it('a missing or non-finite figure is refused naming it', () => {
    expect(() => evaluate({ latency_p95_ms: Number.NaN })).toThrow(ValidationError);
    expect(() => evaluate({}, { memoryMiB: -1 })).toThrow(/memoryMiB/);
  });

  it("the monitor's figures feed it: 20 ms exactly is HEALTHY, 20.1 ms DEGRADED", () => {
    for (const [ms, status] of [
      [20, 'HEALTHY'],
      [20.1, 'DEGRADED'],
    ] as const) {
      const m = new PerformanceMonitor(new ManualClock());
      for (let i = 0; i < 100; i++) m.recordCommand('BTCUSDT', 'legacy', 'served', ms * 1_000_000, true);
      expect(evaluateHealth(m.current(), ok).status).toBe(status);
    }
  });
});

describe('compileAlertOptions', () => {
  it('fills the runbook defaults', () => {
    expect(compileAlertOptions()).toEqual({ latencyP95Ms: 20, latencyRegressionFactor: 1.5, errorRate: 0.01, memoryMiB: 6000, criticalOpenBreakers: 2 });
  });

  it('names the bad field', () => {
    const field = (o: object) => {
      try {
        compileAlertOptions(o);
      } catch (e) {
        return (e as ValidationError).field;
      }
      return 'accepted';
    };
    expect(field({ latencyP95Ms: 0 })).toBe('latencyP95Ms');
    expect(field({ latencyRegressionFactor: 0.5 })).toBe('latencyRegressionFactor');
    expect(field({ errorRate: 1 })).toBe('errorRate');
    expect(field({ memoryMiB: Number.NaN })).toBe('memoryMiB');
    expect(field({ criticalOpenBreakers: 1 })).toBe('criticalOpenBreakers');
    expect(field({ latencyP95: 20 })).toBe('latencyP95');
  });
});

describe('AlertTracker', () => {
  it('keeps since stable across evaluations while an alert stays active, even when its level changes', () => {
    const clock = new ManualClock();
    const t = new AlertTracker(clock);
    const first = t.evaluate({ ...calm, latency_p95_ms: 25 }, ok);
    const since = first.alerts[0]!.since;
    expect(since).toBe(new Date(clock.nowMs()).toISOString());
    clock.advanceMs(30_000);
    expect(t.evaluate({ ...calm, latency_p95_ms: 27 }, ok).alerts[0]!.since).toBe(since);
    clock.advanceMs(30_000);
    const escalated = t.evaluate({ latency_p95_ms: 40, error_rate: 0, baseline_p95_ms: 10 }, ok).alerts[0]!;
    expect(escalated).toMatchObject({ level: 2, since });
  });

  it('a resolved alert goes to history with resolved_at; raised again, it gets a new since', () => {
    const clock = new ManualClock();
    const t = new AlertTracker(clock);
    t.evaluate(calm, { ...ok, breakersOpen: ['BTCUSDT'] });
    const since1 = t.active()[0]!.since;
    clock.advanceMs(60_000);
    const healthy = t.evaluate(calm, ok);
    expect(healthy.status).toBe('HEALTHY');
    expect(t.active()).toEqual([]);
    expect(t.history()).toEqual([expect.objectContaining({ name: 'circuit_breaker_open', since: since1, resolved_at: new Date(clock.nowMs()).toISOString() })]);
    clock.advanceMs(60_000);
    t.evaluate(calm, { ...ok, breakersOpen: ['BTCUSDT'] });
    expect(t.active()[0]!.since).not.toBe(since1);
  });

  it('listeners hear only real changes: raise, level or pairs change, resolve, status change — not drifting values', () => {
    const clock = new ManualClock();
    const t = new AlertTracker(clock);
    const changes: AlertChange[] = [];
    const unsubscribe = t.subscribe((c) => changes.push(c));
    t.evaluate(calm, ok); // HEALTHY → HEALTHY: nothing
    t.evaluate({ ...calm, latency_p95_ms: 25 }, ok); // raised
    t.evaluate({ ...calm, latency_p95_ms: 26 }, ok); // value drift: nothing
    t.evaluate({ ...calm, latency_p95_ms: 26 }, { ...ok, breakersOpen: ['BTCUSDT'] }); // raised
    t.evaluate({ ...calm, latency_p95_ms: 26 }, { ...ok, breakersOpen: ['BTCUSDT', 'ETHUSDT'] }); // level 2 → 1
    t.evaluate(calm, ok); // both resolved
    expect(changes.map((c) => [c.previousStatus, c.status, c.raised.map((a) => a.name), c.changed.map((a) => a.level), c.resolved.map((a) => a.name)])).toEqual([
      ['HEALTHY', 'DEGRADED', ['latency_p95_high'], [], []],
      ['DEGRADED', 'DEGRADED', ['circuit_breaker_open'], [], []],
      ['DEGRADED', 'DEGRADED', [], [1], []],
      ['DEGRADED', 'HEALTHY', [], [], ['latency_p95_high', 'circuit_breaker_open']], // resolved in the order raised
    ]);
    unsubscribe();
    t.evaluate({ ...calm, latency_p95_ms: 25 }, ok);
    expect(changes).toHaveLength(4);
  });

  it('history is bounded, oldest dropped first', () => {
    const t = new AlertTracker(new ManualClock(), { historyLimit: 2 });
    for (const memoryMiB of [7000, 1000, 7000, 1000, 7000, 1000]) t.evaluate(calm, { ...ok, memoryMiB });
    expect(t.history()).toHaveLength(2);
  });

  it('halted then resumed: critical while halted, status back to HEALTHY after', () => {
    const t = new AlertTracker(new ManualClock());
    expect(t.evaluate(calm, { ...ok, tradingHalted: true })).toMatchObject({ status: 'DEGRADED', alerts: [{ name: 'trading_halted', severity: 'critical' }] });
    expect(t.evaluate(calm, ok).status).toBe('HEALTHY');
    expect(t.status()).toBe('HEALTHY');
  });

  it('refuses a bad option naming it', () => {
    expect(() => new AlertTracker(new ManualClock(), { historyLimit: -1 })).toThrow(/historyLimit/);
    expect(() => new AlertTracker(new ManualClock(), { thresholds: { errorRate: 2 } })).toThrow(/errorRate/);
  });
});
