/**
 * Which price levels one side of the book has, in priority order, and which is best. It maps prices to
 * level numbers (from LevelPool) and never touches orders or emits events.
 *
 * Prices become keys where a smaller key is a better price (asks: key = price; bids: key = maxPrice - price),
 * so one min-ordered structure serves both sides. It adapts to the book's shape in two tiers:
 * - a window: a directly indexed array of `windowSize` keys starting at `base`, with a two-level bitmap
 *   (one bit per key, one summary bit per 32-key word) so the next non-empty level is a couple of
 *   count-trailing-zeros away. Nearly all activity happens here, near the touch, in O(1).
 * - the far tier: levels whose key is beyond the window, in a Map (key → level) for lookups plus a binary
 *   min-heap of keys with lazy deletion for "which far level comes next". Deep books cost O(log n) per
 *   new far level instead of the O(n) array shifting a sorted array would pay.
 *
 * Invariant: window keys lie in [base, base + windowSize) and every far key is >= base + windowSize; so
 * when the side is non-empty, its best level is in the window. When a better price arrives below `base`,
 * or the window empties while far levels remain, the window is re-centred around the new touch.
 */

/**
 * Default window: the whole price range when it is small, else 64 Ki keys (256 KiB of slots plus 8 KiB
 * of bitmap per side). Wider means fewer far levels and re-centres but more memory per side.
 */
export function defaultWindowSize(maxPrice: number): number {
  let w = 1 << 10;
  while (w < 1 << 16 && w <= maxPrice) w *= 2;
  return w;
}

export class PriceIndex {
  /** Level number of the best level, or NIL when the side is empty. Read directly on the hot path. */
  best: number;
  /** Window slot of the best level, or -1. */
  private bestSlot: number;
  private base: number;
  private windowCount: number;
  private readonly windowSize: number;
  /** How far below the touch a re-centred window starts, so price improvements land in the window. */
  private readonly lead: number;
  private readonly slots: Int32Array;
  private readonly bits: Int32Array;
  private readonly summary: Int32Array;
  private readonly far: Map<number, number>;
  /** The far keys in order, built on demand and dropped whenever the far tier changes. */
  private farSorted: Int32Array | undefined;
  /** Min-heap of far keys. May hold stale keys (deleted, or since moved into the window): `far` is the truth. */
  private heap: Int32Array;
  private heapSize: number;
  /** key = keyOffset + keySign * price */
  private readonly keyOffset: number;
  private readonly keySign: number;

  /** `windowSize` must be a power of two >= 32. */
  constructor(isBid: boolean, maxPrice: number, windowSize: number) {
    const w = windowSize;
    if (!(w >= 32 && (w & (w - 1)) === 0)) throw new RangeError(`windowSize ${w} must be a power of two >= 32`);
    this.windowSize = w;
    this.lead = w >>> 2;
    this.slots = new Int32Array(w).fill(-1);
    this.bits = new Int32Array(w >>> 5);
    this.summary = new Int32Array(Math.max(1, w >>> 10));
    this.far = new Map();
    this.farSorted = undefined;
    this.heap = new Int32Array(64);
    this.heapSize = 0;
    this.keyOffset = isBid ? maxPrice : 0;
    this.keySign = isBid ? -1 : 1;
    this.best = -1;
    this.bestSlot = -1;
    this.base = 0;
    this.windowCount = 0;
  }

  /** Times the window moved (a better price below it, or the window emptied with far levels left). */
  recentres = 0;

  /** Levels held in the directly indexed window / in the far tier (tests and diagnostics). */
  get windowLevels(): number {
    return this.windowCount;
  }

  get farLevels(): number {
    return this.far.size;
  }

  /** Number of levels on this side. */
  get levelCount(): number {
    return this.windowCount + this.far.size;
  }

  /** The level at `price`, or NIL. */
  levelAt(price: number): number {
    const slot = this.keyOffset + this.keySign * price - this.base;
    if (slot >= 0 && slot < this.windowSize) return this.slots[slot]!;
    if (this.far.size === 0) return -1;
    return this.far.get(this.keyOffset + this.keySign * price) ?? -1;
  }

  /** Registers a new level at `price` (which must not have one). */
  insert(price: number, level: number): void {
    const key = this.keyOffset + this.keySign * price;
    if (this.windowCount === 0) {
      // Empty side: centre the window on this first level.
      this.base = key > this.lead ? key - this.lead : 0;
    } else if (key < this.base) {
      this.recentre(key > this.lead ? key - this.lead : 0);
    }
    const slot = key - this.base;
    if (slot < this.windowSize) this.setSlot(slot, level);
    else this.farInsert(key, level);
  }

