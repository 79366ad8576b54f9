/**
 * Order id → pool slot for the orders of one book: a chained hash table whose chains run through the
 * order records themselves. Holds only the bucket heads; the id is the record's `id` field and the chain
 * link its `idNext` int32 (OrderPool's I_ID_NEXT), so an entry costs no memory of its own.
 *
 * Why intrusive rather than a separate table of (key, value, link) entries (OrderIdIndex, still used for
 * the few accounts): on a deep book a lookup missed the cache on the bucket, then on the entry's key,
 * value and link arrays, and then the caller missed again on the order record it had found. Here a lookup
 * touches the bucket and the record the caller needs anyway (a cancel reads its account, remaining and
 * level from it next), and adding or removing an id writes one record field and one bucket.
 * Nothing is allocated per order; buckets double when the table holds as many ids as buckets.
 */
import { InvariantError } from '../errors.ts';
import { bucketOf, shiftFor } from './order-id-index.ts';
import type { OrderPool } from './order-pool.ts';

export class PooledOrderIdIndex {
  private readonly pool: OrderPool;
  /** First slot of each bucket's chain, or -1. */
  private heads: Int32Array;
  /** 32 - log2(buckets / 8), as bucketOf() wants it. */
  private shift: number;
  /**
   * The largest id ever added. Ids are issued in increasing order, so a new order's duplicate check is
   * usually answered by this one comparison, without touching the table at all.
   */
  private maxKey: number;
  size: number;

  constructor(pool: OrderPool, initialCapacity: number) {
    let buckets = 16;
    while (buckets < initialCapacity) buckets *= 2;
    this.pool = pool;
    this.heads = new Int32Array(buckets).fill(-1);
    this.shift = shiftFor(buckets);
    this.maxKey = 0;
    this.size = 0;
  }

  /** The slot holding `id`, or -1. */
  get(id: number): number {
    if (id > this.maxKey) return -1;
    const f = this.pool.f64;
    const i = this.pool.i32;
    let o = this.heads[bucketOf(id, this.shift)]!;
    while (o !== -1) {
      if (f[(o << 2) + 0 /* id */] === id) return o;
      o = i[(o << 3) + 7 /* idNext */]!;
    }
    return -1;
  }

  /** Files slot `o`, whose record already holds `id` (which must not be filed yet). */
  add(id: number, o: number): void {
    if (this.size >= this.heads.length) this.grow();
    const b = bucketOf(id, this.shift);
    this.pool.i32[(o << 3) + 7 /* idNext */] = this.heads[b]!;
    this.heads[b] = o;
    if (id > this.maxKey) this.maxKey = id;
    this.size++;
  }

  /** Unfiles slot `o`, which holds `id` and is filed. */
  remove(id: number, o: number): void {
    const i = this.pool.i32;
    const b = bucketOf(id, this.shift);
    const next = i[(o << 3) + 7 /* idNext */]!;
    let e = this.heads[b]!;
    if (e === -1) throw new InvariantError('adaptive', 'id index consistent', `slot ${o} (order ${id}) is not filed`);
    if (e === o) {
      this.heads[b] = next;
    } else {
      for (;;) {
        const after = i[(e << 3) + 7 /* idNext */]!;
        if (after === o) break;
        if (after === -1) throw new InvariantError('adaptive', 'id index consistent', `slot ${o} (order ${id}) is not filed`);
        e = after;
      }
      i[(e << 3) + 7 /* idNext */] = next;
    }
    this.size--;
  }

  clear(): void {
    this.heads.fill(-1);
    this.maxKey = 0;
    this.size = 0;
  }

  /** Visits every (id, slot) pair; for audits. */
  forEach(visit: (id: number, slot: number) => void): void {
    const heads = this.heads;
    for (let b = 0; b < heads.length; b++) {
      for (let o = heads[b]!; o !== -1; o = this.pool.i32[(o << 3) + 7 /* idNext */]!) visit(this.pool.f64[(o << 2) + 0 /* id */]!, o);
    }
  }

  /** Every filed slot sits in the chain of its id's bucket, chains end, and they hold `size` slots. */
  audit(): string | undefined {
    const heads = this.heads;
    const limit = this.pool.highWater;
    let n = 0;
    for (let b = 0; b < heads.length; b++) {
      for (let o = heads[b]!; o !== -1; o = this.pool.i32[(o << 3) + 7 /* idNext */]!) {
        if (o < 0 || o >= limit) return `bucket ${b} chains to slot ${o}, outside the pool`;
        if (++n > this.size) return `chains hold more than the ${this.size} ids counted (or loop)`;
        const id = this.pool.f64[(o << 2) + 0 /* id */]!;
        if (bucketOf(id, this.shift) !== b) return `id ${id} (slot ${o}) filed in bucket ${b}`;
        if (id > this.maxKey) return `id ${id} above the largest id added, ${this.maxKey}`;
      }
    }
    return n === this.size ? undefined : `chains hold ${n} ids, size says ${this.size}`;
  }

  /** Doubles the buckets (the load stays at most one id per bucket) and re-chains every slot. */
  private grow(): void {
    const old = this.heads;
    const buckets = old.length * 2;
    const heads = new Int32Array(buckets).fill(-1);
    const shift = shiftFor(buckets);
    const f = this.pool.f64;
    const i = this.pool.i32;
    for (let b = 0; b < old.length; b++) {
      for (let o = old[b]!; o !== -1; ) {
        const next = i[(o << 3) + 7 /* idNext */]!;
        const nb = bucketOf(f[(o << 2) + 0 /* id */]!, shift);
        i[(o << 3) + 7 /* idNext */] = heads[nb]!;
        heads[nb] = o;
        o = next;
      }
    }
    this.heads = heads;
    this.shift = shift;
  }
}
