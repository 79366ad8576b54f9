/**
 * Time as the inside sees it. core/ and pairs/ never read the system clock: a Clock is passed in, so
 * windows, ramps and breaker timers are tested without waiting (ManualClock) and runs replay exactly.
 */
export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch (for timestamps shown to people and windows). */
  nowMs(): number;
  /**
   * Monotonic nanoseconds for measuring durations (latency); only differences are meaningful. A number
   * (exact to the nanosecond for 104 days of uptime, to a few after that): read per command, so no
   * BigInt is allocated for it.
   */
  monotonicNs(): number;
}

/** A clock that moves only when told to; for tests and deterministic simulations. */
export class ManualClock implements Clock {
  private ns = 0;
  constructor(private ms = 1_700_000_000_000) {}
  nowMs(): number {
    return this.ms;
  }
  monotonicNs(): number {
    return this.ns;
  }
  /** Moves both readings forward. */
  advanceMs(ms: number): void {
    this.ms += ms;
    this.ns += Math.round(ms * 1_000_000);
  }
}
