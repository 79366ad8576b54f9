/**
 * A momentum trader: follows recent trades. When the last `lookback` public trades moved the price by
 * at least `thresholdHalfSpreads` half spreads, or takers bought (sold) much more than they sold
 * (bought), it takes liquidity in that direction with a market order; without a signal it rests a
 * small order behind the touch on the trend's side, or cancels one it has.
 */
import type { Instrument } from '../../server/core/instrument.ts';
import { Side, TimeInForce } from '../../server/core/types.ts';
import type { Random } from '../random.ts';
import type { PairContext, SimCommand } from '../sim-types.ts';
import { Agent } from './agent.ts';

export interface MomentumTraderOptions {
  /** Trades looked at. @default 30 */
  lookback?: number;
  /** Price move that counts as a trend, in half spreads. @default 2 */
  thresholdHalfSpreads?: number;
  /** Order size range in lots. @default [100, 1500] */
  quantityLots?: readonly [number, number];
}

export class MomentumTrader extends Agent {
  private readonly lookback: number;
  private readonly threshold: number;
  private readonly qmin: number;
  private readonly qmax: number;

  constructor(name: string, instrument: Instrument, rng: Random, idPrefix: string, options: MomentumTraderOptions = {}) {
    super(name, 'momentum', instrument, rng, idPrefix);
    this.lookback = options.lookback ?? 30;
    this.threshold = options.thresholdHalfSpreads ?? 2;
    [this.qmin, this.qmax] = options.quantityLots ?? [100, 1500];
  }

  act(_nowMs: number, ctx: PairContext, out: SimCommand[]): void {
    const half = Agent.halfSpread(ctx);
    const trades = ctx.recentTrades;
    const from = Math.max(0, trades.length - this.lookback);
    let signal = 0;
    if (trades.length - from >= 2) {
      const move = trades[trades.length - 1]!.price - trades[from]!.price;
      let flow = 0;
      let total = 0;
      for (let i = from; i < trades.length; i++) {
        const t = trades[i]!;
        flow += t.takerSide === Side.Buy ? t.quantity : -t.quantity;
        total += t.quantity;
      }
      if (Math.abs(move) >= this.threshold * half) signal = Math.sign(move);
      else if (total > 0 && Math.abs(flow) * 3 >= total * 2) signal = Math.sign(flow);
    }
    const qty = this.rng.intBetween(this.qmin, this.qmax);
    if (signal !== 0 && this.rng.chance(2, 3)) {
      this.market(out, signal > 0 ? Side.Buy : Side.Sell, qty);
      return;
    }
    const idle = this.idleCount();
    if (idle >= 5 || (idle > 0 && this.rng.chance(1, 2))) {
      if (this.cancel(out, this.idleAt(0)!.clientOrderId)) return;
    }
    if (this.orders.size >= 8) return; // resting or in flight: wait for answers
    const side = signal < 0 ? Side.Sell : signal > 0 ? Side.Buy : this.rng.nextInt(2) === 0 ? Side.Buy : Side.Sell;
    const ref = this.reference(ctx);
    this.limit(out, side, ref + (side === Side.Buy ? -1 : 1) * this.rng.intBetween(2 * half, 8 * half), Math.max(1, Math.floor(qty / 4)), TimeInForce.GTC);
  }
}
