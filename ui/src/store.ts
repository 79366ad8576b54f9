/**
 * The page's live state, fed by one SSE connection (live.ts) and drawn at most once per animation
 * frame: incoming events only mutate this model (latest wins per price level) and mark it dirty; one
 * requestAnimationFrame callback then notifies the views. Everything that accumulates is a fixed-size
 * ring, so a long session under load keeps a constant footprint.
 */
import { get } from './api.ts';
import { LiveConnection, type LiveStatus } from './live.ts';
import { Ring } from './ring.ts';

export interface Instrument {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  tickSize: string;
  lotSize: string;
  minPrice: string;
  maxPrice: string;
}

export interface Level {
  s: 'buy' | 'sell';
  p: string;
  t: number;
  q: string;
  n: number;
}

export interface Trade {
  id: number;
  p: string;
  t: number;
  q: string;
  side: 'buy' | 'sell';
  ts: number;
}

export interface UiOrder {
  pair: string;
  orderId: string;
  clientOrderId: string;
  side: string;
  type: string;
  timeInForce: string;
  postOnly: boolean;
  price: string;
  quantity: string;
  filled: string;
  remaining: string;
  status: string;
  cancelReason: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface OrderEventUi {
  pair: string;
  sequence: string;
  orderId: string;
  clientOrderId: string;
  status: string;
  ts: number;
  kind: 'accepted' | 'filled' | 'cancelled' | 'replaced' | 'unknown';
  side?: string;
  price?: string;
  quantity?: string;
  remaining?: string;
  liquidity?: string;
  reason?: string;
  tradeId?: string;
}

export interface Fill {
  ts: number;
  pair: string;
  orderId: string;
  price: string;
  quantity: string;
  liquidity: string;
  tradeId: string;
}

export interface UiConfig {
  pairs: Instrument[];
  chaosEnabled: boolean;
  authMode: string;
  session: { account: string } | null;
  limits: { maxStreams: number; flushMs: number };
}

const CLOSED = new Set(['FILLED', 'CANCELLED', 'REJECTED']);
/** Chart samples of the mid price: at most one per this many ms. */
const MID_SAMPLE_MS = 200;

export class Store {
  config: UiConfig | undefined;
  pair = '';
  instrument: Instrument | undefined;
  bids = new Map<number, Level>();
  asks = new Map<number, Level>();
  sequence = 0;
  trades = new Ring<Trade>(200);
  chartTrades = new Ring<Trade>(2000);
  chartMid = new Ring<{ ts: number; t: number }>(1500);
  private lastMidAt = 0;

  account: string | null = null;
  sessionState = 'none';
  orders = new Map<string, UiOrder>();
  fills = new Ring<Fill>(200);

  liveStatus: LiveStatus = 'connecting';
  liveDetail = '';
  /** Counters the load measurement reads (window.__tradingUi). */
  stats = { bookUpdates: 0, deltaEvents: 0, frames: 0, snapshots: 0, orderEvents: 0 };

  private live: LiveConnection | undefined;
  private connection = 0;
  private listeners = new Set<() => void>();
  private scheduled = false;

  constructor() {
    // The mid is sampled on a clock too, so the chart's line runs on while the book is quiet.
    setInterval(() => {
      this.sampleMid();
      this.changed();
    }, 1_000);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Marks the model changed; views redraw on the next animation frame (once, however many changes). */
  changed(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.stats.frames++;
      this.sampleMid();
      for (const l of this.listeners) l();
    });
  }

  async loadConfig(): Promise<void> {
    this.config = await get<UiConfig>('/ui/api/config');
    this.account = this.config.session?.account ?? null;
    if (this.pair === '' && this.config.pairs.length > 0) this.pair = this.config.pairs[0]!.symbol;
    this.instrument = this.config.pairs.find((p) => p.symbol === this.pair);
    this.changed();
  }

  /** (Re)opens the live stream for the selected pair; the session cookie decides whether order events come too. */
  connect(): void {
    this.live?.close();
    this.bids.clear();
    this.asks.clear();
    this.trades.clear();
    this.chartTrades.clear();
    this.chartMid.clear();
    // Only the newest connection speaks: a closed one's last words (its 'closed' status) are ignored.
    const id = ++this.connection;
    this.live = new LiveConnection(
      `/ui/api/stream?pair=${encodeURIComponent(this.pair)}`,
      (event, data) => {
        if (id === this.connection) this.onEvent(event, data);
      },
      (status, detail) => {
        if (id !== this.connection) return;
        this.liveStatus = status;
        this.liveDetail = detail;
        this.changed();
      },
    );
  }

  selectPair(symbol: string): void {
    if (symbol === this.pair) return;
    this.pair = symbol;
    this.instrument = this.config?.pairs.find((p) => p.symbol === symbol);
    this.connect();
    this.changed();
  }

