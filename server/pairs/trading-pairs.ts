/**
 * The pairs one process serves, by symbol, with the account-id table they share. Built once by the
 * composition root; a later issue spreads pairs over replicas, so nothing here is global.
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

export class TradingPairs {
  readonly accounts = new AccountIds();
  private readonly pairs = new Map<string, TradingPair>();

  constructor(options: TradingPairsOptions) {
    for (const instrument of options.instruments) {
      if (this.pairs.has(instrument.symbol)) throw new Error(`instrument ${instrument.symbol} is configured twice`);
      this.pairs.set(instrument.symbol, new TradingPair({ ...options, instrument, accountName: (id) => this.accounts.nameOf(id) ?? '' }));
    }
  }

  get(symbol: string): TradingPair | undefined {
    return this.pairs.get(symbol);
  }

  /** Every pair, by symbol. */
  list(): TradingPair[] {
    return [...this.pairs.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  }

  /** Subscribes to one account's order events in every pair. */
  subscribeAccount(account: AccountId, listener: (pair: TradingPair, events: OrderEvent[]) => void): () => void {
    const unsubscribes = [...this.pairs.values()].map((p) => p.subscribeAccount(account, (events) => listener(p, events)));
    return () => {
      for (const u of unsubscribes) u();
    };
  }
}
