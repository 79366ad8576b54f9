/**
 * Event-loop health from perf_hooks: delay percentiles (how late timers fire: the time a callback waited
 * because the one JS thread was busy) and utilization (share of time the loop was running callbacks rather
 * than idle). This is Node's stand-in for Go's mutex/block profiles: nothing in Node blocks on a lock, but
 * everything waits for the loop. Sampled in windows by the service's timer; owns no timer itself.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';

export interface EventLoopWindow {
  /** ISO time the window ended (or "now" for the live window). */
  at: string;
  window_seconds: number;
  delay_p50_ms: number;
  delay_p90_ms: number;
  delay_p99_ms: number;
  delay_max_ms: number;
  delay_mean_ms: number;
  /** 0..1: share of the window the loop spent running JavaScript/callbacks. */
  utilization: number;
}

export interface EventLoopStats {
  /** The last completed window (null before the first). */
  last_window: EventLoopWindow | null;
  /** The window in progress. */
  current: EventLoopWindow;
  /** Completed windows whose worst delay exceeded `blocked_threshold_ms`: the loop was stuck that long. */
  blocked_windows: number;
  blocked_threshold_ms: number;
  /** The worst delays seen in completed windows since start, largest first (at most 10). */
  worst_blocks: { at: string; delay_max_ms: number }[];
  /** Since the process started. */
  lifetime_utilization: number;
}

const NS_PER_MS = 1e6;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export class EventLoopMonitor {
  private readonly histogram: IntervalHistogram;
  private windowStartMs: number;
  private eluAtWindowStart: EventLoopUtilization;
  private last: EventLoopWindow | null = null;
  private blocked = 0;
  private readonly worst: { at: string; delay_max_ms: number }[] = [];

  /**
   * @param resolutionMs sampling resolution of the delay histogram; finer costs a timer wake-up that often.
   * @param blockedThresholdMs a window whose max delay is above this counts as blocked.
   */
  constructor(
    private readonly resolutionMs = 10,
    readonly blockedThresholdMs = 100,
  ) {
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.windowStartMs = Date.now();
    this.eluAtWindowStart = performance.eventLoopUtilization();
  }

  start(): void {
    this.histogram.enable();
  }

  stop(): void {
    this.histogram.disable();
  }

  /** Closes the current window (called by the service's timer). */
  sample(): EventLoopWindow {
    const w = this.window();
    this.last = w;
    if (w.delay_max_ms > this.blockedThresholdMs) this.blocked++;
    if (w.delay_max_ms > 0) {
      this.worst.push({ at: w.at, delay_max_ms: w.delay_max_ms });
      this.worst.sort((a, b) => b.delay_max_ms - a.delay_max_ms);
      this.worst.length = Math.min(this.worst.length, 10);
    }
    this.histogram.reset();
    this.windowStartMs = Date.now();
    this.eluAtWindowStart = performance.eventLoopUtilization();
    return w;
  }

  stats(): EventLoopStats {
    return {
      last_window: this.last,
      current: this.window(),
      blocked_windows: this.blocked,
      blocked_threshold_ms: this.blockedThresholdMs,
      worst_blocks: this.worst.slice(),
      lifetime_utilization: round3(performance.eventLoopUtilization().utilization),
    };
  }

  /** The most representative figures now: the last completed window, else the live one. */
  latest(): EventLoopWindow {
    return this.last ?? this.window();
  }

  private window(): EventLoopWindow {
    const h = this.histogram;
    const has = h.count > 0;
    // The histogram's minimum is the resolution itself (a timer firing on time); subtract it so an idle
    // loop reads ~0 ms of delay rather than `resolutionMs`.
    const delay = (ns: number): number => (has ? round3(Math.max(0, ns / NS_PER_MS - this.resolutionMs)) : 0);
    const now = Date.now();
    return {
      at: new Date(now).toISOString(),
      window_seconds: round3((now - this.windowStartMs) / 1000),
      delay_p50_ms: delay(h.percentile(50)),
      delay_p90_ms: delay(h.percentile(90)),
      delay_p99_ms: delay(h.percentile(99)),
      delay_max_ms: delay(h.max),
      delay_mean_ms: delay(h.mean),
      utilization: round3(performance.eventLoopUtilization(this.eluAtWindowStart).utilization),
    };
  }
}
