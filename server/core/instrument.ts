/**
 * A tradable pair's static rules: tick and lot size, quantity limits, the price band and the market
 * order protection band. Everything the book checks is in integer ticks and lots.
 */
import { type Decimal, parseDecimal, formatDecimal } from './decimal.ts';
import type { Lots, PriceTicks } from './types.ts';

export interface InstrumentSpec {
  /** Pair symbol, e.g. "BTCUSDT": upper-case letters and digits. */
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  /** Smallest price increment as a decimal string, e.g. "0.01". */
  tickSize: string;
  /** Smallest quantity increment as a decimal string, e.g. "0.00001". */
  lotSize: string;
  /** Smallest order quantity, in lots. */
  minQuantityLots: Lots;
  /** Largest order quantity, in lots. */
  maxQuantityLots: Lots;
  /** Lowest accepted limit price, in ticks (inclusive). */
  minPriceTicks: PriceTicks;
  /** Highest accepted limit price, in ticks (inclusive). */
  maxPriceTicks: PriceTicks;
  /**
   * A market order trades only at prices within this many basis points of the best opposite price
   * at its arrival; the rest is cancelled (MarketProtectionBand).
   */
  marketProtectionBps: number;
}

export interface Instrument extends Readonly<InstrumentSpec> {
  readonly tick: Decimal;
  readonly lot: Decimal;
}

/** The first rule `spec` breaks: the field and why; undefined when it is a valid instrument. */
export function checkInstrumentSpec(spec: InstrumentSpec): { field: keyof InstrumentSpec; why: string } | undefined {
  const positive = (v: number) => Number.isSafeInteger(v) && v > 0;
  if (!/^[A-Z0-9]{2,20}$/.test(spec.symbol)) return { field: 'symbol', why: 'must be 2-20 upper-case letters or digits' };
  const tick = parseDecimal(spec.tickSize);
  if (tick === undefined || tick.units === 0n) return { field: 'tickSize', why: 'must be a positive decimal string' };
  const lot = parseDecimal(spec.lotSize);
  if (lot === undefined || lot.units === 0n) return { field: 'lotSize', why: 'must be a positive decimal string' };
  for (const field of ['minQuantityLots', 'maxQuantityLots', 'minPriceTicks', 'maxPriceTicks', 'marketProtectionBps'] as const)
    if (!positive(spec[field])) return { field, why: 'must be a positive safe integer' };
  if (spec.marketProtectionBps > 10_000) return { field: 'marketProtectionBps', why: 'must be <= 10000 (100 %)' };
  if (spec.maxQuantityLots < spec.minQuantityLots) return { field: 'maxQuantityLots', why: 'must be >= minQuantityLots' };
  if (spec.maxPriceTicks < spec.minPriceTicks) return { field: 'maxPriceTicks', why: 'must be >= minPriceTicks' };
  // Notional = price × quantity must stay exact where the book sums it; the book itself only sums lots,
  // so the bound that matters is lots per side: keep the maximum far from 2^53.
  if (spec.maxQuantityLots > 2 ** 40) return { field: 'maxQuantityLots', why: 'must be <= 2^40 so level totals stay exact' };
  if (spec.maxPriceTicks > 2 ** 31 - 1) return { field: 'maxPriceTicks', why: 'must fit in 31 bits' };
  return undefined;
}

/** Validates a spec once and returns the frozen instrument; throws with the offending field named. */
export function compileInstrument(spec: InstrumentSpec): Instrument {
  const fault = checkInstrumentSpec(spec);
  if (fault !== undefined) throw new Error(`instrument ${spec.symbol || '?'}: ${fault.field} ${fault.why}`);
  const tick = parseDecimal(spec.tickSize)!;
  const lot = parseDecimal(spec.lotSize)!;
  return Object.freeze({
    ...spec,
    tick,
    lot,
    tickSize: formatDecimal(tick),
    lotSize: formatDecimal(lot),
  });
}

/** The pairs configured out of the box (realistic exchange-like steps). */
export const DEFAULT_INSTRUMENTS: readonly InstrumentSpec[] = [
  {
    symbol: 'BTCUSDT',
    baseAsset: 'BTC',
    quoteAsset: 'USDT',
    tickSize: '0.01',
    lotSize: '0.00001',
    minQuantityLots: 1, // 0.00001 BTC
    maxQuantityLots: 900_000_000, // 9000 BTC
    minPriceTicks: 1, // 0.01
    maxPriceTicks: 100_000_000, // 1,000,000.00
    marketProtectionBps: 500, // 5 %
  },
  {
    symbol: 'ETHUSDT',
    baseAsset: 'ETH',
    quoteAsset: 'USDT',
    tickSize: '0.01',
    lotSize: '0.0001',
    minQuantityLots: 1, // 0.0001 ETH
    maxQuantityLots: 90_000_000, // 9000 ETH
    minPriceTicks: 1,
    maxPriceTicks: 10_000_000, // 100,000.00
    marketProtectionBps: 500,
  },
  {
    symbol: 'SOLUSDT',
    baseAsset: 'SOL',
    quoteAsset: 'USDT',
    tickSize: '0.001',
    lotSize: '0.01',
    minQuantityLots: 1,
    maxQuantityLots: 10_000_000, // 100,000 SOL
    minPriceTicks: 1,
    maxPriceTicks: 100_000_000, // 100,000.000
    marketProtectionBps: 500,
  },
];
