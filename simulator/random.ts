/**
 * A small seeded PRNG for the simulator, workloads and property tests: xoshiro128** (Blackman & Vigna),
 * seeded through splitmix32 so that nearby seeds (1, 2, 3...) give unrelated streams.
 *
 * Only 32-bit integer operations (Math.imul, shifts, `>>> 0`), so the same seed gives the same sequence
 * on every platform and Node version. Nothing here reads a clock or Math.random.
 */
export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed)) throw new Error(`Random: seed must be a safe integer, got ${seed}`);
    // splitmix32 over the low and high 32 bits of the seed; the state must not be all zeros, and
    // splitmix32 cannot output four zeros in a row, so it never is.
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) >>> 0, 0x9e3779b9);
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** A generator with an exact xoshiro128** state (not all zero), for checking against the reference vectors. */
  static fromState(s0: number, s1: number, s2: number, s3: number): Random {
    if ((s0 | s1 | s2 | s3) === 0) throw new Error('Random.fromState: the state must not be all zeros');
    const r = new Random(0);
    r.s0 = s0 | 0;
    r.s1 = s1 | 0;
    r.s2 = s2 | 0;
    r.s3 = s3 | 0;
    return r;
  }

  /** A uniform unsigned 32-bit integer. */
  nextUint32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const s2 = this.s2;
    const s3 = this.s3;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    this.s1 = s1 ^ n2;
    this.s0 = s0 ^ n3;
    this.s2 = n2 ^ t;
    this.s3 = rotl(n3, 11);
    return r;
  }

  /** A uniform integer in [0, maxExclusive); maxExclusive must be in [1, 2^32]. Unbiased (rejection sampling). */
  nextInt(maxExclusive: number): number {
    // Integer arithmetic only: with m and r both uint32, `%` compiles to a machine remainder instead of a
    // floating-point fmod call (the simulator draws several numbers per command). Same values as
    // `limit = 2^32 - 2^32 % m; r < limit ? r % m : retry`, since 2^32 % m = (2^32 - m) % m.
    const m = maxExclusive >>> 0;
    if (m !== maxExclusive || m === 0) {
      if (maxExclusive === 2 ** 32) return this.nextUint32();
      throw new Error(`Random.nextInt: maxExclusive must be an integer in [1, 2^32], got ${maxExclusive}`);
    }
    // Reject the top partial bucket (the last 2^32 % m values) so every residue is equally likely.
    const threshold = 0xffffffff - (((0 - m) >>> 0) % m);
    let r = this.nextUint32();
    while (r > threshold) r = this.nextUint32();
    return r % m;
  }

  /** A uniform integer in [min, max] (both inclusive). */
  intBetween(min: number, max: number): number {
    return min + this.nextInt(max - min + 1);
  }

  /** A float in [0, 1) with 32 random bits; exact (no rounding) since 2^32 fits a double's mantissa. */
  nextFloat(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** True with probability `numerator / denominator`, decided on integers only. */
  chance(numerator: number, denominator: number): boolean {
    return this.nextInt(denominator) < numerator;
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Random.pick: empty array');
    return items[this.nextInt(items.length)]!;
  }

  /** An independent generator derived from this one, e.g. one per agent, so adding an agent does not shift the others. */
  fork(): Random {
    return new Random(this.nextUint32() * 2 ** 21 + (this.nextUint32() >>> 11));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
