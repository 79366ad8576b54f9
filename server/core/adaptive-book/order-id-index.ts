/**
 * Id → slot: a hash table with separate chaining over typed arrays. Holds only the mapping. The book uses
 * it for accounts (account → the sentinel slot of its ring); order ids are filed in PooledOrderIdIndex,
 * which chains through the order records instead of entries of its own.
 *
 * Layout: `heads` (one Int32 per bucket) points at the first entry of its chain; entries live in
 * struct-of-arrays (`key`, `value`, `link`) recycled through a free list threaded through `link`.
 * Why chaining rather than open addressing: deleting (every fill that completes a maker, every cancel)
 * is unlinking one entry of a chain about one long, where linear probing's backward shift walked the
 * whole probe run and rehashed every key in it; that walk was the book's single largest cost. Why not
 * Map<number, number>: ids above 2^30 are heap numbers in a Map (an allocation per order), and an entry
 * costs ~30-60 bytes; here an entry is 16 bytes plus 4-8 bytes of bucket, and nothing is allocated per
 * order.
 */

/** Literal -1 in the code below means "no entry" (V8 reloads a module-level constant at every use). */

export class OrderIdIndex {
  private heads: Int32Array;
  /** 32 - log2(buckets / 8): the multiplicative hash keeps the top bits of the product. */
  private shift: number;
  private key: Float64Array;
  private value: Int32Array;
  /** Next entry in the same chain, or, for a free entry, the next free one. */
  private link: Int32Array;
  private freeHead: number;
  private highWater: number;
  /**
   * The largest id ever added. Ids are issued in increasing order, so a new order's duplicate check is
   * usually answered by this one comparison, without touching the table at all.
   */
  private maxKey: number;
  size: number;

  constructor(initialCapacity: number) {
    let buckets = 16;
    while (buckets < initialCapacity) buckets *= 2;
    this.heads = new Int32Array(buckets).fill(-1);
    this.shift = shiftFor(buckets);
    this.key = new Float64Array(buckets);
    this.value = new Int32Array(buckets);
    this.link = new Int32Array(buckets);
    this.freeHead = -1;
    this.highWater = 0;
    this.maxKey = 0;
    this.size = 0;
  }

  /** The slot of `id`, or -1. */
  get(id: number): number {
    if (id > this.maxKey) return -1;
    const key = this.key;
    const link = this.link;
    let e = this.heads[bucketOf(id, this.shift)]!;
    while (e !== -1) {
      if (key[e] === id) return this.value[e]!;
      e = link[e]!;
    }
    return -1;
  }

  /** Adds `id` (which must not be present). */
  set(id: number, slot: number): void {
    if (this.size >= this.heads.length) this.grow();
    let e = this.freeHead;
    if (e !== -1) this.freeHead = this.link[e]!;
    else {
      if (this.highWater === this.key.length) this.growEntries();
      e = this.highWater++;
    }
    this.key[e] = id;
    this.value[e] = slot;
    const b = bucketOf(id, this.shift);
    this.link[e] = this.heads[b]!;
    this.heads[b] = e;
    if (id > this.maxKey) this.maxKey = id;
    this.size++;
  }

  delete(id: number): void {
    const key = this.key;
    const link = this.link;
    const b = bucketOf(id, this.shift);
    let e = this.heads[b]!;
    if (e === -1) return;
    if (key[e] === id) {
      this.heads[b] = link[e]!;
    } else {
      let prev = e;
      for (;;) {
        e = link[prev]!;
        if (e === -1) return;
        if (key[e] === id) break;
        prev = e;
      }
      link[prev] = link[e]!;
    }
    link[e] = this.freeHead;
    this.freeHead = e;
    this.size--;
  }

  clear(): void {
    this.heads.fill(-1);
    this.freeHead = -1;
    this.highWater = 0;
    this.maxKey = 0;
    this.size = 0;
  }

  /** Visits every (id, slot) pair; for audits. */
  forEach(visit: (id: number, slot: number) => void): void {
    const heads = this.heads;
    for (let b = 0; b < heads.length; b++) {
      for (let e = heads[b]!; e !== -1; e = this.link[e]!) visit(this.key[e]!, this.value[e]!);
    }
  }

  /** Doubles the buckets (the load stays at most one entry per bucket) and re-chains every entry. */
  private grow(): void {
    const old = this.heads;
    const buckets = old.length * 2;
    const heads = new Int32Array(buckets).fill(-1);
    const shift = shiftFor(buckets);
    const key = this.key;
    const link = this.link;
    for (let b = 0; b < old.length; b++) {
      for (let e = old[b]!; e !== -1; ) {
        const next = link[e]!;
        const nb = bucketOf(key[e]!, shift);
        link[e] = heads[nb]!;
        heads[nb] = e;
        e = next;
      }
    }
    this.heads = heads;
    this.shift = shift;
  }

  private growEntries(): void {
    const cap = this.key.length * 2;
    const key = new Float64Array(cap);
    key.set(this.key);
    this.key = key;
    const value = new Int32Array(cap);
    value.set(this.value);
    this.value = value;
    const link = new Int32Array(cap);
    link.set(this.link);
    this.link = link;
  }
}

/** The `shift` bucketOf() takes for a power-of-two bucket count (at least 16). */
export function shiftFor(buckets: number): number {
  return 32 - (31 - Math.clz32(buckets >>> 3));
}

/**
 * Ids arrive mostly in sequence (the pair layer numbers them), so a run of 8 consecutive ids shares one
 * block of 8 adjacent buckets: adding a new order (and cancelling or filling a recent one) finds its
 * bucket in a cache line its predecessors already touched, instead of missing on a random line, which on
 * a deep book is the largest single cost. Blocks are placed by Fibonacci hashing (the top bits of the
 * product with 2^32/φ), of both 32-bit halves for ids above 2^31, so runs of ids scatter over the table.
 */
export function bucketOf(id: number, shift: number): number {
  let block: number;
  if (id <= 0x7fffffff) {
    block = id >>> 3;
  } else {
    const b = Math.floor(id / 8);
    block = (b >>> 0) ^ Math.imul((b / 4294967296) >>> 0, 0x85ebca6b);
  }
  // shift <= 31 always (at least 16 buckets), so the top bits really are taken.
  return ((Math.imul(block, 0x9e3779b1) >>> shift) << 3) | (id & 7);
}
