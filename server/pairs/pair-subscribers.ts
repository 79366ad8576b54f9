/**
 * Subscriber fan-out of one trading pair: market-data listeners (every delta) and per-account
 * listeners (the events of that account's orders), each called after the command has finished; a
 * listener that throws is removed and reported. Logic only; TradingPair decides when to publish.
 */
import type { AccountId } from '../core/types.ts';
import type { MarketDataDelta, OrderEvent } from './trading-pair.ts';

export type MarketDataListener = (delta: MarketDataDelta) => void;
/** Receives, after each command, the events of one account's orders that the command caused. */
export type AccountListener = (events: OrderEvent[]) => void;

export class PairSubscribers {
  private readonly marketDataListeners = new Set<MarketDataListener>();
  private readonly accountListeners = new Map<AccountId, Set<AccountListener>>();

  /** @param onSubscriberError called when a subscriber throws; the subscriber is removed. */
  constructor(private readonly onSubscriberError: (error: unknown) => void) {}

  /** Deltas after market-data sequence `from` (those before it are in the caller's snapshot). */
  subscribeMarketData(from: number, listener: MarketDataListener): () => void {
    const filtered: MarketDataListener = (delta) => {
      if (delta.sequence > from) listener(delta);
    };
    this.marketDataListeners.add(filtered);
    return () => this.marketDataListeners.delete(filtered);
  }

  subscribeAccount(account: AccountId, listener: AccountListener): () => void {
    let set = this.accountListeners.get(account);
    if (set === undefined) this.accountListeners.set(account, (set = new Set()));
    set.add(listener);
    return () => {
      const s = this.accountListeners.get(account);
      if (s === undefined) return;
      s.delete(listener);
      if (s.size === 0) this.accountListeners.delete(account);
    };
  }

  get marketDataCount(): number {
    return this.marketDataListeners.size;
  }

  /** One command's publication: its delta to every market-data listener, its events to the accounts they concern (`mine` to the sender). */
  fanOut(sender: AccountId, delta: MarketDataDelta | undefined, all: OrderEvent[], mine: OrderEvent[]): void {
    if (delta !== undefined) {
      for (const listener of this.marketDataListeners) {
        try {
          listener(delta);
        } catch (err) {
          this.marketDataListeners.delete(listener);
          this.onSubscriberError(err);
        }
      }
    }
    if (this.accountListeners.size === 0) return;
    let others: Map<AccountId, OrderEvent[]> | undefined;
    for (const e of all) {
      if (e.account !== sender && this.accountListeners.has(e.account)) {
        others ??= new Map();
        let list = others.get(e.account);
        if (list === undefined) others.set(e.account, (list = []));
        list.push(e);
      }
    }
    if (mine.length > 0) this.notifyAccount(sender, mine);
    if (others !== undefined) for (const [account, events] of others) this.notifyAccount(account, events);
  }

  private notifyAccount(account: AccountId, events: OrderEvent[]): void {
    const set = this.accountListeners.get(account);
    if (set === undefined) return;
    for (const listener of set) {
      try {
        listener(events);
      } catch (err) {
        set.delete(listener);
        this.onSubscriberError(err);
      }
    }
  }
}
