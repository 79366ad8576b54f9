/**
 * Where a paced stream's gRPC frames (grpc-frame.ts) go. Where the HTTP/2 stream under the grpc-js call
 * is found (http2StreamOf), the response headers are sent first (grpc-js `sendMetadata`) and then a
 * turn's frames of that stream go to it in ONE write — grpc-js would take one write request, a framed
 * copy, a callback and a round trip to the socket per message (its writable passes one message at a
 * time), which at hundreds of streams × thousands of deltas is what held the event loop and fed the
 * garbage collector. The bytes on the wire are the same. Elsewhere (another grpc-js layout) each
 * message goes to grpc-js as before.
 */
import type { Http2Stream, ServerHttp2Stream } from 'node:http2';
import { Metadata } from '@grpc/grpc-js';
import { FRAME_HEADER_BYTES, frameBody } from './grpc-frame.ts';
import { http2StreamOf } from './http2-stream-of.ts';

/** The grpc-js server call as a sink needs it. */
export interface SinkCall {
  write(chunk: unknown, cb?: (err?: Error | null) => void): boolean;
  on(event: 'drain', listener: () => void): unknown;
  /** grpc-js ServerWritableStream: sends the response headers now. */
  sendMetadata?(metadata: Metadata): void;
}

export class FrameSink {
  /** The HTTP/2 stream frames are written to directly (headers already sent), when found. */
  private readonly direct: Http2Stream | undefined;
  /** The buffer written to is full: write nothing until `onDrain`. */
  blocked = false;
  /** Writes so far (one per `write` when direct, one per message otherwise; for tests and metrics). */
  writes = 0;

  /** `onDrain`: the buffer has room again (after `write` returned with `blocked` set). */
  constructor(
    private readonly call: SinkCall,
    /** What each message counts for besides its bytes (stream-limits.ts MESSAGE_OVERHEAD_BYTES). */
    private readonly overhead: number,
    onDrain: () => void,
  ) {
    const h2 = http2StreamOf(call);
    if (h2 !== undefined && typeof call.sendMetadata === 'function' && !h2.destroyed) {
      call.sendMetadata(new Metadata());
      // Only once grpc-js has sent the headers (synchronously, no interceptor holding them) may data follow.
      if ((h2 as ServerHttp2Stream).headersSent) this.direct = h2;
    }
    const drained = (): void => {
      this.blocked = false;
      onDrain();
    };
    if (this.direct !== undefined) this.direct.on('drain', drained);
    else call.on('drain', drained);
  }

  /** True when frames go straight to the HTTP/2 stream. */
  get writesFrames(): boolean {
    return this.direct !== undefined;
  }

  /**
   * Writes `frames[from…to)` in order, whatever `blocked` says (the caller checks it before); `ack(n)` is
   * called as they are handed to HTTP/2, n being what they count for (`countOf`).
   */
  write(frames: readonly Buffer[], from: number, to: number, ack: (n: number) => void): void {
    if (to <= from) return;
    const h2 = this.direct;
    if (h2 === undefined) {
      for (let i = from; i < to; i++) {
        const frame = frames[i]!;
        const n = this.countOf(frame);
        this.writes++;
        if (!this.call.write(frameBody(frame), () => ack(n))) this.blocked = true;
      }
      return;
    }
    if (h2.destroyed || h2.writableEnded) return; // going away: its 'close' releases the owner
    let bytes = 0;
    let n = 0;
    for (let i = from; i < to; i++) {
      const frame = frames[i]!;
      bytes += frame.length;
      n += this.countOf(frame);
    }
    let chunk: Buffer;
    if (to - from === 1) chunk = frames[from]!;
    else {
      chunk = Buffer.allocUnsafe(bytes);
      let at = 0;
      for (let i = from; i < to; i++) {
        const frame = frames[i]!;
        frame.copy(chunk, at);
        at += frame.length;
      }
    }
    this.writes++;
    if (!h2.write(chunk, () => ack(n))) this.blocked = true;
  }

  /** What a frame counts for in the queued-bytes bounds: its message plus the per-message overhead. */
  countOf(frame: Buffer): number {
    return frame.length - FRAME_HEADER_BYTES + this.overhead;
  }
}

