/**
 * Issue 7 item 1, the fan-out itself: StreamMarketData streams of a pair share one feed
 * (market-data-feed.ts). A delta is appended once, whatever the number of streams; each stream gets
 * its snapshot, then every later delta in order, in writes of many frames at once (the pacer moves
 * the cursors); a stream that never drains is ended at its byte bound while the others go on; the
 * total bound ends the stream most behind first; the log drops what every stream has passed.
 * Calls here are grpc-js-like writables without an HTTP/2 stream, so frames go one message per write
 * (frame-sink.ts's fallback); the direct path is exercised end to end in hostile-streams.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { frameMessage } from '../server/adapters/grpc/grpc-frame.ts';
import { MarketDataFeed } from '../server/adapters/grpc/market-data-feed.ts';
import { MESSAGE_OVERHEAD_BYTES, StreamGovernor, type StreamLimitOptions } from '../server/adapters/grpc/stream-limits.ts';
import type { ResourceExhaustedError } from '../server/adapters/grpc/errors.ts';

/** A call that records what it is given; `room` messages fit before write returns false (until drain()). */
class FakeCall {
  readonly got: string[] = [];
  private readonly pending: (() => void)[] = [];
  private drainListener: () => void = () => {};
  constructor(private room = Number.POSITIVE_INFINITY) {}
  write(chunk: unknown, cb?: () => void): boolean {
    this.got.push((chunk as Buffer).toString());
    if (cb !== undefined) this.pending.push(cb);
    return this.got.length < this.room;
  }
  on(_event: 'drain', listener: () => void): this {
    this.drainListener = listener;
    return this;
  }
  /** HTTP/2 took everything so far (write callbacks), and there is room for `more` again. */
  drain(more = Number.POSITIVE_INFINITY): void {
    for (const cb of this.pending.splice(0)) cb();
    this.room = this.got.length + more;
    this.drainListener();
  }
}

function setup(limits: StreamLimitOptions = {}) {
  const governor = new StreamGovernor(limits);
  let emptied = 0;
  const feed = new MarketDataFeed(governor, () => emptied++);
  let seq = 0;
  const deltas = (n: number): void => {
    for (let i = 0; i < n; i++) {
      seq++;
      feed.append(frameMessage(Buffer.from(`d${seq}`)), seq);
    }
  };
  return { governor, feed, deltas, emptied: () => emptied, seq: () => seq };
}

const settle = async (turns = 50): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
};

