/**
 * The Performance Monitor's time series: counters per second for the last minute and per minute for the
 * last 24 h in ring buffers (CounterRing), per-minute command counts and p95s for 24 h (MinuteRing), the
 * served/shadow command series of one (pair, impl, role) with per-second latency histograms merged into
 * per-minute p95s (CommandSeries), and the order and trade counters of a pair (FlowCounters). Bounded
 * memory, no clock of their own: every call is given the time.
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
    const s = Math.floor(nowMs / this.slotMs);
    return this.addIn(s, s % this.slots, n);
  }

  /** `add` for absolute slot `s` at ring position `i` (= s % slots), both already known (SlotTime). */
  addIn(s: number, i: number, n: number): number {
    this.claim(s, i);
    return (this.values[i]! += n);
  }

  /** Keeps the largest value seen in absolute slot `s` at ring position `i` (= s % slots). */
  raiseIn(s: number, i: number, v: number): void {
    this.claim(s, i);
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

  private claim(s: number, i: number): void {
    if (this.stamps[i] !== s) {
      this.stamps[i] = s;
      this.values[i] = 0;
    }
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

/** Command and error counts of a window. */
export interface CommandCounts {
  commands: number;
  errors: number;
}

/**
 * Per-minute command and error counts and p95 over the last 24 h, one slot per minute stamped with its
 * absolute minute number (a stale slot is cleared on reuse). A minute's p95 is set when the minute closes.
 */
export class MinuteRing {
  private readonly stamp = new Float64Array(MINUTES_PER_DAY).fill(-1);
  private readonly commands = new Float64Array(MINUTES_PER_DAY);
  private readonly errors = new Float64Array(MINUTES_PER_DAY);
  private readonly p95Ms = new Float64Array(MINUTES_PER_DAY);

  /** One command in `minute` (at ring position `mi`, already computed): the per-command step. */
  record(minute: number, mi: number, ok: boolean): void {
    if (this.stamp[mi] !== minute) this.clear(mi, minute);
    this.commands[mi]! += 1;
    if (!ok) this.errors[mi]! += 1;
  }

  /** Adds commands and errors to `minute`. */
  add(minute: number, commands: number, errors: number): void {
    const i = minute % MINUTES_PER_DAY;
    if (this.stamp[i] !== minute) this.clear(i, minute);
    this.commands[i]! += commands;
    this.errors[i]! += errors;
  }

  /** The counts of one minute if it is still held (zeros otherwise). */
  countsOf(minute: number): CommandCounts {
    const i = minute % MINUTES_PER_DAY;
    return this.stamp[i] === minute ? { commands: this.commands[i]!, errors: this.errors[i]! } : { commands: 0, errors: 0 };
  }

  setP95Ms(minute: number, p95Ms: number): void {
    const i = minute % MINUTES_PER_DAY;
    if (this.stamp[i] === minute) this.p95Ms[i] = p95Ms;
  }

  /** Adds another ring's counts (a slot older than this one's is stale and skipped, a newer one replaces it). */
  absorb(other: MinuteRing): void {
    for (let i = 0; i < MINUTES_PER_DAY; i++) {
      const m = other.stamp[i]!;
      if (m < 0 || m < this.stamp[i]!) continue;
      if (m > this.stamp[i]!) this.clear(i, m);
      this.commands[i]! += other.commands[i]!;
      this.errors[i]! += other.errors[i]!;
    }
  }

  /** Counts of the last 24 h. */
  last24h(nowMs: number): CommandCounts {
    const cur = Math.floor(nowMs / MINUTE_MS);
    let commands = 0;
    let errors = 0;
    for (let i = 0; i < MINUTES_PER_DAY; i++) {
      const m = this.stamp[i]!;
      if (m > cur - MINUTES_PER_DAY && m <= cur) {
        commands += this.commands[i]!;
        errors += this.errors[i]!;
      }
    }
    return { commands, errors };
  }

  /** The minutes of the last 24 h that had commands, oldest first; `open` gives the p95 of a minute not closed yet. */
  minutes(nowMs: number, open?: { minute: number; p95Ms: () => number }): MinuteFigures[] {
    const cur = Math.floor(nowMs / MINUTE_MS);
    const out: MinuteFigures[] = [];
    for (let i = 0; i < MINUTES_PER_DAY; i++) {
      const m = this.stamp[i]!;
      if (m > cur - MINUTES_PER_DAY && m <= cur && this.commands[i]! > 0)
        out.push({ minute: m, commands: this.commands[i]!, errors: this.errors[i]!, p95Ms: m === open?.minute ? open.p95Ms() : this.p95Ms[i]! });
    }
    return out.sort((a, b) => a.minute - b.minute);
  }

  private clear(i: number, minute: number): void {
    this.stamp[i] = minute;
    this.commands[i] = 0;
    this.errors[i] = 0;
    this.p95Ms[i] = 0;
  }
}

/**
 * Commands of one pair × impl × role: per-second counts and histograms for the last minute, per-minute
 * counts and percentiles for the last 24 h. A minute's p95 is computed once, from its 60 second-histograms,
 * when the monitor closes the minute (at the first moment of a later one, before any second slot of it is
 * reused); until then queries compute it live.
 */
export class CommandSeries {
  private readonly secStamp = new Float64Array(SECONDS_PER_MINUTE).fill(-1);
  private readonly secCommands = new Float64Array(SECONDS_PER_MINUTE);
  private readonly secErrors = new Float64Array(SECONDS_PER_MINUTE);
  private readonly secHist: (LatencyHistogram | undefined)[] = new Array<LatencyHistogram | undefined>(SECONDS_PER_MINUTE).fill(undefined);
  private readonly byMinute = new MinuteRing();

  constructor(
    private readonly histogramOptions: Readonly<Required<LatencyHistogramOptions>>,
    /** Shared work histogram, owned by the monitor; single-threaded, so never in use twice at once. */
    private readonly scratch: LatencyHistogram,
  ) {}

  /** `at`, the whole-ns latency and its histogram bucket are computed once per command by the monitor. */
  record(at: SlotTime, wholeNs: number, bucket: number, ok: boolean): void {
    const { sec, si } = at;
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
    this.byMinute.record(at.minute, at.mi, ok);
  }

  /** Command and error counts of the last minute; also merges its histograms into `into` when given (not reset here). */
  lastMinute(nowMs: number, into?: LatencyHistogram): CommandCounts {
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
  last24h(nowMs: number): CommandCounts {
    return this.byMinute.last24h(nowMs);
  }

  /** The minutes of the last 24 h that had commands, oldest first, with their p95 (`openMinute`'s computed live). */
  minutes(nowMs: number, openMinute: number): MinuteFigures[] {
    const p95Ms = () => {
      this.scratch.reset();
      this.mergeMinute(openMinute, this.scratch);
      return this.scratch.percentileMs(95);
    };
    return this.byMinute.minutes(nowMs, { minute: openMinute, p95Ms });
  }

  /** Counts of `minute` (zeros once its slot is reused); merges its second-histograms into `into` when given (not reset here). */
  minute(minute: number, into?: LatencyHistogram): CommandCounts {
    if (into !== undefined) this.mergeMinute(minute, into);
    return this.byMinute.countsOf(minute);
  }

  /**
   * Fixes `minute`'s p95 from its second-histograms, before they are reused: called by the monitor once the
   * minute is over. Also merges the minute into `into` when given (not reset here) and returns its counts.
   */
  closeMinute(minute: number, into?: LatencyHistogram): CommandCounts {
    const counts = this.byMinute.countsOf(minute);
    if (counts.commands === 0) return counts;
    this.scratch.reset();
    this.mergeMinute(minute, this.scratch);
    this.byMinute.setP95Ms(minute, this.scratch.percentileMs(95));
    into?.merge(this.scratch);
    return counts;
  }

  /**
   * Adds another series' live seconds and minute counts into this one (a departing pair's figures kept for
   * the all-pairs totals); a slot older than this one's is stale and skipped, a newer one replaces it.
   */
  absorb(other: CommandSeries): void {
    for (let i = 0; i < SECONDS_PER_MINUTE; i++) {
      const s = other.secStamp[i]!;
      const h = other.secHist[i];
      if (s < 0 || s < this.secStamp[i]! || h === undefined) continue;
      let mine = this.secHist[i];
      if (s > this.secStamp[i]!) {
        this.secStamp[i] = s;
        this.secCommands[i] = 0;
        this.secErrors[i] = 0;
        mine?.reset();
      }
      if (mine === undefined) mine = this.secHist[i] = new LatencyHistogram(this.histogramOptions);
      this.secCommands[i]! += other.secCommands[i]!;
      this.secErrors[i]! += other.secErrors[i]!;
      mine.merge(h);
    }
    this.byMinute.absorb(other.byMinute);
  }

  private mergeMinute(minute: number, into: LatencyHistogram): void {
    for (let i = 0; i < SECONDS_PER_MINUTE; i++) {
      const h = this.secHist[i];
      if (h !== undefined && Math.floor(this.secStamp[i]! / SECONDS_PER_MINUTE) === minute) into.merge(h);
    }
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

  addOrders(at: SlotTime, n: number): void {
    const inSecond = this.ordersBySecond.addIn(at.sec, at.si, n);
    this.ordersByMinute.addIn(at.minute, at.mi, n);
    this.busiestSecondByMinute.raiseIn(at.minute, at.mi, inSecond);
  }

  addTrades(at: SlotTime, n: number): void {
    this.tradesBySecond.addIn(at.sec, at.si, n);
    this.tradesByMinute.addIn(at.minute, at.mi, n);
  }
}

export function emptySeries(): SeriesByImpl {
  return { legacy: { served: undefined, shadow: undefined }, adaptive: { served: undefined, shadow: undefined } };
}
