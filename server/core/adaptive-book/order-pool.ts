/**
 * Resting orders in two flat typed arrays, addressed by slot number, with a free list. Holds per-order
 * fields and the intrusive links only; it knows nothing about prices or matching.
 *
 * Layout: each slot owns a record of 4 doubles in `f64` (id, account, remaining: safe integers up to
 * 2^53) and a record of 8 int32s in `i32` (price, FIFO links, level, account-ring links, flags, id-index chain), 64
 * bytes in all. Why records in two arrays rather than one typed array per field: every typed-array
 * access in optimised code pays a map check, a length load and a bounds check on *that* array, and a
 * deep book's order sits in 2 cache lines instead of 10. Why not one JS object per order: ~100 bytes of
 * heap each and GC tracing; here the GC never scans the orders and a freed slot is reused without
 * allocating. Callers index with `slot << F_SHIFT` / `slot << I_SHIFT` plus a field offset.
 */

/** Slot value meaning "no order" in link fields. */
export const NIL = -1;
/**
 * `level` of a slot that is not an order but the sentinel of one account's ring (see AdaptiveBook's
 * account rings): allocated and freed like an order slot, never live, never on a level.
 */
export const ACCOUNT_SENTINEL = -2;

/** Doubles per slot in `f64`, as a shift. */
export const F_SHIFT = 2;
export const F_ID = 0;
export const F_ACCOUNT = 1;
export const F_REMAINING = 2;

/** Int32s per slot in `i32`, as a shift. */
export const I_SHIFT = 3;
/** Limit price in ticks (fits 31 bits: instrument rule). */
export const I_PRICE = 0;
/** Intrusive doubly linked FIFO within the order's level. */
export const I_PREV = 1;
export const I_NEXT = 2;
/** The level the order rests on, NIL for a free slot, ACCOUNT_SENTINEL for a ring sentinel: >= 0 means live. */
export const I_LEVEL = 3;
/** Intrusive circular doubly linked ring of one account's orders through its sentinel slot. */
export const I_ACCOUNT_PREV = 4;
export const I_ACCOUNT_NEXT = 5;
/** side (bit 0), stp mode (bits 1-3), postOnly (bit 4). */
export const I_FLAGS = 6;
/** Next slot in the same bucket of the order-id index (PooledOrderIdIndex), or NIL. */
export const I_ID_NEXT = 7;

export function packFlags(side: number, stp: number, postOnly: boolean): number {
  return side | (stp << 1) | (postOnly ? 16 : 0);
}
export function flagSide(flags: number): number {
  return flags & 1;
}
export function flagStp(flags: number): number {
  return (flags >>> 1) & 7;
}
export function flagPostOnly(flags: number): boolean {
  return (flags & 16) !== 0;
}

export class OrderPool {
  f64: Float64Array;
  i32: Int32Array;
  capacity: number;
  /** Slots [0, highWater) have been handed out at least once; beyond it everything is fresh. */
  highWater: number;
  /** Head of the free list, threaded through the I_NEXT field. */
  private freeHead: number;

  constructor(initialCapacity: number) {
    const cap = Math.max(16, initialCapacity);
    this.capacity = cap;
    this.f64 = new Float64Array(cap << 2);
    this.i32 = new Int32Array(cap << 3);
    this.highWater = 0;
    this.freeHead = -1;
  }

  /** A free slot. May grow (and so replace) both arrays: callers must not hold them across it. */
  alloc(): number {
    const f = this.freeHead;
    if (f !== -1) {
      this.freeHead = this.i32[(f << 3) + 2 /* next */]!;
      return f;
    }
    if (this.highWater === this.capacity) this.grow();
    return this.highWater++;
  }

  free(slot: number): void {
    const i = slot << 3;
    this.i32[i + 3 /* level */] = -1;
    this.i32[i + 2 /* next */] = this.freeHead;
    this.freeHead = slot;
  }

  isLive(slot: number): boolean {
    return slot >= 0 && slot < this.highWater && this.i32[(slot << 3) + 3 /* level */]! >= 0;
  }

  // Named read-outs for audits, snapshots and tests (the hot paths index the arrays directly).
  id(slot: number): number {
    return this.f64[(slot << 2) + 0 /* id */]!;
  }
  account(slot: number): number {
    return this.f64[(slot << 2) + 1 /* account */]!;
  }
  remaining(slot: number): number {
    return this.f64[(slot << 2) + 2 /* remaining */]!;
  }
  int(slot: number, field: number): number {
    return this.i32[(slot << 3) + field]!;
  }
  setInt(slot: number, field: number, value: number): void {
    this.i32[(slot << 3) + field] = value;
  }

  clear(): void {
    this.highWater = 0;
    this.freeHead = -1;
  }

  /** Doubling keeps the amortised cost per order O(1) and the slack under 2x. */
  private grow(): void {
    const cap = this.capacity * 2;
    this.f64 = growF64(this.f64, cap << 2);
    this.i32 = growI32(this.i32, cap << 3);
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
