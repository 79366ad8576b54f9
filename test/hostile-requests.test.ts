/**
 * Issue 7 items 7, 8, 9, 11, 12: what the contract promises holds against a hostile client.
 * - 7: a call whose deadline passed on arrival (`grpc-timeout: 1n`, sent raw over HTTP/2) is never applied.
 * - 8: `authorization` with two values is UNAUTHENTICATED, whichever they are.
 * - 9: a 1 MB price or pair comes back as a short error (echo cut to 64 characters), and other streams
 *   on the same connection live on.
 * - 11: admin HTTP checks the token before routing, answers a malformed %-escape with 400 without a
 *   stack trace, and never uses client input as a console format string.
 * - 12: error texts speak the contract's decimals.
 */
import { request as httpRequest } from 'node:http';
import { connect as http2Connect, constants as h2 } from 'node:http2';
import { connect as tcpConnect } from 'node:net';
import { Metadata, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SubmitOrderRequest } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { logValue } from '../server/adapters/http/admin-server.ts';
import { consoleLogger, TradingService } from '../server/adapters/trading-service.ts';
import { loadConfig } from '../server/config.ts';
import { failure, limitOrder, login, startHarness, tokenFor, unary, type Harness } from './grpc-harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head.writeUInt8(type, 3);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/**
 * A gRPC request written frame by frame over a plain TCP socket, so a header can be sent twice (Node's
 * http2 client refuses that for `authorization`). Header fields are HPACK literals without indexing.
 * Resolves once the server closes the stream (it answers and ends it); the effect is checked by the caller.
 */
function rawRequestWithHeaders(port: number, headers: [string, string][], message: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    const block: number[] = [];
    for (const [name, value] of headers) {
      const n = Buffer.from(name);
      const v = Buffer.from(value);
      block.push(0x00, ...hpackInt(n.length, 7, 0), ...n, ...hpackInt(v.length, 7, 0), ...v);
    }
    const body = Buffer.alloc(5 + message.length);
    body.writeUInt32BE(message.length, 1);
    Buffer.from(message).copy(body, 5);
    socket.on('connect', () => {
      socket.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
      socket.write(frame(4, 0, 0, Buffer.alloc(0))); // SETTINGS
      socket.write(frame(1, 0x4, 1, Buffer.from(block))); // HEADERS, END_HEADERS
      socket.write(frame(0, 0x1, 1, body)); // DATA, END_STREAM
    });
    let seen = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      // Walk the frames; the server's HEADERS or DATA with END_STREAM on stream 1 ends the exchange.
      let off = 0;
      while (off + 9 <= seen.length) {
        const len = seen.readUIntBE(off, 3);
        const type = seen.readUInt8(off + 3);
        const flags = seen.readUInt8(off + 4);
        const stream = seen.readUInt32BE(off + 5) & 0x7fffffff;
        if (off + 9 + len > seen.length) break;
        if (stream === 1 && (type === 1 || type === 0) && (flags & 0x1) !== 0) {
          socket.destroy();
          resolve();
          return;
        }
        if (type === 4 && (flags & 0x1) === 0) socket.write(frame(4, 0x1, 0, Buffer.alloc(0))); // ACK their SETTINGS
        off += 9 + len;
      }
    });
    socket.on('error', reject);
  });
}

/** A GET with the path sent exactly as given (fetch would re-encode it). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  const path = url.slice(url.indexOf('/', 'http://'.length));
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One raw gRPC unary call over HTTP/2 with the given extra headers; resolves to grpc-status. */
function rawUnary(port: number, path: string, message: Uint8Array, headers: Record<string, string | string[]>): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt8(0, 0);
    frame.writeUInt32BE(message.length, 1);
    Buffer.from(message).copy(frame, 5);
    const req = session.request({ [h2.HTTP2_HEADER_METHOD]: 'POST', [h2.HTTP2_HEADER_PATH]: path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let grpcStatus: string | undefined;
    req.on('response', (hdrs) => {
      if (hdrs['grpc-status'] !== undefined) grpcStatus = String(hdrs['grpc-status']);
    });
    req.on('trailers', (t) => {
      grpcStatus = String(t['grpc-status']);
    });
    req.on('data', () => {});
    req.on('close', () => {
      session.close();
      resolve(grpcStatus);
    });
    req.end(frame);
  });
}

