/**
 * The control plane with real parts: migration controller, circuit breakers, trading gate, performance
 * monitor, and two pairs whose managers run the real legacy and adaptive books (the adaptive one behind a
 * FaultyBook). Nothing here ever calls `reconcile`: each operation must leave the books right by itself,
 * which is checked right after it, before any command could lazily repair them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdaptiveBook } from '../core/adaptive-book/adaptive-book.ts';
import type { Command } from '../core/commands.ts';
import { RecordingSink } from '../core/events.ts';
import { compileInstrument, type Instrument } from '../core/instrument.ts';
import { LegacyBook } from '../core/legacy-book/legacy-book.ts';
import { hashBookState } from '../core/state-hash.ts';
import { ManualClock } from '../ports/clock.ts';
import { CircuitBreakers } from './circuit-breaker.ts';
import { ValidationError } from './errors.ts';
import { FaultSwitch, FaultyBook } from './faulty-book.ts';
import { MigrationController } from './migration-controller.ts';
import { PairControls } from './pair-controls.ts';
import { PerformanceMonitor } from './performance-monitor.ts';
import { TradingGate } from './trading-gate.ts';
import { TEST_INSTRUMENT, limit } from '../../test/support/book-fixtures.ts';
import { commandSequence } from '../../test/support/command-arbitraries.ts';
import { propertyParameters } from '../../test/support/property-parameters.ts';

const A = TEST_INSTRUMENT.symbol;
const OTHER: Instrument = compileInstrument({ symbol: 'OTHERUSD', baseAsset: 'OTHER', quoteAsset: 'USD', tickSize: '1', lotSize: '1', minQuantityLots: 1, maxQuantityLots: 1_000_000, minPriceTicks: 1, maxPriceTicks: 200, marketProtectionBps: 500 });
const B = OTHER.symbol;
const HOLD_MS = 1_000;

function setup(initialState: 'legacy_only' | 'shadow' = 'shadow') {
  const clock = new ManualClock();
  const migration = new MigrationController([A, B], clock, { initialState, holdMs: HOLD_MS, rampSteps: [10, 50, 100] });
  const breakers = new CircuitBreakers([A, B], clock, { latencyBudgetMs: 1_000 });
  const monitor = new PerformanceMonitor(clock);
  const gate = new TradingGate(clock);
  const control = new PairControls({ migration, breakers, gate, monitor, clock });
  const faults = new Map<string, FaultSwitch>();
  const events: string[] = [];
  const tripErrors: string[] = [];
  for (const instrument of [TEST_INSTRUMENT, OTHER]) {
    const f = new FaultSwitch();
    faults.set(instrument.symbol, f);
    control.add(
      { instrument, legacyFactory: (i) => new LegacyBook(i), adaptiveFactory: (i) => new FaultyBook(new AdaptiveBook(i), f, () => {}) },
      {
        onBookCommand: () => {},
        onManagerEvent: (p, event) => events.push(`${p} ${event}`),
        onTripError: (p, reason) => tripErrors.push(`${p} ${reason}`),
      },
    );
  }
  /** The books the migration state and breaker call for, stated independently of the manager's code. */
  const expectedBooks = (pair: string) => {
    if (breakers.get(pair).isOpen) return { legacy: true, adaptive: false };
    const state = migration.stateOf(pair);
    if (state === 'legacy_only') return { legacy: true, adaptive: false };
    if (state === 'completed') return { legacy: false, adaptive: true };
    return { legacy: true, adaptive: true };
  };
  const keptBooks = (pair: string) => {
    const b = control.get(pair).books();
    return { legacy: b.legacy, adaptive: b.adaptive };
  };
  const consistent = () => {
    for (const pair of [A, B]) expect(keptBooks(pair), `${pair} in ${migration.stateOf(pair)}, breaker ${breakers.get(pair).isOpen ? 'open' : 'closed'}`).toEqual(expectedBooks(pair));
  };
  return { clock, migration, breakers, monitor, gate, control, faults, events, tripErrors, consistent, keptBooks };
}

const resting = (n: number): Command[] => [limit(n + 1, 'sell', 110, 5, { account: 2 }), limit(n + 2, 'buy', 90, 5, { account: 3 })];

