/**
 * An implementation-agnostic digest of a book's resting state: both sides in priority order, every
 * field that decides future matching. Two books with equal hashes behave identically from here on.
 */
import type { OrderBook, RestingOrder } from './order-book.ts';
import { Side } from './types.ts';

/** 64-bit FNV-1a over 32-bit words, kept as two 32-bit halves so it stays in integer arithmetic. */
class Fnv64 {
  private hi = 0xcbf29ce4;
  private lo = 0x84222325;

  add(value: number): void {
    // Feed the number as two 32-bit words (values are safe integers, so this is exact).
    this.word(value >>> 0);
    this.word(Math.floor(value / 4294967296) >>> 0);
  }

  private word(w: number): void {
    for (let i = 0; i < 4; i++) {
      this.lo ^= (w >>> (i * 8)) & 0xff;
      // multiply (hi,lo) by the FNV prime 0x100000001b3 = 2^40 + 0x1b3
      const lo = this.lo;
      const hi = this.hi;
      const loMul = lo * 0x1b3;
      const newLo = loMul >>> 0;
      const carry = Math.floor(loMul / 4294967296);
      const newHi = (Math.imul(hi, 0x1b3) + carry + ((lo << 8) >>> 0)) >>> 0;
      this.lo = newLo;
      this.hi = newHi;
    }
  }

  digest(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }
}

export function hashBookState(book: OrderBook): string {
  const h = new Fnv64();
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
