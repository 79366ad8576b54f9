import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.ts';
import { ManualClock } from '../ports/clock.ts';
import { LatencyHistogram } from './latency-histogram.ts';
import { OVERFLOW_KEY, PerformanceMonitor, compilePerformanceMonitorOptions } from './performance-monitor.ts';

const MS = 1_000_000; // ns per ms
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** A clock at the start of a minute, so tests can reason in whole minutes. */
function minuteClock(): ManualClock {
  return new ManualClock(Math.ceil(1_700_000_000_000 / MINUTE) * MINUTE);
}

function served(m: PerformanceMonitor, pair: string, ms: number, n = 1, ok = true, impl: 'legacy' | 'adaptive' = 'legacy'): void {
  for (let i = 0; i < n; i++) m.recordCommand(pair, impl, 'served', ms * MS, ok);
}

describe('PerformanceMonitor: current() over the last minute of served commands', () => {
  it('with no data every runbook figure is the number 0, never null', () => {
    const m = new PerformanceMonitor(minuteClock());
    const c = m.current();
    for (const f of ['latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms', 'error_rate', 'throughput_per_sec', 'orders_last_minute'] as const) expect(c[f]).toBe(0);
    expect(c.baseline_source).toBe('none');
    expect(JSON.parse(JSON.stringify(c)).latency_p95_ms).toBe(0);
  });

  it('reports p50, p95 and p99 of served commands within the histogram precision', () => {
    const m = new PerformanceMonitor(minuteClock());
    for (let i = 1; i <= 100; i++) served(m, 'BTCUSDT', i); // 1..100 ms
    const c = m.current();
    expect(Math.abs(c.latency_p50_ms - 50) / 50).toBeLessThan(0.008);
    expect(Math.abs(c.latency_p95_ms - 95) / 95).toBeLessThan(0.008);
    expect(Math.abs(c.latency_p99_ms - 99) / 99).toBeLessThan(0.008);
    expect(c.latency_max_ms).toBe(100);
    expect(c.commands).toBe(100);
  });

  it('shadow commands are kept apart: they never change the served latency or error rate', () => {
    const m = new PerformanceMonitor(minuteClock());
    served(m, 'BTCUSDT', 1, 10);
    for (let i = 0; i < 10; i++) m.recordCommand('BTCUSDT', 'adaptive', 'shadow', 500 * MS, false);
    const c = m.current();
    expect(c.latency_p95_ms).toBe(1);
    expect(c.error_rate).toBe(0);
    expect(c.commands).toBe(10);
  });

  it('data stays 59 s and leaves current() once it is a minute old', () => {
    const clock = minuteClock();
    const m = new PerformanceMonitor(clock);
    served(m, 'BTCUSDT', 30, 5, false);
    m.recordOrders('BTCUSDT', 5);
    m.recordTrades('BTCUSDT', 2);
    clock.advanceMs(59_000);
    expect(m.current()).toMatchObject({ latency_p95_ms: 30, error_rate: 1, orders_last_minute: 5, trades_last_minute: 2 });
    clock.advanceMs(1_000);
    expect(m.current()).toMatchObject({ latency_p95_ms: 0, error_rate: 0, orders_last_minute: 0, trades_last_minute: 0, commands: 0 });
  });

  it('the window rolls second by second: only the last 60 seconds count', () => {
    const clock = minuteClock();
    const m = new PerformanceMonitor(clock);
    for (let s = 0; s < 90; s++) {
      served(m, 'BTCUSDT', 1);
      m.recordOrders('BTCUSDT', 1);
      clock.advanceMs(1_000);
    }
    clock.advanceMs(-1_000); // look from the second of the last record
    expect(m.current().commands).toBe(60);
    expect(m.current().orders_last_minute).toBe(60);
  });

  it('error rate is failed served commands over served commands', () => {
    const m = new PerformanceMonitor(minuteClock());
    served(m, 'BTCUSDT', 1, 99);
    served(m, 'ETHUSDT', 1, 1, false);
    expect(m.current().error_rate).toBeCloseTo(0.01, 12);
    expect(m.current().errors).toBe(1);
  });

  it('throughput_per_sec is orders in the last minute divided by 60', () => {
    const m = new PerformanceMonitor(minuteClock());
    m.recordOrders('BTCUSDT', 90);
    m.recordOrders('ETHUSDT', 30);
    expect(m.current().throughput_per_sec).toBe(2);
    expect(m.current().orders_last_minute).toBe(120);
  });

  it('a bad sample is counted as invalid and ignored, never thrown on the command path', () => {
    const m = new PerformanceMonitor(minuteClock());
    m.recordCommand('BTCUSDT', 'legacy', 'served', -5, true);
    m.recordCommand('BTCUSDT', 'legacy', 'served', Number.NaN, true);
    m.recordOrders('BTCUSDT', -1);
    m.recordTrades('BTCUSDT', 1.5);
    expect(m.current()).toMatchObject({ commands: 0, orders_last_minute: 0, invalid_samples: 4 });
  });

  it('a wall clock stepping back holds the monitor at the latest time it saw', () => {
    const clock = minuteClock();
    const m = new PerformanceMonitor(clock);
    served(m, 'BTCUSDT', 3);
    clock.advanceMs(-10 * MINUTE);
    served(m, 'BTCUSDT', 3);
    expect(m.current().commands).toBe(2);
  });
});