describe('PairControls: each operation leaves the books right by itself', () => {
  it('setPercentage, complete and rollback build and retire books at once', () => {
    const s = setup('legacy_only');
    const sink = new RecordingSink();
    for (const c of resting(0)) s.control.get(A).manager.apply(c, sink);
    expect(s.keptBooks(A)).toEqual({ legacy: true, adaptive: false });
    expect(s.control.setPercentage(A, 100, 'test')).toEqual([A]);
    expect(s.keptBooks(A)).toEqual({ legacy: true, adaptive: true });
    s.control.complete(A, 'test');
    expect(s.keptBooks(A)).toEqual({ legacy: false, adaptive: true }); // legacy retired without a command
    expect(s.control.rollback(A, 'test')).toEqual([A]);
    expect(s.keptBooks(A)).toEqual({ legacy: true, adaptive: true }); // legacy rebuilt from the adaptive book
    expect(s.control.get(A).manager.restingOrders()).toHaveLength(2);
    s.consistent();
  });

  it("'all' changes every migrating pair and leaves legacy-only pairs alone", () => {
    const s = setup('legacy_only');
    s.control.setPercentage(A, 0, 'test');
    expect(s.control.setPercentage('all', 50, 'test')).toEqual([A]);
    expect(s.migration.stateOf(B)).toBe('legacy_only');
    s.consistent();
    expect(s.control.rollback('all', 'test')).toEqual([A]);
    s.consistent();
  });

  it('trip, activate-all, reset and reset-all move between dual-run and legacy alone', () => {
    const s = setup();
    s.consistent();
    expect(s.control.get(A).trip('operator', 'drill')).toBe(true);
    expect(s.control.get(A).trip('operator', 'again')).toBe(false);
    expect(s.keptBooks(A)).toEqual({ legacy: true, adaptive: false });
    expect(s.control.activateAll('test')).toEqual([B]);
    s.consistent();
    expect(s.control.reset(A, 'tester')).toBe(true);
    expect(s.keptBooks(A)).toEqual({ legacy: true, adaptive: true });
    expect(s.control.resetAll('tester')).toEqual({ reset: [B], refused: [] });
    s.consistent();
    expect(s.breakers.openPairs()).toEqual([]);
  });

  it('emergency stop sends every migrating pair to 0 % and the legacy book serves', () => {
    const s = setup();
    s.control.setPercentage(A, 100, 'test');
    s.control.startRamp(B, undefined, 'test');
    expect(s.control.emergencyStop('test').sort()).toEqual([A, B].sort());
    expect(s.migration.isEmergencyStopped).toBe(true);
    expect(s.control.stopAll('test')).toEqual([]); // the ramp is already frozen
    s.consistent();
  });

  it('startRamp on a completed pair is refused with the runbook message and changes nothing', () => {
    const s = setup();
    s.control.setPercentage(A, 100, 'test');
    s.control.complete(A, 'test');
    expect(() => s.control.startRamp(A, undefined, 'test')).toThrow(new ValidationError('pair', `${A} is completed; roll it back before starting a ramp`));
    expect(s.migration.stateOf(A)).toBe('completed');
    s.consistent();
  });

  it('add registers a new pair with the migration controller and the breakers, and refuses a pair twice', () => {
    const clock = new ManualClock();
    const migration = new MigrationController([], clock, { initialState: 'shadow' });
    const breakers = new CircuitBreakers([], clock);
    const control = new PairControls({ migration, breakers, gate: new TradingGate(clock), monitor: new PerformanceMonitor(clock), clock });
    const books = { instrument: TEST_INSTRUMENT, legacyFactory: (i: Instrument) => new LegacyBook(i), adaptiveFactory: (i: Instrument) => new AdaptiveBook(i) };
    const sink = { onBookCommand() {}, onManagerEvent() {}, onTripError() {} };
    const pc = control.add(books, sink);
    expect(migration.stateOf(A)).toBe('shadow');
    expect(breakers.get(A).isOpen).toBe(false);
    expect(pc.books()).toEqual({ implementation: 'legacy+adaptive', legacy: true, adaptive: true, pendingShadow: 0 });
    expect(() => control.add(books, sink)).toThrow(/already controlled/);
    expect(control.pairs()).toEqual([A]);
  });

  it('an unknown pair is a ValidationError naming the known ones', () => {
    const s = setup();
    expect(() => s.control.complete('NOPE', 'x')).toThrow(/unknown pair "NOPE"; known: TESTUSD, OTHERUSD/);
  });

  it('halt and maintenance close the gate for every pair; refusal names why', () => {
    const s = setup();
    expect(s.gate.refusal()).toBeUndefined();
    expect(s.control.halt('op', 'incident')).toBe(true);
    expect(s.control.halt('op', 'again')).toBe(false);
    expect(s.control.enableMaintenance('op', 'window')).toBe(true);
    expect(s.gate.refusal()).toMatch(/^trading halted by operator since \d{4}-/);
    expect(s.control.resume()).toBe(true);
    expect(s.gate.refusal()).toMatch(/^maintenance mode since /);
    expect(s.control.disableMaintenance()).toBe(true);
    expect(s.gate.status().accepting_new_orders).toBe(true);
  });
});

