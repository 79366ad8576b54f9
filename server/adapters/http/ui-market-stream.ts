/**
 * One pair's market data for one Trading UI connection, bridged from the engine's own market-data
 * subscription (TradingPair.subscribeMarketData: snapshot and contiguous deltas, published once durable,
 * the same feed the gRPC StreamMarketData serves) and COALESCED: between two flushes every changed level
 * keeps only its latest aggregate (latest-wins per side+price) and at most `maxTradesPerFlush` newest
 * trades are kept, so what is sent per flush is bounded by the number of distinct levels that changed,
 * never by the update rate. A burst of 10,000 deltas on one level costs one level update on the wire.
 *
 * Wire form (JSON in SSE events): prices and quantities as the exact decimal strings of the gRPC API
 * (`p`, `q`), plus the price in integer ticks (`t`) so the page can sort levels and place them on a chart
 * without parsing decimals. Sides are 'buy' / 'sell'.
 */
import type { Instrument } from '../../core/instrument.ts';
import { Side } from '../../core/types.ts';
import type { MarketDataDelta, TradingPair } from '../../pairs/trading-pair.ts';
import { priceText, quantityText } from '../grpc/codec.ts';

export interface WireLevel {
  /** 'buy' (bid) or 'sell' (ask). */
  s: 'buy' | 'sell';
  /** Price, exact decimal. */
  p: string;
  /** Price in ticks (integer). */
  t: number;
  /** Aggregate quantity, exact decimal; "0" removes the level. */
  q: string;
  /** Orders at the level. */
  n: number;
}

export interface WireTrade {
  id: number;
  p: string;
  t: number;
  q: string;
  /** The taker's side. */
  side: 'buy' | 'sell';
  ts: number;
}

export interface MarketStreamOptions {
  /** Levels per side in the first snapshot (deltas cover every level). @default 200 */
  snapshotDepth?: number;
  /** Newest trades kept between flushes (older ones are counted, not sent). @default 100 */
  maxTradesPerFlush?: number;
}

export const DEFAULT_SNAPSHOT_DEPTH = 200;
export const DEFAULT_MAX_TRADES_PER_FLUSH = 100;

const sideName = (s: number): 'buy' | 'sell' => (s === Side.Buy ? 'buy' : 'sell');

/** What the page needs to format an instrument's prices (tick size and scale). */
export function instrumentInfo(inst: Instrument): Record<string, unknown> {
  return {
    symbol: inst.symbol,
    baseAsset: inst.baseAsset,
    quoteAsset: inst.quoteAsset,
    tickSize: inst.tickSize,
    lotSize: inst.lotSize,
    minPrice: priceText(inst, inst.minPriceTicks),
    maxPrice: priceText(inst, inst.maxPriceTicks),
  };
}

export class MarketStream {
  private readonly inst: Instrument;
  /** Changed levels since the last flush, latest wins; key `side:ticks`. */
  private readonly pendingLevels = new Map<string, { side: number; price: number; quantity: number; orderCount: number }>();
  private pendingTrades: WireTrade[] = [];
  private droppedTrades = 0;
  private deltasSinceFlush = 0;
  private firstSequence = 0;
  private lastSequence: number;
  private readonly unsubscribe: () => void;
  private readonly maxTrades: number;
  /** Deltas received from the engine since the stream opened. */
  deltasReceived = 0;

  constructor(pair: TradingPair, options: MarketStreamOptions = {}) {
    this.inst = pair.instrument;
    this.maxTrades = options.maxTradesPerFlush ?? DEFAULT_MAX_TRADES_PER_FLUSH;
    const sub = pair.subscribeMarketData(options.snapshotDepth ?? DEFAULT_SNAPSHOT_DEPTH, (d) => this.onDelta(d));
    this.unsubscribe = sub.unsubscribe;
    this.lastSequence = sub.snapshot.sequence;
    this.snapshotEvent = {
      pair: this.inst.symbol,
      sequence: sub.snapshot.sequence,
      instrument: instrumentInfo(this.inst),
      bids: sub.snapshot.bids.map((l) => this.level(Side.Buy, l.price, l.quantity, l.orderCount)),
      asks: sub.snapshot.asks.map((l) => this.level(Side.Sell, l.price, l.quantity, l.orderCount)),
    };
  }

  /** The `book` event to send first. */
  readonly snapshotEvent: Record<string, unknown>;

  private level(side: number, price: number, quantity: number, orderCount: number): WireLevel {
    return { s: sideName(side), p: priceText(this.inst, price), t: price, q: quantityText(this.inst, quantity), n: orderCount };
  }

  private onDelta(d: MarketDataDelta): void {
    this.deltasReceived++;
    if (this.deltasSinceFlush === 0) this.firstSequence = d.sequence;
    this.deltasSinceFlush++;
    this.lastSequence = d.sequence;
    for (const l of d.levels) this.pendingLevels.set(`${l.side}:${l.price}`, { side: l.side, price: l.price, quantity: l.quantity, orderCount: l.orderCount });
    for (const t of d.trades) {
      this.pendingTrades.push({ id: t.tradeId, p: priceText(this.inst, t.price), t: t.price, q: quantityText(this.inst, t.quantity), side: sideName(t.takerSide), ts: t.timestampMs });
    }
    if (this.pendingTrades.length > this.maxTrades * 2) this.trimTrades();
  }

  private trimTrades(): void {
    const excess = this.pendingTrades.length - this.maxTrades;
    if (excess <= 0) return;
    this.droppedTrades += excess;
    this.pendingTrades = this.pendingTrades.slice(excess);
  }

  /** The coalesced `delta` event since the last flush, or undefined when nothing changed. */
  flush(): Record<string, unknown> | undefined {
    if (this.deltasSinceFlush === 0) return undefined;
    this.trimTrades();
    const levels: WireLevel[] = [];
    for (const l of this.pendingLevels.values()) levels.push(this.level(l.side, l.price, l.quantity, l.orderCount));
    const event = {
      pair: this.inst.symbol,
      from: this.firstSequence,
      to: this.lastSequence,
      updates: this.deltasSinceFlush,
      levels,
      trades: this.pendingTrades,
      tradesOmitted: this.droppedTrades,
    };
    this.pendingLevels.clear();
    this.pendingTrades = [];
    this.droppedTrades = 0;
    this.deltasSinceFlush = 0;
    return event;
  }

  close(): void {
    this.unsubscribe();
  }
}
