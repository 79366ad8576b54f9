/**
 * The order registry's records by order id: a dense window (an array indexed by id - base) for the
 * recent ids, where nearly every order lives and dies, and a Map for the few older ones still kept
 * (long-resting orders, retained closed ones) once the window moves past them. Order ids are assigned
 * ascending, so a new order is an append. A Map alone was most of the registry's cost in a journal
 * replay: a million set/delete pairs churn its hash table, and every lookup chases hash buckets spread
 * over a table of the hundred thousand orders kept (measured). Pure state.
 *
 * Iteration order is the window ascending after the Map's entries (not insertion order): callers that
 * need an order sort (OrderRegistry.retained, listOpen).
 */
import type { OrderId } from '../core/types.ts';

export interface OrderTableOptions {
  /**
   * The window is compacted once it holds more than this many empty slots and more empty than used
   * ones: the kept records of its older half move to the Map and that half is dropped. Lower keeps
   * the window tighter, at more frequent moves. @default 4096
   */
  maxEmptySlots?: number;
}

export class OrderTable<T> {
  /** slots[i] holds the record of order base + i, or undefined. */
  private slots: (T | undefined)[] = [];
  private base = 0;
  /** Records in the window. */
  private inWindow = 0;
  /** Records of ids below base (or left behind by a jump). */
  private readonly older = new Map<OrderId, T>();
  private readonly maxEmptySlots: number;

  constructor(options: OrderTableOptions = {}) {
    const max = options.maxEmptySlots ?? 4096;
    if (!Number.isSafeInteger(max) || max < 1) throw new Error(`maxEmptySlots must be a positive integer, got ${max}`);
    this.maxEmptySlots = max;
  }

  get size(): number {
    return this.inWindow + this.older.size;
  }

  get(id: OrderId): T | undefined {
    const i = id - this.base;
    if (i >= 0 && i < this.slots.length) return this.slots[i];
    return this.older.get(id);
  }

  has(id: OrderId): boolean {
    return this.get(id) !== undefined;
  }

  set(id: OrderId, record: T): void {
    // The window starts at the first id of an empty table; base only grows after that, so every id in
    // the Map is below base and a window slot answers alone for its id.
    if (this.slots.length === 0 && this.older.size === 0) this.base = id;
    let i = id - this.base;
    if (i < 0) {
      this.older.set(id, record);
      return;
    }
    if (i >= this.slots.length) {
      const gap = i - this.slots.length;
      if (gap > this.maxEmptySlots) {
        // A jump far ahead (ids consumed without records, or a restore): restart the window at id.
        this.moveToOlder(this.slots.length);
        this.base = id;
        i = 0;
      } else {
        for (let g = 0; g < gap; g++) this.slots.push(undefined);
      }
      this.slots.push(record);
      this.inWindow++;
      return;
    }
    if (this.slots[i] === undefined) this.inWindow++;
    this.slots[i] = record;
  }

  delete(id: OrderId): boolean {
    const i = id - this.base;
    if (i >= 0 && i < this.slots.length) {
      if (this.slots[i] === undefined) return false;
      this.slots[i] = undefined;
      this.inWindow--;
      this.compactIfSparse();
      return true;
    }
    return this.older.delete(id);
  }

  clear(): void {
    this.slots = [];
    this.base = 0;
    this.inWindow = 0;
    this.older.clear();
  }

  *values(): IterableIterator<T> {
    yield* this.older.values();
    for (const r of this.slots) if (r !== undefined) yield r;
  }

  private compactIfSparse(): void {
    const empty = this.slots.length - this.inWindow;
    if (empty <= this.maxEmptySlots || empty <= this.inWindow) return;
    // Drop the leading empty slots at no cost; if the window is still sparse, move the older half out.
    let lead = 0;
    while (lead < this.slots.length && this.slots[lead] === undefined) lead++;
    if (lead === this.slots.length) {
      this.slots = [];
      this.base += lead;
      return;
    }
    const stillEmpty = this.slots.length - lead - this.inWindow;
    const cut = stillEmpty > this.maxEmptySlots && stillEmpty > this.inWindow ? lead + Math.ceil((this.slots.length - lead) / 2) : lead;
    this.moveToOlder(cut);
  }

  /** Moves the records of slots [0, cut) to the Map and drops those slots. */
  private moveToOlder(cut: number): void {
    for (let i = 0; i < cut; i++) {
      const r = this.slots[i];
      if (r === undefined) continue;
      this.older.set(this.base + i, r);
      this.inWindow--;
    }
    this.slots = this.slots.slice(cut);
    this.base += cut;
  }
}
