/**
 * Bounds on what long-lived streams (OrderFlow, StreamMarketData) can make the server hold:
 * - queued bytes per stream: every message is encoded once by us (so its size is known) and counted,
 *   plus MESSAGE_OVERHEAD_BYTES, until grpc-js hands it to HTTP/2; a stream whose unsent bytes pass the limit is a slow consumer
 *   and is ended (RESOURCE_EXHAUSTED), and its queue is dropped — a client that never grants HTTP/2
 *   window cannot grow server memory;
 * - queued bytes of all streams together: past the total, the stream being written to is ended if it
 *   is behind at all (many streams, each below its own limit, cannot add up without bound);
 * - open streams in total, per account (OrderFlow) and per peer address (both kinds): refused at open
 *   with RESOURCE_EXHAUSTED naming the limit.
 *
 * Ending a slow stream: grpc-js sends a stream's status only after every queued message has left, which
 * a reader that never reads never lets happen. So the status is queued (a reader that is only slow gets
 * the precise message), and the HTTP/2 stream is reset with ENHANCE_YOUR_CALM right after
 * (`slowConsumerGraceMs`), which frees the queue; grpc clients report that reset as RESOURCE_EXHAUSTED.
 */
import { constants as http2constants } from 'node:http2';
import { ResourceExhaustedError } from './errors.ts';
import { FRAME_HEADER_BYTES, frameMessage } from './grpc-frame.ts';
import { FrameSink, type SinkCall } from './frame-sink.ts';
import { StreamPacer, type PacedSource } from './stream-pacer.ts';
import { http2StreamOf } from './http2-stream-of.ts';

export { http2StreamOf };

export interface StreamLimitOptions {
  /**
   * GRPC_MAX_QUEUED_BYTES_PER_STREAM: unsent bytes one stream may hold before it is ended as a slow
   * consumer. Higher tolerates longer reader stalls (a full-depth snapshot must fit); lower bounds
   * memory per stream tighter.
   * @default 4194304 (4 MiB)
   */
  maxQueuedBytesPerStream?: number;
  /**
   * GRPC_MAX_QUEUED_BYTES_TOTAL: unsent bytes of all streams together; past it every stream that is
   * behind is ended when next written to. The stream part of the server's memory bound.
   * @default 67108864 (64 MiB)
   */
  maxQueuedBytesTotal?: number;
  /** GRPC_MAX_STREAMS: open OrderFlow + StreamMarketData streams in total. @default 10000 */
  maxStreams?: number;
  /** GRPC_MAX_STREAMS_PER_ACCOUNT: open OrderFlow streams of one account. @default 16 */
  maxStreamsPerAccount?: number;
  /** GRPC_MAX_STREAMS_PER_PEER: open streams (both kinds) from one peer IP address. @default 1000 */
  maxStreamsPerPeer?: number;
  /**
   * How long an ended slow stream may keep its queue so a slow (but reading) client can still get the
   * RESOURCE_EXHAUSTED status with its message, before the HTTP/2 stream is reset.
   * @default 250
   */
  slowConsumerGraceMs?: number;
}

export const DEFAULT_STREAM_LIMITS: Readonly<Required<StreamLimitOptions>> = Object.freeze({
  maxQueuedBytesPerStream: 4 * 1024 * 1024,
  maxQueuedBytesTotal: 64 * 1024 * 1024,
  maxStreams: 10_000,
  maxStreamsPerAccount: 16,
  maxStreamsPerPeer: 1_000,
  slowConsumerGraceMs: 250,
});

/** A stream behind by less than this is not ended for the total limit (it is merely between writes). */
export const TOTAL_LIMIT_MIN_BEHIND = 16 * 1024;
/**
 * What one queued message costs besides its bytes (grpc-js's write queue entry and callback; measured
 * ~150 bytes on Node 20). Counted so that many tiny messages — or one Buffer shared by many streams —
 * cannot hide memory from the bound.
 */
export const MESSAGE_OVERHEAD_BYTES = 192;

export type StreamKind = 'OrderFlow' | 'StreamMarketData';

/** The address part of grpc-js `getPeer()` ("127.0.0.1:5000", "::1:5000" or "[::1]:5000"). */
export function peerAddress(peer: string): string {
  const bracket = /^\[([^\]]+)\]:\d+$/.exec(peer);
  if (bracket !== null) return bracket[1]!;
  const colon = peer.lastIndexOf(':');
  return colon > 0 && /^\d+$/.test(peer.slice(colon + 1)) ? peer.slice(0, colon) : peer;
}

/** What one open stream holds; `release()` exactly once when it ends. */
export interface StreamTicket {
  readonly kind: StreamKind;
  release(): void;
}

type Writable = SinkCall;

