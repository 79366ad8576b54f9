/**
 * trading.v1.MarketDataService: public L2 snapshots and the snapshot-then-deltas stream. The snapshot
 * and the subscription are taken in one synchronous step (TradingPair.subscribeMarketData), so the first
 * delta a client gets is exactly snapshot.sequence + 1. With a journal, deltas are published once their
 * command is durable (the snapshot shows the applied book); a pair whose recovery failed answers
 * UNAVAILABLE instead of a partial book.
 */
import type { ServerHttp2Session } from 'node:http2';
import type { ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import type { ConnectionGuard } from './connection-guard.ts';
import type { TradingPairs } from '../../pairs/trading-pairs.ts';
import { checkAdmission, unary, type CallContext } from './call-context.ts';
import { deltaToWire, parseDepth, resolvePair, snapshotToWire } from './codec.ts';
import type { DurabilityGate } from './durability-gate.ts';
import { ApiRejectCode, NotFoundError, toStatus } from './errors.ts';
import { MarketDataUpdate, type MarketDataServiceServer, type StreamMarketDataRequest } from './generated/trading/v1/market_data.ts';
import { frameMessage } from './grpc-frame.ts';
import { endSlowStream, http2StreamOf, peerAddress, type StreamTicket } from './stream-limits.ts';
import { MarketDataFeed, type FeedReader } from './market-data-feed.ts';
import { MARKET_DATA_LEVELS_PER_TOKEN, MarketDataLimiter } from './market-data-limiter.ts';
import { GetOrderBookResponse } from './generated/trading/v1/market_data.ts';
import type { TradingPair } from '../../pairs/trading-pair.ts';

export function createMarketDataService(ctx: CallContext, pairs: TradingPairs, durability?: DurabilityGate, limiter = new MarketDataLimiter(), connections?: ConnectionGuard): MarketDataServiceServer {
  /**
   * The last full-depth answer per pair, encoded, by market-data sequence: pipelined depth-0 calls on
   * an unchanged book reuse its bytes instead of walking and encoding every level each time.
   */
  const fullDepth = new WeakMap<TradingPair, { sequence: number; answer: GetOrderBookResponse; levels: number }>(); // by pair object: a delisted pair's entry goes with it
  /**
   * The delta feed of each pair with streams (market-data-feed.ts): the pair's ONE market-data
   * subscription while it has streams; each delta is encoded and framed once and appended for all.
   */
  const feeds = new WeakMap<TradingPair, MarketDataFeed>();
  const feedOf = (pair: TradingPair): MarketDataFeed => {
    let feed = feeds.get(pair);
    if (feed !== undefined) return feed;
    const inst = pair.instrument;
    let unsubscribe = (): void => {};
    const created = new MarketDataFeed(ctx.streams, () => {
      unsubscribe();
      if (feeds.get(pair) === created) feeds.delete(pair);
    });
    // From the pair's current sequence on; a stream's own snapshot may be later (it skips what it has).
    unsubscribe = pair.subscribeMarketData(1, (delta) => created.append(frameMessage(MarketDataUpdate.encode(deltaToWire(inst, delta)).finish()), delta.sequence)).unsubscribe;
    feeds.set(pair, (feed = created));
    return feed;
  };
  /** Runs `admit`; when it refuses the call and the address is flooding, the caller's connection is cut too. */
  const guarded = <T>(call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>, peer: string, admit: () => T): T => {
    try {
      return admit();
    } catch (err) {
      const stream = http2StreamOf(call);
      if (connections !== undefined && stream?.session !== undefined && limiter.isFlooding(peer, ctx.nowMs())) connections.cut(stream.session as ServerHttp2Session, stream.id ?? 0);
      throw err;
    }
  };
  /**
   * The rate limit takes `cost`; then the answer counts as in flight for the peer until its HTTP/2
   * stream closes (refusals — small trailers-only answers — never hold a slot).
   */
  const admitAnswer = (call: ServerUnaryCall<unknown, unknown>, peer: string, cost: number): void => {
    const leave = guarded(call, peer, () => {
      limiter.take(peer, cost, ctx.nowMs());
      return limiter.enter(peer, ctx.nowMs());
    });
    const stream = http2StreamOf(call);
    if (stream === undefined || stream.closed) leave();
    else stream.once('close', leave);
  };
  return {
    getOrderBook: unary(ctx, 'GetOrderBook', (req, call) => {
      const pair = resolvePair(pairs, req.pair);
      durability?.checkReadable(pair);
      const depth = parseDepth(req.depth);
      const peer = peerAddress(call.getPeer());
      if (depth === 0) {
        const seq = pair.sequences.marketData;
        let cached = fullDepth.get(pair);
        if (cached === undefined || cached.sequence !== seq) {
          const snap = pair.snapshot(0);
          // Encoded once per book state (a raw response, see raw-responses.ts): a 40,000-level answer
          // costs tens of ms to encode, and a burst of calls must not pay it each time.
          const bytes = Buffer.from(GetOrderBookResponse.encode({ book: snapshotToWire(pair.instrument, snap) }).finish());
          cached = { sequence: seq, answer: bytes as unknown as GetOrderBookResponse, levels: snap.bids.length + snap.asks.length };
          fullDepth.set(pair, cached);
        }
        admitAnswer(call, peer, 1 + Math.floor(cached.levels / MARKET_DATA_LEVELS_PER_TOKEN));
        return cached.answer;
      }
      admitAnswer(call, peer, 1 + Math.floor((2 * depth) / MARKET_DATA_LEVELS_PER_TOKEN));
      return { book: snapshotToWire(pair.instrument, pair.snapshot(depth)) };
    }),

    streamMarketData: (call: ServerWritableStream<StreamMarketDataRequest, MarketDataUpdate>) => {
      let closed = false;
      let unregister = (): void => {};
      let unwatch = (): void => {};
      let ticket: StreamTicket | undefined;
      let reader: FeedReader | undefined;
      const release = (): void => {
        unregister();
        unwatch();
        reader?.release();
        ticket?.release();
      };
      const close = (reason?: Error): void => {
        if (closed) return;
        closed = true;
        reader?.flush(); // what the stream was sent so far goes out before its status
        release();
        if (reason === undefined) call.end();
        else call.emit('error', toStatus(reason));
      };
      const abandon = (): void => {
        if (closed) return;
        closed = true;
        release();
      };
      const slow = (reason: Error): void => {
        if (closed) return;
        closed = true;
        release();
        endSlowStream(call, () => call.emit('error', toStatus(reason)), ctx.streams.limits.slowConsumerGraceMs);
      };
      call.on('cancelled', abandon);
      call.on('error', abandon);
      try {
        checkAdmission(ctx, call);
        const pair = resolvePair(pairs, call.request.pair);
        durability?.checkReadable(pair);
        const depth = parseDepth(call.request.depth);
        const inst = pair.instrument;
        const peer = peerAddress(call.getPeer());
        guarded(call, peer, () => limiter.take(peer, 1, ctx.nowMs()));
        ticket = ctx.streams.admit('StreamMarketData', call.getPeer());
        unregister = ctx.registerStream((reason) => close(reason), pair.symbol);
        unwatch = pairs.watchRemoval(pair, () => close(new NotFoundError('pair', `pair ${inst.symbol} was delisted`, ApiRejectCode.UnknownPair)));
        if (closed) return; // the pair went while we looked
        // The feed first (it is subscribed from now on), then the snapshot: the first delta the stream
        // gets is exactly snapshot.sequence + 1 (all in this one synchronous step).
        const feed = feedOf(pair);
        const snapshot = pair.snapshot(depth);
        const frame = frameMessage(MarketDataUpdate.encode({ pair: inst.symbol, sequence: String(snapshot.sequence), update: { $case: 'snapshot', value: snapshotToWire(inst, snapshot) } }).finish());
        reader = feed.join(call, frame, snapshot.sequence, slow);
      } catch (err) {
        close(err as Error);
      }
    },
  };
}
