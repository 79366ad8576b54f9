/**
 * The gRPC handlers' DurabilityGate with refused commands counted. A command refused with UNAVAILABLE
 * before it is applied (PostgreSQL unreachable, pair stopped, a chaos refusal) is a command the service
 * failed: it must count in the runbook's error rate ("error rate > 1 %" → DEGRADED), which otherwise only
 * saw book failures and stayed at 0 while every command was refused. Also where the chaos refusals are
 * injected (CHAOS_ENABLED only). Without a journal (in-memory) every other check passes at once.
 */
import type { TradingPair } from '../../pairs/trading-pair.ts';
import { UnavailableError } from '../../ports/errors.ts';
import type { DurabilityGate } from '../grpc/durability-gate.ts';

export interface RefusalCountingGateOptions {
  /** The journal's gate; undefined in-memory. */
  inner: DurabilityGate | undefined;
  /** Called once per refused command, before the error goes to the client. */
  onRefused(pair: string, err: UnavailableError): void;
  /** Chaos refusals (CHAOS_ENABLED), checked first. @default undefined */
  inject?: (pair: string) => void;
}

export function refusalCountingGate(o: RefusalCountingGateOptions): DurabilityGate | undefined {
  const { inner, inject, onRefused } = o;
  if (inner === undefined && inject === undefined) return undefined;
  return {
    checkWritable(pair: TradingPair): void {
      try {
        inject?.(pair.symbol);
        inner?.checkWritable(pair);
      } catch (err) {
        if (err instanceof UnavailableError) onRefused(pair.symbol, err);
        throw err;
      }
    },
    checkReadable: (pair) => inner?.checkReadable(pair),
    settled: (pair) => inner?.settled(pair),
    isDurable: (pair, sequence) => inner?.isDurable(pair, sequence) ?? true,
  };
}
