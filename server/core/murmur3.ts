/**
 * MurmurHash3's 32-bit steps (Austin Appleby, public domain), in Math.imul arithmetic: the mixing of one
 * 32-bit word into a running hash, and the finalizer. Pure; the state hash of a book and the pairs'
 * filter of forgotten client order ids build their hashes from them.
 */

/** Mixes the 32-bit word `k` into the running hash `h` (MurmurHash3_x86_32's body step). */
export function murmurMix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3's finalizer (fmix32): every input bit reaches every output bit. */
export function murmurFinal(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
