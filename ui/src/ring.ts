/** A fixed-capacity ring: pushing beyond `capacity` forgets the oldest, so memory never grows. */
export class Ring<T> {
  private items: (T | undefined)[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    const i = (this.start + this.count) % this.capacity;
    this.items[i] = item;
    if (this.count < this.capacity) this.count++;
    else this.start = (this.start + 1) % this.capacity;
  }

  get size(): number {
    return this.count;
  }

  /** Oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    for (let k = 0; k < this.count; k++) out.push(this.items[(this.start + k) % this.capacity]!);
    return out;
  }

  /** Newest first, at most `n`. */
  newest(n: number): T[] {
    const out: T[] = [];
    for (let k = this.count - 1; k >= 0 && out.length < n; k--) out.push(this.items[(this.start + k) % this.capacity]!);
    return out;
  }

  clear(): void {
    this.items = new Array<T | undefined>(this.capacity);
    this.start = 0;
    this.count = 0;
  }
}
