/**
 * The client order ids a pair's registry has forgotten (closed orders evicted beyond its retention), as a
 * Bloom filter over (account, client order id): it answers "certainly never forgotten here" or "may have
 * been". Only a "may" sends a new order's client order id to the orders table (the client-order archive)
 * before the order is applied; without the filter every new id of an account that ever had an order
 * evicted cost that query — a PostgreSQL round trip on the ack path, for every order of a busy account.
 *
 * Exact where it matters: no false negatives (every forgotten id answers "may"), so idempotency never
 * depends on it; a false positive costs one query that finds nothing. Bounded: a fixed bit array (1 MiB by
 * default, allocated at the first eviction), so the false-positive rate rises as forgotten ids accumulate
 * (1 % at about 875,000 with the defaults, 10 % at about 1.8 million) and at saturation the pair behaves as
 * it did before the filter: one query per new id. Pure: no clock, no I/O, no randomness; the hashes are
 * MurmurHash3's steps (core/murmur3.ts).
 */
import { murmurFinal, murmurMix } from '../core/murmur3.ts';
import type { AccountId } from '../core/types.ts';
import type { ForgottenClientOrdersSnapshot } from '../ports/journal.ts';

export const DEFAULT_FORGOTTEN_FILTER_BITS = 2 ** 23;
const HASHES = 7;
const MIN_BITS = 2 ** 6;
const MAX_BITS = 2 ** 31;

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

export class ForgottenClientOrders {
  private data: Uint8Array | null = null;
  private count = 0;
  private readonly mask: number;
  /** The two base hashes of the last id looked at (double hashing: position i is h1 + i·h2). */
  private h1 = 0;
  private h2 = 0;

  constructor(readonly bits: number = DEFAULT_FORGOTTEN_FILTER_BITS) {
    if (!isPowerOfTwo(bits) || bits < MIN_BITS || bits > MAX_BITS) throw new RangeError(`forgotten client order filter bits must be a power of two in ${MIN_BITS}..${MAX_BITS}, got ${bits}`);
    this.mask = bits - 1;
  }

  /** Ids added so far. */
  get added(): number {
    return this.count;
  }

  /** Records that `account`'s order with `clientOrderId` (not '') was forgotten. O(length of the id), no allocation after the first. */
  add(account: AccountId, clientOrderId: string): void {
    const data = (this.data ??= new Uint8Array(this.bits >>> 3));
    this.hash(account, clientOrderId);
    for (let i = 0; i < HASHES; i++) {
      const bit = (this.h1 + Math.imul(i, this.h2)) & this.mask;
      data[bit >>> 3]! |= 1 << (bit & 7);
    }
    this.count++;
  }

  /** False: no order of `account` with this client order id was ever forgotten here. True: one may have been. */
  mayHold(account: AccountId, clientOrderId: string): boolean {
    const data = this.data;
    if (data === null) return false;
    this.hash(account, clientOrderId);
    for (let i = 0; i < HASHES; i++) {
      const bit = (this.h1 + Math.imul(i, this.h2)) & this.mask;
      if ((data[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    }
    return true;
  }

  /** The filter as a snapshot keeps it (a copy: later additions do not change it). */
  state(): ForgottenClientOrdersSnapshot {
    const data = this.data;
    return { bits: this.bits, hashes: HASHES, added: this.count, data: data === null ? '' : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') };
  }

  /**
   * The filter a snapshot kept, or undefined when `state` is not one this version reads (another size of
   * its data, other hash count): the caller then treats every id as possibly forgotten, which is exact.
   */
  static fromState(state: unknown): ForgottenClientOrders | undefined {
    if (state === null || typeof state !== 'object') return undefined;
    const s = state as Record<string, unknown>;
    const { bits, hashes, added, data } = s;
    if (typeof bits !== 'number' || !isPowerOfTwo(bits) || bits < MIN_BITS || bits > MAX_BITS) return undefined;
    if (hashes !== HASHES || typeof added !== 'number' || !Number.isSafeInteger(added) || added < 0 || typeof data !== 'string') return undefined;
    const filter = new ForgottenClientOrders(bits);
    if (data === '') return added === 0 ? filter : undefined;
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length !== bits >>> 3) return undefined;
    filter.data = new Uint8Array(bytes);
    filter.count = added;
    return filter;
  }

  /** Two independent 32-bit hashes of (account, id), over its UTF-16 code units two at a time. */
  private hash(account: AccountId, id: string): void {
    let a = murmurMix(0x9747b28c, account | 0);
    a = murmurMix(a, Math.floor(account / 0x100000000) | 0);
    let b = murmurMix(0x2f1b7a3d, account | 0);
    b = murmurMix(b, Math.floor(account / 0x100000000) | 0);
    const n = id.length;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const w = id.charCodeAt(i) | (id.charCodeAt(i + 1) << 16);
      a = murmurMix(a, w);
      b = murmurMix(b, w ^ 0x5bd1e995);
    }
    if (i < n) {
      const w = id.charCodeAt(i);
      a = murmurMix(a, w);
      b = murmurMix(b, w ^ 0x5bd1e995);
    }
    this.h1 = murmurFinal(a ^ n);
    // Odd, so the seven positions are distinct modulo a power of two.
    this.h2 = murmurFinal(b ^ n) | 1;
  }
}