describe('PerformanceMonitor: throughput()', () => {
  it('last_minute carries orders/s, commands and trades, per pair', () => {
    const m = new PerformanceMonitor(minuteClock());
    m.recordOrders('BTCUSDT', 60);
    m.recordOrders('ETHUSDT', 120);
    m.recordTrades('BTCUSDT', 7);
    served(m, 'BTCUSDT', 1, 3);
    served(m, 'ETHUSDT', 1, 2, true, 'adaptive');
    m.recordCommand('ETHUSDT', 'legacy', 'shadow', MS, true);
    const t = m.throughput().last_minute;
    expect(t).toMatchObject({ orders: 180, orders_per_sec: 3, commands: 5, trades: 7 });
    expect(t.per_pair).toEqual({
      BTCUSDT: { orders: 60, orders_per_sec: 1, trades: 7, commands: 3, errors: 0 },
      ETHUSDT: { orders: 120, orders_per_sec: 2, trades: 0, commands: 2, errors: 0 },
    });
  });

  it('peak_24h is the busiest minute (orders/s averaged over it) and the busiest single second', () => {
    const clock = minuteClock();
    const m = new PerformanceMonitor(clock);
    m.recordOrders('BTCUSDT', 600); // minute 0: 600 orders in one second
    clock.advanceMs(MINUTE);
    for (let s = 0; s < 60; s++) {
      m.recordOrders('BTCUSDT', 15); // minute 1: 900 orders spread out
      clock.advanceMs(1_000);
    }
    clock.advanceMs(10 * MINUTE);
    m.recordOrders('BTCUSDT', 1);
    const p = m.throughput().peak_24h;
    expect(p.orders_per_sec).toBe(15);
    expect(p.minute).toBe(new Date(minuteClock().nowMs() + MINUTE).toISOString());
    expect(p.busiest_second_orders).toBe(600);
    expect(m.summary().peak_throughput_24h).toBe(15);
  });

  it('the peak leaves the 24 h window with its minute', () => {
    const clock = minuteClock();
    const m = new PerformanceMonitor(clock);
    m.recordOrders('BTCUSDT', 600);
    clock.advanceMs(DAY);
    m.recordOrders('BTCUSDT', 60);
    expect(m.throughput().peak_24h).toMatchObject({ orders_per_sec: 1, busiest_second_orders: 60 });
  });
});

