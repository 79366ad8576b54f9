/**
 * The simulated "true" value of one pair: a seeded process in whole ticks, a random walk with rare
 * jumps, advanced by virtual time only (no clock, no floats: steps and jumps are integers drawn from
 * the pair's own Random), so the same seed gives the same path whatever the driver's speed.
 */
import type { Instrument } from '../server/core/instrument.ts';
import type { PriceTicks } from '../server/core/types.ts';
import type { Random } from './random.ts';

export interface FairValueOptions {
  /** Starting value in ticks. @default startingFairValue(instrument) */
  startTicks?: PriceTicks;
  /** Virtual milliseconds per step of the walk. @default 50 */
  stepMs?: number;
  /** Largest move of one step, in ticks (each step moves uniformly in [-max, +max]). @default max(1, start / 20000) (0.5 bp) */
  maxStepTicks?: number;
  /** A jump happens on a step with probability 1 / jumpEverySteps. @default 400 (every ~20 s of virtual time) */
  jumpEverySteps?: number;
  /** Jump size range in ticks (sign random). @default [start / 500, start / 150] (20-67 bp) */
  jumpTicks?: readonly [number, number];
}

/** Typical prices of the built-in pairs (ticks), and the middle of the band for any other. */
export function startingFairValue(instrument: Instrument): PriceTicks {
  const known: Record<string, number> = { BTCUSDT: 6_500_000, ETHUSDT: 350_000, SOLUSDT: 150_000 };
  const v = known[instrument.symbol] ?? Math.floor((instrument.minPriceTicks + instrument.maxPriceTicks) / 2);
  return Math.min(instrument.maxPriceTicks, Math.max(instrument.minPriceTicks, v));
}

export class FairValue {
  readonly startTicks: PriceTicks;
  private readonly stepMs: number;
  private readonly maxStepTicks: number;
  private readonly jumpEverySteps: number;
  private readonly jumpMin: number;
  private readonly jumpMax: number;
  /** Never within this many ticks of the band's edges, so quotes around it stay inside the band. */
  private readonly low: number;
  private readonly high: number;
  private steps = 0;
  private value: PriceTicks;
  /** Signed size of the last jump, and the step it happened on. */
  private jump = 0;
  private jumpStep = -1;

  constructor(
    readonly instrument: Instrument,
    private readonly rng: Random,
    options: FairValueOptions = {},
  ) {
    this.startTicks = options.startTicks ?? startingFairValue(instrument);
    this.value = this.startTicks;
    this.stepMs = options.stepMs ?? 50;
    this.maxStepTicks = options.maxStepTicks ?? Math.max(1, Math.floor(this.startTicks / 20_000));
    this.jumpEverySteps = options.jumpEverySteps ?? 400;
    const [jmin, jmax] = options.jumpTicks ?? [Math.max(1, Math.floor(this.startTicks / 500)), Math.max(2, Math.floor(this.startTicks / 150))];
    this.jumpMin = jmin;
    this.jumpMax = jmax;
    // Keep the value in [start/2, start*2] and well inside the band.
    const margin = Math.max(10, Math.floor(this.startTicks / 50));
    this.low = Math.max(instrument.minPriceTicks + margin, Math.floor(this.startTicks / 2));
    this.high = Math.min(instrument.maxPriceTicks - margin, this.startTicks * 2);
  }

  /** Moves the process to virtual time `nowMs` (never backwards) and returns the value. */
  advanceTo(nowMs: number): PriceTicks {
    const target = Math.floor(nowMs / this.stepMs);
    while (this.steps < target) {
      this.steps++;
      let v = this.value + this.rng.intBetween(-this.maxStepTicks, this.maxStepTicks);
      if (this.rng.nextInt(this.jumpEverySteps) === 0) {
        const size = this.rng.intBetween(this.jumpMin, this.jumpMax) * (this.rng.nextInt(2) === 0 ? -1 : 1);
        v += size;
        this.jump = size;
        this.jumpStep = this.steps;
      }
      this.value = Math.min(this.high, Math.max(this.low, v));
    }
    return this.value;
  }

  get current(): PriceTicks {
    return this.value;
  }

  /** The signed size of a jump within the last `withinSteps` steps (0 if none). */
  recentJump(withinSteps = 20): number {
    return this.jumpStep >= 0 && this.steps - this.jumpStep < withinSteps ? this.jump : 0;
  }
}
