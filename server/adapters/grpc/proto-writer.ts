/**
 * A protobuf (proto3) writer for the hot response messages: fields written straight from numbers and
 * strings into one growable buffer, nested messages length-prefixed in place, defaults (0, '', false)
 * skipped as proto3 encoders do — so the bytes equal the generated encoder's (order-wire.test.ts checks
 * it field by field). No message objects, no uint64 strings parsed back, no BinaryWriter chunk list: the
 * generated code stays the decoder and the encoder of everything that is not hot.
 *
 * One writer is reused for message after message (`reset`, then `take` copies the bytes out); it is not
 * re-entrant, so a caller finishes one message before it starts the next.
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/** The largest nested message whose length fits the one byte reserved for it. */
const ONE_BYTE = 0x7f;

export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  reset(): this {
    this.pos = 0;
    return this;
  }

  /** A copy of what was written since `reset` (the writer's buffer is reused). */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    copyInto(out, 0, this.buf, 0, this.pos);
    return out;
  }

  /** A non-negative integer below 2^53 as a varint field (0 is not written). */
  uint(field: number, value: number): void {
    if (value === 0) return;
    this.ensure(16);
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  /** An int32/int64/enum field: a negative value takes ten bytes, as proto3 requires. */
  int(field: number, value: number): void {
    if (value === 0) return;
    if (value > 0) return this.uint(field, value);
    this.ensure(15);
    this.tag(field, WIRE_VARINT);
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  bool(field: number, value: boolean): void {
    if (!value) return;
    this.ensure(6);
    this.tag(field, WIRE_VARINT);
    this.buf[this.pos++] = 1;
  }

  /** A string field ('' is not written). ASCII is copied char by char; anything else goes through UTF-8. */
  string(field: number, value: string): void {
    const n = value.length;
    if (n === 0) return;
    this.ensure(n + 10);
    this.tag(field, WIRE_LEN);
    const buf = this.buf;
    const lengthAt = this.pos;
    if (n <= ONE_BYTE) {
      let p = lengthAt + 1;
      for (let i = 0; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c > 0x7f) return this.utf8(value, lengthAt);
        buf[p++] = c;
      }
      buf[lengthAt] = n;
      this.pos = p;
      return;
    }
    this.utf8(value, lengthAt);
  }

  /**
   * A decimal string field written straight from its units: `units` (a non-negative safe integer) with
   * `scale` fraction digits, always all of them ("0.50" for 50 at scale 2) — the text formatUnits
   * (core/decimal.ts) gives, without making the string. Never empty, so always written. `scale` is at
   * most 18 (parseDecimal), so the text is at most 20 characters.
   */
  decimal(field: number, units: number, scale: number): void {
    this.ensure(40);
    this.tag(field, WIRE_LEN);
    const buf = this.buf;
    const lengthAt = this.pos;
    // Digits of `units`, at least scale + 1 of them (zero-padded), then the point inserted `scale` from the end.
    let digits = 1;
    for (let v = units; v >= 10; v = Math.floor(v / 10)) digits++;
    if (digits < scale + 1) digits = scale + 1;
    const length = scale === 0 ? digits : digits + 1;
    let p = lengthAt + length; // one past the last character
    let v = units;
    for (let i = 0; i < scale; i++) {
      const q = Math.floor(v / 10);
      buf[p--] = 0x30 + (v - q * 10);
      v = q;
    }
    if (scale > 0) buf[p--] = 0x2e;
    for (let i = scale; i < digits; i++) {
      const q = Math.floor(v / 10);
      buf[p--] = 0x30 + (v - q * 10);
      v = q;
    }
    buf[lengthAt] = length;
    this.pos = lengthAt + 1 + length;
  }

  /** Bytes written as they are (a field already encoded whole: tag, length and payload). */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = bytes[i]!;
    this.pos = p;
  }

  /** Bytes already encoded (a nested message, or a field's payload) as a length-delimited field. */
  bytes(field: number, value: Uint8Array): void {
    this.ensure(value.length + 13);
    this.tag(field, WIRE_LEN);
    this.varint(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** `src[start, end)` as a length-delimited field (a field's payload copied out of another message). */
  bytesOf(field: number, src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n + 13);
    this.tag(field, WIRE_LEN);
    this.varint(n);
    this.pos = copyInto(this.buf, this.pos, src, start, end);
  }

  /**
   * Copies every length-delimited top-level field of `src` (a message this service encoded), each
   * renumbered to `field + shift`. Throws RangeError as findField does.
   */
  fieldsOf(src: Uint8Array, shift: number): void {
    for (let p = 0; p < src.length; p = fieldEnd) this.bytesOf(readField(src, p) + shift, src, fieldStart, fieldEnd);
  }

  /**
   * Each top-level `field` of `src` (a message this service encoded) as a message of its own in
   * `outer`, holding it under the same number: `outer { field }` per occurrence. Throws RangeError as
   * findField does.
   */
  eachAsMessage(src: Uint8Array, field: number, outer: number): void {
    for (let p = 0; p < src.length; p = fieldEnd) {
      if (readField(src, p) !== field) continue;
      const start = fieldStart;
      const at = this.begin(outer);
      this.bytesOf(field, src, start, fieldEnd);
      this.end(at);
    }
  }

  /** Starts a nested message in `field`; pass the result to `end` once its fields are written. */
  begin(field: number): number {
    this.ensure(6);
    this.tag(field, WIRE_LEN);
    return this.pos++; // one byte reserved for the length; `end` makes room when it needs more
  }

  end(lengthAt: number): void {
    const length = this.pos - lengthAt - 1;
    if (length <= ONE_BYTE) {
      this.buf[lengthAt] = length;
      return;
    }
    const extra = varintSize(length) - 1;
    this.ensure(extra);
    this.buf.copyWithin(lengthAt + 1 + extra, lengthAt + 1, this.pos);
    this.pos += extra;
    const end = this.pos;
    this.pos = lengthAt;
    this.varint(length);
    this.pos = end;
  }

  private utf8(value: string, lengthAt: number): void {
    const n = Buffer.byteLength(value, 'utf8');
    this.pos = lengthAt;
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(value, this.pos, 'utf8');
  }

  /** A field key; the caller has ensured room for it (5 bytes). */
  private tag(field: number, wireType: number): void {
    const key = (field << 3) | wireType;
    if (key < 0x80) this.buf[this.pos++] = key;
    else this.varint(key);
  }

  /** A varint of a non-negative integer below 2^53; the caller has ensured room for it (8 bytes). */
  private varint(value: number): void {
    const buf = this.buf;
    let p = this.pos;
    if (value < 0x80) {
      buf[p++] = value;
    } else if (value <= 0xffffffff) {
      let v = value >>> 0;
      while (v > 0x7f) {
        buf[p++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[p++] = v;
    } else {
      // Above 32 bits: the low 28 bits as four groups, the rest (at most 25 bits) as int arithmetic.
      const high = Math.floor(value / 0x10000000);
      let low = value - high * 0x10000000;
      for (let i = 0; i < 4; i++) {
        buf[p++] = (low & 0x7f) | 0x80;
        low >>>= 7;
      }
      let v = high;
      while (v > 0x7f) {
        buf[p++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[p++] = v;
    }
    this.pos = p;
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}

/** Below this many bytes a copy is a loop: cheaper than the subarray and native call of `set`. */
const SHORT_COPY = 512;

/** Copies `src[start, end)` to `dst` at `at`; returns where it ends in `dst`. */
function copyInto(dst: Uint8Array, at: number, src: Uint8Array, start: number, end: number): number {
  if (end - start >= SHORT_COPY) {
    dst.set(src.subarray(start, end), at);
    return at + end - start;
  }
  let p = at;
  for (let i = start; i < end; i++) dst[p++] = src[i]!;
  return p;
}

function varintSize(value: number): number {
  let n = 1;
  for (let v = value; v > 0x7f; v = Math.floor(v / 0x80)) n++;
  return n;
}

/** Where the varint `readVarint` read last ends (module state: no result object per read). */
let varintEnd = 0;

/** The varint at `src[at]`; sets `varintEnd`. Throws RangeError when truncated or longer than 2^53. */
function readVarint(src: Uint8Array, at: number): number {
  let v = 0;
  let p = at;
  for (let scale = 1; scale <= 2 ** 49; scale *= 0x80) {
    if (p >= src.length) break;
    const b = src[p++]!;
    v += (b & 0x7f) * scale;
    if (b < 0x80) {
      varintEnd = p;
      return v;
    }
  }
  throw new RangeError('truncated or oversized varint');
}

/**
 * The payload of the first length-delimited `field` at the top level of `src` as [start, end) in
 * `found`, or false when there is none. Throws RangeError on any other wire type at the top
 * level or on truncated bytes (field 0, which no message has, checks a whole message that way).
 */
export function findField(src: Uint8Array, field: number, found: [number, number]): boolean {
  for (let p = 0; p < src.length; p = fieldEnd) {
    if (readField(src, p) === field) {
      found[0] = fieldStart;
      found[1] = fieldEnd;
      return true;
    }
  }
  return false;
}

/** Where the payload of the field `readField` read last starts and ends (module state, as varintEnd). */
let fieldStart = 0;
let fieldEnd = 0;

/** The length-delimited field at `src[at]`: returns its number, sets fieldStart/fieldEnd. Throws RangeError otherwise. */
function readField(src: Uint8Array, at: number): number {
  const key = readVarint(src, at);
  if (key % 8 !== WIRE_LEN) throw new RangeError(`field ${Math.floor(key / 8)} has wire type ${key % 8}, not length-delimited`);
  const length = readVarint(src, varintEnd);
  if (varintEnd + length > src.length) throw new RangeError(`field ${Math.floor(key / 8)} runs past the end`);
  fieldStart = varintEnd;
  fieldEnd = varintEnd + length;
  return Math.floor(key / 8);
}
