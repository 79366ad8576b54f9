/**
 * An informed (burst) trader: knows the fair value. Right after a jump, or whenever the book is
 * mispriced by more than `edgeHalfSpreads` half spreads, it sweeps the stale side with a burst of IOC
 * limit orders priced at the fair value (it never pays more than the value). Otherwise it stays out
 * (no command), so its flow comes in bursts.
 */
import type { Instrument } from '../../server/core/instrument.ts';
import { Side, TimeInForce } from '../../server/core/types.ts';
import type { Random } from '../random.ts';
import type { PairContext, SimCommand } from '../sim-types.ts';
import { Agent } from './agent.ts';

export interface InformedTraderOptions {
  /** Mispricing that triggers a sweep, in half spreads. @default 3 */
  edgeHalfSpreads?: number;
  /** Orders per burst. @default [3, 8] */
  burst?: readonly [number, number];
  /** Size of each order in lots. @default [500, 3000] */
  quantityLots?: readonly [number, number];
  /** Virtual milliseconds after a burst before the next one (its earlier sweeps must land first). @default 250 */
  cooldownMs?: number;
}

export class InformedTrader extends Agent {
  private readonly edge: number;
  private readonly burstMin: number;
  private readonly burstMax: number;
  private readonly qmin: number;
  private readonly qmax: number;
  private readonly cooldownMs: number;
  private lastBurstMs = Number.NEGATIVE_INFINITY;
  sweeps = 0;

  constructor(name: string, instrument: Instrument, rng: Random, idPrefix: string, options: InformedTraderOptions = {}) {
    super(name, 'informed', instrument, rng, idPrefix);
    this.edge = options.edgeHalfSpreads ?? 3;
    [this.burstMin, this.burstMax] = options.burst ?? [3, 8];
    [this.qmin, this.qmax] = options.quantityLots ?? [500, 3000];
    this.cooldownMs = options.cooldownMs ?? 250;
  }

  act(nowMs: number, ctx: PairContext, out: SimCommand[]): void {
    if (nowMs - this.lastBurstMs < this.cooldownMs) return;
    const half = Agent.halfSpread(ctx);
    const fv = ctx.fairValue;
    let side: Side | undefined;
    if (ctx.bestAsk !== undefined && fv - ctx.bestAsk >= this.edge * half) side = Side.Buy;
    else if (ctx.bestBid !== undefined && ctx.bestBid - fv >= this.edge * half) side = Side.Sell;
    else if (ctx.lastJumpTicks !== 0 && this.rng.chance(1, 2)) side = ctx.lastJumpTicks > 0 ? Side.Buy : Side.Sell;
    if (side === undefined) return;
    this.sweeps++;
    this.lastBurstMs = nowMs;
    const n = this.rng.intBetween(this.burstMin, this.burstMax);
    // Limit at the value itself, less one half spread of edge: a sweep never buys above (sells below) it.
    const limit = side === Side.Buy ? fv - half : fv + half;
    for (let i = 0; i < n; i++) this.limit(out, side, limit, this.rng.intBetween(this.qmin, this.qmax), TimeInForce.IOC);
  }
}
