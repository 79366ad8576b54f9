/**
 * Bounds on TCP connections to the gRPC port, which grpc-js itself does not bound: a connection that
 * never sends the HTTP/2 preface is held forever (grpc-js sets no timeout on the http2 server), and
 * nothing caps connections in total or per peer, so idle sockets can take every file descriptor the
 * journal needs. This guard watches the http2 servers grpc-js created (each new session is a new
 * connection) and:
 * - closes a connection whose client has not sent its HTTP/2 SETTINGS (the preface) within
 *   `prefaceTimeoutMs`;
 * - refuses (closes at once) connections beyond `maxConnections` in total or `maxConnectionsPerPeer`
 *   from one IP address;
 * - cuts a connection the service found abusive (cut(): a market-data flood) and, for
 *   `abusePenaltyMs`, closes new connections from that address at once;
 * - keeps `reservedDescriptors` of the process's open-file limit free for PostgreSQL, Redis and files
 *   (the total limit is lowered to fit, at start).
 * Idle connections that did send the preface are closed by grpc-js's own `grpc.max_connection_idle_ms`
 * (see connectionServerOptions).
 */
import { readFileSync } from 'node:fs';
import { constants as http2constants, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { ServerOptions } from '@grpc/grpc-js';

export interface ConnectionLimitOptions {
  /** GRPC_MAX_CONNECTIONS: open TCP connections to the gRPC port in total. @default 4096 */
  maxConnections?: number;
  /** GRPC_MAX_CONNECTIONS_PER_PEER: open connections from one IP address. @default 256 */
  maxConnectionsPerPeer?: number;
  /** GRPC_PREFACE_TIMEOUT_MS: a connection must send its HTTP/2 preface within this. @default 10000 */
  prefaceTimeoutMs?: number;
  /** GRPC_MAX_CONNECTION_IDLE_MS: a connection without calls for this long is closed (GOAWAY). @default 300000 (5 min) */
  maxConnectionIdleMs?: number;
  /** GRPC_KEEPALIVE_TIME_MS: the server pings a connection silent for this long. @default 60000 */
  keepaliveTimeMs?: number;
  /** GRPC_KEEPALIVE_TIMEOUT_MS: a ping unanswered for this long closes the connection. @default 20000 */
  keepaliveTimeoutMs?: number;
  /** GRPC_MAX_CONCURRENT_STREAMS: concurrent calls on one connection (HTTP/2 SETTINGS). @default 100 */
  maxConcurrentStreams?: number;
  /**
   * GRPC_ABUSE_PENALTY_MS: after the service cut a connection for abuse (a market-data flood), new
   * connections from that IP address are closed at once for this long. @default 10000
   */
  abusePenaltyMs?: number;
  /**
   * GRPC_RESERVED_DESCRIPTORS: file descriptors kept free for the journal (PostgreSQL pool), Redis and
   * files; maxConnections is lowered at start when the open-file limit leaves less. @default 256
   */
  reservedDescriptors?: number;
}

export const DEFAULT_CONNECTION_LIMITS: Readonly<Required<ConnectionLimitOptions>> = Object.freeze({
  maxConnections: 4096,
  maxConnectionsPerPeer: 256,
  prefaceTimeoutMs: 10_000,
  maxConnectionIdleMs: 300_000,
  keepaliveTimeMs: 60_000,
  keepaliveTimeoutMs: 20_000,
  maxConcurrentStreams: 100,
  abusePenaltyMs: 10_000,
  reservedDescriptors: 256,
});

/** How long a connection cut for abuse may take to finish the calls it had before it is destroyed. */
const ABUSE_CLOSE_GRACE_MS = 1000;
/** Most addresses held in the penalty box; the oldest entry is dropped beyond it. */
const MAX_PENALIZED_PEERS = 100_000;

export function compileConnectionLimits(options: ConnectionLimitOptions = {}): Readonly<Required<ConnectionLimitOptions>> {
  const out = { ...DEFAULT_CONNECTION_LIMITS } as Required<ConnectionLimitOptions>;
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < (k === 'reservedDescriptors' ? 0 : 1)) throw new RangeError(`connection limit ${k} must be a positive integer, got ${v}`);
    (out as unknown as Record<string, number>)[k] = v;
  }
  return Object.freeze(out);
}

