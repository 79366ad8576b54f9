import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StepFormatter, formatDecimal, fromSteps, parseDecimal, toSteps } from './decimal.ts';

const tick = parseDecimal('0.01')!;

describe('decimal strings to whole steps', () => {
  it('converts exact multiples of the step', () => {
    expect(toSteps('65000.25', tick, 'tick size')).toEqual({ ok: true, steps: 6_500_025 });
    expect(toSteps('7', tick, 'tick size')).toEqual({ ok: true, steps: 700 });
    expect(toSteps('0.10', tick, 'tick size')).toEqual({ ok: true, steps: 10 });
  });

  it('refuses values that are not multiples, not decimals, or too large, saying why', () => {
    expect(toSteps('100.001', tick, 'tick size')).toEqual({ ok: false, reason: '100.001 is not a multiple of the tick size 0.01' });
    for (const bad of ['', '-1', '1e5', '1.', '.5', 'NaN', ' 1', '1,5', '0x10']) expect(toSteps(bad, tick, 'tick size').ok, bad).toBe(false);
    expect(toSteps('999999999999999999999999', tick, 'tick size')).toMatchObject({ ok: false, reason: expect.stringContaining('too large') });
  });

  it('round-trips every safe step count through its string form', () => {
    const lot = parseDecimal('0.00001')!;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (steps) => {
        expect(toSteps(fromSteps(steps, lot), lot, 'lot size')).toEqual({ ok: true, steps });
      }),
    );
  });
});

describe('fromSteps without BigInt and StepFormatter', () => {
  const bigintFormat = (steps: number, step: { units: bigint; scale: number }): string => formatDecimal({ units: BigInt(steps) * step.units, scale: step.scale });

  it('formats exactly as the BigInt path for every step count, including beyond 2^53 products', () => {
    for (const stepText of ['0.01', '0.00001', '1', '5', '0.25', '100', '0.000000000000000001']) {
      const step = parseDecimal(stepText)!;
      fc.assert(
        fc.property(fc.oneof(fc.integer({ min: 0, max: 100_000_000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })), (steps) => {
          expect(fromSteps(steps, step)).toBe(bigintFormat(steps, step));
        }),
      );
      for (const steps of [0, 1, 9, 10, 99, 100, 101, Number.MAX_SAFE_INTEGER]) expect(fromSteps(steps, step)).toBe(bigintFormat(steps, step));
    }
  });

  it('StepFormatter answers what fromSteps answers, across generations', () => {
    const lot = parseDecimal('0.00001')!;
    const f = new StepFormatter(lot, 8);
    for (let round = 0; round < 3; round++) for (let steps = 0; steps < 40; steps += round + 1) expect(f.format(steps)).toBe(fromSteps(steps, lot));
    expect(f.format(6_500_000)).toBe('65.00000');
  });
});

describe('toSteps integer fast path', () => {
  /** The BigInt-only implementation the fast path must agree with. */
  const reference = (text: string, step: { units: bigint; scale: number }, stepName: string) => {
    const value = parseDecimal(text);
    if (value === undefined) return { ok: false, reason: `must be a non-negative decimal string like "12.5", got ${JSON.stringify(text)}` };
    const scale = Math.max(value.scale, step.scale);
    const v = value.units * 10n ** BigInt(scale - value.scale);
    const s = step.units * 10n ** BigInt(scale - step.scale);
    if (v % s !== 0n) return { ok: false, reason: `${text} is not a multiple of the ${stepName} ${formatDecimal(step)}` };
    const steps = v / s;
    if (steps > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, reason: `${text} is too large` };
    return { ok: true, steps: Number(steps) };
  };
  const steps = ['0.01', '0.00001', '1', '5', '0.25', '100', '0.000000000000000001', '0.5'].map((t) => parseDecimal(t)!);
  const decimalText = fc.oneof(
    fc.tuple(fc.stringMatching(/^[0-9]{1,17}$/), fc.option(fc.stringMatching(/^[0-9]{1,19}$/))).map(([i, f]) => (f === null ? i : `${i}.${f}`)),
    fc.string({ unit: fc.constantFrom('0', '1', '5', '9', '.', '-', 'e', ' '), maxLength: 20 }),
  );

  it('agrees with the BigInt path on every input, valid or not', () => {
    fc.assert(
      fc.property(decimalText, fc.constantFrom(...steps), (text, step) => {
        expect(toSteps(text, step, 'step')).toEqual(reference(text, step, 'step'));
      }),
      { numRuns: 5000 },
    );
    for (const text of ['', '.', '1.', '.5', '0', '00', '007.50', '65000.25', '999999999999999', '9999999999999999', '1234567890.12345', '0.000001', '1.2.3', '１'])
      for (const step of steps) expect(toSteps(text, step, 'step'), `${text} / ${formatDecimal(step)}`).toEqual(reference(text, step, 'step'));
  });
});
