/**
 * The pairs one process serves, by symbol, with the account-id table they share. Pairs are added and
 * removed at runtime (instruments listed and delisted): an account subscription covers the pairs added
 * after it too, and whoever serves a pair (a market-data stream) can be told when it is removed.
 */
import type { Instrument } from '../core/instrument.ts';
import type { AccountId } from '../core/types.ts';
import type { Clock } from '../ports/clock.ts';
import { AccountIds } from './account-ids.ts';
import type { OrderRegistryOptions } from './order-registry.ts';
import type { ServingBookFactory } from './serving-book.ts';
import { TradingPair, type OrderEvent } from './trading-pair.ts';

export interface TradingPairsOptions extends OrderRegistryOptions {
  instruments: readonly Instrument[];
  createBook: ServingBookFactory;
  clock: Clock;
  onSubscriberError?: (error: unknown) => void;
}

type AccountPairListener = (pair: TradingPair, events: OrderEvent[]) => void;

interface AccountSubscription {
  account: AccountId;
  listener: AccountPairListener;
  /** Per pair it is subscribed to, how to end that part. */
  parts: Map<TradingPair, () => void>;
}

export class TradingPairs {
  readonly accounts = new AccountIds();
  private readonly pairs = new Map<string, TradingPair>();
  private readonly accountSubscriptions = new Set<AccountSubscription>();
  private readonly removalWatchers = new Map<TradingPair, Set<() => void>>();

  constructor(private readonly options: TradingPairsOptions) {
    for (const instrument of options.instruments) this.add(instrument);
  }

  /** Builds and serves a new pair. */
  add(instrument: Instrument): TradingPair {
    return this.serve(this.build(instrument));
  }

  /** Builds a pair sharing this set's accounts, not served yet (recovered first, then `serve`d). */
  build(instrument: Instrument): TradingPair {
    if (this.pairs.has(instrument.symbol)) throw new Error(`instrument ${instrument.symbol} is configured twice`);
    return new TradingPair({ ...this.options, instrument, accountName: (id) => this.accounts.nameOf(id) ?? '' });
  }

  /** Serves a built pair: lookups find it, every account subscription covers it from now on. */
  serve(pair: TradingPair): TradingPair {
    if (this.pairs.has(pair.symbol)) throw new Error(`instrument ${pair.symbol} is configured twice`);
    this.pairs.set(pair.symbol, pair);
    for (const s of this.accountSubscriptions) this.subscribePart(s, pair);
    return pair;
  }

  /**
   * Stops serving a pair: lookups no longer find it, account subscriptions drop it, and whoever watched
   * its removal is told (once). Returns the pair, or undefined when it was not served.
   */
  remove(symbol: string): TradingPair | undefined {
    const pair = this.pairs.get(symbol);
    if (pair === undefined) return undefined;
    this.pairs.delete(symbol);
    for (const s of this.accountSubscriptions) {
      s.parts.get(pair)?.();
      s.parts.delete(pair);
    }
    const watchers = this.removalWatchers.get(pair);
    this.removalWatchers.delete(pair);
    for (const w of watchers ?? []) w();
    return pair;
  }

  /** Calls `onRemoved` when `pair` stops being served; returns the way to stop watching. */
  watchRemoval(pair: TradingPair, onRemoved: () => void): () => void {
    if (this.pairs.get(pair.symbol) !== pair) {
      onRemoved();
      return () => {};
    }
    let set = this.removalWatchers.get(pair);
    if (set === undefined) this.removalWatchers.set(pair, (set = new Set()));
    set.add(onRemoved);
    return () => {
      const s = this.removalWatchers.get(pair);
      if (s === undefined) return;
      s.delete(onRemoved);
      if (s.size === 0) this.removalWatchers.delete(pair);
    };
  }

  get(symbol: string): TradingPair | undefined {
    return this.pairs.get(symbol);
  }

  /** Every pair, by symbol. */
  list(): TradingPair[] {
    return [...this.pairs.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  }

  get size(): number {
    return this.pairs.size;
  }

  /** Subscribes to one account's order events in every pair, including pairs added later. */
  subscribeAccount(account: AccountId, listener: AccountPairListener): () => void {
    const s: AccountSubscription = { account, listener, parts: new Map() };
    for (const p of this.pairs.values()) this.subscribePart(s, p);
    this.accountSubscriptions.add(s);
    return () => {
      this.accountSubscriptions.delete(s);
      for (const u of s.parts.values()) u();
      s.parts.clear();
    };
  }

  private subscribePart(s: AccountSubscription, pair: TradingPair): void {
    s.parts.set(
      pair,
      pair.subscribeAccount(s.account, (events) => s.listener(pair, events)),
    );
  }
}