describe('PerformanceMonitor: summary() over 24 h', () => {
  it('a minute-old command leaves current() but stays in summary()', () => {
    const clock = minuteClock();
    const m = new PerformanceMonitor(clock);
    served(m, 'BTCUSDT', 5, 10);
    m.recordOrders('BTCUSDT', 10);
    m.recordTrades('BTCUSDT', 4);
    clock.advanceMs(5 * MINUTE);
    expect(m.current().commands).toBe(0);
    expect(m.summary()).toMatchObject({ total_orders_24h: 10, total_trades_24h: 4, total_commands_24h: 10, avg_latency_p95: 5 });
  });

  it('data stays until 24 h old, then leaves summary()', () => {
    const clock = minuteClock();
    const m = new PerformanceMonitor(clock);
    served(m, 'BTCUSDT', 5, 10, false);
    m.recordOrders('BTCUSDT', 10);
    m.recordTrades('BTCUSDT', 4);
    clock.advanceMs(DAY - 1);
    expect(m.summary()).toMatchObject({ total_orders_24h: 10, total_trades_24h: 4, error_rate_24h: 1, avg_latency_p95: 5 });
    clock.advanceMs(1);
    const s = m.summary();
    expect(s).toMatchObject({ total_orders_24h: 0, total_trades_24h: 0, error_rate_24h: 0, avg_latency_p95: 0, peak_throughput_24h: 0 });
    expect(s.last_24h.minutes_with_commands).toBe(0);
    expect(s.per_pair['BTCUSDT']).toMatchObject({ orders_24h: 0, commands_24h: 0 });
  });

  it('avg_latency_p95 is the mean of the per-minute p95s, and a minute keeps its p95 after its seconds are reused', () => {
    const clock = minuteClock();
    const m = new PerformanceMonitor(clock);
    served(m, 'BTCUSDT', 2, 50);
    clock.advanceMs(MINUTE);
    served(m, 'BTCUSDT', 4, 5);
    clock.advanceMs(3 * MINUTE);
    served(m, 'BTCUSDT', 9, 1); // closes minute 1, reuses the slots of minutes 0 and 1
    const s = m.summary();
    expect(s.avg_latency_p95).toBe(5); // (2 + 4 + 9) / 3, unweighted like avg(trading_latency_p95)
    expect(s.last_24h).toMatchObject({ max_latency_p95_ms: 9, minutes_with_commands: 3, commands: 56 });
  });

  it('error_rate_24h counts served failures over served commands for the day', () => {
    const clock = minuteClock();
    const m = new PerformanceMonitor(clock);
    served(m, 'BTCUSDT', 1, 3, false);
    clock.advanceMs(2 * 60 * MINUTE);
    served(m, 'BTCUSDT', 1, 297);
    expect(m.summary().error_rate_24h).toBeCloseTo(0.01, 12);
  });

  it('per_pair keeps each pair and each implementation apart', () => {
    const m = new PerformanceMonitor(minuteClock());
    served(m, 'BTCUSDT', 2, 10, true, 'legacy');
    served(m, 'BTCUSDT', 8, 10, false, 'adaptive');
    served(m, 'ETHUSDT', 3, 4);
    m.recordOrders('ETHUSDT', 4);
    const s = m.summary();
    expect(s.per_pair['BTCUSDT']).toMatchObject({ commands_24h: 20, errors_24h: 10, error_rate_24h: 0.5, avg_latency_p95_ms: { legacy: 2, adaptive: 8 } });
    expect(s.per_pair['ETHUSDT']).toMatchObject({ orders_24h: 4, commands_24h: 4, avg_latency_p95_ms: { legacy: 3, adaptive: 0 } });
    expect(s.last_minute.commands).toBe(24);
  });
});

describe('PerformanceMonitor: perPair()', () => {
  it('gives one row per pair × impl × role that recorded, with its own last-minute p95', () => {
    const m = new PerformanceMonitor(minuteClock());
    m.recordCommand('ETHUSDT', 'legacy', 'served', 1 * MS, true);
    m.recordCommand('BTCUSDT', 'legacy', 'served', 2 * MS, true);
    m.recordCommand('BTCUSDT', 'adaptive', 'shadow', 3 * MS, false);
    m.recordCommand('BTCUSDT', 'adaptive', 'served', 4 * MS, true);
    const rows = m.perPair().map((r) => [r.pair, r.impl, r.role, r.latency_p95_ms, r.errors]);
    expect(rows).toEqual([
      ['BTCUSDT', 'legacy', 'served', 2, 0],
      ['BTCUSDT', 'adaptive', 'served', 4, 0],
      ['BTCUSDT', 'adaptive', 'shadow', 3, 1],
      ['ETHUSDT', 'legacy', 'served', 1, 0],
    ]);
    expect(m.perImplementation()).toEqual({ legacy: { served: 2, shadow: 0 }, adaptive: { served: 4, shadow: 3 } });
  });

  it('pairs beyond maxPairs are counted together under OTHER', () => {
    const m = new PerformanceMonitor(minuteClock(), { maxPairs: 2 });
    for (const p of ['AAA', 'BBB', 'CCC', 'DDD']) m.recordOrders(p, 1);
    expect(Object.keys(m.throughput().last_minute.per_pair)).toEqual(['AAA', 'BBB', OVERFLOW_KEY]);
    expect(m.throughput().last_minute.per_pair[OVERFLOW_KEY]!.orders).toBe(2);
  });
});

