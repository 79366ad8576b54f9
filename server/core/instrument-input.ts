/**
 * An instrument as operators write it (INSTRUMENTS_FILE, INSTRUMENTS, POST /admin/instruments, the
 * `instruments` table): a JSON object with snake_case fields and every size, limit and price as an exact
 * decimal string, never a float. Parsing checks every field and answers the first fault with the field
 * named and why (echoing at most a short prefix of the value); compileInstrument then freezes it. Pure.
 */
import { checkInstrumentSpec, compileInstrument, type Instrument, type InstrumentSpec } from './instrument.ts';
import { fromSteps, parseDecimal, toSteps, type Decimal } from './decimal.ts';

/** The JSON form of one instrument (what GET /admin/instruments answers and the table stores). */
export interface InstrumentInput {
  symbol: string;
  base_asset: string;
  quote_asset: string;
  tick_size: string;
  lot_size: string;
  min_quantity: string;
  max_quantity: string;
  min_price: string;
  max_price: string;
  market_protection_bps: number;
}

export const INSTRUMENT_FIELDS: readonly (keyof InstrumentInput)[] = [
  'symbol',
  'base_asset',
  'quote_asset',
  'tick_size',
  'lot_size',
  'min_quantity',
  'max_quantity',
  'min_price',
  'max_price',
  'market_protection_bps',
];

/** Fields a request may leave out, with what they default to. */
const OPTIONAL = new Set<string>(['min_quantity', 'min_price', 'market_protection_bps']);
/** Market order protection band when none is given (5 %, as the default pairs). */
export const DEFAULT_PROTECTION_BPS = 500;

/** A fault: the field (path, e.g. `instruments[2].tick_size`) and why. */
export interface InstrumentFault {
  field: string;
  reason: string;
}

export type InstrumentResult = { ok: true; instrument: Instrument } | { ok: false; fault: InstrumentFault };
export type InstrumentListResult = { ok: true; instruments: Instrument[] } | { ok: false; fault: InstrumentFault };

const ECHO = 40;
/** At most a short prefix of what the caller sent. */
function shown(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value.length > ECHO ? `${value.slice(0, ECHO)}…` : value) : (JSON.stringify(value) ?? String(value));
  return text.length > ECHO + 8 ? `${text.slice(0, ECHO + 8)}…` : text;
}

class Fault extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

const ASSET = /^[A-Z0-9]{1,12}$/;

/** The input field each spec field comes from (compileInstrument's rules name spec fields). */
const INPUT_FIELD: Record<keyof InstrumentSpec, keyof InstrumentInput> = {
  symbol: 'symbol',
  baseAsset: 'base_asset',
  quoteAsset: 'quote_asset',
  tickSize: 'tick_size',
  lotSize: 'lot_size',
  minQuantityLots: 'min_quantity',
  maxQuantityLots: 'max_quantity',
  minPriceTicks: 'min_price',
  maxPriceTicks: 'max_price',
  marketProtectionBps: 'market_protection_bps',
};
/** The unit the spec rules count in, where it is not the input's. */
const UNIT: Partial<Record<keyof InstrumentSpec, string>> = {
  maxQuantityLots: ' (counted in lots of lot_size)',
  maxPriceTicks: ' (counted in ticks of tick_size)',
};

/** Parses one instrument; `where` prefixes field names (e.g. `instruments[0].`). */
export function parseInstrument(value: unknown, where = ''): InstrumentResult {
  try {
    return { ok: true, instrument: parseOrThrow(value, where) };
  } catch (err) {
    if (err instanceof Fault) return { ok: false, fault: { field: err.field, reason: err.reason } };
    throw err;
  }
}

/** Parses a JSON array of instruments (the INSTRUMENTS_FILE / INSTRUMENTS format); symbols must be unique. */
export function parseInstrumentList(text: string, max: number): InstrumentListResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, fault: { field: 'instruments', reason: `is not JSON: ${(err as Error).message.slice(0, 80)}` } };
  }
  if (!Array.isArray(value)) return { ok: false, fault: { field: 'instruments', reason: `must be a JSON array of instrument objects, got ${shown(value)}` } };
  if (value.length > max) return { ok: false, fault: { field: 'instruments', reason: `holds ${value.length} instruments; at most ${max} may be listed (MAX_INSTRUMENTS)` } };
  const out: Instrument[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < value.length; i++) {
    const r = parseInstrument(value[i], `instruments[${i}].`);
    if (!r.ok) return r;
    if (seen.has(r.instrument.symbol)) return { ok: false, fault: { field: `instruments[${i}].symbol`, reason: `${r.instrument.symbol} is listed twice` } };
    seen.add(r.instrument.symbol);
    out.push(r.instrument);
  }
  return { ok: true, instruments: out };
}

/**
 * `current` with the fields of `changes` replaced (PATCH): the symbol cannot change; the limits not given
 * keep their decimal values, so they must still be whole multiples of a new tick or lot size.
 */
