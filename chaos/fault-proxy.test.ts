// The drills' fault proxy against a real TCP echo server on loopback: pass-through; latency keeps order
// and holds bytes back; timeout (black hole) delivers nothing until removed, then everything in order;
// timeout > 0 closes the connections; reset_peer resets them (ECONNRESET); down refuses new connections
// and cuts open ones; bandwidth delivers every byte in order; heal() removes every toxic; non-loopback
// upstreams are refused.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from './fault-proxy.ts';

let echo: Server;
let echoPort = 0;
let proxy: FaultProxy;
const clients: Socket[] = [];

beforeAll(async () => {
  echo = createServer((s) => {
    s.on('data', (d) => s.write(d));
    s.on('error', () => {});
  });
  await new Promise<void>((ok) => echo.listen(0, '127.0.0.1', () => ok()));
  echoPort = (echo.address() as { port: number }).port;
  proxy = new FaultProxy('127.0.0.1', echoPort);
  await proxy.start();
});
afterEach(() => {
  proxy.heal();
  for (const c of clients.splice(0)) c.destroy();
});
afterAll(async () => {
  await proxy.stop();
  await new Promise<void>((ok) => echo.close(() => ok()));
});

interface Conn {
  socket: Socket;
  received: () => string;
  closed: Promise<{ error?: string }>;
}

async function connect(): Promise<Conn> {
  const socket = createConnection({ host: '127.0.0.1', port: proxy.port });
  clients.push(socket);
  let data = '';
  let error: string | undefined;
  socket.on('data', (d) => (data += d.toString()));
  socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
  const closed = new Promise<{ error?: string }>((ok) => socket.on('close', () => ok(error === undefined ? {} : { error })));
  await new Promise<void>((ok, fail) => {
    socket.once('connect', () => ok());
    socket.once('error', fail);
  });
  return { socket, received: () => data, closed };
}

async function until(check: () => boolean, tries = 200): Promise<void> {
  for (let i = 0; i < tries && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}

describe('FaultProxy', () => {
  it('passes bytes through both ways', async () => {
    const c = await connect();
    c.socket.write('hello');
    await until(() => c.received() === 'hello');
  });

  it('latency: bytes are held back, then delivered in order', async () => {
    proxy.add({ kind: 'latency', latencyMs: 1000, jitterMs: 100 });
    const c = await connect();
    for (let i = 0; i < 20; i++) c.socket.write(`${i},`);
    await new Promise((r) => setTimeout(r, 50));
    expect(c.received()).toBe('');
    const want = Array.from({ length: 20 }, (_, i) => `${i},`).join('');
    // Both directions are delayed (to the echo server and back: 2 × 1000 ± 100 ms): wait up to 10 s.
    await until(() => c.received() === want, 1000);
  });

  it('timeout 0: nothing is delivered while it lasts; removed, every held byte arrives in order', async () => {
    const c = await connect();
    proxy.add({ kind: 'timeout', timeoutMs: 0 });
    c.socket.write('a');
    c.socket.write('b');
    await new Promise((r) => setTimeout(r, 150));
    expect(c.received()).toBe('');
    proxy.remove('timeout');
    await until(() => c.received() === 'ab');
  });

  it('timeout > 0: the connection is closed after that long', async () => {
    const c = await connect();
    proxy.add({ kind: 'timeout', timeoutMs: 100 });
    c.socket.write('lost');
    await c.closed;
    expect(c.received()).toBe('');
  });

  it('reset_peer: open and new connections are reset', async () => {
    const c = await connect();
    proxy.add({ kind: 'reset_peer', timeoutMs: 0 });
    expect((await c.closed).error).toBe('ECONNRESET');
  });

  it('down: open connections are cut and new ones refused; removed, it connects again', async () => {
    const c = await connect();
    proxy.add({ kind: 'down' });
    await c.closed;
    const refused = createConnection({ host: '127.0.0.1', port: proxy.port });
    clients.push(refused);
    const outcome = await new Promise<string>((ok) => {
      refused.on('error', (e: NodeJS.ErrnoException) => ok(e.code ?? 'error'));
      refused.on('close', () => ok('closed'));
      refused.on('data', () => ok('data'));
    });
    expect(['ECONNRESET', 'closed']).toContain(outcome);
    proxy.remove('down');
    const again = await connect();
    again.socket.write('back');
    await until(() => again.received() === 'back');
  });

  it('bandwidth: every byte arrives, in order', async () => {
    proxy.add({ kind: 'bandwidth', rateKBps: 64 });
    const c = await connect();
    const payload = 'x'.repeat(8_000) + 'END';
    c.socket.write(payload);
    await until(() => c.received().length === payload.length, 400);
    expect(c.received()).toBe(payload);
  });

  it('refuses an upstream that is not loopback', () => {
    expect(() => new FaultProxy('10.0.0.1', 5432)).toThrow(/loopback/);
  });
});