/** How a StreamOutbox passes messages to grpc-js. */
export interface OutboxOptions {
  /**
   * Queue each message here (a reference to a Buffer that may be shared by every subscriber) and let
   * the server's StreamPacer hand it to grpc-js in time slices, and only while grpc-js's own buffer has
   * room (`write` returned true; else until 'drain'). An unread stream then costs one array slot per
   * message instead of grpc-js's framed copy, write request and callback, and a fan-out to many streams
   * cannot hold the event loop. The owner must call `flush()` before ending the stream normally.
   *
   * A turn's messages of one stream go out as gRPC frames in ONE write to its HTTP/2 stream where
   * that is found (frame-sink.ts). Messages may be given framed (`writeFrame`, one frame shared by every subscriber) or not (`write`).
   * @default false (every message goes to grpc-js at once; the owner watches `writableNeedDrain`)
   */
  paced?: boolean;
}

/** The server-wide accounting of long-lived streams. */
export class StreamGovernor {
  readonly limits: Readonly<Required<StreamLimitOptions>>;
  private open = 0;
  private readonly byAccount = new Map<string, number>();
  private readonly byPeer = new Map<string, number>();
  private queued = 0;
  /** Passes paced outboxes' messages to grpc-js in slices. */
  readonly pacer = new StreamPacer();
  /** Streams ended as slow consumers since start (for metrics and tests). */
  slowConsumersEnded = 0;
  /** Opens refused by a stream-count limit since start. */
  refusedOpens = 0;

  constructor(options: StreamLimitOptions = {}) {
    const limits = { ...DEFAULT_STREAM_LIMITS, ...stripUndefined(options) };
    for (const [name, v] of Object.entries(limits)) {
      if (!Number.isSafeInteger(v) || v < (name === 'slowConsumerGraceMs' ? 0 : 1)) throw new RangeError(`stream limit ${name} must be a positive integer, got ${v}`);
    }
    this.limits = Object.freeze(limits);
  }

  get openStreams(): number {
    return this.open;
  }

  /** Unsent bytes of all streams now. */
  get queuedBytes(): number {
    return this.queued;
  }

  /**
   * Counts a new stream; throws ResourceExhaustedError (nothing held) when a limit is reached. `account`
   * only for OrderFlow.
   */
  admit(kind: StreamKind, peer: string, account?: string): StreamTicket {
    const address = peerAddress(peer);
    const l = this.limits;
    const refuse = (detail: string): never => {
      this.refusedOpens++;
      throw new ResourceExhaustedError(detail);
    };
    if (this.open >= l.maxStreams) refuse(`too many open streams on this server (${this.open}, limit ${l.maxStreams}: GRPC_MAX_STREAMS); retry later or elsewhere`);
    const peerCount = this.byPeer.get(address) ?? 0;
    if (peerCount >= l.maxStreamsPerPeer) refuse(`too many open streams from this address (${peerCount}, limit ${l.maxStreamsPerPeer}: GRPC_MAX_STREAMS_PER_PEER); close some first`);
    if (account !== undefined) {
      const accountCount = this.byAccount.get(account) ?? 0;
      if (accountCount >= l.maxStreamsPerAccount)
        refuse(`too many open OrderFlow streams for this account (${accountCount}, limit ${l.maxStreamsPerAccount}: GRPC_MAX_STREAMS_PER_ACCOUNT); close some first`);
      this.byAccount.set(account, accountCount + 1);
    }
    this.byPeer.set(address, peerCount + 1);
    this.open++;
    let released = false;
    return {
      kind,
      release: () => {
        if (released) return;
        released = true;
        this.open--;
        decrement(this.byPeer, address);
        if (account !== undefined) decrement(this.byAccount, account);
      },
    };
  }

  /** The byte-bounded outbox of one stream. `onSlow` ends the stream (called at most once). */
  outbox(call: Writable, onSlow: (reason: ResourceExhaustedError) => void, options: OutboxOptions = {}): StreamOutbox {
    return new StreamOutbox(this, call, onSlow, options.paced === true ? this.pacer : undefined);
  }

  /** @internal */
  addQueued(n: number): void {
    this.queued += n;
  }
}

/**
 * Writes pre-encoded messages to one stream, counting their bytes until grpc-js has handed them to
 * HTTP/2 (the write callback). A message that would take the stream past a limit is not written:
 * `onSlow` is called once and nothing more is written.
 */
export class StreamOutbox implements PacedSource {
  private queued = 0;
  private over = false;
  private released = false;
  /** Paced: frames not yet handed over, `held[head…]`, oldest first. */
  private held: Buffer[] = [];
  private head = 0;
  /** Paced: where the frames go (frame-sink.ts). */
  private readonly sink: FrameSink | undefined;
  private readonly ack = (n: number): void => {
    if (this.released) return;
    this.queued -= n;
    this.governor.addQueued(-n);
  };

