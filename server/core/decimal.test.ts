import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromSteps, parseDecimal, toSteps } from './decimal.ts';

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
