/**
 * One pair's StreamMarketData fan-out. Each delta is framed once (grpc-frame.ts) and appended to a log
 * shared by every stream of the pair — O(1) per delta, whatever the number of streams, so a 100-order
 * batch no longer makes 100 × N calls while it runs. Each stream is a cursor into the log; the
 * server's StreamPacer moves it in time slices, one write per stream per turn (frame-sink.ts).
 *
 * Bounds, exactly as for a StreamOutbox (stream-limits.ts): a frame counts its message bytes plus
 * MESSAGE_OVERHEAD_BYTES for a stream from when it is appended until HTTP/2 has it (the write callback);
 * the stream whose count passes GRPC_MAX_QUEUED_BYTES_PER_STREAM is ended as a slow consumer, and while
 * all streams together hold more than GRPC_MAX_QUEUED_BYTES_TOTAL the one most behind is ended (if it
 * is behind by at least TOTAL_LIMIT_MIN_BEHIND). The stream most behind is the one with the lowest
 * acknowledged position, kept at the top of a heap, so both checks cost O(log n) per append and per
 * write, not O(n). The log keeps frames from the slowest live cursor on; it is trimmed as they pass.
 */
import { FRAME_HEADER_BYTES } from './grpc-frame.ts';
import { FrameSink, type SinkCall } from './frame-sink.ts';
import { ResourceExhaustedError } from './errors.ts';
import { MESSAGE_OVERHEAD_BYTES, TOTAL_LIMIT_MIN_BEHIND, type StreamGovernor } from './stream-limits.ts';
import type { PacedSource } from './stream-pacer.ts';

/** Frames the log keeps before the slowest cursor before it is trimmed (one O(readers) scan per trim). */
const TRIM_AFTER = 4096;

export class MarketDataFeed {
  /** Frames from absolute index `first` on, with their sequences and cumulative counted bytes. */
  private frames: Buffer[] = [];
  private sequences: number[] = [];
  private first = 0;
  /** Counted bytes (message + overhead) of every frame appended since the feed began. */
  private appended = 0;
  /** Readers, most behind (lowest `base`) first. */
  private readonly heap: FeedReader[] = [];
  /** Caught-up readers: woken by the next append. */
  private readonly idle = new Set<FeedReader>();

  /** `onEmpty`: the last reader left (the owner unsubscribes the feed from its pair). */
  constructor(
    readonly governor: StreamGovernor,
    private readonly onEmpty: () => void,
  ) {}

  get readers(): number {
    return this.heap.length;
  }

  /** Frames the log holds now (for tests and metrics). */
  get heldFrames(): number {
    return this.frames.length;
  }

  /** Absolute index after the last frame. */
  get end(): number {
    return this.first + this.frames.length;
  }

  /** One delta, framed, for every reader. */
  append(frame: Buffer, sequence: number): void {
    const n = frame.length - FRAME_HEADER_BYTES + MESSAGE_OVERHEAD_BYTES;
    this.frames.push(frame);
    this.sequences.push(sequence);
    this.appended += n;
    this.governor.addQueued(n * this.heap.length);
    this.enforceLimits();
    if (this.idle.size > 0) {
      for (const r of this.idle) this.governor.pacer.wake(r);
      this.idle.clear();
    }
    if (this.frames.length >= 2 * TRIM_AFTER) this.trim();
  }

  /**
   * A new stream: its snapshot (framed, `snapshotSequence`) is written at once, then every appended
   * delta after that sequence. `onSlow` ends the stream (called at most once).
   */
  join(call: SinkCall, snapshot: Buffer, snapshotSequence: number, onSlow: (reason: ResourceExhaustedError) => void): FeedReader {
    const reader = new FeedReader(this, call, snapshotSequence, onSlow);
    const n = snapshot.length - FRAME_HEADER_BYTES + MESSAGE_OVERHEAD_BYTES;
    reader.cursor = this.end;
    reader.base = this.appended - n;
    this.governor.addQueued(n);
    reader.heapIndex = this.heap.length;
    this.heap.push(reader);
    this.siftUp(reader.heapIndex);
    reader.sink.write([snapshot], 0, 1, reader.ack);
    this.idle.add(reader);
    this.enforceLimits();
    return reader;
  }

  /** @internal Counted bytes `reader` holds now. */
  queuedOf(reader: FeedReader): number {
    return this.appended - reader.base;
  }

  /** @internal `reader` had `n` more bytes acknowledged (or skipped). */
  advanced(reader: FeedReader, n: number): void {
    reader.base += n;
    this.governor.addQueued(-n);
    this.siftDown(reader.heapIndex);
  }

  /** @internal Frames `[cursor…)` of the log for `reader.pass`: the array, and the local index of `cursor`. */
  slice(cursor: number): { frames: Buffer[]; sequences: number[]; at: number } {
    return { frames: this.frames, sequences: this.sequences, at: cursor - this.first };
  }

  /** @internal `reader` caught up (or could not write): it gets a turn again at the next append. */
  rest(reader: FeedReader): void {
    this.idle.add(reader);
  }

  /** @internal `reader` is gone: its bytes no longer count. */
  leave(reader: FeedReader): void {
    if (reader.heapIndex < 0) return;
    this.governor.addQueued(-(this.appended - reader.base));
    this.idle.delete(reader);
    this.governor.pacer.forget(reader);
    const i = reader.heapIndex;
    const last = this.heap.pop()!;
    if (last !== reader) {
      this.heap[i] = last;
      last.heapIndex = i;
      this.siftDown(i);
      this.siftUp(last.heapIndex);
    }
    reader.heapIndex = -1;
    if (this.heap.length === 0) {
      this.first = this.end;
      this.frames = [];
      this.sequences = [];
      this.onEmpty();
    }
  }

