/**
 * Price levels of both sides, one record per level with a free list, addressed by level number.
 * A level holds its price, its aggregate (total lots, order count) and the ends of its order FIFO;
 * which levels exist and in what order is the PriceIndex's business, not this pool's.
 *
 * Layout: `i32` holds 8 int32s per level (price, side, count, head, tail; see the L_ offsets) and `total`
 * one double per level. One record array rather than one array per field for the same reason as the
 * OrderPool: each distinct typed array costs a map, length and bounds check per access in optimised code.
 * The hot paths index `i32[(level << 3) + offset]` with the offsets as literals.
 */
import { growF64, growI32 } from './order-pool.ts';

/** Int32s per level in `i32`, as a shift. */
export const L_SHIFT = 3;
export const L_PRICE = 0;
/**
 * The side a level belongs to. Paths that start from an order (cancel) read side and price here: the
 * few thousand levels stay in cache while the order records of a deep book do not.
 */
export const L_SIDE = 1;
export const L_COUNT = 2;
/** FIFO ends (order slots); head also threads the free list of unused levels. */
export const L_HEAD = 3;
export const L_TAIL = 4;

export class LevelPool {
  i32: Int32Array;
  /** Sum of the remaining lots of the level's orders; exact because instrument lots stay below 2^40. */
  total: Float64Array;
  capacity: number;
  private highWater: number;
  private freeHead: number;

  constructor(initialCapacity: number) {
    const cap = Math.max(16, initialCapacity);
    this.capacity = cap;
    this.i32 = new Int32Array(cap << 3);
    this.total = new Float64Array(cap);
    this.highWater = 0;
    this.freeHead = -1;
  }

  /** An empty level at `price`. May grow (and so replace) both arrays. */
  alloc(side: number, price: number): number {
    let l = this.freeHead;
    if (l !== -1) {
      this.freeHead = this.i32[(l << 3) + 3 /* head */]!;
    } else {
      if (this.highWater === this.capacity) this.grow();
      l = this.highWater++;
    }
    const i = this.i32;
    const r = l << 3;
    i[r + 0 /* price */] = price;
    i[r + 1 /* side */] = side;
    i[r + 2 /* count */] = 0;
    i[r + 3 /* head */] = -1;
    i[r + 4 /* tail */] = -1;
    this.total[l] = 0;
    return l;
  }

  free(l: number): void {
    const r = l << 3;
    this.i32[r + 2 /* count */] = -1; // marks the level dead, so a stale reference shows up in checkInvariants
    this.i32[r + 3 /* head */] = this.freeHead;
    this.freeHead = l;
  }

  // Named read-outs and writes for audits, read-outs and tests (the hot paths index `i32` directly).
  int(l: number, field: number): number {
    return this.i32[(l << L_SHIFT) + field]!;
  }
  setInt(l: number, field: number, value: number): void {
    this.i32[(l << L_SHIFT) + field] = value;
  }

  clear(): void {
    this.highWater = 0;
    this.freeHead = -1;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    this.i32 = growI32(this.i32, cap << 3);
    this.total = growF64(this.total, cap);
    this.capacity = cap;
  }
}
