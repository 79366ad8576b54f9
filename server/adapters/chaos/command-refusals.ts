/**
 * Served-path refusals for chaos drills (the error-rate threshold): every Nth command of a pair is refused
 * with UNAVAILABLE before anything is applied, exactly where a PostgreSQL outage refuses commands
 * (DurabilityGate.checkWritable), so the client sees the same answer and the service counts it the same
 * way. Only built when CHAOS_ENABLED.
 */
import { UnavailableError } from '../../ports/errors.ts';

export class CommandRefusals {
  private readonly everyNth = new Map<string, number>();
  private readonly counters = new Map<string, number>();

  /** `everyNth` 0 clears the pair's fault. */
  set(pair: string, everyNth: number): void {
    if (!Number.isSafeInteger(everyNth) || everyNth < 0) throw new RangeError('everyNth must be a whole number >= 0');
    if (everyNth === 0) this.everyNth.delete(pair);
    else this.everyNth.set(pair, everyNth);
    this.counters.set(pair, 0);
  }

  /** Clears a delisted pair's fault and counter. */
  forget(pair: string): void {
    this.everyNth.delete(pair);
    this.counters.delete(pair);
  }

  status(): { pair: string; everyNth: number; refused: number }[] {
    return [...this.everyNth.entries()].map(([pair, everyNth]) => ({ pair, everyNth, refused: Math.floor((this.counters.get(pair) ?? 0) / everyNth) }));
  }

  /** Throws UnavailableError for the faulted commands of `pair`; nothing has been applied. */
  check(pair: string): void {
    const n = this.everyNth.get(pair);
    if (n === undefined) return;
    const c = (this.counters.get(pair) ?? 0) + 1;
    this.counters.set(pair, c);
    if (c % n === 0) throw new UnavailableError('chaos', `${pair}: injected refusal (chaos everyNth ${n}); nothing was applied, retry`);
  }
}
