/**
 * A command for a pair that was delisted while the command waited (admission, rate limit) is refused
 * with NOT_FOUND at the last check before it is applied, instead of landing on a pair nobody serves or
 * journals any more. Wraps the gRPC handlers' DurabilityGate where there is one (journal or chaos).
 */
import type { TradingPairs } from '../../pairs/trading-pairs.ts';
import type { DurabilityGate } from '../grpc/durability-gate.ts';
import { ApiRejectCode, NotFoundError } from '../grpc/errors.ts';

export function listedPairGate(inner: DurabilityGate | undefined, pairs: Pick<TradingPairs, 'get'>): DurabilityGate | undefined {
  if (inner === undefined) return undefined;
  return {
    ...inner,
    checkWritable(pair): void {
      if (pairs.get(pair.symbol) !== pair) throw new NotFoundError('pair', `pair ${pair.symbol} was delisted`, ApiRejectCode.UnknownPair);
      inner.checkWritable(pair);
    },
  };
}