describe('PerformanceMonitor: all-pairs figures, merged from the pairs\' series', () => {
  it('a minute\'s all-pairs p95 is the p95 of all its commands, not a mix of the pairs\' p95s, before and after the minute closes', () => {
    const clock = minuteClock();
    const m = new PerformanceMonitor(clock);
    served(m, 'BTCUSDT', 1, 95);
    served(m, 'ETHUSDT', 100, 5, true, 'adaptive'); // ETHUSDT's own p95 is 100 ms; of all 100 commands the 95th is 1 ms
    const near = (x: number, ms: number) => Math.abs(x - ms) / ms < 0.008; // the histogram's precision
    const first = m.current().latency_p95_ms;
    expect(near(first, 1)).toBe(true);
    expect(m.summary().last_24h).toMatchObject({ max_latency_p95_ms: first, commands: 100 });
    clock.advanceMs(MINUTE);
    served(m, 'BTCUSDT', 7, 1); // closes the first minute
    const s = m.summary();
    expect(s.last_24h).toMatchObject({ max_latency_p95_ms: 7, minutes_with_commands: 2, commands: 101 });
    expect(s.avg_latency_p95).toBe(Math.round(((first + 7) / 2) * 1e6) / 1e6);
    expect(s.per_pair['ETHUSDT']!.avg_latency_p95_ms).toEqual({ legacy: 0, adaptive: 100 });
  });

  it('an accepted command counts one order, as recordOrders does', () => {
    const m = new PerformanceMonitor(minuteClock());
    m.recordCommand('BTCUSDT', 'legacy', 'served', MS, true, true);
    m.recordCommand('BTCUSDT', 'adaptive', 'shadow', MS, true);
    expect(m.throughput().last_minute).toMatchObject({ orders: 1, commands: 1, per_pair: { BTCUSDT: { orders: 1, commands: 1 } } });
  });

  it('a forgotten pair leaves the per-pair rows; the all-pairs figures keep what it contributed, for the minute and the day', () => {
    const clock = minuteClock();
    const m = new PerformanceMonitor(clock);
    served(m, 'BTCUSDT', 1, 10);
    served(m, 'ETHUSDT', 50, 10, false);
    m.recordCommand('ETHUSDT', 'adaptive', 'shadow', 9 * MS, true);
    clock.advanceMs(30_000);
    m.forgetPair('ETHUSDT');
    expect(m.perPair().map((r) => r.pair)).toEqual(['BTCUSDT']);
    expect(m.current()).toMatchObject({ commands: 20, errors: 10, latency_max_ms: 50 });
    expect(m.perImplementation().adaptive.shadow).toBe(9);
    clock.advanceMs(MINUTE); // the minute closes with ETHUSDT's commands in it
    served(m, 'BTCUSDT', 1, 1);
    const s = m.summary();
    expect(s.per_pair['ETHUSDT']).toBeUndefined();
    expect(s).toMatchObject({ total_commands_24h: 21, error_rate_24h: 10 / 21 });
    expect(s.last_24h.max_latency_p95_ms).toBe(50);
  });

  it('a pair forgotten with only stale seconds adds nothing to the last minute, even where its slot meets a live one', () => {
    const clock = minuteClock();
    const m = new PerformanceMonitor(clock);
    served(m, 'ETHUSDT', 9, 3); // second s: its slot comes round again at s + 120
    clock.advanceMs(120_000);
    served(m, 'BTCUSDT', 1, 1);
    m.forgetPair('BTCUSDT'); // the delisted pairs' series now hold second s + 120, in the same slot
    m.forgetPair('ETHUSDT'); // ETHUSDT's second s there is two minutes old
    expect(m.current()).toMatchObject({ commands: 1, latency_max_ms: 1 });
    expect(m.summary().last_24h.commands).toBe(4);
  });

  it('matches a model that keeps every sample, whatever the pairs, books, roles, delistings and pauses', () => {
    const event = fc.record({
      pair: fc.constantFrom('AAA', 'BBB', 'CCC'),
      impl: fc.constantFrom('legacy' as const, 'adaptive' as const),
      role: fc.constantFrom('served' as const, 'served' as const, 'shadow' as const),
      ns: fc.integer({ min: 0, max: 400 * MS }),
      ok: fc.boolean(),
      pauseMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 2_000, max: 3 * MINUTE }), fc.constant(23 * 60 * MINUTE)),
      forget: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 80 }), (events) => {
        const clock = minuteClock();
        const m = new PerformanceMonitor(clock);
        const samples: { ms: number; impl: string; role: string; ns: number; ok: boolean }[] = [];
        for (const e of events) {
          clock.advanceMs(e.pauseMs);
          m.recordCommand(e.pair, e.impl, e.role, e.ns, e.ok);
          samples.push({ ms: clock.nowMs(), impl: e.impl, role: e.role, ns: e.ns, ok: e.ok });
          if (e.forget) m.forgetPair(e.pair);
        }
        const now = clock.nowMs();
        const sec = Math.floor(now / 1000);
        const minute = Math.floor(now / MINUTE);
        const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
        const rawP95Of = (xs: readonly { ns: number }[]) => {
          const h = new LatencyHistogram();
          for (const x of xs) h.record(x.ns);
          return h.percentileMs(95);
        };
        const p95Of = (xs: readonly { ns: number }[]) => round6(rawP95Of(xs));
        const servedSamples = samples.filter((x) => x.role === 'served');
        const lastMinute = servedSamples.filter((x) => Math.floor(x.ms / 1000) > sec - 60);
        expect(m.current()).toMatchObject({ commands: lastMinute.length, errors: lastMinute.filter((x) => !x.ok).length, latency_p95_ms: p95Of(lastMinute) });
        for (const impl of ['legacy', 'adaptive'] as const)
          for (const role of ['served', 'shadow'] as const)
            expect(m.perImplementation()[impl][role]).toBe(p95Of(samples.filter((x) => x.impl === impl && x.role === role && Math.floor(x.ms / 1000) > sec - 60)));
        const day = servedSamples.filter((x) => Math.floor(x.ms / MINUTE) > minute - 1440);
        const byMinute = new Map<number, typeof day>();
        for (const x of day) byMinute.set(Math.floor(x.ms / MINUTE), [...(byMinute.get(Math.floor(x.ms / MINUTE)) ?? []), x]);
        const p95s = [...byMinute.values()].map(rawP95Of);
        const s = m.summary();
        expect(s.last_24h).toMatchObject({ commands: day.length, errors: day.filter((x) => !x.ok).length, minutes_with_commands: byMinute.size });
        expect(s.last_24h.max_latency_p95_ms).toBe(round6(p95s.reduce((a, b) => Math.max(a, b), 0)));
        expect(s.avg_latency_p95).toBe(round6(p95s.length === 0 ? 0 : p95s.reduce((a, b) => a + b, 0) / p95s.length));
        expect(m.throughput().last_24h).toMatchObject({ commands: day.length, errors: day.filter((x) => !x.ok).length });
      }),
      { numRuns: 150 },
    );
  });
});

