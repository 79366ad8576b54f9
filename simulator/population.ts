/**
 * The cast of one simulation: per pair a fair-value process and a set of agents (market makers, noise,
 * momentum, informed, cancel storm), each with its own Random forked from the seed in a fixed order,
 * and the seeded scheduler that decides which agent acts in each command slot. Drivers own the time
 * (virtual in-process, wall clock over gRPC) and the market view; this owns no I/O.
 */
import type { Instrument } from '../server/core/instrument.ts';
import type { PriceTicks } from '../server/core/types.ts';
import type { Agent } from './agents/agent.ts';
import { CancelStorm } from './agents/cancel-storm.ts';
import { InformedTrader } from './agents/informed-trader.ts';
import { MarketMaker } from './agents/market-maker.ts';
import { MomentumTrader } from './agents/momentum-trader.ts';
import { NoiseTrader } from './agents/noise-trader.ts';
import { FairValue } from './fair-value.ts';
import { Random } from './random.ts';
import type { AgentKind, PairContext, SimCommand, SimTrade } from './sim-types.ts';

export interface PopulationOptions {
  seed: number;
  /** The pairs traded, in this order (the order is part of the seed's meaning). */
  instruments: readonly Instrument[];
  /** Account names are `<accountPrefix><pair>-<kind>-<n>`. @default "sim-" */
  accountPrefix?: string;
  /** Client order ids are `<clientOrderIdPrefix>.<agent>.<n>` (n in base 36); at most 40 characters. @default "s<seed>" */
  clientOrderIdPrefix?: string;
  /** Agents of each kind per pair are multiplied by this (more accounts share a higher rate). @default 1 */
  scale?: number;
}

/** Agents per pair (before `scale`) and the scheduler's weight of each. */
const CAST: readonly { kind: AgentKind; count: number; weight: number }[] = [
  { kind: 'market-maker', count: 3, weight: 3 },
  { kind: 'noise', count: 4, weight: 4 },
  { kind: 'momentum', count: 2, weight: 2 },
  { kind: 'informed', count: 1, weight: 2 },
  { kind: 'cancel-storm', count: 1, weight: 1 },
];

const KIND_SHORT: Record<AgentKind, string> = { 'market-maker': 'mm', noise: 'noise', momentum: 'momentum', informed: 'informed', 'cancel-storm': 'storm' };

/** Public trades kept per pair for the agents (momentum looks back at most this far). */
const RECENT_TRADES = 256;

/** A pair's context as the driver and population keep it up to date. */
export interface PairState extends PairContext {
  fairValue: PriceTicks;
  lastJumpTicks: number;
  bestBid: PriceTicks | undefined;
  bestAsk: PriceTicks | undefined;
  recentTrades: SimTrade[];
}

export class Population {
  readonly agents: Agent[] = [];
  readonly pairs = new Map<string, PairState>();
  readonly fairValues = new Map<string, FairValue>();
  private readonly cumulative: number[] = [];
  /** Per agent (same index): its pair's state and fair value, so a turn does no map lookups. */
  private readonly agentState: PairState[] = [];
  private readonly agentFair: FairValue[] = [];
  private readonly totalWeight: number;
  private readonly scheduler: Random;
  /** Turns in which the chosen agents had nothing to do (the slot went to the next pick). */
  idleTurns = 0;

  constructor(options: PopulationOptions) {
    const root = new Random(options.seed);
    const accountPrefix = options.accountPrefix ?? 'sim-';
    const idPrefix = options.clientOrderIdPrefix ?? `s${options.seed}`;
    if (idPrefix.length > 40 || !/^[\x21-\x7e]*$/.test(idPrefix)) throw new Error(`clientOrderIdPrefix must be at most 40 printable ASCII characters, got ${JSON.stringify(idPrefix.slice(0, 50))}`);
    const scale = options.scale ?? 1;
    let total = 0;
    for (const instrument of options.instruments) {
      if (this.pairs.has(instrument.symbol)) throw new Error(`pair ${instrument.symbol} given twice`);
      const fair = new FairValue(instrument, root.fork());
      this.fairValues.set(instrument.symbol, fair);
      this.pairs.set(instrument.symbol, { instrument, fairValue: fair.current, lastJumpTicks: 0, bestBid: undefined, bestAsk: undefined, recentTrades: [] });
      for (const { kind, count, weight } of CAST) {
        for (let n = 1; n <= count * scale; n++) {
          const name = `${accountPrefix}${instrument.symbol.toLowerCase()}-${KIND_SHORT[kind]}-${n}`;
          const agent = createAgent(kind, name, instrument, root.fork(), `${idPrefix}.${this.agents.length.toString(36)}.`);
          this.agents.push(agent);
          this.agentState.push(this.pairs.get(instrument.symbol)!);
          this.agentFair.push(fair);
          total += weight;
          this.cumulative.push(total);
        }
      }
    }
    this.totalWeight = total;
    this.scheduler = root.fork();
  }

  /**
   * Lets one agent act at virtual time `nowMs`: picks agents by weight until one produces commands
   * (at most 32 picks). Returns the agent (its commands are in `out`) or undefined if all picks idled
   * (the driver counts the slot as idle: nobody had anything to do).
   */
  next(nowMs: number, out: SimCommand[]): Agent | undefined {
    for (let attempt = 0; attempt < 32; attempt++) {
      const i = this.pick();
      const agent = this.agents[i]!;
      const state = this.agentState[i]!;
      const fair = this.agentFair[i]!;
      state.fairValue = fair.advanceTo(nowMs);
      state.lastJumpTicks = fair.recentJump();
      const before = out.length;
      agent.act(nowMs, state, out);
      if (out.length > before) return agent;
      this.idleTurns++;
    }
    return undefined;
  }

  /** Moves every pair's fair value to `nowMs` (for sampling between turns). */
  advanceTo(nowMs: number): void {
    for (const [pair, fair] of this.fairValues) this.pairs.get(pair)!.fairValue = fair.advanceTo(nowMs);
  }

  /** Records a public trade for the agents' view (bounded). */
  addTrade(trade: SimTrade): void {
    const list = this.pairs.get(trade.pair)?.recentTrades;
    if (list === undefined) return;
    list.push(trade);
    if (list.length > RECENT_TRADES * 2) list.splice(0, list.length - RECENT_TRADES);
  }

  private pick(): number {
    const r = this.scheduler.nextInt(this.totalWeight);
    // Binary search in the cumulative weights.
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

function createAgent(kind: AgentKind, name: string, instrument: Instrument, rng: Random, idPrefix: string): Agent {
  switch (kind) {
    case 'market-maker':
      return new MarketMaker(name, instrument, rng, idPrefix);
    case 'noise':
      return new NoiseTrader(name, instrument, rng, idPrefix);
    case 'momentum':
      return new MomentumTrader(name, instrument, rng, idPrefix);
    case 'informed':
      return new InformedTrader(name, instrument, rng, idPrefix);
    case 'cancel-storm':
      return new CancelStorm(name, instrument, rng, idPrefix);
  }
}
