/**
 * An implementation-agnostic digest of a book's resting state: both sides in priority order, every
 * field that decides future matching. Two books with equal hashes behave identically from here on.
 *
 * Compared only within one process (the shadow audit, a rebuilt book against the one it replaces,
 * recovery checks), never stored: the function may change between versions.
 */
import { murmurFinal, murmurMix } from './murmur3.ts';
import type { OrderBook, RestingOrder } from './order-book.ts';
import { Side } from './types.ts';

/**
 * A 64-bit digest as two 32-bit lanes of MurmurHash3's word step, one word at a time: the lanes start from
 * different seeds and the second mixes each word xor a constant, so they are two different hashes. It replaced byte-wise FNV-1a, which spent four float multiplications per byte: 0.6-0.85 µs per
 * resting order, so the audit of two 10,000-order books every 10,000 commands held the event loop 13 ms.
 */
class WordHash {
  private a = 0x9747b28c;
  private b = 0x2a4b5d1f;

  /** Feeds a non-negative safe integer as its low and high 32-bit words (exact). */
  add(value: number): void {
    this.word(value >>> 0);
    this.word((value / 4294967296) >>> 0);
  }

  private word(w: number): void {
    this.a = murmurMix(this.a, w);
    this.b = murmurMix(this.b, w ^ 0x5bd1e995);
  }

  digest(): string {
    const hex = (h: number): string => (murmurFinal(h) >>> 0).toString(16).padStart(8, '0');
    // Each lane's final mix also takes the other's state, so a difference in one spreads to both halves.
    return hex(this.a ^ Math.imul(this.b, 0x27d4eb2f)) + hex(this.b ^ Math.imul(this.a, 0x165667b1));
  }
}

export function hashBookState(book: OrderBook): string {
  const h = new WordHash();
  const visit = (o: RestingOrder) => {
    h.add(o.orderId);
    h.add(o.account);
    h.add(o.price);
    h.add(o.remaining);
    h.add(o.stp);
    h.add(o.postOnly ? 1 : 0);
  };
  h.add(Side.Buy);
  book.forEachOrder(Side.Buy, visit);
  h.add(Side.Sell);
  book.forEachOrder(Side.Sell, visit);
  return h.digest();
}
