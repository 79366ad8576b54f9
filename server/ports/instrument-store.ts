/**
 * Where the listed instruments are kept across restarts (the `instruments` table): one record per symbol
 * ever listed, with its rules as the operator wrote them (InstrumentInput JSON), whether it is listed now,
 * and its trading halt. A delisted pair keeps its record (listed = false), so it does not come back at the
 * next start and the table still answers "the operator decided" after every pair was delisted. No I/O here.
 */
import type { InstrumentInput } from '../core/instrument-input.ts';

/** An operator's trading halt of one pair (new orders and replaces refused, cancels work). */
export interface PairHaltRecord {
  by: string;
  reason: string;
  /** ISO time. */
  since: string;
}

export interface InstrumentRecord {
  symbol: string;
  /** As stored: parsed (and validated) by the reader, never trusted. */
  instrument: unknown;
  listed: boolean;
  halt: PairHaltRecord | null;
}

export interface InstrumentStore {
  /** Every record, by symbol ascending. */
  loadAll(): Promise<InstrumentRecord[]>;
  /** Inserts or replaces the record of `record.symbol`. Rejects with UnavailableError when the store is down. */
  save(record: { symbol: string; instrument: InstrumentInput; listed: boolean; halt: PairHaltRecord | null }): Promise<void>;
}
