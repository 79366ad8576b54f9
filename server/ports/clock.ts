/**
 * Time as the inside sees it. core/ and pairs/ never read the system clock: a Clock is passed in, so
 * windows, ramps and breaker timers are tested without waiting (ManualClock) and runs replay exactly.
 */
export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch (for timestamps shown to people and windows). */
  nowMs(): number;
  /** Monotonic nanoseconds for measuring durations (latency); only differences are meaningful. */
  monotonicNs(): bigint;
}

/** A clock that moves only when told to; for tests and deterministic simulations. */
export class ManualClock implements Clock {
  private ns: bigint;
  constructor(private ms = 1_700_000_000_000) {
    this.ns = BigInt(ms) * 1_000_000n;
  }
  nowMs(): number {
    return this.ms;
  }
  monotonicNs(): bigint {
    return this.ns;
  }
  /** Moves both readings forward. */
  advanceMs(ms: number): void {
    this.ms += ms;
    this.ns += BigInt(Math.round(ms * 1_000_000));
  }
}
