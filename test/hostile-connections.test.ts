/**
 * Issue 7 item 3: TCP connections to the gRPC port that never speak HTTP/2 cannot pile up. Real
 * sockets from other loopback addresses (127.0.0.2, 127.0.0.3) open and stay silent: they are closed
 * after the (scaled down) preface timeout, refused beyond the per-peer and total limits, and a real
 * grpc-js client from 127.0.0.1 keeps getting answers meanwhile. And one connection carries at most
 * GRPC_MAX_CONCURRENT_STREAMS calls at once (HTTP/2 SETTINGS): a raw HTTP/2 client asking for more gets
 * no more on the server until one ends.
 */
import { connect as http2Connect, type ClientHttp2Stream } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionGuard } from '../server/adapters/grpc/connection-guard.ts';
import { StreamMarketDataRequest } from '../server/adapters/grpc/generated/trading/v1/market_data.ts';
import { startHarness, unary, type Harness } from './grpc-harness.ts';

let h: Harness | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await h?.close();
  h = undefined;
});

interface Silent {
  socket: Socket;
  closed: Promise<void>;
}

/** A TCP connection from `localAddress` that never sends a byte. */
function silent(port: number, localAddress: string): Promise<Silent> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    sockets.push(socket);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('data', () => {}); // whatever the server sends (its SETTINGS) is read and ignored
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', (e) => (socket.connecting ? reject(e) : undefined));
  });
}

async function probe(harness: Harness): Promise<void> {
  const res = await unary(harness.instruments.listInstruments.bind(harness.instruments), {});
  expect(res.instruments.length).toBeGreaterThan(0);
}

describe('connections are bounded (issue 7 item 3)', () => {
  it('a connection that never sends the HTTP/2 preface is closed after the preface timeout', async () => {
    h = await startHarness({ connectionLimits: { prefaceTimeoutMs: 200 } });
    const quiet = await Promise.all(Array.from({ length: 20 }, () => silent(h!.port, '127.0.0.2')));
    await probe(h);
    await Promise.all(quiet.map((q) => q.closed));
    expect(h.server.connectionGuard.prefaceTimeouts).toBeGreaterThanOrEqual(20);
    await probe(h); // the client that did speak HTTP/2 is still connected and answered
  });

  it('beyond the per-peer limit connections are refused at once; another peer still connects', async () => {
    h = await startHarness({ connectionLimits: { maxConnectionsPerPeer: 5, prefaceTimeoutMs: 60_000 } });
    const first = await Promise.all(Array.from({ length: 5 }, () => silent(h!.port, '127.0.0.2')));
    await until(() => h!.server.connectionGuard.openConnections >= 5);
    const beyond = await Promise.all(Array.from({ length: 10 }, () => silent(h!.port, '127.0.0.2')));
    await Promise.all(beyond.map((b) => b.closed)); // refused: closed by the server, long before the preface timeout
    expect(h.server.connectionGuard.refused).toBe(10);
    await probe(h); // 127.0.0.1 is another peer
    for (const f of first) expect(f.socket.destroyed).toBe(false);
  });

  it('beyond the total limit connections are refused; closing some makes room', async () => {
    h = await startHarness({ connectionLimits: { maxConnections: 8, maxConnectionsPerPeer: 8, prefaceTimeoutMs: 60_000 } });
    await probe(h); // the probe's own connection is one of the 8
    const held = await Promise.all(Array.from({ length: 7 }, (_, i) => silent(h!.port, i % 2 === 0 ? '127.0.0.2' : '127.0.0.3')));
    await until(() => h!.server.connectionGuard.openConnections === 8);
    const extra = await silent(h.port, '127.0.0.3');
    await extra.closed;
    expect(h.server.connectionGuard.refused).toBe(1);
    await probe(h); // an established connection keeps working at the limit
    held[0]!.socket.destroy();
    await until(() => h!.server.connectionGuard.openConnections === 7);
    const next = await silent(h.port, '127.0.0.3');
    await until(() => h!.server.connectionGuard.openConnections === 8);
    expect(next.socket.destroyed).toBe(false);
  });

  it('the total limit leaves the reserved descriptors free under the open-file limit', () => {
    expect(new ConnectionGuard({ maxConnections: 4096, reservedDescriptors: 256 }, 1024).maxConnections).toBe(768);
    expect(new ConnectionGuard({ maxConnections: 100, reservedDescriptors: 256 }, 1024).maxConnections).toBe(100);
    expect(new ConnectionGuard({ maxConnections: 100 }, undefined).maxConnections).toBe(100);
  });
});

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not reached within 20 s');
}

/** A gRPC request body: the 5-byte frame header and the message. */
function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

describe('calls per connection are bounded (GRPC_MAX_CONCURRENT_STREAMS)', () => {
  it('the server announces the limit; 6 streams asked on one connection: 3 are open on the server, the next opens when one ends', async () => {
    h = await startHarness({ connectionLimits: { maxConcurrentStreams: 3 } });
    await probe(h);
    const connectionsBefore = h.server.connectionGuard.openConnections;
    const session = http2Connect(`http://${h.address}`);
    try {
      const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve) => session.once('remoteSettings', resolve));
      expect(settings.maxConcurrentStreams).toBe(3);
      const body = grpcFrame(StreamMarketDataRequest.encode({ pair: 'BTCUSDT', depth: 1 }).finish());
      const streams: ClientHttp2Stream[] = [];
      for (let i = 0; i < 6; i++) {
        const s = session.request({ ':method': 'POST', ':path': '/trading.v1.MarketDataService/StreamMarketData', 'content-type': 'application/grpc', te: 'trailers' });
        s.on('error', () => {});
        s.on('data', () => {});
        s.end(body);
        streams.push(s);
      }
      await until(() => h!.server.streamGovernor.openStreams === 3);
      // The other three wait on the client's side of the connection (nothing of theirs reached the server).
      await probe(h);
      expect(h.server.streamGovernor.openStreams).toBe(3);
      expect(h.server.connectionGuard.openConnections).toBe(connectionsBefore + 1);
      streams[0]!.close();
      await until(() => streams[3]!.id !== undefined && h!.server.streamGovernor.openStreams === 3 && streams[0]!.closed);
      for (const s of streams) s.close();
      await until(() => h!.server.streamGovernor.openStreams === 0);
    } finally {
      session.destroy();
    }
  });
});
