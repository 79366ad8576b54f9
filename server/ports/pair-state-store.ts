/**
 * Per-pair control state that must survive a restart: the migration state and percentage, the
 * breaker (open, reason). Stored as one JSON document per pair; the shape belongs to the owner
 * (pairs/), this port only keeps it. No I/O here.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type PairStateDocument = { [key: string]: JsonValue };

export interface PairStateStore {
  /** The stored document of `pair`, or undefined when none was saved. */
  load(pair: string): Promise<PairStateDocument | undefined>;
  /** Every stored document, by pair. */
  loadAll(): Promise<Map<string, PairStateDocument>>;
  /** Replaces the document of `pair` (last write wins). Rejects with UnavailableError when the store is down. */
  save(pair: string, state: PairStateDocument): Promise<void>;
}
