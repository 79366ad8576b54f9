import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_INSTRUMENTS, compileInstrument } from './instrument.ts';
import { instrumentInput, parseInstrument, parseInstrumentList, patchInstrument, sameInstrument } from './instrument-input.ts';

const DOGE = { symbol: 'DOGEUSDT', base_asset: 'DOGE', quote_asset: 'USDT', tick_size: '0.00001', lot_size: '1', max_quantity: '5000000', max_price: '100' };

function fault(value: unknown): { field: string; reason: string } {
  const r = parseInstrument(value);
  if (r.ok) throw new Error(`expected a fault, got ${JSON.stringify(r.instrument)}`);
  return r.fault;
}

describe('an instrument as operators write it', () => {
  it('parses decimal strings into ticks and lots, with defaults for the optional fields', () => {
    const r = parseInstrument(DOGE);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.instrument).toMatchObject({ symbol: 'DOGEUSDT', baseAsset: 'DOGE', quoteAsset: 'USDT', tickSize: '0.00001', lotSize: '1', minQuantityLots: 1, maxQuantityLots: 5_000_000, minPriceTicks: 1, maxPriceTicks: 10_000_000, marketProtectionBps: 500 });
    expect(r.instrument.tick).toEqual({ units: 1n, scale: 5 });
  });

  it('round-trips every default pair through its JSON form', () => {
    for (const spec of DEFAULT_INSTRUMENTS) {
      const i = compileInstrument(spec);
      const back = parseInstrument(JSON.parse(JSON.stringify(instrumentInput(i))));
      expect(back.ok && sameInstrument(back.instrument, i), spec.symbol).toBe(true);
      expect(back.ok && back.instrument).toEqual(i);
    }
  });

  it('names the field and why for each fault, echoing at most a short prefix', () => {
    expect(fault(null)).toEqual({ field: 'body', reason: 'must be a JSON object of instrument fields, got null' });
    expect(fault([DOGE])).toMatchObject({ field: 'body' });
    expect(fault({ ...DOGE, tick_size: 0.00001 })).toEqual({ field: 'tick_size', reason: 'must be a string holding an exact decimal (not a JSON number: no floats), got 0.00001' });
    expect(fault({ ...DOGE, lot_size: '-1' })).toMatchObject({ field: 'lot_size', reason: expect.stringMatching(/positive decimal string/) });
    expect(fault({ ...DOGE, lot_size: '0.000' })).toMatchObject({ field: 'lot_size' });
    expect(fault({ ...DOGE, max_price: '100.000001' })).toEqual({ field: 'max_price', reason: '100.000001 is not a multiple of the tick_size 0.00001' });
    expect(fault({ ...DOGE, max_price: '0' })).toEqual({ field: 'max_price', reason: 'must be greater than 0' });
    expect(fault({ ...DOGE, max_price: '1e3' })).toMatchObject({ field: 'max_price', reason: expect.stringMatching(/decimal string/) });
    expect(fault({ ...DOGE, min_price: '200' })).toMatchObject({ field: 'max_price', reason: expect.stringMatching(/must be >= min_price/) });
    expect(fault({ ...DOGE, max_price: '100000' })).toMatchObject({ field: 'max_price', reason: expect.stringMatching(/31 bits \(counted in ticks of tick_size\)/) });
    expect(fault({ ...DOGE, lot_size: '0.000001', max_quantity: '5000000' })).toMatchObject({ field: 'max_quantity', reason: expect.stringMatching(/2\^40 .*counted in lots/) });
    expect(fault({ ...DOGE, symbol: 'doge' })).toEqual({ field: 'symbol', reason: 'must be 2-20 upper-case letters or digits, got "doge"' });
    expect(fault({ ...DOGE, quote_asset: 'DOGE' })).toEqual({ field: 'quote_asset', reason: 'must differ from base_asset (DOGE)' });
    expect(fault({ ...DOGE, market_protection_bps: 1.5 })).toMatchObject({ field: 'market_protection_bps' });
    expect(fault({ ...DOGE, market_protection_bps: 0 })).toMatchObject({ field: 'market_protection_bps', reason: expect.stringMatching(/positive/) });
    expect(fault({ ...DOGE, tickSize: '0.1' })).toMatchObject({ field: 'tickSize', reason: expect.stringMatching(/not an instrument field \(allowed: symbol, /) });
    const { max_quantity: _, ...noMax } = DOGE;
    expect(fault(noMax)).toEqual({ field: 'max_quantity', reason: 'is required' });
    const huge = fault({ ...DOGE, symbol: 'A'.repeat(10_000) });
    expect(huge.reason.length).toBeLessThan(120);
    expect(fault({ ...DOGE, ['k'.repeat(10_000)]: 1 }).field.length).toBeLessThanOrEqual(40);
  });

  it('never throws and never accepts a value that compileInstrument would refuse', () => {
    const field = fc.oneof(fc.string(), fc.constantFrom('0', '1', '0.01', '100', '1e2', '-1', '0.000000001'), fc.integer(), fc.double(), fc.constant(undefined));
    fc.assert(
      fc.property(fc.record({ tick_size: field, lot_size: field, max_quantity: field, max_price: field, min_price: field, market_protection_bps: fc.oneof(fc.integer(), fc.string()) }), (changes) => {
        const r = parseInstrument({ ...DOGE, ...changes });
        if (r.ok) expect(() => compileInstrument(r.instrument)).not.toThrow();
        else expect(r.fault.field.length).toBeGreaterThan(0);
      }),
    );
  });
});