describe('item 7: a deadline already past on arrival is never applied', () => {
  it('20 SubmitOrder calls with grpc-timeout 1n: every one DEADLINE_EXCEEDED, none applied', async () => {
    const token = await tokenFor('deadline-raw');
    const statuses: (string | undefined)[] = [];
    for (let i = 0; i < 20; i++) {
      const msg = SubmitOrderRequest.encode(limitOrder('buy', String(100 + i), '0.01', { clientOrderId: `late-${i}` })).finish();
      statuses.push(await rawUnary(h.port, '/trading.v1.OrdersService/SubmitOrder', msg, { authorization: `Bearer ${token}`, 'grpc-timeout': '1n' }));
    }
    expect(statuses).toEqual(Array(20).fill(String(status.DEADLINE_EXCEEDED)));
    const open = await unary(h.orders.listOpenOrders.bind(h.orders), { pair: 'BTCUSDT', page: undefined }, 'deadline-raw');
    expect(open.orders).toEqual([]);
    // The same request without the expired deadline is applied (the raw client itself works).
    const ok = await rawUnary(h.port, '/trading.v1.OrdersService/SubmitOrder', SubmitOrderRequest.encode(limitOrder('buy', '100', '0.01')).finish(), { authorization: `Bearer ${token}` });
    expect(ok).toBe(String(status.OK));
  });

  it('a grpc-js client deadline in the past: DEADLINE_EXCEEDED and nothing applied', async () => {
    const err = await failure(unary(h.orders.submitOrder.bind(h.orders), limitOrder('buy', '99', '0.01'), 'deadline-client', { deadline: Date.now() - 1000 }));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect((await unary(h.orders.listOpenOrders.bind(h.orders), { pair: 'BTCUSDT', page: undefined }, 'deadline-client')).orders).toEqual([]);
  });
});

describe('item 8: exactly one authorization value', () => {
  it('[valid, "Bearer garbage"] and [valid, valid] (two header fields, or one joined by a comma) are UNAUTHENTICATED and apply nothing', async () => {
    // grpc-js clients refuse to send two values, so a raw HTTP/2 client does what an attacker would.
    const { token } = await login(h, 'two-values');
    const msg = SubmitOrderRequest.encode(limitOrder('buy', '98', '0.01')).finish();
    const grpcHeaders = (...auth: string[]): [string, string][] => [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/trading.v1.OrdersService/SubmitOrder'],
      [':authority', `127.0.0.1:${h.port}`],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ...auth.map((a): [string, string] => ['authorization', a]),
    ];
    for (const second of ['Bearer garbage', `Bearer ${token}`]) {
      await rawRequestWithHeaders(h.port, grpcHeaders(`Bearer ${token}`, second), msg);
      expect(await rawUnary(h.port, '/trading.v1.OrdersService/SubmitOrder', msg, { authorization: `Bearer ${token}, ${second}` })).toBe(String(status.UNAUTHENTICATED));
    }
    expect(await rawUnary(h.port, '/trading.v1.OrdersService/SubmitOrder', msg, { authorization: `Bearer ${token}` })).toBe(String(status.OK));
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    const open = await new Promise<{ orders: unknown[] }>((resolve, reject) => h.orders.listOpenOrders({ pair: 'BTCUSDT', page: undefined }, md, (e, r) => (e ? reject(e) : resolve(r))));
    expect(open.orders).toHaveLength(1); // only the one call with exactly one value
  });
});

