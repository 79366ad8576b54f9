/**
 * A market maker: quotes `levels` bids and asks around the fair value, skewed against its inventory
 * (long → both quotes lower, to sell more and buy less), and re-quotes by cancel/replace (amending
 * each resting quote to its new price) whenever the fair value or its inventory moves the target.
 * Filled quotes are placed again on its next turn.
 */
import type { Instrument } from '../../server/core/instrument.ts';
import { Side } from '../../server/core/types.ts';
import type { Random } from '../random.ts';
import type { PairContext, SimCommand } from '../sim-types.ts';
import { Agent } from './agent.ts';

export interface MarketMakerOptions {
  /** Quotes per side. @default 3 */
  levels?: number;
  /** Quote size range in lots. @default [200, 1000] */
  quantityLots?: readonly [number, number];
  /** Inventory (lots) at which the skew reaches one full half spread. @default 5000 */
  inventoryUnitLots?: number;
}

export class MarketMaker extends Agent {
  private readonly levels: number;
  private readonly qmin: number;
  private readonly qmax: number;
  private readonly inventoryUnit: number;
  /** Client order id of the quote in each slot: bids 0..levels-1, asks levels..2*levels-1. */
  private readonly slots: (string | undefined)[];
  /** The quote size of each slot, kept across re-quotes. */
  private readonly sizes: number[];

  constructor(name: string, instrument: Instrument, rng: Random, idPrefix: string, options: MarketMakerOptions = {}) {
    super(name, 'market-maker', instrument, rng, idPrefix);
    this.levels = options.levels ?? 3;
    [this.qmin, this.qmax] = options.quantityLots ?? [200, 1000];
    this.inventoryUnit = options.inventoryUnitLots ?? 5000;
    this.slots = new Array(this.levels * 2).fill(undefined);
    this.sizes = this.slots.map(() => this.rng.intBetween(this.qmin, this.qmax));
  }

  act(_nowMs: number, ctx: PairContext, out: SimCommand[]): void {
    const half = Agent.halfSpread(ctx);
    // Skew in ticks, at most two half spreads either way; integer arithmetic only.
    const skewUnits = Math.max(-2 * this.inventoryUnit, Math.min(2 * this.inventoryUnit, this.position));
    const skew = -Math.trunc((skewUnits * half) / this.inventoryUnit);
    for (let i = 0; i < this.slots.length; i++) {
      const isBid = i < this.levels;
      const depth = (isBid ? i : i - this.levels) + 1;
      const price = ctx.fairValue + skew + (isBid ? -half * depth : half * depth);
      const cid = this.slots[i];
      const live = cid === undefined ? undefined : this.orders.get(cid);
      if (live === undefined) {
        this.sizes[i] = this.rng.intBetween(this.qmin, this.qmax);
        this.slots[i] = this.limit(out, isBid ? Side.Buy : Side.Sell, price, this.sizes[i]!);
      } else if (live.acknowledged && !live.busy && Math.abs(live.price - this.clampPrice(price)) * 4 >= half) {
        // Re-quote only when the target moved by a quarter of the half spread: fewer, larger amends.
        this.replace(out, cid!, price, this.sizes[i]!);
      }
    }
  }
}