describe('PairControls: the monitor hooks', () => {
  it('record book commands and errors in the monitor; an operator trip is an action, an adaptive failure an error', () => {
    const s = setup();
    const sink = new RecordingSink();
    s.control.get(A).trip('operator', 'drill');
    s.control.reset(A, 'tester');
    expect(s.monitor.errorsSummary().last_24h.total).toBe(0);
    expect(s.tripErrors).toEqual([]);
    s.control.setPercentage(A, 100, 'test');
    s.faults.get(A)!.set({ kind: 'throw', everyNth: 1 });
    s.control.get(A).manager.apply(limit(1, 'buy', 90, 1), sink);
    expect(s.tripErrors).toEqual([`${A} adaptive_error`]);
    expect(s.monitor.errorsSummary().last_24h.by_kind).toEqual({ book_error: 1, breaker_trip: 1 });
    expect(s.events).toContain(`${A} fallback`);
    expect(s.monitor.perPair().filter((r) => r.pair === A && r.role === 'served').map((r) => [r.impl, r.commands])).toEqual(
      expect.arrayContaining([['legacy', 1]]),
    );
  });
});

describe('PairControls: the ramp tick and its gates', () => {
  it('advances a running ramp after each hold and leaves it at full with both books', () => {
    const s = setup();
    s.control.startRamp(A, undefined, 'test');
    expect(s.control.tickRamps().map((d) => d.action)).toEqual(['holding']);
    for (const pct of [50, 100]) {
      s.clock.advanceMs(HOLD_MS);
      const [d] = s.control.tickRamps();
      expect(d).toMatchObject({ pair: A, action: 'advanced', percentage: pct });
    }
    s.clock.advanceMs(HOLD_MS);
    expect(s.control.tickRamps()[0]).toMatchObject({ action: 'finished', state: 'full' });
    s.consistent();
    expect(s.control.tickRamps()).toEqual([]); // no ramp runs any more
  });

  it('counts divergence trips since the step started and rolls the ramp back on the breaker gate', () => {
    const s = setup();
    s.control.startRamp(A, undefined, 'test');
    expect(s.control.rampGates().get(A)).toEqual({ mismatches: 0, p95Ms: 0, errorRate: 0, breakerOpen: false });
    s.clock.advanceMs(10);
    s.control.get(A).trip('divergence', 'test divergence');
    expect(s.control.rampGates().get(A)).toMatchObject({ mismatches: 1, breakerOpen: true });
    const [d] = s.control.tickRamps();
    expect(d).toMatchObject({ pair: A, action: 'rolled_back', state: 'rolled_back', percentage: 0 });
    expect(s.migration.statusOf(A).last_reason).toMatch(/gate breaker failed/);
    s.consistent();
  });

  it('judges the served error rate from the monitor: a throwing adaptive book at 100 % is seen', () => {
    const s = setup();
    s.control.startRamp(A, [100], 'test');
    s.faults.get(A)!.set({ kind: 'throw', everyNth: 1 });
    const sink = new RecordingSink();
    s.control.get(A).manager.apply(limit(1, 'buy', 90, 1), sink); // served by legacy after the adaptive book threw
    const gates = s.control.rampGates().get(A)!;
    expect(gates.breakerOpen).toBe(true);
    expect(gates.errorRate).toBeGreaterThan(0);
    s.consistent();
  });

  it('frozen ramps have no gates and are not ticked', () => {
    const s = setup();
    s.control.startRamp(A, undefined, 'test');
    s.control.stopAll('test');
    expect(s.control.rampGates().size).toBe(0);
    expect(s.control.tickRamps()).toEqual([]);
  });
});

