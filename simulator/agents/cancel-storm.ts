/**
 * A cancel storm: builds a ladder of `stormSize` resting orders far from the touch (a few per turn),
 * then, once all are acknowledged, cancels every one of them in a single turn: a burst of cancels
 * that exercises the books' cancel path and level removal.
 */
import type { Instrument } from '../../server/core/instrument.ts';
import { Side } from '../../server/core/types.ts';
import type { Random } from '../random.ts';
import type { PairContext, SimCommand } from '../sim-types.ts';
import { Agent } from './agent.ts';

export interface CancelStormOptions {
  /** Orders built up before each storm. @default 40 */
  stormSize?: number;
  /** Orders placed per turn while building. @default 4 */
  buildPerTurn?: number;
}

export class CancelStorm extends Agent {
  private readonly stormSize: number;
  private readonly buildPerTurn: number;
  storms = 0;

  constructor(name: string, instrument: Instrument, rng: Random, idPrefix: string, options: CancelStormOptions = {}) {
    super(name, 'cancel-storm', instrument, rng, idPrefix);
    this.stormSize = options.stormSize ?? 40;
    this.buildPerTurn = options.buildPerTurn ?? 4;
  }

  act(_nowMs: number, ctx: PairContext, out: SimCommand[]): void {
    const half = Agent.halfSpread(ctx);
    if (this.orders.size >= this.stormSize) {
      const idle = this.idleOrders();
      if (idle.length < this.orders.size) return; // wait until every order is acknowledged and idle
      this.storms++;
      for (const o of idle) this.cancel(out, o.clientOrderId);
      return;
    }
    const n = Math.min(this.buildPerTurn, this.stormSize - this.orders.size);
    for (let i = 0; i < n; i++) {
      const side = this.rng.nextInt(2) === 0 ? Side.Buy : Side.Sell;
      const distance = this.rng.intBetween(10 * half, 40 * half);
      this.limit(out, side, ctx.fairValue + (side === Side.Buy ? -distance : distance), this.rng.intBetween(1, 50));
    }
  }
}
