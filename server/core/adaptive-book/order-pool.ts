/**
 * Resting orders stored struct-of-arrays in typed arrays, addressed by slot number, with a free list.
 * Holds per-order fields and the intrusive FIFO links only; it knows nothing about prices or matching.
 *
 * Why struct-of-arrays: one JS object per order costs ~100 bytes of heap and GC tracing; here an order is
 * 52 bytes in flat buffers the GC never scans, and a freed slot is reused without allocating.
 */

/** Slot value meaning "no order" in link fields. */
export const NIL = -1;
/**
 * `level` of a slot that is not an order but the sentinel of one account's ring (see AdaptiveBook's
 * account rings): allocated and freed like an order slot, never live, never on a level.
 */
export const ACCOUNT_SENTINEL = -2;

export class OrderPool {
  // Safe integers up to 2^53 (ids, accounts, lots) need Float64; prices fit 31 bits (instrument rule).
  id: Float64Array;
  account: Float64Array;
  remaining: Float64Array;
  price: Int32Array;
  /** Intrusive doubly linked FIFO within the order's level. */
  prev: Int32Array;
  next: Int32Array;
  /** The level the order rests on, or NIL for a free slot. Doubles as the "slot is live" flag. */
  level: Int32Array;
  /**
   * Intrusive circular doubly linked ring of one account's orders through its sentinel slot, so that
   * cancel-all visits that account's orders only.
   */
  accountPrev: Int32Array;
  accountNext: Int32Array;
  side: Uint8Array;
  stp: Uint8Array;
  postOnly: Uint8Array;
  capacity: number;
  /** Slots [0, highWater) have been handed out at least once; beyond it everything is fresh. */
  highWater: number;
  /** Head of the free list, threaded through `next`. */
  private freeHead: number;

  constructor(initialCapacity: number) {
    const cap = Math.max(16, initialCapacity);
    this.capacity = cap;
    this.id = new Float64Array(cap);
    this.account = new Float64Array(cap);
    this.remaining = new Float64Array(cap);
    this.price = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
    this.level = new Int32Array(cap);
    this.accountPrev = new Int32Array(cap);
    this.accountNext = new Int32Array(cap);
    this.side = new Uint8Array(cap);
    this.stp = new Uint8Array(cap);
    this.postOnly = new Uint8Array(cap);
    this.highWater = 0;
    this.freeHead = NIL;
  }

  /** A free slot. May grow (and so replace) every array: callers must not hold arrays across it. */
  alloc(): number {
    const f = this.freeHead;
    if (f !== NIL) {
      this.freeHead = this.next[f]!;
      return f;
    }
    if (this.highWater === this.capacity) this.grow();
    return this.highWater++;
  }

  free(slot: number): void {
    this.level[slot] = NIL;
    this.next[slot] = this.freeHead;
    this.freeHead = slot;
  }

  isLive(slot: number): boolean {
    return slot >= 0 && slot < this.highWater && this.level[slot]! >= 0;
  }

  clear(): void {
    this.highWater = 0;
    this.freeHead = NIL;
  }

  /** Doubling keeps the amortised cost per order O(1) and the slack under 2x. */
  private grow(): void {
    const cap = this.capacity * 2;
    this.id = growF64(this.id, cap);
    this.account = growF64(this.account, cap);
    this.remaining = growF64(this.remaining, cap);
    this.price = growI32(this.price, cap);
    this.prev = growI32(this.prev, cap);
    this.next = growI32(this.next, cap);
    this.level = growI32(this.level, cap);
    this.accountPrev = growI32(this.accountPrev, cap);
    this.accountNext = growI32(this.accountNext, cap);
    this.side = growU8(this.side, cap);
    this.stp = growU8(this.stp, cap);
    this.postOnly = growU8(this.postOnly, cap);
    this.capacity = cap;
  }
}

export function growF64(a: Float64Array, cap: number): Float64Array {
  const b = new Float64Array(cap);
  b.set(a);
  return b;
}
export function growI32(a: Int32Array, cap: number): Int32Array {
  const b = new Int32Array(cap);
  b.set(a);
  return b;
}
function growU8(a: Uint8Array, cap: number): Uint8Array {
  const b = new Uint8Array(cap);
  b.set(a);
  return b;
}