describe('PairControl: the stored control state', () => {
  it('restores migration, ramp and breaker from a document, books in line at once', () => {
    const s = setup();
    s.control.startRamp(A, [10, 100], 'test');
    s.control.get(B).trip('operator', 'drill');
    const docA = s.control.get(A).state();
    const docB = s.control.get(B).state();
    const t = setup('legacy_only');
    expect(t.control.get(A).restore(docA)).toMatch(/migration canary 10 %, ramp resumed/);
    expect(t.control.get(B).restore(docB)).toMatch(/breaker open \(operator\)/);
    expect(t.control.get(A).state()).toEqual(docA);
    expect(t.control.get(B).state()).toEqual({ ...docB, breaker: { ...docB.breaker as object, detail: 'restored after restart: drill' } });
    t.consistent();
    expect(t.control.get(A).restore({ version: 99 })).toBeUndefined();
  });
});

type Op =
  | { op: 'commands'; n: number }
  | { op: 'percentage'; pair: string; pct: number }
  | { op: 'ramp'; pair: string }
  | { op: 'complete'; pair: string }
  | { op: 'rollback'; pair: string }
  | { op: 'stop-all' }
  | { op: 'emergency-stop' }
  | { op: 'trip'; pair: string }
  | { op: 'reset'; pair: string }
  | { op: 'activate-all' }
  | { op: 'reset-all' }
  | { op: 'tick' }
  | { op: 'fault'; pair: string; on: boolean };

const pairArb = fc.constantFrom(A, B);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('commands' as const), n: fc.integer({ min: 1, max: 8 }) }) },
  fc.record({ op: fc.constant('percentage' as const), pair: fc.constantFrom(A, B, 'all'), pct: fc.constantFrom(0, 1, 50, 99, 100) }),
  fc.record({ op: fc.constant('ramp' as const), pair: pairArb }),
  fc.record({ op: fc.constant('complete' as const), pair: pairArb }),
  fc.record({ op: fc.constant('rollback' as const), pair: fc.constantFrom(A, B, 'all') }),
  fc.constant({ op: 'stop-all' as const }),
  fc.constant({ op: 'emergency-stop' as const }),
  fc.record({ op: fc.constant('trip' as const), pair: pairArb }),
  fc.record({ op: fc.constant('reset' as const), pair: pairArb }),
  fc.constant({ op: 'activate-all' as const }),
  fc.constant({ op: 'reset-all' as const }),
  fc.constant({ op: 'tick' as const }),
  fc.record({ op: fc.constant('fault' as const), pair: pairArb, on: fc.boolean() }),
);

