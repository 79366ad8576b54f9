import { describe, expect, it } from 'vitest';
import { ManualClock } from '../ports/clock.ts';
import { AlertTracker, compileAlertOptions, evaluateHealth, memoryGrowth, type AlertChange, type HealthFigures, type SystemState } from './alerts.ts';
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
    expect(compileAlertOptions()).toEqual({ latencyP95Ms: 20, latencyRegressionFactor: 1.5, errorRate: 0.01, memoryMiB: 6000, memoryGrowthMiBPerMinute: 500, memoryGrowthWindowMs: 300_000, criticalOpenBreakers: 2 });
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

describe('memory_growth_high: sustained RSS growth (runbook Level 2 "Memory leak detection")', () => {
  const TICK_MS = 5_000;
  /** Feeds one RSS sample per tick from `rssAt(elapsedMs)` into a tracker driven by the injected clock. */
  function drive(rssAt: (elapsedMs: number) => number, durationMs: number, options: { thresholds?: Record<string, number> } = {}) {
    const clock = new ManualClock();
    const t = new AlertTracker(clock, options);
    const start = clock.nowMs();
    const samples: { atMs: number; rssMiB: number }[] = [];
    const reports = [];
    for (let elapsed = 0; elapsed <= durationMs; elapsed += TICK_MS) {
      samples.push({ atMs: clock.nowMs(), rssMiB: rssAt(elapsed) });
      reports.push({ elapsed, report: t.evaluate(calm, { ...ok, memorySamples: samples.slice() }) });
      clock.advanceMs(TICK_MS);
    }
    return { t, clock, start, reports, samples };
  }
  const growthAlert = (r: { alerts: { name: string }[] }) => r.alerts.find((a) => a.name === 'memory_growth_high');

  it('fires at Level 2 (high) once growth above 500 MiB/min has lasted the whole 5 min window, without degrading /health', () => {
    const { reports } = drive((ms) => 1_000 + (600 * ms) / 60_000, 400_000); // 600 MiB/min, stays below 6000 MiB
    const firstFiring = reports.find((r) => growthAlert(r.report) !== undefined)!;
    expect(firstFiring.elapsed).toBe(300_000); // not before the window is covered
    expect(reports.filter((r) => r.elapsed < 300_000).every((r) => growthAlert(r.report) === undefined)).toBe(true);
    const a = growthAlert(firstFiring.report)!;
    expect(a).toMatchObject({ name: 'memory_growth_high', level: 2, severity: 'high', threshold: 500 });
    expect(a).toMatchObject({ value: 600 });
    expect(firstFiring.report.status).toBe('HEALTHY');
    expect(firstFiring.report.alerts.map((x) => x.name)).toEqual(['memory_growth_high']);
  });

  it('stays silent on slow growth just under the rate (490 MiB/min for 10 min)', () => {
    const { reports } = drive((ms) => 1_000 + (490 * ms) / 60_000, 600_000);
    expect(reports.every((r) => growthAlert(r.report) === undefined)).toBe(true);
  });

  it('stays silent on a single spike, however large (3000 MiB at once, then flat)', () => {
    const { reports } = drive((ms) => (ms >= 120_000 ? 4_000 : 1_000), 600_000);
    expect(reports.every((r) => growthAlert(r.report) === undefined)).toBe(true);
  });

  it('stays silent when fast growth fills only part of the window (4 of 5 minutes at 1000 MiB/min)', () => {
    const { reports } = drive((ms) => 1_000 + (Math.min(ms, 240_000) * 1_000) / 60_000, 600_000);
    expect(reports.every((r) => growthAlert(r.report) === undefined)).toBe(true);
  });

  it('resolves when the growth stops, into history with resolved_at from the injected clock', () => {
    const { t, reports, start } = drive((ms) => 1_000 + (Math.min(ms, 400_000) * 600) / 60_000, 500_000);
    const firing = reports.filter((r) => growthAlert(r.report) !== undefined).map((r) => r.elapsed);
    expect(firing[0]).toBe(300_000);
    // Growth stops at 400 s; the last slot (one minute) sees no growth from 400 s + 60 s on.
    expect(firing.at(-1)).toBeLessThan(460_000);
    expect(t.active()).toEqual([]);
    const resolved = t.history().find((h) => h.name === 'memory_growth_high')!;
    expect(resolved.since).toBe(new Date(start + 300_000).toISOString());
    expect(Date.parse(resolved.resolved_at) - start).toBe(firing.at(-1)! + TICK_MS);
  });

  it('honours configured rate and window', () => {
    const { reports } = drive((ms) => 1_000 + (200 * ms) / 60_000, 200_000, { thresholds: { memoryGrowthMiBPerMinute: 100, memoryGrowthWindowMs: 120_000 } });
    expect(reports.find((r) => growthAlert(r.report) !== undefined)!.elapsed).toBe(120_000);
  });

  it('memoryGrowth: not covered until a sample reaches back over the window; the sustained rate is the slowest slot', () => {
    expect(memoryGrowth([{ atMs: 0, rssMiB: 1 }], 60_000).covered).toBe(false);
    expect(memoryGrowth([{ atMs: 10, rssMiB: 1 }, { atMs: 60_000, rssMiB: 900 }], 60_000).covered).toBe(false);
    const g = memoryGrowth(
      [0, 1, 2, 3, 4, 5].map((m) => ({ atMs: m * 60_000, rssMiB: m === 5 ? 5_000 : m * 1_000 + (m === 3 ? -500 : 0) })),
      300_000,
    );
    // slots: +1000, +1000, +500, +1500, +1000 MiB per minute
    expect(g).toEqual({ covered: true, sustainedMiBPerMinute: 500, averageMiBPerMinute: 1_000 });
  });

  it('refuses bad options and bad samples, naming the field', () => {
    expect(() => compileAlertOptions({ memoryGrowthMiBPerMinute: 0 })).toThrow(/memoryGrowthMiBPerMinute/);
    expect(() => compileAlertOptions({ memoryGrowthWindowMs: 999 })).toThrow(/memoryGrowthWindowMs/);
    expect(() => memoryGrowth([{ atMs: 5, rssMiB: 1 }, { atMs: 1, rssMiB: 1 }], 1_000)).toThrow(/memorySamples\[1\]/);
    expect(() => memoryGrowth([{ atMs: 0, rssMiB: 1 }, { atMs: 1, rssMiB: Number.NaN }], 1_000)).toThrow(/memorySamples\[1\]/);
  });
});
