/**
 * The gRPC handlers' DurabilityGate in cluster mode: a pair this replica does not serve now is refused
 * before anything is read or applied (PairNotOwnedError: UNAVAILABLE naming the owner), then the
 * journal's own checks apply. The one hook of ownership into the call path.
 */
import type { TradingPair } from '../../pairs/trading-pair.ts';
import type { DurabilityGate } from '../grpc/durability-gate.ts';

export function ownershipGate(inner: DurabilityGate | undefined, ownership: { check(pair: string): void }): DurabilityGate {
  return {
    checkWritable(pair: TradingPair): void {
      ownership.check(pair.symbol);
      inner?.checkWritable(pair);
    },
    checkReadable(pair: TradingPair): void {
      ownership.check(pair.symbol);
      inner?.checkReadable(pair);
    },
    settled: (pair) => inner?.settled(pair),
    isDurable: (pair, sequence) => inner?.isDurable(pair, sequence) ?? true,
  };
}
