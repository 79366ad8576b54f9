/**
 * The Performance Monitor's time series: counters per second for the last minute and per minute for the
 * last 24 h in ring buffers (CounterRing), the served/shadow command series of one (pair, impl, role)
 * with per-second latency histograms merged into per-minute p95s (CommandSeries), and the order and trade
 * counters of a pair (FlowCounters). Bounded memory, no clock of their own: every call is given the time.
 */
import type { BookImplementation } from '../core/order-book.ts';
import { LatencyHistogram, type LatencyHistogramOptions } from './latency-histogram.ts';
import type { CommandRole } from './monitor-reports.ts';

export const SECOND_MS = 1_000;
export const MINUTE_MS = 60_000;
export const SECONDS_PER_MINUTE = 60;
export const MINUTES_PER_DAY = 1_440;
export const DAY_SECONDS = 86_400;

// ---------------------------------------------------------------------------------------------------------
// Ring buffers

/**
 * A count per time slot over a fixed number of slots. A slot is stamped with its absolute slot number, so a
 * stale slot is recognised and cleared on reuse, and an idle period needs no sweeping.
 */
export class CounterRing {
  private readonly stamps: Float64Array;
  private readonly values: Float64Array;

  constructor(
    private readonly slots: number,
    private readonly slotMs: number,
  ) {
    this.stamps = new Float64Array(slots).fill(-1);
    this.values = new Float64Array(slots);
  }

  /** Adds n to the slot of nowMs; returns the slot's new value. */
  add(nowMs: number, n: number): number {
    const i = this.slotFor(nowMs);
    return (this.values[i]! += n);
  }

  /** Keeps the largest value seen in the slot of nowMs. */
  raise(nowMs: number, v: number): void {
    const i = this.slotFor(nowMs);
    if (v > this.values[i]!) this.values[i] = v;
  }

  sum(nowMs: number): number {
    const cur = Math.floor(nowMs / this.slotMs);
    let total = 0;
    for (let i = 0; i < this.slots; i++) if (this.isLive(this.stamps[i]!, cur)) total += this.values[i]!;
    return total;
  }

  /** The largest live slot (earliest on a tie); value 0 and slot -1 when none. */
  peak(nowMs: number): { value: number; slot: number } {
    const cur = Math.floor(nowMs / this.slotMs);
    let value = 0;
    let slot = -1;
    for (let i = 0; i < this.slots; i++) {
      const s = this.stamps[i]!;
      const v = this.values[i]!;
      if (this.isLive(s, cur) && (v > value || (v === value && v > 0 && s < slot))) {
        value = v;
        slot = s;
      }
    }
    return { value, slot };
  }

  /** Value of one absolute slot if it is still held, else 0. */
  valueAt(slot: number): number {
    const i = slot % this.slots;
    return this.stamps[i] === slot ? this.values[i]! : 0;
  }

  private isLive(stamp: number, cur: number): boolean {
    return stamp > cur - this.slots && stamp <= cur;
  }

  private slotFor(nowMs: number): number {
    const s = Math.floor(nowMs / this.slotMs);
    const i = s % this.slots;
    if (this.stamps[i] !== s) {
      this.stamps[i] = s;
      this.values[i] = 0;
    }
    return i;
  }
}

/** A time as slot numbers (absolute second and minute) and ring positions; reused, never reallocated. */
export interface SlotTime {
  ms: number;
  sec: number;
  minute: number;
  si: number;
  mi: number;
}

/** One minute of a command series, as the 24 h window keeps it. */
export interface MinuteFigures {
  minute: number; // absolute minute number (epoch ms / 60 000)
  commands: number;
  errors: number;
  p95Ms: number;
}

/**
 * Commands of one (pair or all pairs) × impl × role: per-second counts and histograms for the last minute,
 * per-minute counts and percentiles for the last 24 h. A minute's percentiles are computed once, from its 60
 * second-histograms, when the first command of a later minute arrives (before any of them is overwritten);
 * until then queries compute them live.
 */
export class CommandSeries {
  private readonly secStamp = new Float64Array(SECONDS_PER_MINUTE).fill(-1);
  private readonly secCommands = new Float64Array(SECONDS_PER_MINUTE);
  private readonly secErrors = new Float64Array(SECONDS_PER_MINUTE);
  private readonly secHist: (LatencyHistogram | undefined)[] = new Array<LatencyHistogram | undefined>(SECONDS_PER_MINUTE).fill(undefined);
  private readonly minStamp = new Float64Array(MINUTES_PER_DAY).fill(-1);
  private readonly minCommands = new Float64Array(MINUTES_PER_DAY);
  private readonly minErrors = new Float64Array(MINUTES_PER_DAY);
  private readonly minP95Ms = new Float64Array(MINUTES_PER_DAY);
  /** The minute whose percentiles still live only in the second slots; -1 when none. */
  private openMinute = -1;

  constructor(
    private readonly histogramOptions: Readonly<Required<LatencyHistogramOptions>>,
    /** Shared work histogram, owned by the monitor; single-threaded, so never in use twice at once. */
    private readonly scratch: LatencyHistogram,
  ) {}