describe('market-data feed (issue 7 item 1)', () => {
  it('100 streams × 500 deltas: each delta appended once; every stream gets its snapshot then every delta in order; bytes count down to 0', async () => {
    const { governor, feed, deltas } = setup();
    const calls = Array.from({ length: 100 }, () => new FakeCall());
    const readers = calls.map((c) => feed.join(c, frameMessage(Buffer.from('snap')), 0, () => expect.fail('no stream is slow here')));
    for (let round = 0; round < 5; round++) {
      deltas(100);
      await settle(5);
    }
    await settle();
    const want = ['snap', ...Array.from({ length: 500 }, (_, i) => `d${i + 1}`)];
    for (const c of calls) expect(c.got).toEqual(want);
    for (const c of calls) c.drain();
    expect(governor.queuedBytes).toBe(0);
    for (const r of readers) r.release();
    expect(feed.readers).toBe(0);
  });

  it('a stream joining later skips the deltas its snapshot already has, and gets the rest', async () => {
    const { feed, deltas } = setup();
    const early = new FakeCall();
    feed.join(early, frameMessage(Buffer.from('snap0')), 0, () => {});
    deltas(1);
    // With a journal the snapshot shows the applied book: it has deltas 2 and 3, published only after it.
    const late = new FakeCall();
    feed.join(late, frameMessage(Buffer.from('snap3')), 3, () => {});
    deltas(4);
    await settle();
    expect(early.got).toEqual(['snap0', 'd1', 'd2', 'd3', 'd4', 'd5']);
    expect(late.got).toEqual(['snap3', 'd4', 'd5']);
  });

  it('a stream that never drains is ended at its byte bound with the limit named; the others get everything; the feed holds nothing for it after', async () => {
    const perStream = 8 * 1024;
    const { governor, feed, deltas } = setup({ maxQueuedBytesPerStream: perStream });
    const stuck = new FakeCall(4);
    const ends: ResourceExhaustedError[] = [];
    const stuckReader = feed.join(stuck, frameMessage(Buffer.from('snap')), 0, (e) => {
      ends.push(e);
      stuckReader.release();
    });
    const reading = new FakeCall();
    feed.join(reading, frameMessage(Buffer.from('snap')), 0, () => expect.fail('the reader is not slow'));
    let maxQueued = 0;
    for (let round = 0; round < 20; round++) {
      deltas(10);
      maxQueued = Math.max(maxQueued, governor.queuedBytes);
      await settle(3);
      reading.drain();
    }
    await settle();
    reading.drain();
    expect(ends).toHaveLength(1);
    expect(ends[0]!.message).toContain('GRPC_MAX_QUEUED_BYTES_PER_STREAM');
    expect(governor.slowConsumersEnded).toBe(1);
    // Bound: the stuck stream at most its limit (plus the reader's own few frames in flight).
    expect(maxQueued).toBeLessThanOrEqual(perStream + 2 * 10 * (8 + MESSAGE_OVERHEAD_BYTES));
    expect(reading.got).toHaveLength(1 + 200);
    expect(reading.got.at(-1)).toBe('d200');
    expect(governor.queuedBytes).toBe(0);
  });

  it('past the total bound the stream most behind is ended first', async () => {
    const { governor, feed, deltas } = setup({ maxQueuedBytesPerStream: 1024 * 1024, maxQueuedBytesTotal: 64 * 1024 });
    const ended: string[] = [];
    const join = (name: string, call: FakeCall) => {
      const r = feed.join(call, frameMessage(Buffer.from('snap')), 0, () => {
        ended.push(name);
        r.release();
      });
    };
    join('behind-most', new FakeCall(1));
    deltas(50); // only this one is behind by these
    join('behind-less', new FakeCall(1));
    deltas(200);
    expect(ended).toEqual(['behind-most']);
    expect(governor.queuedBytes).toBeLessThanOrEqual(64 * 1024 + 2 * (8 + MESSAGE_OVERHEAD_BYTES));
  });

  it('a stream whose ending throws is dropped all the same, and the feed goes on for the others', async () => {
    const { governor, feed, deltas } = setup({ maxQueuedBytesPerStream: 4096 });
    feed.join(new FakeCall(1), frameMessage(Buffer.from('snap')), 0, () => {
      throw new Error('call already destroyed');
    });
    const reading = new FakeCall();
    feed.join(reading, frameMessage(Buffer.from('snap')), 0, () => expect.fail('the reader is not slow'));
    for (let round = 0; round < 10; round++) {
      deltas(5);
      await settle(3);
      reading.drain();
    }
    await settle();
    expect(governor.pacer.sourcesFailed).toBe(1);
    expect(feed.readers).toBe(1);
    expect(reading.got).toHaveLength(51);
  });

  it('the log drops the frames every stream has passed; the feed says when its last stream left', async () => {
    const { feed, deltas, emptied } = setup();
    const calls = [new FakeCall(), new FakeCall()];
    const readers = calls.map((c) => feed.join(c, frameMessage(Buffer.from('snap')), 0, () => {}));
    for (let round = 0; round < 30; round++) {
      deltas(1000);
      await settle(20);
      for (const c of calls) c.drain();
    }
    await settle();
    expect(calls[0]!.got).toHaveLength(30_001);
    expect(feed.heldFrames).toBeLessThan(10_000);
    readers[0]!.release();
    expect(emptied()).toBe(0);
    readers[1]!.release();
    expect(emptied()).toBe(1);
    expect(feed.heldFrames).toBe(0);
  });
});