  private onEvent(event: string, data: any): void {
    switch (event) {
      case 'book': {
        this.bids.clear();
        this.asks.clear();
        for (const l of data.bids as Level[]) this.bids.set(l.t, l);
        for (const l of data.asks as Level[]) this.asks.set(l.t, l);
        this.sequence = data.sequence;
        this.stats.snapshots++;
        break;
      }
      case 'delta': {
        // A gap means a lost frame: the server coalesces but never skips; reconnect for a fresh book.
        if (data.from !== this.sequence + 1) {
          console.warn(`trading ui: market data gap (${this.sequence} → ${data.from}); resubscribing`);
          this.connect();
          return;
        }
        for (const l of data.levels as Level[]) {
          const side = l.s === 'buy' ? this.bids : this.asks;
          if (l.q === '0' || l.n === 0 || /^0(\.0+)?$/.test(l.q)) side.delete(l.t);
          else side.set(l.t, l);
        }
        for (const t of data.trades as Trade[]) {
          this.trades.push(t);
          this.chartTrades.push(t);
        }
        this.sequence = data.to;
        this.stats.bookUpdates += data.updates;
        this.stats.deltaEvents++;
        break;
      }
      case 'session': {
        this.sessionState = data.state;
        if (data.state === 'live') void this.refreshOrders();
        if (data.state === 'ended' && this.account !== null && String(data.reason ?? '').length > 0 && data.error === 'UNAUTHENTICATED') {
          this.account = null;
          this.orders.clear();
        }
        break;
      }
      case 'order':
        this.stats.orderEvents++;
        this.applyOrderEvent(data as OrderEventUi);
        break;
      default:
        break;
    }
    this.changed();
  }

  private sampleMid(): void {
    const now = Date.now();
    if (now - this.lastMidAt < MID_SAMPLE_MS) return;
    const bb = this.bestBid();
    const ba = this.bestAsk();
    if (bb === undefined || ba === undefined) return;
    this.lastMidAt = now;
    this.chartMid.push({ ts: now, t: (bb.t + ba.t) / 2 });
  }

  bestBid(): Level | undefined {
    let best: Level | undefined;
    for (const l of this.bids.values()) if (best === undefined || l.t > best.t) best = l;
    return best;
  }

  bestAsk(): Level | undefined {
    let best: Level | undefined;
    for (const l of this.asks.values()) if (best === undefined || l.t < best.t) best = l;
    return best;
  }

  /** The best `n` levels of a side, best first. */
  top(side: 'buy' | 'sell', n: number): Level[] {
    const levels = [...(side === 'buy' ? this.bids : this.asks).values()];
    levels.sort((a, b) => (side === 'buy' ? b.t - a.t : a.t - b.t));
    return levels.slice(0, n);
  }

  // ---- account ----

  async refreshOrders(): Promise<void> {
    if (this.account === null) return;
    try {
      const r = await get<{ orders: UiOrder[] }>('/ui/api/orders');
      this.orders.clear();
      for (const o of r.orders) this.orders.set(key(o.pair, o.orderId), o);
    } catch (e) {
      console.warn('trading ui: open orders not loaded', e);
    }
    this.changed();
  }

  upsertOrder(o: UiOrder): void {
    if (CLOSED.has(o.status)) this.orders.delete(key(o.pair, o.orderId));
    else this.orders.set(key(o.pair, o.orderId), o);
    this.changed();
  }

  applyOrderEvent(e: OrderEventUi): void {
    const k = key(e.pair, e.orderId);
    const known = this.orders.get(k);
    if (e.kind === 'filled') {
      this.fills.push({ ts: e.ts, pair: e.pair, orderId: e.orderId, price: e.price ?? '', quantity: e.quantity ?? '', liquidity: e.liquidity ?? '', tradeId: e.tradeId ?? '' });
    }
    if (CLOSED.has(e.status)) {
      this.orders.delete(k);
      return;
    }
    if (known === undefined) {
      if (e.kind !== 'accepted') return void this.refreshOrders();
      this.orders.set(k, {
        pair: e.pair, orderId: e.orderId, clientOrderId: e.clientOrderId, side: e.side ?? '', type: 'limit', timeInForce: 'GTC', postOnly: false,
        price: e.price ?? '', quantity: e.quantity ?? '', filled: '0', remaining: e.quantity ?? '', status: e.status, cancelReason: null, createdAt: e.ts, updatedAt: e.ts,
      });
      return;
    }
    const next = { ...known, status: e.status, updatedAt: e.ts };
    if (e.remaining !== undefined) next.remaining = e.remaining;
    if (e.kind === 'replaced' && e.price !== undefined) next.price = e.price;
    this.orders.set(k, next);
  }

  setAccount(account: string | null): void {
    this.account = account;
    this.orders.clear();
    this.fills.clear();
    this.sessionState = 'none';
    this.connect(); // the new cookie (or none) decides whether order events come
    this.changed();
  }
}

const key = (pair: string, orderId: string): string => `${pair}#${orderId}`;

export const store = new Store();

declare global {
  interface Window {
    __tradingUi?: { store: Store };
  }
}
window.__tradingUi = { store };
