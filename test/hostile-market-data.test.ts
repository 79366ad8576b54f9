/**
 * Issue 7 item 4: unauthenticated market-data reads are bounded per peer. Scaled down: a 4,000-level
 * book and a budget of 20 at once, 5 per second; a full-depth snapshot costs 1 + 1 per 1000 levels.
 * 60 pipelined depth-0 calls: the first few are answered, the rest refused with RESOURCE_EXHAUSTED and
 * a retry hint, without walking the book; the full-depth snapshot is cached per book state and a
 * change is seen by the next call. And answers in flight: a raw HTTP/2 client that pipelines depth-0
 * calls and grants no window (its answers can never be sent) holds at most
 * MARKET_DATA_MAX_IN_FLIGHT_PER_PEER of them; beyond it calls from that address are refused at once,
 * and once it goes away they are answered again. And floods: a client from 127.0.0.2 pipelining calls
 * as fast as they are refused has its connection cut after MARKET_DATA_FLOOD_REFUSALS refusals in a row
 * (GOAWAY ENHANCE_YOUR_CALM) and cannot reconnect for GRPC_ABUSE_PENALTY_MS; 127.0.0.1 is answered
 * throughout.
 */
import { connect as http2Connect, constants as http2constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect as tcpConnect } from 'node:net';
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetOrderBookRequest } from '../server/adapters/grpc/generated/trading/v1/market_data.ts';
import type { NewOrderRequest } from '../server/pairs/trading-pair.ts';
import { startHarness, unary, type Harness } from './grpc-harness.ts';

let h: Harness;
let offsetMs = 0;
beforeAll(async () => {
  h = await startHarness({ marketDataLimits: { callsPerSecondPerPeer: 5, burstPerPeer: 20 }, nowMs: () => Date.now() + offsetMs });
  const pair = h.pairs.get('BTCUSDT')!;
  for (let i = 0; i < 4000; i++) {
    const buy = i % 2 === 0;
    pair.submit(1, { clientOrderId: '', side: buy ? 0 : 1, type: 0, tif: 0, postOnly: false, price: buy ? 1_000_000 - i : 2_000_000 + i, quantity: 1, stp: 0 } as NewOrderRequest);
  }
});
afterAll(async () => {
  await h.close();
});

describe('market data per peer', () => {
  it('60 pipelined full-depth snapshots of a 4,000-level book: 4 answered (cost 5 each of a burst of 20), 56 refused with a retry hint', async () => {
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => unary(h.marketData.getOrderBook.bind(h.marketData), { pair: 'BTCUSDT', depth: 0 })));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as ServiceError);
    expect(ok).toHaveLength(4);
    for (const e of refused) {
      expect(e.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(e.details).toMatch(/^market data rate limit exceeded for this address; retry after \d+ ms$/);
    }
    const first = (ok[0] as PromiseFulfilledResult<{ book?: { bids: unknown[]; asks: unknown[] } }>).value.book!;
    expect(first.bids.length + first.asks.length).toBe(4000);
  });

  it('the budget refills; a book change is in the next (re-built) full snapshot', async () => {
    offsetMs += 10_000; // 10 s later: refilled to the burst
    const before = await unary(h.marketData.getOrderBook.bind(h.marketData), { pair: 'BTCUSDT', depth: 0 });
    h.pairs.get('BTCUSDT')!.submit(1, { clientOrderId: '', side: 0, type: 0, tif: 0, postOnly: false, price: 1_500_000, quantity: 1, stp: 0 } as NewOrderRequest);
    const after = await unary(h.marketData.getOrderBook.bind(h.marketData), { pair: 'BTCUSDT', depth: 0 });
    expect(after.book!.bids.length).toBe(before.book!.bids.length + 1);
    expect(Number(after.book!.sequence)).toBeGreaterThan(Number(before.book!.sequence));
    // Small depths cost 1 each.
    for (let i = 0; i < 5; i++) await unary(h.marketData.getOrderBook.bind(h.marketData), { pair: 'ETHUSDT', depth: 10 });
  });
});