  /** Ends the readers most behind while they break the per-stream or the total bound. */
  private enforceLimits(): void {
    const l = this.governor.limits;
    for (let guard = this.heap.length; guard > 0 && this.heap.length > 0; guard--) {
      const worst = this.heap[0]!;
      const queued = this.appended - worst.base;
      let detail: string;
      if (queued > l.maxQueuedBytesPerStream) {
        detail = `slow consumer: ${queued} bytes queued for this stream (limit ${l.maxQueuedBytesPerStream}: GRPC_MAX_QUEUED_BYTES_PER_STREAM); stream ended, read faster or resubscribe`;
      } else if (this.governor.queuedBytes > l.maxQueuedBytesTotal && queued >= TOTAL_LIMIT_MIN_BEHIND) {
        detail = `slow consumer: ${queued} bytes queued for this stream while all streams hold ${this.governor.queuedBytes} (limit ${l.maxQueuedBytesTotal}: GRPC_MAX_QUEUED_BYTES_TOTAL); stream ended, read faster or resubscribe`;
      } else return;
      try {
        worst.slow(detail);
      } catch {
        // Ending it threw (its call already gone): counted like a paced source whose write threw. Not
        // rethrown: that would make the pair drop the feed's subscription, and every other stream with it.
        this.governor.pacer.sourcesFailed++;
      } finally {
        // Whatever its owner did (it normally releases it at once), it holds nothing more; the feed goes on for the others.
        this.leave(worst);
      }
    }
  }

  /** Drops the frames every reader has passed. */
  private trim(): void {
    let min = this.end;
    for (const r of this.heap) if (r.cursor < min) min = r.cursor;
    const drop = min - this.first;
    if (drop < TRIM_AFTER) return;
    this.frames = this.frames.slice(drop);
    this.sequences = this.sequences.slice(drop);
    this.first = min;
  }

  private siftUp(i: number): void {
    const h = this.heap;
    const r = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.base <= r.base) break;
      h[i] = h[p]!;
      h[i]!.heapIndex = i;
      i = p;
    }
    h[i] = r;
    r.heapIndex = i;
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const r = h[i]!;
    for (;;) {
      const a = 2 * i + 1;
      if (a >= h.length) break;
      const b = a + 1;
      const c = b < h.length && h[b]!.base < h[a]!.base ? b : a;
      if (h[c]!.base >= r.base) break;
      h[i] = h[c]!;
      h[i]!.heapIndex = i;
      i = c;
    }
    h[i] = r;
    r.heapIndex = i;
  }
}

/** One stream's cursor into its pair's feed. */
export class FeedReader implements PacedSource {
  /**
   * Frames per round: deltas are small (tens of bytes) and a round is one write whatever its size, so
   * a stream catches up on a 100-order batch in one write per turn instead of seven (each write costs
   * an HTTP/2 write request, a completion and a socket write of its own).
   */
  readonly quantum = 256;
  /** Absolute index of the next frame to write. */
  cursor = 0;
  /** Counted bytes acknowledged (or skipped), on the feed's `appended` scale. */
  base = 0;
  /** @internal Position in the feed's heap; -1 once gone. */
  heapIndex = -1;
  readonly sink: FrameSink;
  private over = false;
  /** @internal */
  readonly ack = (n: number): void => {
    if (this.heapIndex >= 0) this.feed.advanced(this, n);
  };

  constructor(
    private readonly feed: MarketDataFeed,
    call: SinkCall,
    /** Deltas up to this sequence are in the snapshot (with a journal, some may still be appended): skipped. */
    private readonly from: number,
    private readonly onSlow: (reason: ResourceExhaustedError) => void,
  ) {
    this.sink = new FrameSink(call, MESSAGE_OVERHEAD_BYTES, () => {
      if (this.heapIndex < 0) return;
      if (this.cursor < this.feed.end) this.feed.governor.pacer.wake(this);
      else this.feed.rest(this);
    });
  }

  /** Counted bytes this stream holds now. */
  get queuedBytes(): number {
    return this.heapIndex < 0 ? 0 : this.feed.queuedOf(this);
  }

  /** Writes up to `max` frames from the cursor in one write; true when more could go now. */
  pass(max: number): boolean {
    if (this.heapIndex < 0) return false;
    if (this.sink.blocked) return false; // the drain wakes it
    this.write(max);
    if (this.cursor >= this.feed.end) {
      this.feed.rest(this);
      return false;
    }
    return !this.sink.blocked;
  }

  /** Writes every frame from the cursor on now (whatever the buffers hold), before ending the stream normally. */
  flush(): void {
    if (this.heapIndex >= 0) this.write(Number.MAX_SAFE_INTEGER);
  }

  /** The stream ended: it holds nothing more. */
  release(): void {
    this.feed.leave(this);
  }

  /** @internal Ends the stream as a slow consumer (once). */
  slow(detail: string): void {
    if (this.over) return;
    this.over = true;
    this.feed.governor.slowConsumersEnded++;
    this.onSlow(new ResourceExhaustedError(detail));
  }

  private write(max: number): void {
    const { frames, sequences, at } = this.feed.slice(this.cursor);
    const end = Math.min(frames.length, at + max);
    // Deltas already in the snapshot (sequence ≤ from) come only right after it: skip them, counted as done.
    let start = at;
    let skipped = 0;
    while (start < end && sequences[start]! <= this.from) skipped += this.sink.countOf(frames[start++]!);
    this.cursor += end - at;
    if (skipped > 0) this.feed.advanced(this, skipped);
    this.sink.write(frames, start, end, this.ack);
  }
}