  /** Forgets the level at `price` (which must exist). */
  remove(price: number): void {
    const key = this.keyOffset + this.keySign * price;
    const slot = key - this.base;
    if (slot < 0 || slot >= this.windowSize) {
      this.far.delete(key);
      this.farSorted = undefined;
      // Lazy heap deletion leaves stale keys; rebuild before they dominate.
      if (this.heapSize > 2 * this.far.size + 1024) this.rebuildHeap();
      return;
    }
    this.slots[slot] = -1;
    const w = slot >>> 5;
    const word = this.bits[w]! & ~(1 << (slot & 31));
    this.bits[w] = word;
    if (word === 0) this.summary[w >>> 5]! &= ~(1 << (w & 31));
    this.windowCount--;
    if (slot === this.bestSlot) {
      const n = this.windowCount === 0 ? -1 : this.nextSlot(slot + 1);
      if (n >= 0) {
        this.bestSlot = n;
        this.best = this.slots[n]!;
      } else {
        this.bestSlot = -1;
        this.best = -1;
        if (this.far.size > 0) this.recentreOnFar();
      }
    }
  }

  /**
   * The level after the one at `price` in priority order, or NIL. O(1) inside the window; past it, a
   * binary search of the far keys, sorted once per change of the far tier (only depth() and FOK
   * pre-checks reaching beyond the window go there).
   */
  levelAfter(price: number): number {
    const key = this.keyOffset + this.keySign * price;
    const slot = key - this.base;
    if (slot < this.windowSize) {
      const n = this.nextSlot(slot + 1);
      if (n >= 0) return this.slots[n]!;
    }
    if (this.far.size === 0) return -1;
    const sorted = this.sortedFarKeys();
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! <= key) lo = mid + 1;
      else hi = mid;
    }
    return lo < sorted.length ? this.far.get(sorted[lo]!)! : -1;
  }

  /** Every level in priority order. Allocates: for depth, iteration and audits, not matching. */
  levelsInOrder(): number[] {
    const out: number[] = [];
    for (let s = this.nextSlot(0); s >= 0; s = this.nextSlot(s + 1)) out.push(this.slots[s]!);
    if (this.far.size > 0) for (const k of this.sortedFarKeys()) out.push(this.far.get(k)!);
    return out;
  }

  clear(): void {
    for (let s = this.nextSlot(0); s >= 0; s = this.nextSlot(s + 1)) this.slots[s] = -1;
    this.bits.fill(0);
    this.summary.fill(0);
    this.far.clear();
    this.farSorted = undefined;
    this.heapSize = 0;
    this.best = -1;
    this.bestSlot = -1;
    this.windowCount = 0;
    this.base = 0;
  }

  /** Internal consistency, given each level's price; returns a description of the first problem found. */
  audit(priceOf: (level: number) => number): string | undefined {
    let count = 0;
    let first = -1;
    for (let s = 0; s < this.windowSize; s++) {
      const l = this.slots[s]!;
      const bit = (this.bits[s >>> 5]! >>> (s & 31)) & 1;
      if ((l !== -1) !== (bit === 1)) return `window slot ${s}: level ${l} but bit ${bit}`;
      if (l === -1) continue;
      count++;
      if (first < 0) first = s;
      if (this.keyOffset + this.keySign * priceOf(l) !== this.base + s) return `level ${l} at price ${priceOf(l)} sits in slot ${s}`;
    }
    for (let w = 0; w < this.bits.length; w++) {
      const sum = (this.summary[w >>> 5]! >>> (w & 31)) & 1;
      if ((this.bits[w] !== 0) !== (sum === 1)) return `summary bit for word ${w} is ${sum}`;
    }
    if (count !== this.windowCount) return `window holds ${count} levels, count says ${this.windowCount}`;
    if (first !== this.bestSlot) return `best slot cached as ${this.bestSlot}, first occupied is ${first}`;
    if (this.best !== (first < 0 ? -1 : this.slots[first])) return `best level cached as ${this.best}`;
    if (this.windowCount === 0 && this.far.size > 0) return 'window empty while far levels remain';
    const heapKeys = new Set(this.heap.subarray(0, this.heapSize));
    for (const [k, l] of this.far) {
      if (k < this.base + this.windowSize) return `far key ${k} belongs in the window [${this.base}, ${this.base + this.windowSize})`;
      if (this.keyOffset + this.keySign * priceOf(l) !== k) return `far level ${l} at price ${priceOf(l)} filed under key ${k}`;
      if (!heapKeys.has(k)) return `far key ${k} missing from the heap`;
    }
    for (let i = 1; i < this.heapSize; i++) {
      if (this.heap[(i - 1) >> 1]! > this.heap[i]!) return `heap order broken at ${i}`;
    }
    return undefined;
  }

  private sortedFarKeys(): Int32Array {
    if (this.farSorted === undefined) this.farSorted = Int32Array.from(this.far.keys()).sort();
    return this.farSorted;
  }

  private setSlot(slot: number, level: number): void {
    this.slots[slot] = level;
    const w = slot >>> 5;
    this.bits[w]! |= 1 << (slot & 31);
    this.summary[w >>> 5]! |= 1 << (w & 31);
    this.windowCount++;
    if (this.bestSlot < 0 || slot < this.bestSlot) {
      this.bestSlot = slot;
      this.best = level;
    }
  }

  /** The first occupied slot >= from, or -1. */
  private nextSlot(from: number): number {
    if (from >= this.windowSize) return -1;
    const bits = this.bits;
    let w = from >>> 5;
    const word = bits[w]! & (-1 << (from & 31));
    if (word !== 0) return (w << 5) + ctz(word);
    w++;
    const summary = this.summary;
    let s = w >>> 5;
    if (s >= summary.length) return -1;
    let sw = summary[s]! & (-1 << (w & 31));
    for (;;) {
      if (sw !== 0) {
        const wi = (s << 5) + ctz(sw);
        return (wi << 5) + ctz(bits[wi]!);
      }
      if (++s >= summary.length) return -1;
      sw = summary[s]!;
    }
  }

  /** Moves the window to start at `newBase`: levels that fall out go far, far levels that fall in come in. */
  private recentre(newBase: number): void {
    this.recentres++;
    const moved: number[] = [];
    for (let s = this.nextSlot(0); s >= 0; s = this.nextSlot(s + 1)) {
      moved.push(this.base + s, this.slots[s]!);
      this.slots[s] = -1;
    }
    this.bits.fill(0);
    this.summary.fill(0);
    this.windowCount = 0;
    this.bestSlot = -1;
    this.best = -1;
    this.base = newBase;
    for (let i = 0; i < moved.length; i += 2) {
      const slot = moved[i]! - newBase;
      if (slot >= 0 && slot < this.windowSize) this.setSlot(slot, moved[i + 1]!);
      else this.farInsert(moved[i]!, moved[i + 1]!);
    }
    this.pullFromFar();
  }

  /** The window ran empty with far levels left: centre it on the best far level. */
  private recentreOnFar(): void {
    // Drop stale heap tops until a live key surfaces.
    while (!this.far.has(this.heap[0]!)) this.heapPop();
    this.recentres++;
    const key = this.heap[0]!;
    this.base = key > this.lead ? key - this.lead : 0;
    this.pullFromFar();
  }

  private pullFromFar(): void {
    const end = this.base + this.windowSize;
    while (this.heapSize > 0 && this.heap[0]! < end) {
      const key = this.heapPop();
      const level = this.far.get(key);
      if (level === undefined) continue; // stale
      this.far.delete(key);
      this.farSorted = undefined;
      this.setSlot(key - this.base, level);
    }
  }

  private farInsert(key: number, level: number): void {
    this.far.set(key, level);
    this.farSorted = undefined;
    this.heapPush(key);
  }

  private heapPush(key: number): void {
    if (this.heapSize === this.heap.length) {
      const h = new Int32Array(this.heap.length * 2);
      h.set(this.heap);
      this.heap = h;
    }
    const heap = this.heap;
    let i = this.heapSize++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p]! <= key) break;
      heap[i] = heap[p]!;
      i = p;
    }
    heap[i] = key;
  }

  private heapPop(): number {
    const heap = this.heap;
    const top = heap[0]!;
    const n = --this.heapSize;
    if (n > 0) {
      const key = heap[n]!;
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap[c + 1]! < heap[c]!) c++;
        if (heap[c]! >= key) break;
        heap[i] = heap[c]!;
        i = c;
      }
      heap[i] = key;
    }
    return top;
  }

  private rebuildHeap(): void {
    this.heapSize = 0;
    for (const k of this.far.keys()) this.heapPush(k);
  }
}

/** Count of trailing zero bits of a non-zero 32-bit word. */
function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}
