/**
 * A fixed log-linear histogram of latencies in integer nanoseconds (HDR-style layout). Pure: no clock, no
 * timers; recording is O(1) and allocates nothing, so it can sit on the matching hot path.
 *
 * Layout (as in HdrHistogram with unit 1 ns): values below 2^(b+1) get one bucket per nanosecond; above
 * that, every power of two [2^e, 2^(e+1)) is split into 2^b equal buckets. A bucket is therefore never
 * wider than 1/2^b of its lower bound, and reporting its midpoint is within 1/2^(b+1) of any value in it:
 * b = 6 gives 0.78 %, i.e. about two significant digits, over 1 ns .. 60 s in 1 984 buckets.
 */

/** Histogram shape. Both fields fix the bucket layout; only histograms with the same layout merge. */
export interface LatencyHistogramOptions {
  /**
   * Largest latency told apart, in ns; larger values are counted in the top bucket (their exact value still
   * shows in `maxNs`). Raising it adds 2^b buckets per doubling.
   * @default 60_000_000_000 (60 s)
   */
  highestNs?: number;
  /**
   * log2 of the sub-buckets per power of two. Each step up halves the error and doubles the memory:
   * 5 → 1.6 % (≈ 8 KB), 6 → 0.78 % (≈ 16 KB), 7 → 0.39 % (≈ 31 KB).
   * @default 6
   */
  subBucketBits?: number;
}

export const DEFAULT_HIGHEST_NS = 60_000_000_000;
export const DEFAULT_SUB_BUCKET_BITS = 6;
const TWO_POW_32 = 4_294_967_296;

/** floor(log2(v)) for integers 1 <= v < 2^53, exact (no floating-point log). */
function floorLog2(v: number): number {
  if (v < TWO_POW_32) return 31 - Math.clz32(v);
  return 63 - Math.clz32(Math.floor(v / TWO_POW_32));
}

export class LatencyHistogram {
  readonly highestNs: number;
  readonly subBucketBits: number;
  /** Worst-case |reported − true| / true for a percentile (for values within `highestNs`). */
  readonly relativePrecision: number;
  private readonly linearLimit: number; // 2^(b+1): below it, one bucket per ns
  private readonly halfCount: number; // 2^b: buckets per power of two above linearLimit
  private readonly counts: Float64Array; // float64 counts stay exact up to 2^53, unlike uint32
  private total = 0;
  private sumNs = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = 0;
  // Lowest and highest bucket with a count: merge, reset and percentile walks touch only this range.
  private lowIdx = Number.POSITIVE_INFINITY;
  private highIdx = -1;

  constructor(options: LatencyHistogramOptions = {}) {
    const highestNs = options.highestNs ?? DEFAULT_HIGHEST_NS;
    const bits = options.subBucketBits ?? DEFAULT_SUB_BUCKET_BITS;
    if (!Number.isSafeInteger(bits) || bits < 1 || bits > 12) throw new RangeError(`subBucketBits must be an integer in 1..12 (got ${bits})`);
    if (!Number.isSafeInteger(highestNs) || highestNs < 2 ** (bits + 1))
      throw new RangeError(`highestNs must be an integer >= ${2 ** (bits + 1)} (got ${highestNs})`);
    this.highestNs = highestNs;
    this.subBucketBits = bits;
    this.linearLimit = 2 ** (bits + 1);
    this.halfCount = 2 ** bits;
    this.relativePrecision = 1 / 2 ** (bits + 1);
    this.counts = new Float64Array(this.indexOf(highestNs) + 1);
  }

  /** Number of buckets (memory is 8 bytes each). */
  get bucketCount(): number {
    return this.counts.length;
  }

  get count(): number {
    return this.total;
  }

  /** Largest value recorded, exact (not bucketed); 0 when empty. */
  get maxNs(): number {
    return this.max;
  }

  /** Smallest value recorded, exact; 0 when empty. */
  get minNs(): number {
    return this.total === 0 ? 0 : this.min;
  }

  /** Exact arithmetic mean of the recorded values; 0 when empty. */
  get meanNs(): number {
    return this.total === 0 ? 0 : this.sumNs / this.total;
  }

  /** Sum of the recorded values in ns (exact below 2^53 ns ≈ 104 days of summed latency). */
  get totalNs(): number {
    return this.sumNs;
  }

