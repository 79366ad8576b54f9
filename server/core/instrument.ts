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

/** Validates a spec once and returns the frozen instrument; throws with the offending field named. */
export function compileInstrument(spec: InstrumentSpec): Instrument {
  const fail = (field: string, why: string): never => {
    throw new Error(`instrument ${spec.symbol || '?'}: ${field} ${why}`);
  };
  if (!/^[A-Z0-9]{2,20}$/.test(spec.symbol)) fail('symbol', 'must be 2-20 upper-case letters or digits');
  const tick = parseDecimal(spec.tickSize);
  if (tick === undefined || tick.units === 0n) return fail('tickSize', 'must be a positive decimal string');
  const lot = parseDecimal(spec.lotSize);
  if (lot === undefined || lot.units === 0n) return fail('lotSize', 'must be a positive decimal string');
  const positive = (field: keyof InstrumentSpec, v: number) => {
    if (!Number.isSafeInteger(v) || v <= 0) fail(field, 'must be a positive safe integer');
  };
  positive('minQuantityLots', spec.minQuantityLots);
  positive('maxQuantityLots', spec.maxQuantityLots);
  positive('minPriceTicks', spec.minPriceTicks);
  positive('maxPriceTicks', spec.maxPriceTicks);
  positive('marketProtectionBps', spec.marketProtectionBps);
  if (spec.marketProtectionBps > 10_000) fail('marketProtectionBps', 'must be <= 10000 (100 %)');
  if (spec.maxQuantityLots < spec.minQuantityLots) fail('maxQuantityLots', 'must be >= minQuantityLots');
  if (spec.maxPriceTicks < spec.minPriceTicks) fail('maxPriceTicks', 'must be >= minPriceTicks');
  // Notional = price × quantity must stay exact where the book sums it; the book itself only sums lots,
  // so the bound that matters is lots per side: keep the maximum far from 2^53.
  if (spec.maxQuantityLots > 2 ** 40) fail('maxQuantityLots', 'must be <= 2^40 so level totals stay exact');
  if (spec.maxPriceTicks > 2 ** 31 - 1) fail('maxPriceTicks', 'must fit in 31 bits');
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