export function patchInstrument(current: Instrument, changes: Record<string, unknown>): InstrumentResult {
  if ('symbol' in changes && changes['symbol'] !== current.symbol) return { ok: false, fault: { field: 'symbol', reason: `cannot be changed (delist and list a new pair instead), got ${shown(changes['symbol'])}` } };
  return parseInstrument({ ...instrumentInput(current), ...changes });
}

/** The JSON form of a compiled instrument; parseInstrument(instrumentInput(i)) gives `i` back. */
export function instrumentInput(i: Instrument): InstrumentInput {
  return {
    symbol: i.symbol,
    base_asset: i.baseAsset,
    quote_asset: i.quoteAsset,
    tick_size: i.tickSize,
    lot_size: i.lotSize,
    min_quantity: fromSteps(i.minQuantityLots, i.lot),
    max_quantity: fromSteps(i.maxQuantityLots, i.lot),
    min_price: fromSteps(i.minPriceTicks, i.tick),
    max_price: fromSteps(i.maxPriceTicks, i.tick),
    market_protection_bps: i.marketProtectionBps,
  };
}

/** Whether two instruments have the same rules (every field). */
export function sameInstrument(a: Instrument, b: Instrument): boolean {
  const x = instrumentInput(a);
  const y = instrumentInput(b);
  return INSTRUMENT_FIELDS.every((f) => x[f] === y[f]);
}

function parseOrThrow(value: unknown, where: string): Instrument {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Fault(where === '' ? 'body' : where.slice(0, -1), `must be a JSON object of instrument fields, got ${shown(value)}`);
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o))
    if (!(INSTRUMENT_FIELDS as readonly string[]).includes(key)) throw new Fault(`${where}${key.slice(0, ECHO)}`, `is not an instrument field (allowed: ${INSTRUMENT_FIELDS.join(', ')})`);
  for (const f of INSTRUMENT_FIELDS) if (o[f] === undefined && !OPTIONAL.has(f)) throw new Fault(`${where}${f}`, 'is required');
  const text = (f: string): string => {
    const v = o[f];
    if (typeof v !== 'string') throw new Fault(`${where}${f}`, `must be a string${f.endsWith('_size') || f.startsWith('min_') || f.startsWith('max_') ? ' holding an exact decimal (not a JSON number: no floats)' : ''}, got ${shown(v)}`);
    return v;
  };
  const symbol = text('symbol');
  const asset = (f: string): string => {
    const v = text(f);
    if (!ASSET.test(v)) throw new Fault(`${where}${f}`, `must be 1-12 upper-case letters or digits, got ${shown(v)}`);
    return v;
  };
  const baseAsset = asset('base_asset');
  const quoteAsset = asset('quote_asset');
  if (baseAsset === quoteAsset) throw new Fault(`${where}quote_asset`, `must differ from base_asset (${baseAsset})`);
  const step = (f: string): Decimal => {
    const v = text(f);
    const d = parseDecimal(v);
    if (d === undefined || d.units === 0n) throw new Fault(`${where}${f}`, `must be a positive decimal string like "0.01", got ${shown(v)}`);
    return d;
  };
  const tick = step('tick_size');
  const lot = step('lot_size');
  const steps = (f: string, unit: Decimal, unitName: string, fallback: number): number => {
    if (o[f] === undefined) return fallback;
    const r = toSteps(text(f), unit, unitName);
    if (!r.ok) throw new Fault(`${where}${f}`, r.reason.replace(/got ".*"$/, `got ${shown(o[f])}`));
    if (r.steps <= 0) throw new Fault(`${where}${f}`, 'must be greater than 0');
    return r.steps;
  };
  const minQuantityLots = steps('min_quantity', lot, 'lot_size', 1);
  const maxQuantityLots = steps('max_quantity', lot, 'lot_size', 1);
  const minPriceTicks = steps('min_price', tick, 'tick_size', 1);
  const maxPriceTicks = steps('max_price', tick, 'tick_size', 1);
  const bps = o['market_protection_bps'] ?? DEFAULT_PROTECTION_BPS;
  if (typeof bps !== 'number' || !Number.isInteger(bps)) throw new Fault(`${where}market_protection_bps`, `must be a whole number of basis points (1-10000), got ${shown(bps)}`);
  const spec: InstrumentSpec = { symbol, baseAsset, quoteAsset, tickSize: o['tick_size'] as string, lotSize: o['lot_size'] as string, minQuantityLots, maxQuantityLots, minPriceTicks, maxPriceTicks, marketProtectionBps: bps };
  const fault = checkInstrumentSpec(spec);
  if (fault !== undefined) throw new Fault(`${where}${INPUT_FIELD[fault.field]}`, `${fault.why.replace(/minQuantityLots|minPriceTicks/, (f) => INPUT_FIELD[f as keyof InstrumentSpec])}${UNIT[fault.field] ?? ''}, got ${shown(o[INPUT_FIELD[fault.field]])}`);
  return compileInstrument(spec);
}
