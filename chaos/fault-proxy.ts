/**
 * A Toxiproxy-like TCP fault proxy for the drills (grown from test/support/tcp-fault-proxy.ts), between the
 * service and a real PostgreSQL or Redis on loopback. Toxiproxy's vocabulary:
 * - `latency` {latencyMs, jitterMs}: every chunk, both directions, delayed by latency ± jitter (order kept);
 * - `bandwidth` {rateKBps}: each direction limited to that many KiB/s;
 * - `timeout` {timeoutMs}: nothing is delivered (a hung peer / black hole); with timeoutMs > 0 the
 *   connections are closed after that long, with 0 they stay open. Held bytes are delivered when the toxic
 *   is removed, as TCP would after a healed partition (dropping them would desynchronise the protocol in a
 *   way no real network does);
 * - `reset_peer` {timeoutMs}: every connection is reset (RST) timeoutMs after it opened (0: at once), new ones too;
 * - `down`: the proxy refuses connections and cuts the open ones (a dead server).
 * Only loopback addresses are accepted.
 */
import { createConnection, createServer, isIP, type AddressInfo, type Server, type Socket } from 'node:net';

export type Toxic =
  | { kind: 'latency'; latencyMs: number; jitterMs?: number }
  | { kind: 'bandwidth'; rateKBps: number }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'reset_peer'; timeoutMs: number }
  | { kind: 'down' };

export type ToxicKind = Toxic['kind'];
export const TOXIC_KINDS: readonly ToxicKind[] = ['latency', 'bandwidth', 'timeout', 'reset_peer', 'down'];

function loopback(host: string): boolean {
  return host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
}

/** One direction of one connection: a queue released by the current toxics. */
class Pipe {
  private readonly queue: { at: number; chunk: Buffer }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastAt = 0;
  /** For bandwidth: when the next byte may leave. */
  private nextFreeAt = 0;

  constructor(
    private readonly to: Socket,
    private readonly proxy: FaultProxy,
  ) {}

  push(chunk: Buffer): void {
    const lat = this.proxy.toxic('latency');
    let at = Date.now();
    if (lat !== undefined) at += Math.max(0, lat.latencyMs + (lat.jitterMs ? (Math.random() * 2 - 1) * lat.jitterMs : 0));
    at = Math.max(at, this.lastAt); // order kept
    this.lastAt = at;
    this.queue.push({ at, chunk });
    this.pump();
  }

  pump(): void {
    if (this.timer !== undefined) return;
    if (this.proxy.toxic('timeout') !== undefined) return; // held until the toxic goes
    const now = Date.now();
    const bw = this.proxy.toxic('bandwidth');
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const due = Math.max(head.at, bw !== undefined ? this.nextFreeAt : 0);
      if (due > now) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, due - now);
        return;
      }
      this.queue.shift();
      if (bw !== undefined) this.nextFreeAt = Math.max(now, this.nextFreeAt) + (head.chunk.length / (bw.rateKBps * 1024)) * 1000;
      if (!this.to.destroyed) this.to.write(head.chunk);
    }
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}

interface Link {
  client: Socket;
  upstream: Socket;
  pipes: [Pipe, Pipe];
  openedAt: number;
  timer?: NodeJS.Timeout;
}

export class FaultProxy {
  private server: Server | undefined;
  private readonly links = new Set<Link>();
  private readonly toxics = new Map<ToxicKind, Toxic>();
  connectionsAccepted = 0;

  constructor(
    readonly upstreamHost: string,
    readonly upstreamPort: number,
  ) {
    if (!loopback(upstreamHost)) throw new Error(`fault proxy upstream must be a loopback address, got ${upstreamHost}`);
  }

  async start(): Promise<void> {
    const server = createServer((c) => this.accept(c));
    this.server = server;
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(0, '127.0.0.1', () => ok());
    });
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  /** The toxic of that kind, if active. */
  toxic<K extends ToxicKind>(kind: K): Extract<Toxic, { kind: K }> | undefined {
    return this.toxics.get(kind) as Extract<Toxic, { kind: K }> | undefined;
  }

  active(): Toxic[] {
    return [...this.toxics.values()];
  }

  add(t: Toxic): void {
    this.toxics.set(t.kind, t);
    if (t.kind === 'down') {
      for (const l of [...this.links]) this.cut(l, false);
    } else if (t.kind === 'reset_peer') {
      for (const l of this.links) this.armReset(l);
    } else if (t.kind === 'timeout' && t.timeoutMs > 0) {
      for (const l of this.links) this.armTimeout(l);
    }
  }

  remove(kind: ToxicKind): void {
    this.toxics.delete(kind);
    for (const l of this.links) {
      for (const p of l.pipes) p.pump();
    }
  }

  /** Removes every toxic: a clean pass-through again. */
  heal(): void {
    for (const k of [...this.toxics.keys()]) this.remove(k);
  }

  async stop(): Promise<void> {
    for (const l of [...this.links]) this.cut(l, false);
    const s = this.server;
    this.server = undefined;
    if (s !== undefined) await new Promise<void>((ok) => s.close(() => ok()));
  }

  private armReset(l: Link): void {
    const t = this.toxic('reset_peer');
    if (t === undefined) return;
    if (l.timer !== undefined) clearTimeout(l.timer);
    const wait = Math.max(0, l.openedAt + t.timeoutMs - Date.now());
    l.timer = setTimeout(() => this.cut(l, true), wait);
  }

  private armTimeout(l: Link): void {
    const t = this.toxic('timeout');
    if (t === undefined || t.timeoutMs === 0) return;
    if (l.timer !== undefined) clearTimeout(l.timer);
    l.timer = setTimeout(() => {
      if (this.toxic('timeout') !== undefined) this.cut(l, false);
    }, t.timeoutMs);
  }

  private cut(l: Link, reset: boolean): void {
    if (l.timer !== undefined) clearTimeout(l.timer);
    for (const p of l.pipes) p.clear();
    if (reset) {
      l.client.resetAndDestroy();
      l.upstream.resetAndDestroy();
    } else {
      l.client.destroy();
      l.upstream.destroy();
    }
    this.links.delete(l);
  }

  private accept(client: Socket): void {
    if (this.toxics.has('down')) {
      client.resetAndDestroy();
      return;
    }
    this.connectionsAccepted++;
    const upstream = createConnection({ host: this.upstreamHost, port: this.upstreamPort });
    const l: Link = { client, upstream, pipes: [new Pipe(upstream, this), new Pipe(client, this)], openedAt: Date.now() };
    this.links.add(l);
    client.on('data', (c: Buffer) => l.pipes[0].push(c));
    upstream.on('data', (c: Buffer) => l.pipes[1].push(c));
    const close = (): void => {
      if (this.links.has(l)) this.cut(l, false);
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
    this.armReset(l);
    this.armTimeout(l);
  }
}
