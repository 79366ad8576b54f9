/**
 * A noise trader: random limit orders near the touch (some post-only, some crossing IOC), random market
 * orders, and random cancels of its own resting orders; it keeps at most `maxLiveOrders` resting or
 * in flight (at the cap it cancels its oldest acknowledged order, or sends an IOC when none is acknowledged yet).
 */
import type { Instrument } from '../../server/core/instrument.ts';
import { Side, TimeInForce } from '../../server/core/types.ts';
import type { Random } from '../random.ts';
import type { PairContext, SimCommand } from '../sim-types.ts';
import { Agent } from './agent.ts';

export interface NoiseTraderOptions {
  /** Resting orders kept at most; beyond it the oldest is cancelled. @default 20 */
  maxLiveOrders?: number;
  /** Order size range in lots. @default [10, 500] */
  quantityLots?: readonly [number, number];
}

export class NoiseTrader extends Agent {
  private readonly maxLive: number;
  private readonly qmin: number;
  private readonly qmax: number;

  constructor(name: string, instrument: Instrument, rng: Random, idPrefix: string, options: NoiseTraderOptions = {}) {
    super(name, 'noise', instrument, rng, idPrefix);
    this.maxLive = options.maxLiveOrders ?? 20;
    [this.qmin, this.qmax] = options.quantityLots ?? [10, 500];
  }

  act(_nowMs: number, ctx: PairContext, out: SimCommand[]): void {
    const half = Agent.halfSpread(ctx);
    const ref = this.reference(ctx);
    const side = this.rng.nextInt(2) === 0 ? Side.Buy : Side.Sell;
    const sign = side === Side.Buy ? -1 : 1;
    const qty = this.rng.intBetween(this.qmin, this.qmax);
    if (this.orders.size >= this.maxLive) {
      const oldest = this.idleAt(0);
      if (oldest !== undefined && this.cancel(out, oldest.clientOrderId)) return;
      // All still in flight (a slow server): no more resting orders on a stale view; take liquidity instead
      // (an IOC never rests), so the offered rate holds.
      this.limit(out, side, this.reference(ctx) - sign * this.rng.intBetween(0, 2 * half), qty, TimeInForce.IOC);
      return;
    }
    const roll = this.rng.nextInt(100);
    if (roll < 40) {
      // Passive: 0..6 half spreads behind the reference.
      const price = ref + sign * this.rng.intBetween(1, 6 * half);
      this.limit(out, side, price, qty, TimeInForce.GTC, this.rng.chance(1, 4) && this.wouldRest(ctx, side, price));
    } else if (roll < 52) {
      this.market(out, side, qty);
    } else if (roll < 65) {
      // Aggressive IOC limit up to two half spreads through the reference.
      this.limit(out, side, ref - sign * this.rng.intBetween(0, 2 * half), qty, this.rng.chance(1, 5) ? TimeInForce.FOK : TimeInForce.IOC);
    } else {
      const idle = this.idleCount();
      if (idle > 0 && this.cancel(out, this.idleAt(this.rng.nextInt(idle))!.clientOrderId)) return;
      this.limit(out, side, ref + sign * this.rng.intBetween(1, 6 * half), qty);
    }
  }

  /** Post-only only where it cannot take (else FAILED_PRECONDITION): strictly behind the opposite touch. */
  private wouldRest(ctx: PairContext, side: Side, price: number): boolean {
    return side === Side.Buy ? ctx.bestAsk === undefined || price < ctx.bestAsk - 2 * Agent.halfSpread(ctx) : ctx.bestBid === undefined || price > ctx.bestBid + 2 * Agent.halfSpread(ctx);
  }
}