describe('a list of instruments (INSTRUMENTS_FILE / INSTRUMENTS)', () => {
  it('parses an array, names the element of a fault, refuses duplicates and more than the cap', () => {
    expect(parseInstrumentList(JSON.stringify([DOGE, { ...DOGE, symbol: 'SHIBUSDT', base_asset: 'SHIB' }]), 10)).toMatchObject({ ok: true, instruments: [{ symbol: 'DOGEUSDT' }, { symbol: 'SHIBUSDT' }] });
    expect(parseInstrumentList('[', 10)).toMatchObject({ ok: false, fault: { field: 'instruments', reason: expect.stringMatching(/^is not JSON/) } });
    expect(parseInstrumentList('{}', 10)).toMatchObject({ ok: false, fault: { field: 'instruments', reason: expect.stringMatching(/JSON array/) } });
    expect(parseInstrumentList(JSON.stringify([DOGE, { ...DOGE, lot_size: 1 }]), 10)).toMatchObject({ ok: false, fault: { field: 'instruments[1].lot_size' } });
    expect(parseInstrumentList(JSON.stringify([DOGE, DOGE]), 10)).toEqual({ ok: false, fault: { field: 'instruments[1].symbol', reason: 'DOGEUSDT is listed twice' } });
    expect(parseInstrumentList(JSON.stringify([DOGE, DOGE]), 1)).toMatchObject({ ok: false, fault: { reason: expect.stringMatching(/at most 1 may be listed \(MAX_INSTRUMENTS\)/) } });
    expect(parseInstrumentList('[]', 10)).toEqual({ ok: true, instruments: [] });
  });
});

describe('changing a listed instrument (PATCH)', () => {
  const current = (parseInstrument(DOGE) as { ok: true; instrument: ReturnType<typeof compileInstrument> }).instrument;

  it('replaces the given fields and keeps the others at their decimal values', () => {
    const r = patchInstrument(current, { max_price: '50', market_protection_bps: 100 });
    expect(r.ok && r.instrument).toMatchObject({ symbol: 'DOGEUSDT', tickSize: '0.00001', maxPriceTicks: 5_000_000, marketProtectionBps: 100 });
  });

  it('refuses a new symbol, and kept limits that do not fit a new tick', () => {
    expect(patchInstrument(current, { symbol: 'SHIBUSDT' })).toMatchObject({ ok: false, fault: { field: 'symbol', reason: expect.stringMatching(/cannot be changed/) } });
    expect(patchInstrument(current, { symbol: 'DOGEUSDT', max_price: '60' }).ok).toBe(true);
    expect(patchInstrument(current, { tick_size: '0.001' })).toEqual({ ok: false, fault: { field: 'min_price', reason: '0.00001 is not a multiple of the tick_size 0.001' } });
    expect(patchInstrument(current, { tick_size: '0.001', min_price: '0.001' }).ok).toBe(true);
  });
});
