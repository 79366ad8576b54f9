/**
 * Order id → pool slot, an open-addressing hash table with linear probing over typed arrays.
 * Holds only the mapping; the pool owns the orders.
 *
 * Why not Map<number, number>: ids above 2^30 become heap numbers in a Map (an allocation per order),
 * and a Map entry costs ~30-60 bytes; here a bucket is 12 bytes, the table is kept at most half full
 * (so 24-48 bytes per id), and nothing is allocated per order.
 * Deletion uses backward shifting, so there are no tombstones and probe chains stay short.
 */

/** Ids are validated positive, so 0 can mark an empty bucket. */
const EMPTY = 0;

export class OrderIdIndex {
  private keys: Float64Array;
  private slots: Int32Array;
  private mask: number;
  /**
   * The largest id ever added. Ids are issued in increasing order, so a new order's duplicate check is
   * usually answered by this one comparison, without touching the table at all.
   */
  private maxKey: number;
  size: number;

  constructor(initialCapacity: number) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.keys = new Float64Array(cap);
    this.slots = new Int32Array(cap);
    this.mask = cap - 1;
    this.maxKey = 0;
    this.size = 0;
  }

  /** The slot of `id`, or -1. */
  get(id: number): number {
    if (id > this.maxKey) return -1;
    const keys = this.keys;
    const mask = this.mask;
    let i = bucketOf(id, mask);
    for (;;) {
      const k = keys[i]!;
      if (k === id) return this.slots[i]!;
      if (k === EMPTY) return -1;
      i = (i + 1) & mask;
    }
  }

  /** Adds `id` (which must not be present). */
  set(id: number, slot: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    this.insert(id, slot);
    if (id > this.maxKey) this.maxKey = id;
    this.size++;
  }

  delete(id: number): void {
    const keys = this.keys;
    const slots = this.slots;
    const mask = this.mask;
    let i = bucketOf(id, mask);
    for (;;) {
      const k = keys[i]!;
      if (k === id) break;
      if (k === EMPTY) return;
      i = (i + 1) & mask;
    }
    // Backward-shift: pull later members of the probe run into the hole unless their home bucket
    // lies cyclically in (hole, j], where moving them would put them before their home.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const k = keys[j]!;
      if (k === EMPTY) break;
      const h = bucketOf(k, mask);
      const stays = i <= j ? i < h && h <= j : i < h || h <= j;
      if (!stays) {
        keys[i] = k;
        slots[i] = slots[j]!;
        i = j;
      }
    }
    keys[i] = EMPTY;
    this.size--;
  }

  clear(): void {
    this.keys.fill(EMPTY);
    this.maxKey = 0;
    this.size = 0;
  }

  /** Visits every (id, slot) pair; for audits. */
  forEach(visit: (id: number, slot: number) => void): void {
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) visit(keys[i]!, this.slots[i]!);
  }

  private insert(id: number, slot: number): void {
    const keys = this.keys;
    const mask = this.mask;
    let i = bucketOf(id, mask);
    while (keys[i] !== EMPTY) i = (i + 1) & mask;
    keys[i] = id;
    this.slots[i] = slot;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldSlots = this.slots;
    const cap = oldKeys.length * 2;
    this.keys = new Float64Array(cap);
    this.slots = new Int32Array(cap);
    this.mask = cap - 1;
    for (let i = 0; i < oldKeys.length; i++) if (oldKeys[i] !== EMPTY) this.insert(oldKeys[i]!, oldSlots[i]!);
  }
}

/**
 * Ids arrive mostly in sequence (the pair layer numbers them), so a run of 8 consecutive ids shares one
 * home block of 8 buckets: one cache line of keys. Adding a new order (and cancelling a recent one) then
 * finds its bucket already cached, because its predecessors touched it, instead of missing on a random
 * line; on a deep book that miss was the largest single cost. Blocks themselves are placed by Fibonacci
 * hashing of both 32-bit halves, so long-lived runs of ids scatter over the table instead of forming one
 * long probe run.
 */
function bucketOf(id: number, mask: number): number {
  const block = id / 8;
  const lo = block >>> 0;
  const hi = id > 0xffffffff ? (block / 4294967296) >>> 0 : 0;
  const h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1);
  return (((h ^ (h >>> 15)) << 3) + (id & 7)) & mask;
}