describe('market data answers in flight per peer', () => {
  it('10 pipelined full-depth calls whose answers are never read: 4 held (the limit), 6 refused naming MARKET_DATA_MAX_IN_FLIGHT_PER_PEER; answered again once the reader goes', async () => {
    const own = await startHarness({ marketDataLimits: { maxInFlightPerPeer: 4 } });
    try {
      const pair = own.pairs.get('BTCUSDT')!;
      for (let i = 0; i < 2000; i++) pair.submit(1, { clientOrderId: '', side: i % 2, type: 0, tif: 0, postOnly: false, price: i % 2 === 0 ? 1_000_000 - i : 2_000_000 + i, quantity: 1, stp: 0 } as NewOrderRequest);
      // Window 0: the server may send headers but no answer bytes, as a client that never reads.
      const session = http2Connect(`http://${own.address}`, { settings: { initialWindowSize: 0 } });
      try {
        const message = GetOrderBookRequest.encode({ pair: 'BTCUSDT', depth: 0 }).finish();
        const body = Buffer.alloc(5 + message.length);
        body.writeUInt32BE(message.length, 1);
        body.set(message, 5);
        const refusals: Promise<IncomingHttpHeaders>[] = [];
        for (let i = 0; i < 10; i++) {
          const s = session.request({ ':method': 'POST', ':path': '/trading.v1.MarketDataService/GetOrderBook', 'content-type': 'application/grpc', te: 'trailers' });
          s.on('error', () => {});
          // A refused call is answered trailers-only (a HEADERS frame, not flow-controlled).
          refusals.push(new Promise((resolve) => s.on('response', (headers) => headers['grpc-status'] !== undefined && resolve(headers))));
          s.end(body);
        }
        const settled = await Promise.all(refusals.map((r) => Promise.race([r, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1_500))])));
        const refused = settled.filter((x): x is IncomingHttpHeaders => x !== undefined);
        expect(refused).toHaveLength(6);
        for (const r of refused) {
          expect(Number(r['grpc-status'])).toBe(status.RESOURCE_EXHAUSTED);
          expect(decodeURIComponent(String(r['grpc-message']))).toMatch(/^too many market data answers in flight to this address \(4, limit 4: MARKET_DATA_MAX_IN_FLIGHT_PER_PEER\)/);
        }
        // The same address through grpc-js: refused too (the count is per address, not per connection).
        const err = await unary(own.marketData.getOrderBook.bind(own.marketData), { pair: 'ETHUSDT', depth: 5 }).catch((e: ServiceError) => e);
        expect((err as ServiceError).code).toBe(status.RESOURCE_EXHAUSTED);
      } finally {
        session.destroy();
      }
      // The held answers' streams are gone with the connection: calls are answered again.
      for (let i = 0; ; i++) {
        const res = await unary(own.marketData.getOrderBook.bind(own.marketData), { pair: 'BTCUSDT', depth: 0 }).catch((e: ServiceError) => e);
        if (!(res instanceof Error)) {
          expect(res.book!.bids.length + res.book!.asks.length).toBe(2000);
          break;
        }
        if (i === 200) throw res;
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await own.close();
    }
  });
});

/** A raw HTTP/2 connection from `localAddress` (grpc-js cannot choose its source address). */
function rawSession(address: string, localAddress: string): ClientHttp2Session {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  const session = http2Connect(`http://${address}`, { createConnection: () => tcpConnect({ host, port, localAddress }) });
  session.on('error', () => {});
  return session;
}

/** One GetOrderBook call on `session`: its grpc-status ('0' answered), or undefined if the stream died without one. */
function rawGetOrderBook(session: ClientHttp2Session, pair: string, depth: number): Promise<string | undefined> {
  const message = GetOrderBookRequest.encode({ pair, depth }).finish();
  const body = Buffer.alloc(5 + message.length);
  body.writeUInt32BE(message.length, 1);
  body.set(message, 5);
  return new Promise((resolve) => {
    let code: string | undefined;
    let s;
    try {
      s = session.request({ ':method': 'POST', ':path': '/trading.v1.MarketDataService/GetOrderBook', 'content-type': 'application/grpc', te: 'trailers' });
    } catch {
      resolve(undefined); // the session is already closed
      return;
    }
    s.on('response', (hd) => (code ??= hd['grpc-status'] as string | undefined));
    s.on('trailers', (hd) => (code ??= hd['grpc-status'] as string | undefined));
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', () => resolve(code));
    s.end(body);
  });
}

describe('market data floods', () => {
  it('400 pipelined calls from 127.0.0.2 (burst 20, flood at 50 refusals in a row): cut with ENHANCE_YOUR_CALM after at most 70 calls, kept out for the penalty, then answered again; 127.0.0.1 is answered throughout', async () => {
    const own = await startHarness({ marketDataLimits: { callsPerSecondPerPeer: 5, burstPerPeer: 20, floodRefusals: 50 }, connectionLimits: { abusePenaltyMs: 500 } });
    try {
      const flooder = rawSession(own.address, '127.0.0.2');
      const goaway = new Promise<number>((resolve) => flooder.on('goaway', (code: number) => resolve(code)));
      const codes = await Promise.all(Array.from({ length: 400 }, () => rawGetOrderBook(flooder, 'ETHUSDT', 5)));
      expect(await goaway).toBe(http2constants.NGHTTP2_ENHANCE_YOUR_CALM);
      expect(own.server.connectionGuard.cutForAbuse).toBe(1);
      // The refusals sent before the cut arrive (at most the 50 that made it a flood); the burst's answers,
      // still being written, and the calls after it die with the connection (a client drops a connection
      // on GOAWAY with an error code).
      const refused = codes.filter((c) => c === String(status.RESOURCE_EXHAUSTED)).length;
      expect(refused).toBeGreaterThan(0);
      expect(refused).toBeLessThanOrEqual(50);
      expect(codes.filter((c) => c === '0').length).toBeLessThanOrEqual(20);
      expect(codes.filter((c) => c === undefined).length).toBeGreaterThanOrEqual(400 - 20 - 50);
      // Another address is unaffected.
      const res = await unary(own.marketData.getOrderBook.bind(own.marketData), { pair: 'ETHUSDT', depth: 5 });
      expect(res.book?.pair).toBe('ETHUSDT');
      // Within the penalty a new connection from 127.0.0.2 is closed at once.
      const refusedBefore = own.server.connectionGuard.refused;
      const again = rawSession(own.address, '127.0.0.2');
      expect(await rawGetOrderBook(again, 'ETHUSDT', 5)).toBeUndefined();
      again.destroy();
      expect(own.server.connectionGuard.refused).toBe(refusedBefore + 1);
      // After it, 127.0.0.2 is answered (its budget refilled meanwhile).
      for (let i = 0; ; i++) {
        const later = rawSession(own.address, '127.0.0.2');
        const code = await rawGetOrderBook(later, 'ETHUSDT', 5);
        later.destroy();
        if (code === '0') break;
        if (i === 100) throw new Error(`127.0.0.2 still refused after the penalty: ${code}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await own.close();
    }
  });
});