describe('PerformanceMonitor: baseline p95', () => {
  it('a configured baseline is used as is', () => {
    const m = new PerformanceMonitor(minuteClock(), { baselineP95Ms: 4 });
    expect(m.current()).toMatchObject({ baseline_p95_ms: 4, baseline_source: 'configured' });
  });

  it('is learned as the median of past per-minute p95s once enough busy minutes exist, ignoring the current and quiet minutes', () => {
    const clock = minuteClock();
    const m = new PerformanceMonitor(clock, { baselineMinMinutes: 3, baselineMinCommandsPerMinute: 10 });
    for (const ms of [2, 100, 3]) {
      served(m, 'BTCUSDT', ms, 10);
      clock.advanceMs(MINUTE);
    }
    served(m, 'BTCUSDT', 500, 9); // a quiet minute: too few commands to count
    clock.advanceMs(MINUTE);
    expect(m.baseline()).toEqual({ value: 3, source: 'learned' }); // median of 2, 3, 100: a spike does not move it
    served(m, 'BTCUSDT', 1, 1000); // the current minute never counts
    expect(m.current().baseline_p95_ms).toBe(3);
  });

  it('is not reported before enough minutes exist', () => {
    const clock = minuteClock();
    const m = new PerformanceMonitor(clock, { baselineMinMinutes: 3, baselineMinCommandsPerMinute: 1 });
    served(m, 'BTCUSDT', 2, 5);
    clock.advanceMs(MINUTE);
    served(m, 'BTCUSDT', 2, 5);
    clock.advanceMs(MINUTE);
    expect(m.current()).toMatchObject({ baseline_p95_ms: 0, baseline_source: 'none' });
  });
});

