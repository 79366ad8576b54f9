/**
 * The in-process session store's client-order records of one account (MemorySessionStore). Pure state.
 */
import type { ClientOrderResult } from '../../ports/session-store.ts';

/**
 * One account's remembered client orders: looked up by key, and queued oldest first (= first to expire:
 * one TTL for all) for eviction and expiry. A queue, not the Map's own order: V8 leaves deleted Map
 * entries as holes that `keys().next()` scans past, so "drop the first, add one" at the per-account cap
 * cost O(records) per order (measured: 6 µs per order at 1,000 evictions into a full table of 100,000,
 * 140 µs at 100,000 — event-loop time every other client waits for).
 *
 * Column by column, no object per record: the Map holds each key's queue number, and the queue's
 * parallel arrays its key, result and expiry (a number array, stored unboxed). A record then costs the
 * collector two objects (key and result strings) instead of four (a record object and its boxed expiry
 * besides). Queue entries whose record was removed out of order (expired on lookup, replaced) are
 * skipped: the Map no longer gives their key their number.
 */
export class AccountOrders {
  /** key → its entry's queue number (index + `base`). */
  private readonly byKey = new Map<string, number>();
  private keys: string[] = [];
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
    return this.byKey.size;
  }

  /** The queue index of `key`'s record, or -1. */
  indexOf(key: string): number {
    const n = this.byKey.get(key);
    return n === undefined ? -1 : n - this.base;
  }

  resultAt(i: number): ClientOrderResult {
    return this.results[i]!;
  }

  expiresAt(i: number): number {
    return this.expiries[i]!;
  }

  /** Adds a record for a key that has none (delete() it first). */
  add(key: string, result: ClientOrderResult, expiresAtMs: number): void {
    this.byKey.set(key, this.base + this.keys.length);
    this.keys.push(key);
    this.results.push(result);
    this.expiries.push(expiresAtMs);
  }

  /** Forgets `key`'s record (its queue entry is skipped later); true if there was one. */
  delete(key: string): boolean {
    return this.byKey.delete(key);
  }

  /** Forgets the oldest record; false when there is none. */
  dropOldest(): boolean {
    const i = this.oldest();
    if (i < 0) return false;
    this.byKey.delete(this.keys[i]!);
    this.head++;
    this.compact();
    return true;
  }

  /** Forgets the records expired at `now` (a prefix of the queue); returns how many. */
  dropExpired(now: number): number {
    let dropped = 0;
    for (let i = this.oldest(); i >= 0 && now >= this.expiries[i]!; i = this.oldest()) {
      this.byKey.delete(this.keys[i]!);
      this.head++;
      dropped++;
    }
    this.compact();
    return dropped;
  }

  /** The index of the oldest live record, skipping (and consuming) stale entries; -1 when none. */
  private oldest(): number {
    while (this.head < this.keys.length) {
      if (this.isLive(this.head)) return this.head;
      this.head++;
    }
    return -1;
  }

  private isLive(i: number): boolean {
    return this.byKey.get(this.keys[i]!) === this.base + i;
  }

  /** Drops the consumed prefix once it is most of the queue, or stale entries once they outnumber the live ones. */
  private compact(): void {
    const pending = this.keys.length - this.head;
    if (this.head > this.compactAfter && this.head * 2 > this.keys.length) {
      this.keys = this.keys.slice(this.head);
      this.results = this.results.slice(this.head);
      this.expiries = this.expiries.slice(this.head);
      this.base += this.head;
      this.head = 0;
      if (this.base > this.renumberAbove) this.renumber();
    } else if (pending > 2 * this.byKey.size + this.staleSlack) {
      const keys: string[] = [];
      const results: ClientOrderResult[] = [];
      const expiries: number[] = [];
      // Numbered from 0: a key's live entry is its last, so renumbering it never makes a later entry look live.
      for (let i = this.head; i < this.keys.length; i++) {
        if (!this.isLive(i)) continue;
        this.byKey.set(this.keys[i]!, keys.length);
        keys.push(this.keys[i]!);
        results.push(this.results[i]!);
        expiries.push(this.expiries[i]!);
      }
      this.keys = keys;
      this.results = results;
      this.expiries = expiries;
      this.base = 0;
      this.head = 0;
    }
  }

  /** Numbers every live entry by its index (base 0); stale entries keep failing isLive (their key's number is its live index). */
  private renumber(): void {
    for (let i = 0; i < this.keys.length; i++) if (this.isLive(i)) this.byKey.set(this.keys[i]!, i);
    this.base = 0;
  }
}
