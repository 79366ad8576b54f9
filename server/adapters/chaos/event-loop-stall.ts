/**
 * An event-loop stall for chaos drills: bursts of synchronous work on the service's one JavaScript thread
 * (a busy loop, as a pathological regex, a huge JSON.parse or a long GC would), each `ms` long with `gapMs`
 * of free loop between them. Every command, timer and HTTP request waits while a burst runs. Bounded: one
 * stall at a time, each burst at most MAX_BURST_MS, at most MAX_BURSTS bursts. Only built when CHAOS_ENABLED.
 */
import { performance } from 'node:perf_hooks';

export const MAX_BURST_MS = 2_000;
export const MAX_BURSTS = 200;
export const MAX_GAP_MS = 10_000;

export interface StallPlan {
  ms: number;
  bursts: number;
  gapMs: number;
}

export interface StallStatus extends StallPlan {
  active: boolean;
  bursts_done: number;
}

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin: the point is to hold the thread
  }
}

export class StallAlreadyRunningError extends Error {}

export class EventLoopStall {
  private plan: StallPlan = { ms: 0, bursts: 0, gapMs: 0 };
  private done = 0;
  private timer: NodeJS.Timeout | undefined;
  private active = false;

  status(): StallStatus {
    return { ...this.plan, active: this.active, bursts_done: this.done };
  }

  /** Starts the bursts (the first one after the current request has been answered). */
  start(plan: StallPlan): StallStatus {
    if (this.active) throw new StallAlreadyRunningError(`a stall is running (${this.done}/${this.plan.bursts} bursts done); stop it first`);
    this.plan = { ...plan };
    this.done = 0;
    this.active = true;
    const next = (): void => {
      if (!this.active) return;
      busy(this.plan.ms);
      this.done++;
      if (this.done >= this.plan.bursts) {
        this.active = false;
        this.timer = undefined;
        return;
      }
      this.timer = setTimeout(next, this.plan.gapMs);
      this.timer.unref();
    };
    this.timer = setTimeout(next, 10);
    this.timer.unref();
    return this.status();
  }

  /** Stops after the burst in progress, if any. */
  stop(): StallStatus {
    this.active = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    return this.status();
  }
}
