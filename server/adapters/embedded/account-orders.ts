/**
 * The in-process session store's client-order records of one account (MemorySessionStore). Pure state.
 */
import type { ClientOrderResult } from '../../ports/session-store.ts';

/** One pair's records of the account: client order id → its entry's queue number (index + `base`). */
interface PairTable {
  readonly pair: string;
  readonly ids: Map<string, number>;
}

/**
 * One account's remembered client orders: looked up by pair and client order id, and queued oldest first
 * (= first to expire: one TTL for all) for eviction and expiry. A queue, not the Map's own order: V8 leaves
 * deleted Map entries as holes that `keys().next()` scans past, so "drop the first, add one" at the
 * per-account cap cost O(records) per order (measured: 6 µs per order at 1,000 evictions into a full table
 * of 100,000, 140 µs at 100,000 — event-loop time every other client waits for).
 *
 * Keyed by the pair, then the client order id, both as the caller passes them: no key string is built per
 * call (a concatenation had to be flattened and hashed on every lookup, and was kept per record), and the
 * id string is the one the order's other records hold.
 *
 * Column by column, no object per record: the pair's table holds each id's queue number, and the queue's
 * parallel arrays its table, id, result and expiry (a number array, stored unboxed). Queue entries whose
 * record was removed out of order (expired on lookup, replaced) are skipped: their table no longer gives
 * their id their number (a table emptied and dropped gives none).
 */
export class AccountOrders {
  private readonly byPair = new Map<string, PairTable>();
  private count = 0;
  private tables: PairTable[] = [];
  private ids: string[] = [];
  private results: ClientOrderResult[] = [];
  private expiries: number[] = [];
  /** Queue number of index 0. */
  private base = 0;
  private head = 0;

  /**
   * @param compactAfter consumed entries before the queue's prefix is dropped (and only once they are most of it)
   * @param staleSlack stale entries beyond twice the live ones before the queue is rebuilt from the live ones
   * @param renumberAbove queue numbers are renumbered from 0 when the prefix dropped passes this, so they stay
   *   small integers (V8 keeps them in the Map unboxed; a larger one would be one more heap object per record)
   */
  constructor(
    private readonly compactAfter = 1024,
    private readonly staleSlack = 4096,
    private readonly renumberAbove = 2 ** 30,
  ) {}

  get size(): number {
    return this.count;
  }

  /** The queue index of the record of `pair`'s `clientOrderId`, or -1. */
  indexOf(pair: string, clientOrderId: string): number {
    const n = this.byPair.get(pair)?.ids.get(clientOrderId);
    return n === undefined ? -1 : n - this.base;
  }

  resultAt(i: number): ClientOrderResult {
    return this.results[i]!;
  }

  expiresAt(i: number): number {
    return this.expiries[i]!;
  }

  /** Adds a record for an id that has none (delete() it first). */
  add(pair: string, clientOrderId: string, result: ClientOrderResult, expiresAtMs: number): void {
    let t = this.byPair.get(pair);
    if (t === undefined) this.byPair.set(pair, (t = { pair, ids: new Map() }));
    t.ids.set(clientOrderId, this.base + this.ids.length);
    this.count++;
    this.tables.push(t);
    this.ids.push(clientOrderId);
    this.results.push(result);
    this.expiries.push(expiresAtMs);
  }

  /** Forgets the record of `pair`'s `clientOrderId` (its queue entry is skipped later); true if there was one. */
  delete(pair: string, clientOrderId: string): boolean {
    const t = this.byPair.get(pair);
    return t !== undefined && this.remove(t, clientOrderId);
  }

  /** Forgets the oldest record; false when there is none. */
  dropOldest(): boolean {
    const i = this.oldest();
    if (i < 0) return false;
    this.remove(this.tables[i]!, this.ids[i]!);
    this.head++;
    this.compact();
    return true;
  }

  /** Forgets the records expired at `now` (a prefix of the queue); returns how many. */
  dropExpired(now: number): number {
    let dropped = 0;
    for (let i = this.oldest(); i >= 0 && now >= this.expiries[i]!; i = this.oldest()) {
      this.remove(this.tables[i]!, this.ids[i]!);
      this.head++;
      dropped++;
    }
    this.compact();
    return dropped;
  }

  /** Removes an id from its table, and the table once empty. */
  private remove(t: PairTable, clientOrderId: string): boolean {
    if (!t.ids.delete(clientOrderId)) return false;
    this.count--;
    if (t.ids.size === 0) this.byPair.delete(t.pair);
    return true;
  }

  /** The index of the oldest live record, skipping (and consuming) stale entries; -1 when none. */
  private oldest(): number {
    while (this.head < this.ids.length) {
      if (this.isLive(this.head)) return this.head;
      this.head++;
    }
    return -1;
  }

  private isLive(i: number): boolean {
    return this.tables[i]!.ids.get(this.ids[i]!) === this.base + i;
  }

  /** Drops the consumed prefix once it is most of the queue, or stale entries once they outnumber the live ones. */
  private compact(): void {
    const pending = this.ids.length - this.head;
    if (this.head > this.compactAfter && this.head * 2 > this.ids.length) {
      this.tables = this.tables.slice(this.head);
      this.ids = this.ids.slice(this.head);
      this.results = this.results.slice(this.head);
      this.expiries = this.expiries.slice(this.head);
      this.base += this.head;
      this.head = 0;
      if (this.base > this.renumberAbove) this.renumber();
    } else if (pending > 2 * this.count + this.staleSlack) {
      const tables: PairTable[] = [];
      const ids: string[] = [];
      const results: ClientOrderResult[] = [];
      const expiries: number[] = [];
      // Numbered from 0: an id's live entry is its last, so renumbering it never makes a later entry look live.
      for (let i = this.head; i < this.ids.length; i++) {
        if (!this.isLive(i)) continue;
        this.tables[i]!.ids.set(this.ids[i]!, ids.length);
        tables.push(this.tables[i]!);
        ids.push(this.ids[i]!);
        results.push(this.results[i]!);
        expiries.push(this.expiries[i]!);
      }
      this.tables = tables;
      this.ids = ids;
      this.results = results;
      this.expiries = expiries;
      this.base = 0;
      this.head = 0;
    }
  }

  /** Numbers every live entry by its index (base 0); stale entries keep failing isLive (their id's number is its live index). */
  private renumber(): void {
    for (let i = 0; i < this.ids.length; i++) if (this.isLive(i)) this.tables[i]!.ids.set(this.ids[i]!, i);
    this.base = 0;
  }
}
