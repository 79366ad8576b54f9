/**
 * Moves queued stream messages out in slices, so that a burst fanned out to many streams (one
 * market-data delta to every subscriber, a 100-order batch → 100 deltas × N streams) never holds the
 * event loop for long: each turn passes messages for at most `sliceMs`, then yields (setImmediate) so
 * I/O — other calls — runs before the next slice. Streams take turns (round robin, at most QUANTUM
 * messages each per turn), each in its own order. Sources: market-data feed cursors
 * (market-data-feed.ts) and paced outboxes (stream-limits.ts); each turn of a source is one write of
 * its frames to HTTP/2 (frame-sink.ts), done inside the slice, so the slice measures the real work.
 */

/** Something with messages waiting: `pass` hands over up to `max` and says whether it still has more it can pass now. */
export interface PacedSource {
  pass(max: number): boolean;
  /** Messages this source may pass per round (its `max`). @default 16 */
  readonly quantum?: number;
}

/** Default time one turn may spend passing messages. */
export const FAN_OUT_SLICE_MS = 4;
/** Messages one stream may pass per round before the next stream's turn (grpc-js buffers 16 per stream). */
const QUANTUM = 16;

export class StreamPacer {
  private ready: PacedSource[] = [];
  private head = 0;
  private readonly queued = new Set<PacedSource>();
  private scheduled = false;
  /** Turns that ran out of time with streams still waiting (for tests and metrics). */
  slicesYielded = 0;
  /** Sources dropped because `pass` threw. */
  sourcesFailed = 0;

  constructor(
    private readonly sliceMs = FAN_OUT_SLICE_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** `source` has messages it can pass: it gets a turn soon (once, however often this is called). */
  wake(source: PacedSource): void {
    if (this.queued.has(source)) return;
    this.queued.add(source);
    this.ready.push(source);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.run());
    }
  }

  /** `source` ended: it gets no more turns. */
  forget(source: PacedSource): void {
    this.queued.delete(source);
  }

  private run(): void {
    this.scheduled = false;
    const until = this.now() + this.sliceMs;
    while (this.head < this.ready.length) {
      const source = this.ready[this.head++]!;
      if (!this.queued.has(source)) continue;
      let more: boolean;
      try {
        more = source.pass(source.quantum ?? QUANTUM);
      } catch {
        // A stream whose write throws gets no more turns (its byte bound still ends it); the others go on.
        this.sourcesFailed++;
        more = false;
      }
      if (more) this.ready.push(source);
      else this.queued.delete(source);
      if (this.now() >= until) break;
    }
    this.ready = this.ready.slice(this.head);
    this.head = 0;
    if (this.ready.length > 0) {
      this.slicesYielded++;
      this.scheduled = true;
      setImmediate(() => this.run());
    }
  }
}