  /**
   * Counts one latency. Fractions of a nanosecond are dropped. A negative or non-finite value is a
   * measuring bug upstream: it is ignored and the call returns false, so monitoring never breaks a command.
   */
  record(latencyNs: number): boolean {
    if (!(latencyNs >= 0) || latencyNs === Number.POSITIVE_INFINITY) return false;
    const v = Math.floor(latencyNs);
    this.recordInBucket(this.bucketOf(v), v);
    return true;
  }

  /**
   * The bucket of a whole, non-negative ns value in this layout (values beyond `highestNs` in the top
   * one): computed once, it records the same value into every histogram of the layout (recordInBucket).
   */
  bucketOf(wholeNs: number): number {
    return this.indexOf(wholeNs < this.highestNs ? wholeNs : this.highestNs);
  }

  /** `record(wholeNs)` with its bucket already known (bucketOf of a histogram with the same layout). */
  recordInBucket(bucket: number, wholeNs: number): void {
    this.counts[bucket]! += 1;
    this.total += 1;
    this.sumNs += wholeNs;
    if (wholeNs < this.min) this.min = wholeNs;
    if (wholeNs > this.max) this.max = wholeNs;
    if (bucket < this.lowIdx) this.lowIdx = bucket;
    if (bucket > this.highIdx) this.highIdx = bucket;
  }

  /** Adds every count of `other` into this one. Throws if the layouts differ (they would not line up). */
  merge(other: LatencyHistogram): void {
    if (other.highestNs !== this.highestNs || other.subBucketBits !== this.subBucketBits)
      throw new RangeError(
        `cannot merge histograms with different layouts (${other.highestNs}/${other.subBucketBits} into ${this.highestNs}/${this.subBucketBits})`,
      );
    if (other.total === 0) return;
    const src = other.counts;
    const dst = this.counts;
    for (let i = other.lowIdx; i <= other.highIdx; i++) dst[i]! += src[i]!;
    this.total += other.total;
    this.sumNs += other.sumNs;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    if (other.lowIdx < this.lowIdx) this.lowIdx = other.lowIdx;
    if (other.highIdx > this.highIdx) this.highIdx = other.highIdx;
  }

  /** Empties the histogram, keeping its buffer (reuse, not reallocation). */
  reset(): void {
    if (this.highIdx >= 0) this.counts.fill(0, this.lowIdx, this.highIdx + 1);
    this.total = 0;
    this.sumNs = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = 0;
    this.lowIdx = Number.POSITIVE_INFINITY;
    this.highIdx = -1;
  }

  /**
   * The nearest-rank p-th percentile (0 < p <= 100) in ns: the midpoint of the bucket holding the
   * ceil(p/100 · count)-th smallest value, clamped to the exact min and max. 0 when empty.
   */
  percentileNs(p: number): number {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100 (got ${p})`);
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = this.lowIdx; i <= this.highIdx; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const lower = this.lowerBoundOf(i);
        // Values are whole ns, so a bucket [lower, lower + width) holds lower .. lower + width − 1.
        const mid = lower + (this.widthOf(i) - 1) / 2;
        return Math.min(this.max, Math.max(this.min, mid));
      }
    }
    return this.max; // unreachable while counts and total agree
  }

  /** `percentileNs(p)` in milliseconds. */
  percentileMs(p: number): number {
    return this.percentileNs(p) / 1e6;
  }

  /** Bucket index of a whole-ns value 0 <= v <= highestNs. */
  private indexOf(v: number): number {
    if (v < this.linearLimit) return v;
    if (v < TWO_POW_32) {
      // The common case (under 4.3 s) in 32-bit integer arithmetic: a power and a float division per
      // sample were most of a record's cost.
      const shift = 31 - Math.clz32(v) - this.subBucketBits; // >= 1 above the linear range
      return this.linearLimit + (shift - 1) * this.halfCount + ((v >>> shift) - this.halfCount);
    }
    const shift = floorLog2(v) - this.subBucketBits;
    const sub = Math.floor(v / 2 ** shift); // in [halfCount, 2·halfCount)
    return this.linearLimit + (shift - 1) * this.halfCount + (sub - this.halfCount);
  }

  private lowerBoundOf(idx: number): number {
    if (idx < this.linearLimit) return idx;
    const k = idx - this.linearLimit;
    const shift = Math.floor(k / this.halfCount) + 1;
    return ((k % this.halfCount) + this.halfCount) * 2 ** shift;
  }

  private widthOf(idx: number): number {
    if (idx < this.linearLimit) return 1;
    return 2 ** (Math.floor((idx - this.linearLimit) / this.halfCount) + 1);
  }
}
