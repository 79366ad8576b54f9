/**
 * Migration controller specifications: percentages and states, the automatic ramp (holds, gates, rollback),
 * stop-all, emergency stop, completion, validation that changes nothing, deterministic routing, and properties
 * over random operation sequences. Time moves only through ManualClock.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../ports/clock.ts';
import { ValidationError } from './errors.ts';
import {
  compileMigrationControllerOptions,
  MigrationController,
  routingSlot,
  type MigrationControllerOptions,
  type MigrationState,
  type RampGates,
} from './migration-controller.ts';
import { propertyParameters } from '../../test/support/property-parameters.ts';

const HOLD = 600_000;
const OK: RampGates = { mismatches: 0, p95Ms: 3, errorRate: 0, breakerOpen: false };
const PAIRS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];

function controller(options: MigrationControllerOptions = {}, pairs = PAIRS) {
  const clock = new ManualClock();
  return { clock, m: new MigrationController(pairs, clock, options) };
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

describe('MigrationController: percentages and states', () => {
  it('pairs start legacy_only at 0 % (or shadow when configured)', () => {
    expect(controller().m.status().map((s) => [s.state, s.current_percentage])).toEqual(PAIRS.map(() => ['legacy_only', 0]));
    expect(controller({ initialState: 'shadow' }).m.stateOf('BTCUSDT')).toBe('shadow');
  });

  it.each<[number, MigrationState]>([
    [0, 'shadow'],
    [1, 'canary'],
    [42, 'canary'],
    [99, 'canary'],
    [100, 'full'],
  ])('setPercentage %i puts the pair in %s and records the reason', (pct, state) => {
    const { m } = controller();
    expect(m.setPercentage('BTCUSDT', pct, 'ticket OPS-1')).toEqual(['BTCUSDT']);
    expect(m.statusOf('BTCUSDT')).toMatchObject({ state, current_percentage: pct, target_percentage: pct, last_reason: 'ticket OPS-1' });
    expect(m.history('BTCUSDT').at(-1)).toMatchObject({ cause: 'manual', reason: 'ticket OPS-1', from_state: 'legacy_only', to_state: state, to_percentage: pct });
  });

  it("'all' changes every migrating pair and leaves legacy_only and completed pairs alone", () => {
    const { m } = controller({}, ['A', 'B', 'C', 'D']);
    m.setPercentage('A', 30, 'x');
    m.setPercentage('B', 100, 'x');
    m.setPercentage('C', 100, 'x');
    m.complete('C');
    expect(m.setPercentage('all', 0, 'runbook latency mitigation')).toEqual(['A', 'B']);
    expect(m.status().map((s) => [s.pair, s.state, s.current_percentage])).toEqual([
      ['A', 'shadow', 0],
      ['B', 'shadow', 0],
      ['C', 'completed', 100],
      ['D', 'legacy_only', 0],
    ]);
  });

  it("the runbook's jq on status() lists the pairs above 0 %", () => {
    const { m } = controller();
    m.setPercentage('ETHUSDT', 25, 'x');
    const status = JSON.parse(JSON.stringify(m.status())) as { pair: string; current_percentage: number }[];
    // jq '.[] | select(.current_percentage > 0) | {pair: .pair, percentage: .current_percentage}'
    expect(status.filter((s) => s.current_percentage > 0).map((s) => ({ pair: s.pair, percentage: s.current_percentage }))).toEqual([{ pair: 'ETHUSDT', percentage: 25 }]);
  });

  it.each([
    [-1, 'percentage'],
    [101, 'percentage'],
    [12.5, 'percentage'],
    [Number.NaN, 'percentage'],
    ['50', 'percentage'],
  ])('setPercentage(%o) is a ValidationError naming %s and changes nothing', (pct, field) => {
    const { m } = controller();
    m.setPercentage('BTCUSDT', 5, 'x');
    const before = JSON.stringify([m.status(), m.history('BTCUSDT')]);
    expectValidation(() => m.setPercentage('BTCUSDT', pct as number, 'y'), field);
    expectValidation(() => m.setPercentage('all', pct as number, 'y'), field);
    expect(JSON.stringify([m.status(), m.history('BTCUSDT')])).toBe(before);
  });

  it('an unknown pair is a ValidationError naming pair, for every operation', () => {
    const { m } = controller();
    const before = JSON.stringify(m.summary());
    for (const op of [
      () => m.setPercentage('DOGEUSDT', 5, 'x'),
      () => m.startRamp('DOGEUSDT'),
      () => m.rollback('DOGEUSDT', 'x'),
      () => m.complete('DOGEUSDT'),
      () => m.evaluate('DOGEUSDT', OK),
      () => m.isAdaptivePrimary('DOGEUSDT', 1),
    ]) {
      expectValidation(op, 'pair');
      try {
        op();
      } catch (e) {
        expect((e as Error).message).toContain('DOGEUSDT');
      }
    }
    expect(JSON.stringify(m.summary())).toBe(before);
  });

  it('a missing reason is a ValidationError naming reason', () => {
    const { m } = controller();
    expectValidation(() => m.setPercentage('BTCUSDT', 5, ''), 'reason');
    expect(m.percentageOf('BTCUSDT')).toBe(0);
  });

  it('complete is allowed only from full; rollback from completed revives legacy at 0 %', () => {
    const { m } = controller();
    m.setPercentage('BTCUSDT', 99, 'x');
    expectValidation(() => m.complete('BTCUSDT'), 'pair');
    expect(m.stateOf('BTCUSDT')).toBe('canary');
    m.setPercentage('BTCUSDT', 100, 'x');
    m.complete('BTCUSDT', 'legacy retired');
    expect(m.stateOf('BTCUSDT')).toBe('completed');
    expect([m.usesAdaptive('BTCUSDT'), m.usesLegacy('BTCUSDT')]).toEqual([true, false]);
    expect(m.rollback('BTCUSDT', 'regression found')).toEqual(['BTCUSDT']);
    expect(m.statusOf('BTCUSDT')).toMatchObject({ state: 'rolled_back', current_percentage: 0, last_reason: 'regression found' });
    expect([m.usesAdaptive('BTCUSDT'), m.usesLegacy('BTCUSDT')]).toEqual([true, true]);
  });

  it('setPercentage on a completed pair: 100 changes nothing, 1–99 goes to canary, 0 to rolled_back', () => {
    const { m } = controller();
    for (const [pct, state] of [
      [100, 'completed'],
      [40, 'canary'],
      [0, 'rolled_back'],
    ] as const) {
      m.setPercentage('ETHUSDT', 100, 'x');
      if (m.stateOf('ETHUSDT') !== 'completed') m.complete('ETHUSDT');
      m.setPercentage('ETHUSDT', pct, 'y');
      expect([m.stateOf('ETHUSDT'), m.percentageOf('ETHUSDT')]).toEqual([state, pct]);
    }
  });

  it('which books run: legacy_only → legacy only; completed → adaptive only; every other state → both', () => {
    const { m } = controller();
    expect([m.usesAdaptive('BTCUSDT'), m.usesLegacy('BTCUSDT')]).toEqual([false, true]);
    for (const pct of [0, 50, 100]) {
      m.setPercentage('BTCUSDT', pct, 'x');
      expect([m.usesAdaptive('BTCUSDT'), m.usesLegacy('BTCUSDT')]).toEqual([true, true]);
    }
    m.rollback('BTCUSDT', 'x');
    expect([m.usesAdaptive('BTCUSDT'), m.usesLegacy('BTCUSDT')]).toEqual([true, true]);
  });

  it('rollback of a legacy_only pair changes nothing', () => {
    const { m } = controller();
    expect(m.rollback('BTCUSDT', 'x')).toEqual([]);
    expect(m.stateOf('BTCUSDT')).toBe('legacy_only');
  });
});

describe('MigrationController: automatic ramp', () => {
  it('advances 1 → 5 → 25 → 50 → 100 one step per hold while every gate passes, then finishes at full', () => {
    const { clock, m } = controller();
    m.startRamp('BTCUSDT');
    expect(m.statusOf('BTCUSDT')).toMatchObject({ state: 'canary', current_percentage: 1, target_percentage: 100 });
    expect(m.statusOf('BTCUSDT').ramp).toMatchObject({
      active: true,
      frozen: false,
      steps: [1, 5, 25, 50, 100],
      step_index: 0,
      next_step_at: new Date(clock.nowMs() + HOLD).toISOString(),
    });
    const seen: number[] = [m.percentageOf('BTCUSDT')];
    for (const pct of [5, 25, 50, 100]) {
      clock.advanceMs(HOLD - 1);
      expect(m.evaluate('BTCUSDT', OK).action).toBe('holding');
      expect(m.percentageOf('BTCUSDT')).toBe(seen.at(-1));
      clock.advanceMs(1);
      expect(m.evaluate('BTCUSDT', OK)).toMatchObject({ action: 'advanced', percentage: pct });
      expect(m.evaluate('BTCUSDT', OK).action).toBe('holding'); // one step per hold, never two at once
      seen.push(pct);
    }
    expect(m.stateOf('BTCUSDT')).toBe('full');
    clock.advanceMs(HOLD);
    expect(m.evaluate('BTCUSDT', OK).action).toBe('finished');
    expect(m.statusOf('BTCUSDT')).toMatchObject({ state: 'full', current_percentage: 100, ramp: { active: false } });
    expect(m.evaluate('BTCUSDT', OK).action).toBe('idle');
    expect(m.history('BTCUSDT').map((h) => h.cause)).toEqual(['pair_added', 'ramp_start', 'ramp_advance', 'ramp_advance', 'ramp_advance', 'ramp_advance', 'ramp_finished']);
  });

  it('autoComplete completes the pair after the hold at 100 %', () => {
    const { clock, m } = controller({ autoComplete: true, rampSteps: [50, 100], holdMs: 1000 });
    m.startRamp('BTCUSDT');
    clock.advanceMs(1000);
    m.evaluate('BTCUSDT', OK);
    clock.advanceMs(1000);
    expect(m.evaluate('BTCUSDT', OK).action).toBe('completed');
    expect(m.stateOf('BTCUSDT')).toBe('completed');
    expect(m.isAdaptivePrimary('BTCUSDT', 12345)).toBe(true);
  });

  it('custom steps per startRamp, validated naming steps', () => {
    const { clock, m } = controller();
    m.startRamp('BTCUSDT', [10, 100]);
    clock.advanceMs(HOLD);
    expect(m.evaluate('BTCUSDT', OK).percentage).toBe(100);
    for (const bad of [[], [0, 100], [5, 5, 100], [10, 50], [50, 20, 100], [1.5, 100]]) expectValidation(() => m.startRamp('ETHUSDT', bad), 'steps');
    expect(m.stateOf('ETHUSDT')).toBe('legacy_only');
  });

  it('startRamp on a pair above the first step keeps its percentage and heads for the next step above it', () => {
    const { clock, m } = controller();
    m.setPercentage('BTCUSDT', 30, 'x');
    m.startRamp('BTCUSDT');
    expect(m.statusOf('BTCUSDT')).toMatchObject({ current_percentage: 30, ramp: { step_index: 2 } });
    clock.advanceMs(HOLD);
    expect(m.evaluate('BTCUSDT', OK).percentage).toBe(50);
  });

  it('startRamp on a completed pair is refused', () => {
    const { m } = controller();
    m.setPercentage('BTCUSDT', 100, 'x');
    m.complete('BTCUSDT');
    expectValidation(() => m.startRamp('BTCUSDT'), 'pair');
  });

  it.each<[string, Partial<RampGates>, RegExp]>([
    ['breaker', { breakerOpen: true }, /breaker failed at 5 %: circuit breaker open/],
    ['mismatches', { mismatches: 1 }, /mismatches failed at 5 %: 1 mismatches/],
    ['error_rate', { errorRate: 0.01 }, /error_rate failed at 5 %: error rate 0.01 \(must be < 0.01\)/],
    ['p95', { p95Ms: 20.5 }, /p95 failed at 5 %: p95 20.5 ms \(budget 20 ms\)/],
  ])('a failing %s gate rolls the ramp back at once, even mid-hold, naming gate and value', (gate, bad, message) => {
    const { clock, m } = controller();
    m.startRamp('BTCUSDT');
    clock.advanceMs(HOLD);
    m.evaluate('BTCUSDT', OK); // now at 5 %
    clock.advanceMs(1000); // mid-hold
    const d = m.evaluate('BTCUSDT', { ...OK, ...bad });
    expect(d).toMatchObject({ action: 'rolled_back', failed_gate: gate, percentage: 0, state: 'rolled_back' });
    expect(d.reason).toMatch(message);
    expect(m.statusOf('BTCUSDT')).toMatchObject({ state: 'rolled_back', current_percentage: 0, target_percentage: 0, ramp: { active: false, next_step_at: null } });
    expect(m.statusOf('BTCUSDT').last_reason).toMatch(message);
    expect(m.history('BTCUSDT').at(-1)).toMatchObject({ cause: 'gate_failed', from_percentage: 5, to_percentage: 0 });
  });

  it('gates at their limits pass: p95 equal to the budget, error rate just below 1 %', () => {
    const { clock, m } = controller();
    m.startRamp('BTCUSDT');
    clock.advanceMs(HOLD);
    expect(m.evaluate('BTCUSDT', { mismatches: 0, p95Ms: 20, errorRate: 0.0099, breakerOpen: false }).action).toBe('advanced');
  });

  it('bad gate values are a ValidationError naming the gate field and change nothing', () => {
    const { m } = controller();
    m.startRamp('BTCUSDT');
    expectValidation(() => m.evaluate('BTCUSDT', { ...OK, p95Ms: Number.NaN }), 'gates.p95Ms');
    expectValidation(() => m.evaluate('BTCUSDT', { ...OK, mismatches: -1 }), 'gates.mismatches');
    expectValidation(() => m.evaluate('BTCUSDT', { ...OK, errorRate: 2 }), 'gates.errorRate');
    expect(m.statusOf('BTCUSDT')).toMatchObject({ state: 'canary', current_percentage: 1, ramp: { active: true } });
  });

  it('tick judges every running ramp with its own health and skips pairs without health', () => {
    const { clock, m } = controller();
    m.startRamp('BTCUSDT');
    m.startRamp('ETHUSDT');
    m.startRamp('SOLUSDT');
    clock.advanceMs(HOLD);
    const decisions = m.tick(new Map([['BTCUSDT', OK], ['ETHUSDT', { ...OK, mismatches: 2 }]]));
    expect(decisions.map((d) => [d.pair, d.action])).toEqual([
      ['BTCUSDT', 'advanced'],
      ['ETHUSDT', 'rolled_back'],
    ]);
    expect(m.percentageOf('SOLUSDT')).toBe(1);
    expect(m.tick({ SOLUSDT: OK }).map((d) => [d.pair, d.action, d.percentage])).toEqual([['SOLUSDT', 'advanced', 5]]);
  });

  it('a manual percentage freezes the ramp where the operator put it; resumeRamp continues from there', () => {
    const { clock, m } = controller();
    m.startRamp('BTCUSDT');
    m.setPercentage('BTCUSDT', 10, 'hold at 10 for the auction');
    expect(m.statusOf('BTCUSDT').ramp).toMatchObject({ active: true, frozen: true, next_step_at: null });
    clock.advanceMs(10 * HOLD);
    expect(m.evaluate('BTCUSDT', OK).action).toBe('idle');
    expect(m.evaluate('BTCUSDT', { ...OK, mismatches: 5 }).action).toBe('idle'); // frozen: the operator's, not the ramp's
    expect(m.percentageOf('BTCUSDT')).toBe(10);
    m.resumeRamp('BTCUSDT', 'auction over');
    clock.advanceMs(HOLD);
    expect(m.evaluate('BTCUSDT', OK).percentage).toBe(25);
  });

  it('stop-all freezes every running ramp with percentages unchanged', () => {
    const { clock, m } = controller();
    m.startRamp('BTCUSDT');
    m.startRamp('ETHUSDT');
    clock.advanceMs(HOLD);
    m.evaluate('BTCUSDT', OK);
    expect(m.stopAll('planned maintenance')).toEqual(['BTCUSDT', 'ETHUSDT']);
    expect(m.status().map((s) => [s.pair, s.current_percentage, s.ramp.frozen])).toEqual([
      ['BTCUSDT', 5, true],
      ['ETHUSDT', 1, true],
      ['SOLUSDT', 0, false],
    ]);
    expect(m.summary()).toMatchObject({ active_ramps: 0, frozen_ramps: 2, emergency_stopped: false });
    clock.advanceMs(10 * HOLD);
    expect(m.tick({ BTCUSDT: OK, ETHUSDT: OK })).toEqual([]);
    expect(m.resumeRamp('all', 'maintenance done')).toEqual(['BTCUSDT', 'ETHUSDT']);
    expect(m.summary().active_ramps).toBe(2);
  });

  it('emergency stop puts every migrating pair at 0 % (stopped) at once, freezes ramps, and flags until a manual change', () => {
    const { clock, m } = controller({}, ['A', 'B', 'C', 'D', 'E']);
    m.startRamp('A');
    m.setPercentage('B', 60, 'x');
    m.setPercentage('C', 100, 'x');
    m.complete('C');
    m.setPercentage('E', 0, 'shadowing');
    expect(m.emergencyStop('critical incident')).toEqual(['A', 'B', 'E']);
    expect(m.status().map((s) => [s.pair, s.state, s.current_percentage])).toEqual([
      ['A', 'stopped', 0],
      ['B', 'stopped', 0],
      ['C', 'completed', 100],
      ['D', 'legacy_only', 0],
      ['E', 'stopped', 0],
    ]);
    expect(m.statusOf('A').ramp).toMatchObject({ active: true, frozen: true });
    expect(m.summary().emergency_stopped).toBe(true);
    clock.advanceMs(10 * HOLD);
    expect(m.tick({ A: OK })).toEqual([]);
    for (const seq of [0, 1, 2, 3, 99]) expect(m.isAdaptivePrimary('B', seq)).toBe(false);
    m.stopAll('still frozen');
    expect(m.isEmergencyStopped).toBe(true);
    m.setPercentage('B', 1, 'resuming carefully');
    expect(m.summary().emergency_stopped).toBe(false);
  });
});

describe('MigrationController: deterministic routing', () => {
  it('routingSlot is a bijection on each hundred consecutive sequence numbers', () => {
    for (const start of [0, 1, 57, 1_000_003, -250]) {
      const slots = new Set(Array.from({ length: 100 }, (_, i) => routingSlot(start + i)));
      expect(slots.size).toBe(100);
      expect(Math.min(...slots)).toBe(0);
      expect(Math.max(...slots)).toBe(99);
    }
  });

  it.each([0, 1, 5, 25, 50, 99, 100])('at %i %% exactly that share of 10,000 commands is adaptive-primary', (pct) => {
    const { m } = controller();
    m.setPercentage('BTCUSDT', pct, 'x');
    let adaptive = 0;
    for (let seq = 0; seq < 10_000; seq++) if (m.isAdaptivePrimary('BTCUSDT', seq)) adaptive++;
    expect(adaptive).toBe(pct * 100);
  });

  it('at 50 % the adaptive commands are interleaved, not one block per hundred', () => {
    const { m } = controller();
    m.setPercentage('BTCUSDT', 50, 'x');
    const first50 = Array.from({ length: 50 }, (_, seq) => m.isAdaptivePrimary('BTCUSDT', seq)).filter(Boolean).length;
    expect(first50).toBeGreaterThan(10);
    expect(first50).toBeLessThan(40);
  });

  it('legacy_only routes nothing to the adaptive book; completed routes everything', () => {
    const { m } = controller();
    expect(Array.from({ length: 100 }, (_, s) => m.isAdaptivePrimary('BTCUSDT', s)).some(Boolean)).toBe(false);
    m.setPercentage('BTCUSDT', 100, 'x');
    m.complete('BTCUSDT');
    expect(Array.from({ length: 100 }, (_, s) => m.isAdaptivePrimary('BTCUSDT', s)).every(Boolean)).toBe(true);
  });

  it('property: any 100 consecutive sequence numbers route exactly pct to the adaptive book, the same every time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 200 }), (pct, start) => {
        const a = controller().m;
        const b = controller().m;
        a.setPercentage('BTCUSDT', pct, 'x');
        b.setPercentage('BTCUSDT', pct, 'x');
        let n = 0;
        for (let seq = start; seq < start + 100; seq++) {
          const r = a.isAdaptivePrimary('BTCUSDT', seq);
          expect(b.isAdaptivePrimary('BTCUSDT', seq)).toBe(r);
          if (r) n++;
        }
        expect(n).toBe(pct);
      }),
      propertyParameters(300),
    );
  });
});

describe('MigrationController: properties over operation sequences', () => {
  type Op =
    | { op: 'set'; pair: string; pct: number }
    | { op: 'ramp'; pair: string }
    | { op: 'resume'; pair: string }
    | { op: 'stopAll' }
    | { op: 'emergency' }
    | { op: 'complete'; pair: string }
    | { op: 'rollback'; pair: string }
    | { op: 'advance'; ms: number }
    | { op: 'tick'; gates: RampGates };

  const pairArb = fc.constantFrom('A', 'B', 'all', 'ZZZ');
  const gatesArb = fc.record({
    mismatches: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 })),
    p95Ms: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 40, noNaN: true })),
    errorRate: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.05, noNaN: true })),
    breakerOpen: fc.boolean(),
  });
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('set' as const), pair: pairArb, pct: fc.oneof(fc.integer({ min: -5, max: 105 }), fc.constantFrom(0, 100, 50.5)) }),
    fc.record({ op: fc.constant('ramp' as const), pair: pairArb }),
    fc.record({ op: fc.constant('resume' as const), pair: pairArb }),
    fc.constant({ op: 'stopAll' as const }),
    fc.constant({ op: 'emergency' as const }),
    fc.record({ op: fc.constant('complete' as const), pair: pairArb }),
    fc.record({ op: fc.constant('rollback' as const), pair: pairArb }),
    fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 3 * HOLD }) }),
    fc.record({ op: fc.constant('tick' as const), gates: gatesArb }),
  );

  function run(m: MigrationController, clock: ManualClock, op: Op): void {
    switch (op.op) {
      case 'set':
        return void m.setPercentage(op.pair, op.pct, 'p');
      case 'ramp':
        return void m.startRamp(op.pair);
      case 'resume':
        return void m.resumeRamp(op.pair, 'p');
      case 'stopAll':
        return void m.stopAll('p');
      case 'emergency':
        return void m.emergencyStop('p');
      case 'complete':
        return void m.complete(op.pair);
      case 'rollback':
        return void m.rollback(op.pair, 'p');
      case 'advance':
        return clock.advanceMs(op.ms);
      case 'tick':
        return void m.tick({ A: op.gates, B: op.gates });
    }
  }

  const BAND: Record<MigrationState, [number, number]> = {
    legacy_only: [0, 0],
    shadow: [0, 0],
    canary: [1, 99],
    full: [100, 100],
    completed: [100, 100],
    rolled_back: [0, 0],
    stopped: [0, 0],
  };

  it('whatever the operations, every percentage stays a whole number in 0–100 within its state band, and a refused operation changes nothing', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const clock = new ManualClock();
        const m = new MigrationController(['A', 'B'], clock, {});
        for (const op of ops) {
          const before = JSON.stringify(m.summary());
          try {
            run(m, clock, op);
          } catch (e) {
            expect(e).toBeInstanceOf(ValidationError);
            expect(JSON.stringify(m.summary())).toBe(before);
          }
          for (const s of m.status()) {
            expect(Number.isInteger(s.current_percentage)).toBe(true);
            const [lo, hi] = BAND[s.state];
            expect(s.current_percentage).toBeGreaterThanOrEqual(lo);
            expect(s.current_percentage).toBeLessThanOrEqual(hi);
            expect(s.target_percentage).toBeGreaterThanOrEqual(0);
            expect(s.target_percentage).toBeLessThanOrEqual(100);
            if (s.ramp.active && !s.ramp.frozen) expect(s.ramp.next_step_at).not.toBeNull();
          }
        }
      }),
      propertyParameters(300),
    );
  });

  it('a ramp never raises a percentage except by one step after a full hold with passing gates', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 * HOLD }), gatesArb), { maxLength: 40 }), (steps) => {
        const { clock, m } = controller();
        m.startRamp('BTCUSDT');
        let lastChangeAt = clock.nowMs();
        for (const [ms, gates] of steps) {
          clock.advanceMs(ms);
          const before = m.percentageOf('BTCUSDT');
          const d = m.evaluate('BTCUSDT', gates);
          const after = m.percentageOf('BTCUSDT');
          if (after > before) {
            expect(d.action).toBe('advanced');
            expect(clock.nowMs() - lastChangeAt).toBeGreaterThanOrEqual(HOLD);
            expect(gates).toMatchObject({ mismatches: 0, breakerOpen: false });
            expect(gates.p95Ms).toBeLessThanOrEqual(20);
            expect(gates.errorRate).toBeLessThan(0.01);
            expect([1, 5, 25, 50, 100].indexOf(after)).toBe([1, 5, 25, 50, 100].indexOf(before) + 1);
            lastChangeAt = clock.nowMs();
          }
          if (d.action === 'rolled_back') expect(after).toBe(0);
        }
      }),
      propertyParameters(300),
    );
  });
});

describe('MigrationController: summary and options', () => {
  it('summary counts states, averages percentages and counts full and completed as fully migrated', () => {
    const { m } = controller({}, ['A', 'B', 'C', 'D']);
    m.setPercentage('A', 100, 'x');
    m.complete('A');
    m.setPercentage('B', 100, 'x');
    m.setPercentage('C', 25, 'x');
    m.startRamp('D');
    const s = m.summary();
    expect(s).toMatchObject({
      total_pairs: 4,
      by_state: { legacy_only: 0, shadow: 0, canary: 2, full: 1, completed: 1, rolled_back: 0, stopped: 0 },
      average_percentage: 56.5,
      fully_migrated: 2,
      active_ramps: 1,
      frozen_ramps: 0,
      emergency_stopped: false,
    });
    expect(s.pairs).toHaveLength(4);
  });

  it('history per pair is bounded by historyLimitPerPair', () => {
    const { m } = controller({ historyLimitPerPair: 5 });
    for (let i = 1; i <= 20; i++) m.setPercentage('BTCUSDT', i, `step ${i}`);
    const h = m.history('BTCUSDT');
    expect(h).toHaveLength(5);
    expect(h.at(-1)).toMatchObject({ reason: 'step 20', to_percentage: 20 });
  });

  it('fills the documented defaults', () => {
    expect(compileMigrationControllerOptions({})).toEqual({
      rampSteps: [1, 5, 25, 50, 100],
      holdMs: 600_000,
      p95BudgetMs: 20,
      maxErrorRate: 0.01,
      autoComplete: false,
      initialState: 'legacy_only',
      historyLimitPerPair: 100,
    });
  });

  it.each([
    [{ rampSteps: [1, 5, 50] }, 'rampSteps'],
    [{ rampSteps: [5, 1, 100] }, 'rampSteps'],
    [{ rampSteps: [0, 100] }, 'rampSteps'],
    [{ rampSteps: [] }, 'rampSteps'],
    [{ holdMs: 0 }, 'holdMs'],
    [{ holdMs: 1.5 }, 'holdMs'],
    [{ p95BudgetMs: -1 }, 'p95BudgetMs'],
    [{ maxErrorRate: 0 }, 'maxErrorRate'],
    [{ autoComplete: 'yes' }, 'autoComplete'],
    [{ initialState: 'canary' }, 'initialState'],
    [{ historyLimitPerPair: 0 }, 'historyLimitPerPair'],
    [{ holdMS: 5 }, 'holdMS'],
  ])('rejects %o naming %s', (raw, field) => {
    expectValidation(() => compileMigrationControllerOptions(raw as never), field);
  });
});
