/**
 * A small Toxiproxy-like TCP proxy for fault tests: put it between a client and a server (PostgreSQL,
 * Redis) and switch faults on and off. Names follow Toxiproxy: `down` (connections refused/reset),
 * `latency` (each chunk delayed, order kept), `blackhole` (accepted, bytes swallowed: a hung peer).
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface TcpFaultProxyOptions {
  /** Where to forward to. */
  upstreamHost: string;
  upstreamPort: number;
  /** Where to listen. @default 127.0.0.1:0 (a free port) */
  listenHost?: string;
  listenPort?: number;
}

type Mode = 'up' | 'down' | 'blackhole';

/** Forwards one direction, delaying each chunk by the proxy's current latency while keeping order. */
class DelayedPipe {
  private readonly pending: Array<{ at: number; chunk: Buffer }> = [];
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly to: Socket,
    private readonly proxy: TcpFaultProxy,
  ) {}

  push(chunk: Buffer): void {
    if (this.proxy.currentMode === 'blackhole') return;
    const latency = this.proxy.latencyMs;
    if (latency === 0 && this.pending.length === 0) {
      this.to.write(chunk);
      return;
    }
    this.pending.push({ at: Date.now() + latency, chunk });
    this.pump();
  }

  private pump(): void {
    if (this.timer !== undefined) return;
    const head = this.pending[0];
    if (head === undefined) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const now = Date.now();
        while (this.pending.length > 0 && this.pending[0]!.at <= now) {
          const { chunk } = this.pending.shift()!;
          if (!this.to.destroyed) this.to.write(chunk);
        }
        this.pump();
      },
      Math.max(0, head.at - Date.now()),
    );
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.length = 0;
  }
}

export class TcpFaultProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private mode: Mode = 'up';
  latencyMs = 0;
  /** Connections accepted while up, for tests that check reconnects. */
  connectionsAccepted = 0;

  constructor(private readonly options: TcpFaultProxyOptions) {}

  get currentMode(): Mode {
    return this.mode;
  }

  async start(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.listenPort ?? 0, this.options.listenHost ?? '127.0.0.1', () => resolve());
    });
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  get host(): string {
    return this.options.listenHost ?? '127.0.0.1';
  }

  /** Pass-through again (latency stays as set). */
  up(): void {
    this.mode = 'up';
  }

  /** Cuts every open connection and resets new ones at once, like a dead server or a firewall reject. */
  down(): void {
    this.mode = 'down';
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Keeps connections open but forwards nothing in either direction: a hung server. */
  blackhole(): void {
    this.mode = 'blackhole';
  }

  /** Delays every chunk, both directions, by `ms` (0 removes it). */
  latency(ms: number): void {
    this.latencyMs = ms;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.mode === 'down') {
      client.resetAndDestroy();
      return;
    }
    this.connectionsAccepted += 1;
    const upstream = createConnection({ host: this.options.upstreamHost, port: this.options.upstreamPort });
    this.sockets.add(client);
    this.sockets.add(upstream);
    const toUpstream = new DelayedPipe(upstream, this);
    const toClient = new DelayedPipe(client, this);
    client.on('data', (chunk: Buffer) => toUpstream.push(chunk));
    upstream.on('data', (chunk: Buffer) => toClient.push(chunk));
    const close = () => {
      toUpstream.clear();
      toClient.clear();
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  }
}
