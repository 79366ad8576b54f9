/**
 * trading.v1.MarketDataService: public L2 snapshots and the snapshot-then-deltas stream. The snapshot
 * and the subscription are taken in one synchronous step (TradingPair.subscribeMarketData), so the first
 * delta a client gets is exactly snapshot.sequence + 1. With a journal, deltas are published once their
 * command is durable (the snapshot shows the applied book); a pair whose recovery failed answers
 * UNAVAILABLE instead of a partial book.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { TradingPairs } from '../../pairs/trading-pairs.ts';
import { checkAdmission, unary, type CallContext } from './call-context.ts';
import { deltaToWire, parseDepth, resolvePair, snapshotToWire } from './codec.ts';
import type { DurabilityGate } from './durability-gate.ts';
import { toStatus } from './errors.ts';
import { MarketDataUpdate, type MarketDataServiceServer, type StreamMarketDataRequest } from './generated/trading/v1/market_data.ts';
import { endSlowStream, peerAddress, type StreamOutbox, type StreamTicket } from './stream-limits.ts';
import { MARKET_DATA_LEVELS_PER_TOKEN, MarketDataLimiter } from './market-data-limiter.ts';
import type { OrderBookSnapshot } from './generated/trading/v1/market_data.ts';
import type { Instrument } from '../../core/instrument.ts';
import type { MarketDataDelta } from '../../pairs/trading-pair.ts';

/** Each delta is encoded once, whatever the number of subscribers (they all get the same bytes). */
const encodedDeltas = new WeakMap<MarketDataDelta, Buffer>();
function encodedDelta(inst: Instrument, delta: MarketDataDelta): Buffer {
  let buf = encodedDeltas.get(delta);
  if (buf === undefined) encodedDeltas.set(delta, (buf = Buffer.from(MarketDataUpdate.encode(deltaToWire(inst, delta)).finish())));
  return buf;
}

export function createMarketDataService(ctx: CallContext, pairs: TradingPairs, durability?: DurabilityGate, limiter = new MarketDataLimiter()): MarketDataServiceServer {
  /**
   * The last full-depth snapshot per pair, by market-data sequence: pipelined depth-0 calls on an
   * unchanged book reuse one snapshot instead of walking every level each time.
   */
  const fullDepth = new Map<string, { sequence: number; book: OrderBookSnapshot; levels: number }>();
  return {
    getOrderBook: unary(ctx, 'GetOrderBook', (req, call) => {
      const pair = resolvePair(pairs, req.pair);
      durability?.checkReadable(pair);
      const depth = parseDepth(req.depth);
      const peer = peerAddress(call.getPeer());
      if (depth === 0) {
        const seq = pair.sequences.marketData;
        let cached = fullDepth.get(pair.symbol);
        if (cached === undefined || cached.sequence !== seq) {
          const snap = pair.snapshot(0);
          cached = { sequence: seq, book: snapshotToWire(pair.instrument, snap), levels: snap.bids.length + snap.asks.length };
          fullDepth.set(pair.symbol, cached);
        }
        limiter.take(peer, 1 + Math.floor(cached.levels / MARKET_DATA_LEVELS_PER_TOKEN), ctx.nowMs());
        return { book: cached.book };
      }
      limiter.take(peer, 1 + Math.floor((2 * depth) / MARKET_DATA_LEVELS_PER_TOKEN), ctx.nowMs());
      return { book: snapshotToWire(pair.instrument, pair.snapshot(depth)) };
    }),

    streamMarketData: (call: ServerWritableStream<StreamMarketDataRequest, MarketDataUpdate>) => {
      let closed = false;
      let unsubscribe = (): void => {};
      let unregister = (): void => {};
      let ticket: StreamTicket | undefined;
      let outbox: StreamOutbox | undefined;
      const release = (): void => {
        unsubscribe();
        unregister();
        outbox?.release();
        ticket?.release();
      };
      const close = (reason?: Error): void => {
        if (closed) return;
        closed = true;
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
        limiter.take(peerAddress(call.getPeer()), 1, ctx.nowMs());
        ticket = ctx.streams.admit('StreamMarketData', call.getPeer());
        const box = ctx.streams.outbox(call, slow);
        outbox = box;
        const subscription = pair.subscribeMarketData(depth, (delta) => {
          if (closed) return;
          box.write(encodedDelta(inst, delta));
        });
        unsubscribe = subscription.unsubscribe;
        unregister = ctx.registerStream((reason) => close(reason), pair.symbol);
        const { snapshot } = subscription;
        box.write(Buffer.from(MarketDataUpdate.encode({ pair: inst.symbol, sequence: String(snapshot.sequence), update: { $case: 'snapshot', value: snapshotToWire(inst, snapshot) } }).finish()));
      } catch (err) {
        close(err as Error);
      }
    },
  };
}