describe('item 9: echoed input is cut', () => {
  it('a 1 MB price answers INVALID_ARGUMENT with a short message; a 1 MB pair too, and a stream on the same connection lives on', async () => {
    const stream = h.marketData.streamMarketData({ pair: 'BTCUSDT', depth: 1 });
    const updates: unknown[] = [];
    stream.on('data', (u) => updates.push(u));
    stream.on('error', () => {});
    const huge = '1'.repeat(1_000_000);
    const price = await failure(unary(h.orders.submitOrder.bind(h.orders), limitOrder('buy', huge, '0.01'), 'echo-account'));
    expect(price.code).toBe(status.INVALID_ARGUMENT);
    expect(price.details.length).toBeLessThan(200);
    expect(price.details).toContain('1000000 characters');
    const pair = await failure(unary(h.marketData.getOrderBook.bind(h.marketData), { pair: 'X'.repeat(1_000_000), depth: 1 }));
    expect(pair.code).toBe(status.INVALID_ARGUMENT);
    expect(pair.details.length).toBeLessThan(200);
    // The stream opened before on the same channel still gets updates.
    await unary(h.orders.submitOrder.bind(h.orders), limitOrder('buy', '97', '0.01'), 'echo-account');
    for (let i = 0; i < 200 && updates.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(updates.length).toBeGreaterThanOrEqual(2);
    stream.cancel();
  });
});

describe('item 12: errors in the contract’s decimals', () => {
  it('a price outside the band and a quantity below the minimum are stated as decimals', async () => {
    const band = await failure(unary(h.orders.submitOrder.bind(h.orders), limitOrder('buy', '2000000.00', '0.01'), 'decimals'));
    expect(band.details).toBe('price: 2000000.00 is outside the price band [0.01, 1000000.00]');
    expect(band.details).not.toContain('ticks');
  });
});

describe('item 11: admin HTTP', () => {
  let service: TradingService;
  let base: string;
  const token = 'admin-token-for-hostile-tests';
  const logged: string[] = [];
  beforeAll(async () => {
    service = new TradingService(loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', ADMIN_TOKEN: token }), {
      logger: { info: (m) => logged.push(m), error: (m, e) => logged.push(`${m} ${e instanceof Error ? (e.stack ?? '') : String(e ?? '')}`) },
    });
    const ports = await service.start();
    base = `http://127.0.0.1:${ports.adminPort}`;
  });
  afterAll(async () => {
    await service.stop(1_000);
  });

  it('checks the token before routing: unknown paths and wrong methods answer 401 without it', async () => {
    expect((await fetch(`${base}/admin/no-such-endpoint`)).status).toBe(401);
    expect((await fetch(`${base}/admin/migration/status`, { method: 'DELETE' })).status).toBe(401);
    expect((await fetch(`${base}/admin/accounts/%E0%A4%A/api-keys`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${base}/health`)).status).toBe(200); // public routes stay public
  });

  it('a malformed %-escape answers 400 and logs nothing; a %s path is echoed cut and never formatted', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const before = logged.length;
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${base}/admin/accounts/%E0%A4%A/api-keys`, { method: 'POST', headers: auth });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_path' });
    }
    const odd = await rawGet(`${base}/admin/${'%s%f'.repeat(40)}`, auth);
    expect(odd.status).toBe(404);
    const body = JSON.parse(odd.body) as { reason: string };
    expect(body.reason).toContain('%s%f');
    expect(body.reason.length).toBeLessThan(200);
    expect(logged.slice(before).filter((l) => l.includes('admin http'))).toEqual([]);
  });

  it('log lines carry client input as data: console gets "%s" as its format', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      consoleLogger.error(`admin http: ${logValue('/admin/%s%d%f')} failed`, new Error('x'));
      expect(spy.mock.calls[0]![0]).toBe('%s');
      expect(spy.mock.calls[0]![1]).toContain('%%s%%d%%f');
    } finally {
      spy.mockRestore();
    }
  });
});
