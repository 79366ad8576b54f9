/**
 * One Server-Sent Events connection of the Trading UI, with a bounded send queue.
 *
 * Why SSE and not WebSocket: the UI's live data flows one way (server → browser) and its commands are
 * ordinary JSON requests, so SSE carries everything over plain HTTP/1.1 on the admin listener's own
 * node:http server: the same access rules (loopback / ADMIN_TOKEN) and the same route table as the admin
 * API, no upgrade handshake, no extra dependency, and its text frames are readable in devtools and curl.
 * The page reads it with fetch() streaming rather than EventSource, so it can send the
 * `Authorization: Bearer <ADMIN_TOKEN>` header when the listener needs one.
 *
 * Bounds: a reader whose unsent bytes exceed `maxQueuedBytes` is dropped (it reconnects and gets a fresh
 * snapshot), so a slow browser costs at most that much memory; a comment line every `heartbeatMs` lets
 * both sides notice a dead peer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface SseConnectionOptions {
  /** Unsent bytes beyond which the connection is closed as too slow. @default 1048576 (1 MiB) */
  maxQueuedBytes?: number;
  /** Interval of the keep-alive comment. @default 15000 */
  heartbeatMs?: number;
  /** Called once when the connection ends, whoever ended it. */
  onClose(reason: string): void;
}

export const DEFAULT_SSE_MAX_QUEUED_BYTES = 1024 * 1024;
export const DEFAULT_SSE_HEARTBEAT_MS = 15_000;

export class SseConnection {
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly maxQueuedBytes: number;

  constructor(
    req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly options: SseConnectionOptions,
  ) {
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_SSE_MAX_QUEUED_BYTES;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    req.socket.setTimeout(0);
    this.heartbeat = setInterval(() => this.comment('keep-alive'), options.heartbeatMs ?? DEFAULT_SSE_HEARTBEAT_MS);
    this.heartbeat.unref();
    res.on('close', () => this.close('client went away'));
    res.on('error', () => this.close('socket error'));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Unsent bytes queued on the socket. */
  get queuedBytes(): number {
    return this.res.writableLength;
  }

  /** Sends one event (`data` as JSON). Returns false when the connection is closed (now or before). */
  send(event: string, data: unknown): boolean {
    if (this.closed) return false;
    this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    if (this.res.writableLength > this.maxQueuedBytes) {
      this.close(`reader too slow: more than ${this.maxQueuedBytes} bytes unsent`);
      return false;
    }
    return true;
  }

  comment(text: string): void {
    if (!this.closed) this.res.write(`: ${text}\n\n`);
  }

  /** Ends the stream (idempotent); `onClose` runs once. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    if (reason.startsWith('reader too slow')) this.res.destroy();
    else this.res.end();
    this.options.onClose(reason);
  }
}