  /**
   * `at`, the whole-ns latency and its histogram bucket are computed once per command by the monitor and
   * shared by the (up to three) series it updates.
   */
  record(at: SlotTime, wholeNs: number, bucket: number, ok: boolean): void {
    const { sec, minute, si, mi } = at;
    if (minute !== this.openMinute) {
      if (this.openMinute >= 0) this.closeMinute(this.openMinute);
      this.openMinute = minute;
    }
    let h = this.secHist[si];
    if (this.secStamp[si] !== sec) {
      this.secStamp[si] = sec;
      this.secCommands[si] = 0;
      this.secErrors[si] = 0;
      h?.reset();
    }
    if (h === undefined) h = this.secHist[si] = new LatencyHistogram(this.histogramOptions); // once per slot, then reused
    this.secCommands[si]! += 1;
    if (!ok) this.secErrors[si]! += 1;
    h.recordInBucket(bucket, wholeNs);
    if (this.minStamp[mi] !== minute) {
      this.minStamp[mi] = minute;
      this.minCommands[mi] = 0;
      this.minErrors[mi] = 0;
      this.minP95Ms[mi] = 0;
    }
    this.minCommands[mi]! += 1;
    if (!ok) this.minErrors[mi]! += 1;
  }

  /** Command and error counts of the last minute; also merges its histograms into `into` when given (not reset here). */
  lastMinute(nowMs: number, into?: LatencyHistogram): { commands: number; errors: number } {
    const cur = Math.floor(nowMs / SECOND_MS);
    let commands = 0;
    let errors = 0;
    for (let i = 0; i < SECONDS_PER_MINUTE; i++) {
      const s = this.secStamp[i]!;
      if (s > cur - SECONDS_PER_MINUTE && s <= cur) {
        commands += this.secCommands[i]!;
        errors += this.secErrors[i]!;
        const h = this.secHist[i];
        if (into !== undefined && h !== undefined) into.merge(h);
      }
    }
    return { commands, errors };
  }

  /** Command and error counts of the last 24 h (no percentiles computed). */
  last24h(nowMs: number): { commands: number; errors: number } {
    const cur = Math.floor(nowMs / MINUTE_MS);
    let commands = 0;
    let errors = 0;
    for (let i = 0; i < MINUTES_PER_DAY; i++) {
      const m = this.minStamp[i]!;
      if (m > cur - MINUTES_PER_DAY && m <= cur) {
        commands += this.minCommands[i]!;
        errors += this.minErrors[i]!;
      }
    }
    return { commands, errors };
  }

  /** The minutes of the last 24 h that had commands, oldest first, with their p95. */
  minutes(nowMs: number): MinuteFigures[] {
    const cur = Math.floor(nowMs / MINUTE_MS);
    const out: MinuteFigures[] = [];
    for (let i = 0; i < MINUTES_PER_DAY; i++) {
      const m = this.minStamp[i]!;
      if (m > cur - MINUTES_PER_DAY && m <= cur && this.minCommands[i]! > 0) {
        const p95Ms = m === this.openMinute ? this.openMinuteP95Ms() : this.minP95Ms[i]!;
        out.push({ minute: m, commands: this.minCommands[i]!, errors: this.minErrors[i]!, p95Ms });
      }
    }
    return out.sort((a, b) => a.minute - b.minute);
  }

  private mergeMinute(minute: number): void {
    this.scratch.reset();
    for (let i = 0; i < SECONDS_PER_MINUTE; i++) {
      const h = this.secHist[i];
      if (h !== undefined && Math.floor(this.secStamp[i]! / SECONDS_PER_MINUTE) === minute) this.scratch.merge(h);
    }
  }

  private openMinuteP95Ms(): number {
    this.mergeMinute(this.openMinute);
    return this.scratch.percentileMs(95);
  }

  private closeMinute(minute: number): void {
    const mi = minute % MINUTES_PER_DAY;
    if (this.minStamp[mi] !== minute) return;
    this.mergeMinute(minute);
    this.minP95Ms[mi] = this.scratch.percentileMs(95);
  }
}

export type SeriesByImpl = Record<BookImplementation, Record<CommandRole, CommandSeries | undefined>>;

/** Orders and trades of one pair (or all pairs): per second for the last minute, per minute for 24 h. */
export class FlowCounters {
  readonly ordersBySecond = new CounterRing(SECONDS_PER_MINUTE, SECOND_MS);
  readonly ordersByMinute = new CounterRing(MINUTES_PER_DAY, MINUTE_MS);
  /** Per minute, the most orders seen in any one of its seconds (peak burst, kept for 24 h). */
  readonly busiestSecondByMinute = new CounterRing(MINUTES_PER_DAY, MINUTE_MS);
  readonly tradesBySecond = new CounterRing(SECONDS_PER_MINUTE, SECOND_MS);
  readonly tradesByMinute = new CounterRing(MINUTES_PER_DAY, MINUTE_MS);

  addOrders(nowMs: number, n: number): void {
    const inSecond = this.ordersBySecond.add(nowMs, n);
    this.ordersByMinute.add(nowMs, n);
    this.busiestSecondByMinute.raise(nowMs, inSecond);
  }

  addTrades(nowMs: number, n: number): void {
    this.tradesBySecond.add(nowMs, n);
    this.tradesByMinute.add(nowMs, n);
  }
}

export function emptySeries(): SeriesByImpl {
  return { legacy: { served: undefined, shadow: undefined }, adaptive: { served: undefined, shadow: undefined } };
}
