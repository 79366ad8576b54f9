/**
 * The public book of one pair as a client rebuilds it from market data (a snapshot, then level
 * updates): aggregate quantity per price level, and the best bid and ask. The best price is kept
 * incrementally; only when the best level itself is removed is the side scanned again.
 */
import type { Lots, PriceTicks } from '../server/core/types.ts';

class BookSide {
  readonly levels = new Map<PriceTicks, Lots>();
  private best: PriceTicks | undefined;
  private stale = false;

  constructor(private readonly isBid: boolean) {}

  set(price: PriceTicks, quantity: Lots): void {
    if (quantity > 0) {
      this.levels.set(price, quantity);
      if (!this.stale && (this.best === undefined || (this.isBid ? price > this.best : price < this.best))) this.best = price;
    } else {
      this.levels.delete(price);
      if (price === this.best) this.stale = true;
    }
  }

  clear(): void {
    this.levels.clear();
    this.best = undefined;
    this.stale = false;
  }

  bestPrice(): PriceTicks | undefined {
    if (this.stale) {
      this.stale = false;
      let b: PriceTicks | undefined;
      for (const p of this.levels.keys()) if (b === undefined || (this.isBid ? p > b : p < b)) b = p;
      this.best = b;
    }
    return this.best;
  }

  bestQuantity(): Lots {
    const b = this.bestPrice();
    return b === undefined ? 0 : (this.levels.get(b) ?? 0);
  }
}

export class LevelBook {
  readonly bids = new BookSide(true);
  readonly asks = new BookSide(false);
  /** Market-data sequence this view is current to. */
  sequence = 0;

  clear(): void {
    this.bids.clear();
    this.asks.clear();
  }
}
