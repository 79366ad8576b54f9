/**
 * What the gRPC handlers ask the durability layer (adapters/durability/command-durability.ts) around
 * every command: may the pair take one now, and when may the reply leave. Structural, so the handlers
 * do not depend on how durability is done; absent (in-memory service) every check passes at once.
 */
import type { TradingPair } from '../../pairs/trading-pair.ts';

export interface DurabilityGate {
  /** Throws UnavailableError when the pair cannot take a command now (journal down, pair stopped); nothing is applied. */
  checkWritable(pair: TradingPair): void;
  /** Throws UnavailableError when the pair's state must not be read (its recovery failed). */
  checkReadable(pair: TradingPair): void;
  /**
   * undefined when everything the pair applied is durable (and published); otherwise resolves when it
   * is, or rejects with UnavailableError when the journal write failed (applied, not yet durable).
   */
  settled(pair: TradingPair): Promise<void> | undefined;
  /** Is the pair's command `sequence` durable (and its publication released)? */
  isDurable(pair: TradingPair, sequence: number): boolean;
}

/** Waits for every distinct pair's `settled` (once per pair); undefined when nothing is pending. */
export function settleAll(gate: DurabilityGate | undefined, pairs: Iterable<TradingPair>): Promise<void> | undefined {
  if (gate === undefined) return undefined;
  let pending: Promise<void>[] | undefined;
  for (const pair of new Set(pairs)) {
    const p = gate.settled(pair);
    if (p !== undefined) (pending ??= []).push(p);
  }
  if (pending === undefined) return undefined;
  return pending.length === 1 ? pending[0] : Promise.all(pending).then(() => undefined);
}

/** The pairs of applied items (undefined: not applied), for settleAll. */
export function* itemPairs(items: readonly ({ pair: TradingPair } | undefined)[]): Iterable<TradingPair> {
  for (const i of items) if (i !== undefined) yield i.pair;
}