describe('PairControls: property', () => {
  it('any sequence of operator operations, commands and breaker trips keeps the books in line with migration + breaker, and loses no acknowledged order', () => {
    fc.assert(
      fc.property(fc.constantFrom<'legacy_only' | 'shadow'>('legacy_only', 'shadow'), fc.array(opArb, { minLength: 1, maxLength: 40 }), commandSequence(80), (initial, ops, commands) => {
        const s = setup(initial);
        const reference = new LegacyBook(TEST_INSTRUMENT);
        const served = new RecordingSink();
        const expected = new RecordingSink();
        let next = 0;
        for (const o of ops) {
          try {
            switch (o.op) {
              case 'commands':
                for (let i = 0; i < o.n && next < commands.length; i++, next++) {
                  const cmd = commands[next]!;
                  let applied = true;
                  try {
                    s.control.get(A).manager.apply(cmd, served);
                  } catch {
                    applied = false; // a completed pair's adaptive book threw: the command was refused, nothing applied
                  }
                  if (applied) reference.apply(cmd, expected);
                  if (next % 3 === 0) s.control.get(A).manager.drainShadow(); // the adapter drains after replies
                }
                break;
              case 'percentage':
                s.control.setPercentage(o.pair, o.pct, 'prop');
                break;
              case 'ramp':
                s.control.startRamp(o.pair, undefined, 'prop');
                break;
              case 'complete':
                s.control.complete(o.pair, 'prop');
                break;
              case 'rollback':
                s.control.rollback(o.pair, 'prop');
                break;
              case 'stop-all':
                s.control.stopAll('prop');
                break;
              case 'emergency-stop':
                s.control.emergencyStop('prop');
                break;
              case 'trip':
                s.control.get(o.pair).trip('operator', 'prop');
                break;
              case 'reset':
                s.control.reset(o.pair, 'prop');
                break;
              case 'activate-all':
                s.control.activateAll('prop');
                break;
              case 'reset-all':
                s.control.resetAll('prop');
                break;
              case 'tick':
                s.clock.advanceMs(HOLD_MS);
                s.control.tickRamps();
                break;
              case 'fault':
                s.faults.get(o.pair)!.set(o.on ? { kind: 'throw', everyNth: 3 } : { kind: 'none' });
                break;
            }
          } catch (e) {
            if (!(e instanceof ValidationError)) throw e; // refused operations (complete below full, ramp on completed) change nothing
          }
          s.consistent();
        }
        expect(served.events).toEqual(expected.events);
        const truth = new LegacyBook(TEST_INSTRUMENT);
        truth.load(s.control.get(A).manager.restingOrders());
        expect(hashBookState(truth)).toBe(hashBookState(reference));
      }),
      propertyParameters(150),
    );
  });
});

describe('PairControls: one pair halted alone, a pair removed', () => {
  it('halts new orders of one pair only, names it in the refusal, and the halt of every pair wins', () => {
    const s = setup();
    expect(s.control.haltPair(A, 'op', 'review')).toBe(true);
    expect(s.control.haltPair(A, 'op', 'again')).toBe(false);
    expect(s.gate.refusal(A)).toMatch(new RegExp(`trading of ${A} halted by operator since .*cancels still work`));
    expect(s.gate.refusal(B)).toBeUndefined();
    expect(s.gate.refusal()).toBeUndefined();
    expect(s.gate.status()).toMatchObject({ accepting_new_orders: true, halted_pairs: [{ pair: A, on: true, by: 'op', reason: 'review' }] });
    s.control.halt('op', 'all');
    expect(s.gate.refusal(A)).toMatch(/^trading halted by operator/);
    s.control.resume();
    expect(s.control.resumePair(A)).toBe(true);
    expect(s.gate.refusal(A)).toBeUndefined();
    expect(() => s.control.haltPair('NOPE', 'op', 'x')).toThrow(ValidationError);
    expect(s.control.haltPair(B, 'op', 'kept', '2026-01-01T00:00:00.000Z')).toBe(true);
    expect(s.gate.pairHalt(B)).toEqual({ on: true, since: '2026-01-01T00:00:00.000Z', by: 'op', reason: 'kept' });
  });

  it('remove forgets the pair everywhere (migration state, breaker, halt); the other pair is untouched', () => {
    const s = setup();
    s.control.haltPair(A, 'op', 'going');
    s.control.get(A).trip('operator', 'drill');
    s.control.remove(A);
    expect(s.control.has(A)).toBe(false);
    expect(s.control.pairs()).toEqual([B]);
    expect(s.migration.pairs()).toEqual([B]);
    expect(s.breakers.pairs()).toEqual([B]);
    expect(s.breakers.history().last_24h.some((e) => e.pair === A)).toBe(false);
    expect(s.gate.haltedPairs()).toEqual([]);
    expect(() => s.control.remove(A)).toThrow(ValidationError);
    expect(s.keptBooks(B)).toEqual({ legacy: true, adaptive: true });
  });
});