/** grpc-js options for the limits grpc-js enforces itself. */
export function connectionServerOptions(limits: Readonly<Required<ConnectionLimitOptions>>): ServerOptions {
  return {
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    'grpc.max_connection_idle_ms': limits.maxConnectionIdleMs,
    'grpc.keepalive_time_ms': limits.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
  };
}

/** The soft "Max open files" of this process (Linux /proc), or undefined where unknown. */
export function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

export class ConnectionGuard {
  readonly limits: Readonly<Required<ConnectionLimitOptions>>;
  /** The total limit in force (maxConnections, lowered to leave reservedDescriptors free). */
  readonly maxConnections: number;
  private open = 0;
  private readonly byPeer = new Map<string, number>();
  /** Connections closed for not sending the preface in time. */
  prefaceTimeouts = 0;
  /** Connections refused by the total or per-peer limit, or for a penalized address. */
  refused = 0;
  /** Connections cut for abuse (cut()). */
  cutForAbuse = 0;
  /** Penalized addresses → until when (ms, `now()`), oldest first. */
  private readonly penalized = new Map<string, number>();

  constructor(
    options: ConnectionLimitOptions = {},
    fileLimit: number | undefined = openFileLimit(),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.limits = compileConnectionLimits(options);
    const room = fileLimit === undefined ? Infinity : fileLimit - this.limits.reservedDescriptors;
    this.maxConnections = Math.max(1, Math.min(this.limits.maxConnections, room));
  }

  get openConnections(): number {
    return this.open;
  }

  /** Starts watching one of grpc-js's http2 servers. */
  watch(server: Http2Server): void {
    server.on('session', (session: ServerHttp2Session) => this.onSession(session));
  }

  /**
   * Cuts the connection `session` for abuse: GOAWAY ENHANCE_YOUR_CALM naming `lastStreamId` (the calls
   * up to it get their answers, later ones are not processed), closed once those are done or after
   * ABUSE_CLOSE_GRACE_MS; new connections from its address are closed at once for `abusePenaltyMs`.
   */
  cut(session: ServerHttp2Session, lastStreamId: number): void {
    const peer = session.socket?.remoteAddress ?? 'unknown';
    this.penalized.delete(peer);
    this.penalized.set(peer, this.now() + this.limits.abusePenaltyMs);
    if (this.penalized.size > MAX_PENALIZED_PEERS) this.penalized.delete(this.penalized.keys().next().value!);
    if (session.destroyed || session.closed) return;
    this.cutForAbuse++;
    session.goaway(http2constants.NGHTTP2_ENHANCE_YOUR_CALM, lastStreamId);
    session.close();
    setTimeout(() => session.destroy(), ABUSE_CLOSE_GRACE_MS).unref();
  }

  private isPenalized(peer: string): boolean {
    const until = this.penalized.get(peer);
    if (until === undefined) return false;
    if (this.now() < until) return true;
    this.penalized.delete(peer);
    return false;
  }

  private onSession(session: ServerHttp2Session): void {
    const socket = session.socket;
    const peer = socket?.remoteAddress ?? 'unknown';
    const peerCount = this.byPeer.get(peer) ?? 0;
    if (this.open >= this.maxConnections || peerCount >= this.limits.maxConnectionsPerPeer || this.isPenalized(peer)) {
      this.refused++;
      session.destroy();
      return;
    }
    this.open++;
    this.byPeer.set(peer, peerCount + 1);
    let prefaceTimer: NodeJS.Timeout | undefined = setTimeout(() => {
      prefaceTimer = undefined;
      this.prefaceTimeouts++;
      session.destroy();
    }, this.limits.prefaceTimeoutMs);
    prefaceTimer.unref();
    const clear = (): void => {
      if (prefaceTimer !== undefined) clearTimeout(prefaceTimer);
      prefaceTimer = undefined;
    };
    session.once('remoteSettings', clear);
    session.once('close', () => {
      clear();
      this.open--;
      const n = (this.byPeer.get(peer) ?? 1) - 1;
      if (n <= 0) this.byPeer.delete(peer);
      else this.byPeer.set(peer, n);
    });
  }
}

/** The http2 servers inside a grpc-js Server (private in grpc-js 1.14: `http2Servers`, a Map keyed by server). */
export function http2ServersOf(grpcServer: unknown): Http2Server[] {
  const map = (grpcServer as { http2Servers?: unknown }).http2Servers;
  if (!(map instanceof Map)) return [];
  return [...map.keys()] as Http2Server[];
}
