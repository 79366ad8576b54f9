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
import { ResourceExhaustedError, toStatus } from './errors.ts';
import type { MarketDataServiceServer, MarketDataUpdate, StreamMarketDataRequest } from './generated/trading/v1/market_data.ts';

export function createMarketDataService(ctx: CallContext, pairs: TradingPairs, durability?: DurabilityGate): MarketDataServiceServer {
  return {
    getOrderBook: unary(ctx, 'GetOrderBook', (req) => {
      const pair = resolvePair(pairs, req.pair);
      durability?.checkReadable(pair);
      const depth = parseDepth(req.depth);
      return { book: snapshotToWire(pair.instrument, pair.snapshot(depth)) };
    }),

    streamMarketData: (call: ServerWritableStream<StreamMarketDataRequest, MarketDataUpdate>) => {
      let closed = false;
      let unsubscribe = (): void => {};
      let unregister = (): void => {};
      const close = (reason?: Error): void => {
        if (closed) return;
        closed = true;
        unsubscribe();
        unregister();
        if (reason === undefined) call.end();
        else call.emit('error', toStatus(reason));
      };
      const abandon = (): void => {
        if (closed) return;
        closed = true;
        unsubscribe();
        unregister();
      };
      try {
        checkAdmission(ctx, call);
        const pair = resolvePair(pairs, call.request.pair);
        durability?.checkReadable(pair);
        const depth = parseDepth(call.request.depth);
        const inst = pair.instrument;
        const subscription = pair.subscribeMarketData(depth, (delta) => {
          if (closed) return;
          call.write(deltaToWire(inst, delta));
          // A reader this far behind would only fall further: end the stream so it resubscribes.
          if (call.writableLength > ctx.maxQueuedMessages) close(new ResourceExhaustedError('the client reads too slowly to keep up; resubscribe'));
        });
        unsubscribe = subscription.unsubscribe;
        unregister = ctx.registerStream((reason) => close(reason));
        const { snapshot } = subscription;
        call.write({ pair: inst.symbol, sequence: String(snapshot.sequence), update: { $case: 'snapshot', value: snapshotToWire(inst, snapshot) } });
      } catch (err) {
        close(err as Error);
        return;
      }
      call.on('cancelled', abandon);
      call.on('error', abandon);
    },
  };
}
