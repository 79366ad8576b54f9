/**
 * Price levels of both sides, struct-of-arrays with a free list, addressed by level number.
 * A level holds its price, its aggregate (total lots, order count) and the ends of its order FIFO;
 * which levels exist and in what order is the PriceIndex's business, not this pool's.
 */
import { growF64, growI32 } from './order-pool.ts';

export class LevelPool {
  price: Int32Array;
  /**
   * The side a level belongs to. Paths that start from an order (cancel) read side and price here: the
   * few thousand levels stay in cache while the order arrays of a deep book do not.
   */
  side: Uint8Array;
  /** Sum of the remaining lots of the level's orders; exact because instrument lots stay below 2^40. */
  total: Float64Array;
  count: Int32Array;
  /** FIFO ends (order slots); `head` also threads the free list of unused levels. */
  head: Int32Array;
  tail: Int32Array;
  capacity: number;
  private highWater: number;
  private freeHead: number;

  constructor(initialCapacity: number) {
    const cap = Math.max(16, initialCapacity);
    this.capacity = cap;
    this.price = new Int32Array(cap);
    this.side = new Uint8Array(cap);
    this.total = new Float64Array(cap);
    this.count = new Int32Array(cap);
    this.head = new Int32Array(cap);
    this.tail = new Int32Array(cap);
    this.highWater = 0;
    this.freeHead = -1;
  }

  /** An empty level at `price`. May grow (and so replace) every array. */
  alloc(side: number, price: number): number {
    let l = this.freeHead;
    if (l !== -1) {
      this.freeHead = this.head[l]!;
    } else {
      if (this.highWater === this.capacity) this.grow();
      l = this.highWater++;
    }
    this.price[l] = price;
    this.side[l] = side;
    this.total[l] = 0;
    this.count[l] = 0;
    this.head[l] = -1;
    this.tail[l] = -1;
    return l;
  }

  free(l: number): void {
    this.count[l] = -1; // marks the level dead, so a stale reference shows up in checkInvariants
    this.head[l] = this.freeHead;
    this.freeHead = l;
  }

  clear(): void {
    this.highWater = 0;
    this.freeHead = -1;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    this.price = growI32(this.price, cap);
    const side = new Uint8Array(cap);
    side.set(this.side);
    this.side = side;
    this.total = growF64(this.total, cap);
    this.count = growI32(this.count, cap);
    this.head = growI32(this.head, cap);
    this.tail = growI32(this.tail, cap);
    this.capacity = cap;
  }
}
