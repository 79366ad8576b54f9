/**
 * Circuit breaker specifications: each trip path, the latency window (enough samples, over budget, expiry), reset,
 * activate-all, the runbook's JSON shapes and 24 h history pruning. Time moves only through ManualClock.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../ports/clock.ts';
import { CircuitBreaker, CircuitBreakers, compileCircuitBreakerOptions, type TripReason } from './circuit-breaker.ts';
import { ValidationError } from './errors.ts';
import { propertyParameters } from '../../test/support/property-parameters.ts';

const MS = 1_000_000; // ns per ms

function breaker(options = {}) {
  const clock = new ManualClock();
  return { clock, b: new CircuitBreaker('BTCUSDT', clock, options) };
}

function expectValidation(fn: () => unknown, field: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).field).toBe(field);
    return;
  }
  throw new Error(`expected a ValidationError on ${field}`);
}

describe('CircuitBreaker: trips', () => {
  it.each<TripReason>(['adaptive_error', 'divergence', 'operator'])('a %s trip opens a closed breaker and the status names the reason and detail', (reason) => {
    const { clock, b } = breaker();
    expect(b.trip(reason, 'the detail')).toBe(true);
    expect(b.isOpen).toBe(true);
    expect(b.status()).toEqual({
      pair: 'BTCUSDT',
      open: true,
      reason,
      detail: 'the detail',
      since: new Date(clock.nowMs()).toISOString(),
      trip_count: 1,
      state: 'open',
    });
  });

  it('a closed breaker reports reason, detail and since as null', () => {
    const { b } = breaker();
    expect(b.status()).toEqual({ pair: 'BTCUSDT', open: false, reason: null, detail: null, since: null, trip_count: 0, state: 'closed' });
  });

  it('a trip while open changes nothing: first reason and since stay, trip_count and history unchanged', () => {
    const { clock, b } = breaker();
    b.trip('divergence', 'events differ at seq 7');
    const before = b.status();
    clock.advanceMs(1000);
    expect(b.trip('adaptive_error', 'boom')).toBe(false);
    expect(b.status()).toEqual(before);
    expect(b.history()).toHaveLength(1);
  });

  it('an unknown trip reason is a ValidationError naming reason', () => {
    const { b } = breaker();
    expectValidation(() => b.trip('nope' as TripReason, 'x'), 'reason');
    expect(b.isOpen).toBe(false);
  });

  it('a huge detail is cut so one exception message cannot bloat the history', () => {
    const { b } = breaker();
    b.trip('adaptive_error', 'x'.repeat(10_000));
    expect(b.status().detail!.length).toBeLessThanOrEqual(500);
  });
});

describe('CircuitBreaker: reset', () => {
  it('reset closes an open breaker, records who and which reason it cleared, and keeps trip_count', () => {
    const { clock, b } = breaker();
    b.trip('divergence', 'state hash differs');
    clock.advanceMs(5000);
    expect(b.reset('operator alice')).toBe(true);
    expect(b.status()).toMatchObject({ open: false, state: 'closed', reason: null, detail: null, since: null, trip_count: 1 });
    const h = b.history();
    expect(h.map((e) => e.event)).toEqual(['open', 'reset']);
    expect(h[1]).toMatchObject({ pair: 'BTCUSDT', event: 'reset', reason: 'divergence', by: 'operator alice', at: new Date(clock.nowMs()).toISOString() });
  });

  it('reset of a closed breaker is a no-op; reset without a name is a ValidationError naming by', () => {
    const { b } = breaker();
    expect(b.reset('ops')).toBe(false);
    expect(b.history()).toEqual([]);
    b.trip('operator', 'drill');
    expectValidation(() => b.reset(' '), 'by');
    expect(b.isOpen).toBe(true);
  });

  it('trip_count counts each closed → open transition', () => {
    const { b } = breaker();
    for (let i = 0; i < 3; i++) {
      b.trip('adaptive_error', `e${i}`);
      b.trip('adaptive_error', 'again while open');
      b.reset('ops');
    }
    expect(b.status().trip_count).toBe(3);
  });
});

describe('CircuitBreaker: latency window', () => {
  it('does not trip below minSamples even when every sample is over budget', () => {
    const { b } = breaker({ minSamples: 50 });
    for (let i = 0; i < 49; i++) expect(b.recordAdaptiveLatency(100 * MS)).toBe(false);
    expect(b.isOpen).toBe(false);
    expect(b.recordAdaptiveLatency(100 * MS)).toBe(true);
    expect(b.status()).toMatchObject({ open: true, reason: 'latency' });
    expect(b.status().detail).toMatch(/5 ms budget.*50 of 50 samples over budget in the last 10 s/);
  });

  it('does not trip with many samples when p95 is within budget (exactly 5 % over budget is still within)', () => {
    const { b } = breaker({ latencyBudgetMs: 5, minSamples: 50 });
    // 95 at 1 ms and 5 at 50 ms: the 95th of 100 samples is 1 ms.
    for (let i = 0; i < 95; i++) b.recordAdaptiveLatency(1 * MS);
    for (let i = 0; i < 5; i++) b.recordAdaptiveLatency(50 * MS);
    expect(b.isOpen).toBe(false);
    expect(b.latencyWindow()).toMatchObject({ samples: 100, over_budget: 5 });
    // One more slow sample puts 6 of 101 over: the ⌈95.95⌉ = 96th sample is now over budget.
    expect(b.recordAdaptiveLatency(50 * MS)).toBe(true);
  });

  it('a sample exactly at the budget is within it', () => {
    const { b } = breaker({ latencyBudgetMs: 5, minSamples: 10 });
    for (let i = 0; i < 100; i++) b.recordAdaptiveLatency(5 * MS);
    expect(b.isOpen).toBe(false);
  });

  it('slow samples leave the window once it has moved past them', () => {
    const { clock, b } = breaker({ latencyWindowMs: 10_000, latencyBucketMs: 1000, minSamples: 50 });
    for (let i = 0; i < 40; i++) b.recordAdaptiveLatency(100 * MS); // 40 slow: not enough samples yet
    clock.advanceMs(10_000); // the bucket holding them expires
    expect(b.latencyWindow()).toMatchObject({ samples: 0, over_budget: 0, p95_ms: null });
    for (let i = 0; i < 20; i++) b.recordAdaptiveLatency(100 * MS);
    expect(b.isOpen).toBe(false); // 20 in the window, not 60
  });

  it('samples spread over the window count together until their bucket expires', () => {
    const { clock, b } = breaker({ latencyWindowMs: 10_000, latencyBucketMs: 1000, minSamples: 50 });
    for (let s = 0; s < 5; s++) {
      for (let i = 0; i < 9; i++) b.recordAdaptiveLatency(100 * MS);
      clock.advanceMs(1000);
    }
    expect(b.latencyWindow().samples).toBe(45);
    clock.advanceMs(5000); // first bucket (t=0) leaves: window now covers t=1..10 s
    expect(b.latencyWindow().samples).toBe(36);
    for (let i = 0; i < 13; i++) b.recordAdaptiveLatency(100 * MS);
    expect(b.isOpen).toBe(false); // 49
    expect(b.recordAdaptiveLatency(100 * MS)).toBe(true); // 50
  });

  it('samples while open are ignored and the window restarts empty after reset', () => {
    const { b } = breaker({ minSamples: 10 });
    b.trip('divergence', 'x');
    for (let i = 0; i < 100; i++) expect(b.recordAdaptiveLatency(100 * MS)).toBe(false);
    b.reset('ops');
    expect(b.latencyWindow().samples).toBe(0);
    for (let i = 0; i < 100; i++) b.recordAdaptiveLatency(1 * MS);
    expect(b.isOpen).toBe(false);
  });

  it('a latency trip after a reset needs a fresh window', () => {
    const { b } = breaker({ minSamples: 10 });
    for (let i = 0; i < 10; i++) b.recordAdaptiveLatency(100 * MS);
    expect(b.isOpen).toBe(true);
    b.reset('ops');
    for (let i = 0; i < 9; i++) b.recordAdaptiveLatency(100 * MS);
    expect(b.isOpen).toBe(false);
  });

  it('non-numbers and negative latencies are ignored', () => {
    const { b } = breaker();
    b.recordAdaptiveLatency(Number.NaN);
    b.recordAdaptiveLatency(-1);
    expect(b.latencyWindow().samples).toBe(0);
  });

  it('the p95 estimate is within one log-scale bin of the true value', () => {
    const { b } = breaker({ minSamples: 1_000_000 });
    for (let i = 1; i <= 100; i++) b.recordAdaptiveLatency(i * 0.1 * MS); // 0.1 .. 10 ms; true p95 = 9.5 ms
    const p95 = b.latencyWindow().p95_ms!;
    expect(p95).toBeGreaterThanOrEqual(9.5);
    expect(p95).toBeLessThanOrEqual(9.5 * 2 ** 0.25 + 0.01);
  });

  it('property: the latency trip fires exactly when ≥ minSamples and the nearest-rank p95 is over budget', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 20, noNaN: true }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 100 }), (latenciesMs, minSamples) => {
        const { b } = breaker({ latencyBudgetMs: 5, minSamples });
        const seen: number[] = [];
        for (const ms of latenciesMs) {
          seen.push(ms);
          const tripped = b.recordAdaptiveLatency(ms * MS);
          const sorted = [...seen].sort((x, y) => x - y);
          const p95 = sorted[Math.ceil(0.95 * sorted.length) - 1]!;
          const expected = seen.length >= minSamples && p95 * MS > 5 * MS;
          expect(tripped).toBe(expected);
          if (tripped) return;
        }
      }),
      propertyParameters(200),
    );
  });
});

describe('CircuitBreakers registry: runbook shapes', () => {
  function registry() {
    const clock = new ManualClock();
    return { clock, r: new CircuitBreakers(['BTCUSDT', 'ETHUSDT', 'SOLUSDT'], clock) };
  }

  it("status() is an array the runbook's jq selects open breakers from", () => {
    const { r } = registry();
    r.get('ETHUSDT').trip('divergence', 'trade price differs');
    const status = r.status();
    expect(Array.isArray(status)).toBe(true);
    expect(status.map((s) => s.pair)).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
    // jq '.[] | select(.open == true) | {pair: .pair, reason: .reason}'
    expect(status.filter((s) => s.open === true).map((s) => ({ pair: s.pair, reason: s.reason }))).toEqual([{ pair: 'ETHUSDT', reason: 'divergence' }]);
    expect(r.openCount()).toBe(1);
    expect(JSON.parse(JSON.stringify(status))).toEqual(status);
  });

  it('get of an unknown pair is a ValidationError naming pair', () => {
    const { r } = registry();
    expectValidation(() => r.get('DOGEUSDT'), 'pair');
  });

  it('activateAll opens every closed breaker with reason operator and leaves open ones with their reason', () => {
    const { r } = registry();
    r.get('BTCUSDT').trip('latency', 'slow');
    expect(r.activateAll('emergency_stop.sh')).toEqual(['ETHUSDT', 'SOLUSDT']);
    expect(r.openCount()).toBe(3);
    expect(r.status().map((s) => s.reason)).toEqual(['latency', 'operator', 'operator']);
    expect(r.status()[1]!.detail).toBe('emergency_stop.sh');
  });

  it('resetAll closes every open breaker (after the manager rebuilt openPairs())', () => {
    const { r } = registry();
    r.activateAll('drill');
    expect(r.openPairs()).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
    expect(r.resetAll('emergency_resume.sh')).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
    expect(r.openCount()).toBe(0);
    expectValidation(() => r.resetAll(''), 'by');
  });

  it("history().last_24h lists every pair's transitions in time order with ISO times", () => {
    const { clock, r } = registry();
    r.get('SOLUSDT').trip('adaptive_error', 'TypeError');
    clock.advanceMs(1000);
    r.get('BTCUSDT').trip('divergence', 'x');
    clock.advanceMs(1000);
    r.get('SOLUSDT').reset('ops');
    const h = r.history();
    expect(h.last_24h.map((e) => [e.pair, e.event, e.reason])).toEqual([
      ['SOLUSDT', 'open', 'adaptive_error'],
      ['BTCUSDT', 'open', 'divergence'],
      ['SOLUSDT', 'reset', 'adaptive_error'],
    ]);
    expect(h.last_24h[0]!.at).toBe(new Date(clock.nowMs() - 2000).toISOString());
  });

  it('history drops entries older than 24 h', () => {
    const { clock, r } = registry();
    r.get('BTCUSDT').trip('operator', 'old');
    clock.advanceMs(60_000);
    r.get('BTCUSDT').reset('ops');
    clock.advanceMs(24 * 3600_000 - 60_000); // the trip is exactly 24 h old: still in
    expect(r.history().last_24h).toHaveLength(2);
    clock.advanceMs(1);
    expect(r.history().last_24h.map((e) => e.event)).toEqual(['reset']);
    clock.advanceMs(60_000);
    expect(r.history().last_24h).toEqual([]);
  });

  it('history keeps at most historyMaxEntriesPerPair entries for a flapping breaker', () => {
    const clock = new ManualClock();
    const r = new CircuitBreakers(['BTCUSDT'], clock, { historyMaxEntriesPerPair: 10 });
    for (let i = 0; i < 50; i++) {
      r.get('BTCUSDT').trip('divergence', `d${i}`);
      r.get('BTCUSDT').reset('ops');
    }
    const h = r.history().last_24h;
    expect(h).toHaveLength(10);
    expect(h[h.length - 1]!.event).toBe('reset');
  });
});

describe('compileCircuitBreakerOptions', () => {
  it('fills the documented defaults', () => {
    expect(compileCircuitBreakerOptions({})).toEqual({
      latencyBudgetMs: 5,
      latencyWindowMs: 10_000,
      latencyBucketMs: 1000,
      minSamples: 50,
      historyRetentionMs: 86_400_000,
      historyMaxEntriesPerPair: 1000,
    });
  });

  it.each([
    [{ latencyBudgetMs: 0 }, 'latencyBudgetMs'],
    [{ latencyBudgetMs: Number.NaN }, 'latencyBudgetMs'],
    [{ latencyWindowMs: -1 }, 'latencyWindowMs'],
    [{ latencyWindowMs: 10_000, latencyBucketMs: 3000 }, 'latencyBucketMs'],
    [{ latencyWindowMs: 10_000, latencyBucketMs: 10 }, 'latencyBucketMs'],
    [{ minSamples: 1.5 }, 'minSamples'],
    [{ historyRetentionMs: '1d' }, 'historyRetentionMs'],
    [{ latencyBudgetMS: 5 }, 'latencyBudgetMS'],
  ])('rejects %o naming %s', (raw, field) => {
    expectValidation(() => compileCircuitBreakerOptions(raw as never), field);
  });

  it('a registry with bad options is refused before any breaker exists', () => {
    expectValidation(() => new CircuitBreakers(['BTCUSDT'], new ManualClock(), { minSamples: 0 }), 'minSamples');
  });
});