describe('PerformanceMonitor: errorsSummary()', () => {
  it('counts errors by kind, code and pair over the last minute and 24 h', () => {
    const clock = minuteClock();
    const m = new PerformanceMonitor(clock);
    m.recordError('BTCUSDT', 'invariant', 'adaptive_book');
    clock.advanceMs(2 * MINUTE);
    m.recordError('BTCUSDT', 'unavailable', 'postgres');
    m.recordError('ETHUSDT', 'unavailable', 'postgres');
    m.recordError('ETHUSDT', 'rejection', 2001);
    const e = m.errorsSummary();
    expect(e.last_minute).toEqual({
      total: 3,
      by_kind: { unavailable: 2, rejection: 1 },
      by_code: { postgres: 2, '2001': 1 },
      by_pair: { BTCUSDT: 1, ETHUSDT: 2 },
    });
    expect(e.last_24h.total).toBe(4);
    expect(e.last_24h.by_kind['invariant']).toBe(1);
    expect(e.entries[0]).toMatchObject({ kind: 'unavailable', code: 'postgres', last_minute: 1, last_24h: 1 });
    clock.advanceMs(DAY);
    expect(m.errorsSummary()).toMatchObject({ last_24h: { total: 0 }, entries: [] });
  });

  it('error keys beyond maxErrorKeys are counted under OTHER', () => {
    const m = new PerformanceMonitor(minuteClock(), { maxErrorKeys: 1 });
    m.recordError('BTCUSDT', 'unavailable', 'postgres');
    m.recordError('BTCUSDT', 'unavailable', 'redis');
    m.recordError('BTCUSDT', 'invariant', 'x');
    expect(m.errorsSummary().last_minute.by_code).toEqual({ postgres: 1, [OVERFLOW_KEY]: 2 });
  });
});

describe('PerformanceMonitor: dailyReport()', () => {
  it("has the runbook report's date and summary fields, taken from summary(), plus what the caller adds", () => {
    const clock = minuteClock();
    const m = new PerformanceMonitor(clock);
    served(m, 'BTCUSDT', 6, 100, true);
    served(m, 'BTCUSDT', 6, 1, false);
    m.recordOrders('BTCUSDT', 120);
    m.recordTrades('BTCUSDT', 30);
    const s = m.summary();
    const r = m.dailyReport({ migration_summary: { pairs: 2 }, circuit_breaker_activations: 1, date: 'overwritten?' });
    expect(r.date).toBe(new Date(clock.nowMs()).toISOString().slice(0, 10));
    expect(r.summary).toEqual({
      avg_latency_p95: s.avg_latency_p95,
      total_orders: s.total_orders_24h,
      total_trades: s.total_trades_24h,
      error_rate: s.error_rate_24h,
      peak_throughput: s.peak_throughput_24h,
    });
    expect(r.summary).toMatchObject({ avg_latency_p95: 6, total_orders: 120, total_trades: 30, peak_throughput: 2 });
    expect(r.migration_summary).toEqual({ pairs: 2 });
    expect(r.circuit_breaker_activations).toBe(1);
  });
});

describe('compilePerformanceMonitorOptions', () => {
  it('names the bad field', () => {
    const field = (o: object) => {
      try {
        compilePerformanceMonitorOptions(o);
      } catch (e) {
        return e instanceof ValidationError ? e.field : 'not a ValidationError';
      }
      return 'accepted';
    };
    expect(field({ baselineP95Ms: -1 })).toBe('baselineP95Ms');
    expect(field({ baselineMinMinutes: 0 })).toBe('baselineMinMinutes');
    expect(field({ maxPairs: 1.5 })).toBe('maxPairs');
    expect(field({ histogram: { subBucketBits: 40 } })).toBe('histogram.subBucketBits');
    expect(field({ histogram: { highest: 1 } })).toBe('histogram.highest');
    expect(field({ baselineP95: 3 })).toBe('baselineP95');
    expect(field({})).toBe('accepted');
  });

  it('is idempotent on its own output', () => {
    const c = compilePerformanceMonitorOptions({ baselineP95Ms: 5 });
    expect(compilePerformanceMonitorOptions(c as never)).toEqual(c);
  });
});
