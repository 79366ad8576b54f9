/**
 * A minimal TCP fault proxy for the session-store tests (written because test/support/tcp-fault-proxy.ts
 * did not exist yet; switch to it once it does). Sits between a client and a real server on 127.0.0.1
 * and can, on command: pass bytes through, go `down` (reset every connection and every new one, like
 * Toxiproxy's `down`), or `blackhole` (connections stay open but nothing is delivered, like its `timeout`
 * toxic with 0 — a hung server or a partition). Held bytes are delivered, in order, once the mode is
 * back to `pass`, as TCP would after a healed partition: dropping them would desynchronise any
 * request/response protocol in a way no real network does.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type FaultMode = 'pass' | 'down' | 'blackhole';

export class RedisFaultProxy {
  private mode: FaultMode = 'pass';
  private readonly sockets = new Set<Socket>();
  /** Per connection: deliver the bytes held while black-holed. */
  private readonly flushes = new Set<() => void>();
  private server: Server | undefined;
  private listenPort = 0;

  constructor(
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {}

  /** Starts listening on 127.0.0.1 at a free port; returns it. */
  async start(): Promise<number> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
    this.listenPort = address.port;
    return this.listenPort;
  }

  get port(): number {
    return this.listenPort;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.listenPort}`;
  }

  /** Changes the fault; `down` also cuts every open connection, `pass` delivers what `blackhole` held. */
  setMode(mode: FaultMode): void {
    this.mode = mode;
    if (mode === 'down') for (const s of this.sockets) s.destroy();
    if (mode === 'pass') for (const flush of this.flushes) flush();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  private accept(client: Socket): void {
    this.track(client);
    if (this.mode === 'down') {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection(this.upstreamPort, this.upstreamHost);
    this.track(upstream);
    const held: [Socket, Buffer][] = [];
    const forward = (to: Socket) => (chunk: Buffer) => {
      if (this.mode === 'pass' && held.length === 0) to.write(chunk);
      else held.push([to, chunk]);
    };
    const flush = (): void => {
      for (const [to, chunk] of held.splice(0)) if (!to.destroyed) to.write(chunk);
    };
    this.flushes.add(flush);
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    client.on('close', () => {
      this.flushes.delete(flush);
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
  }
}