  constructor(
    private readonly governor: StreamGovernor,
    private readonly call: Writable,
    private readonly onSlow: (reason: ResourceExhaustedError) => void,
    private readonly pacer: StreamPacer | undefined,
  ) {
    if (pacer !== undefined)
      this.sink = new FrameSink(call, MESSAGE_OVERHEAD_BYTES, () => {
        if (!this.released && this.head < this.held.length) pacer.wake(this);
      });
  }

  /** Unsent bytes of this stream. */
  get queuedBytes(): number {
    return this.queued;
  }

  /** True when paced messages are written to the HTTP/2 stream directly (for tests and metrics). */
  get writesFrames(): boolean {
    return this.sink?.writesFrames === true;
  }

  /** False once the stream was found too slow (the message was not written). */
  write(message: Buffer): boolean {
    return this.take(this.pacer === undefined ? message : frameMessage(message), message.length);
  }

  /** Paced only: like `write`, for a message already framed (grpc-frame.ts), e.g. one frame for every subscriber. */
  writeFrame(frame: Buffer): boolean {
    if (this.pacer === undefined) throw new Error('StreamOutbox.writeFrame: only a paced outbox takes frames');
    return this.take(frame, frame.length - FRAME_HEADER_BYTES);
  }

  /** Counts `chunk` (a message, or paced a frame) of a `size`-byte message against the bounds and queues or writes it. */
  private take(chunk: Buffer, size: number): boolean {
    if (this.over || this.released) return false;
    const n = size + MESSAGE_OVERHEAD_BYTES;
    const l = this.governor.limits;
    if (this.queued + n > l.maxQueuedBytesPerStream) {
      this.slow(`slow consumer: ${this.queued + n} bytes queued for this stream (limit ${l.maxQueuedBytesPerStream}: GRPC_MAX_QUEUED_BYTES_PER_STREAM); stream ended, read faster or resubscribe`);
      return false;
    }
    if (this.governor.queuedBytes + n > l.maxQueuedBytesTotal && this.queued >= TOTAL_LIMIT_MIN_BEHIND) {
      this.slow(
        `slow consumer: ${this.queued + n} bytes queued for this stream while all streams hold ${this.governor.queuedBytes + n} (limit ${l.maxQueuedBytesTotal}: GRPC_MAX_QUEUED_BYTES_TOTAL); stream ended, read faster or resubscribe`,
      );
      return false;
    }
    this.queued += n;
    this.governor.addQueued(n);
    if (this.pacer === undefined) this.call.write(chunk, () => this.ack(n));
    else {
      this.held.push(chunk);
      if (!this.sink!.blocked) this.pacer.wake(this);
    }
    return true;
  }

  /** Paced: hands up to `max` held messages over while there is room; true when more could go now. */
  pass(max: number): boolean {
    const sink = this.sink!;
    if (!sink.blocked && !this.released && this.head < this.held.length) {
      const end = Math.min(this.held.length, this.head + max);
      const from = this.head;
      this.head = end;
      sink.write(this.held, from, end, this.ack);
    }
    if (this.head === this.held.length) {
      this.held = [];
      this.head = 0;
      return false;
    }
    if (this.head >= 1024) {
      this.held = this.held.slice(this.head);
      this.head = 0;
    }
    return !sink.blocked && !this.released;
  }

  /** Paced: hands every held message over now (whatever the buffers hold), before ending the stream normally. */
  flush(): void {
    if (this.sink !== undefined && !this.released) this.sink.write(this.held, this.head, this.held.length, this.ack);
    this.held = [];
    this.head = 0;
  }

  /** The stream ended: its unsent bytes no longer count (grpc-js drops them with the stream). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.pacer?.forget(this);
    this.governor.addQueued(-this.queued);
    this.queued = 0;
    this.held = [];
    this.head = 0;
  }

  private slow(detail: string): void {
    this.over = true;
    this.governor.slowConsumersEnded++;
    this.onSlow(new ResourceExhaustedError(detail));
  }
}

/**
 * Ends a slow stream for good: its status is queued first (`endGracefully`), then after `graceMs` the
 * HTTP/2 stream is reset with ENHANCE_YOUR_CALM (grpc: RESOURCE_EXHAUSTED), dropping what it still holds.
 */
export function endSlowStream(call: unknown, endGracefully: () => void, graceMs: number): void {
  const stream = http2StreamOf(call);
  endGracefully();
  if (stream === undefined) return;
  const reset = (): void => {
    if (!stream.closed && !stream.destroyed) stream.close(http2constants.NGHTTP2_ENHANCE_YOUR_CALM);
  };
  if (graceMs === 0) reset();
  else setTimeout(reset, graceMs).unref();
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 1) - 1;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
