/**
 * A journal batch as the column parameters of the writer's unnest() statements: one PostgreSQL binary
 * array per column (a Buffer, which pg sends as a binary parameter), written here in one pass instead
 * of handing pg arrays of values, which it turns into text element by element (prepareValue,
 * escapeElement: a regex replace and several strings per value) for PostgreSQL to parse back. The
 * statement's casts (`$n::bigint[]`) give each parameter its type, whose binary input reads the array.
 * Also each batch's orders reduced to their last state (ON CONFLICT may touch a row only once per
 * statement) and each pair's first sequence (the head check).
 */
import type { Command } from '../../core/commands.ts';
import { CommandKind } from '../../core/commands.ts';
import type { JournaledCommand, JournalEntry } from '../../ports/journal.ts';

/** The command's fields without the process-local account id, in a fixed shape per kind. */
export function serializeCommand(cmd: JournaledCommand | Command): Record<string, unknown> {
  switch (cmd.kind) {
    case CommandKind.NewOrder:
      return { kind: cmd.kind, orderId: cmd.orderId, side: cmd.side, type: cmd.type, tif: cmd.tif, postOnly: cmd.postOnly, price: cmd.price, quantity: cmd.quantity, stp: cmd.stp };
    case CommandKind.Cancel:
      return { kind: cmd.kind, orderId: cmd.orderId };
    case CommandKind.Replace:
      return { kind: cmd.kind, orderId: cmd.orderId, price: cmd.price, quantity: cmd.quantity };
    case CommandKind.CancelAll:
      return { kind: cmd.kind, side: cmd.side ?? null };
    default:
      throw new Error(`unknown command kind ${(cmd as { kind: unknown }).kind}`);
  }
}

/** Element type OIDs a binary array carries (PostgreSQL checks them against the cast's type). */
const OID = { bool: 16, int8: 20, int2: 21, text: 25, json: 114 } as const;
type ElementType = keyof typeof OID;

/**
 * One column as a PostgreSQL binary array (array_send's format), which pg sends as a binary parameter
 * because it is a Buffer: header (ndim, flags, element type, size, lower bound), then per element its
 * length and bytes. No text to build or for PostgreSQL to parse: integers are 8 or 2 bytes big-endian,
 * strings their UTF-8 bytes, so no character of a string needs escaping.
 */
class BinaryColumn {
  private buf: Buffer;
  private pos = 20; // the header is written by finish()
  private n = 0;
  constructor(
    private readonly type: ElementType,
    capacity: number,
  ) {
    this.buf = Buffer.allocUnsafe(20 + capacity);
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  /** Writes a 32-bit big-endian integer at `at` (byte stores: cheaper than writeInt32BE's checks). */
  private u32(at: number, v: number): void {
    const b = this.buf;
    b[at] = v >>> 24;
    b[at + 1] = v >>> 16;
    b[at + 2] = v >>> 8;
    b[at + 3] = v;
  }

  int8(v: number): void {
    if (!Number.isSafeInteger(v)) throw new Error(`journal column value ${v} is not a safe integer`);
    this.ensure(12);
    const p = this.pos;
    this.u32(p, 8);
    const hi = Math.floor(v / 4294967296);
    this.u32(p + 4, hi | 0);
    this.u32(p + 8, v - hi * 4294967296);
    this.pos = p + 12;
    this.n++;
  }

  int2(v: number): void {
    if (!Number.isInteger(v) || v < -32768 || v > 32767) throw new Error(`journal column value ${v} is not a smallint`);
    this.ensure(6);
    const p = this.pos;
    this.u32(p, 2);
    this.buf[p + 4] = v >>> 8;
    this.buf[p + 5] = v;
    this.pos = p + 6;
    this.n++;
  }

  bool(v: boolean): void {
    this.ensure(5);
    const p = this.pos;
    this.u32(p, 1);
    this.buf[p + 4] = v ? 1 : 0;
    this.pos = p + 5;
    this.n++;
  }

  /** UTF-8 bytes of `s` at `at`; returns how many. ASCII byte by byte (short strings: no call into C++). */
  private utf8(s: string, at: number): number {
    const b = this.buf;
    const len = s.length;
    if (len <= 64) {
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[at + i] = c;
      }
      if (i === len) return len;
    }
    return b.write(s, at, 'utf8');
  }

  /** A text element, or a json one: json's binary input is its text as UTF-8. */
  text(s: string): void {
    this.ensure(4 + s.length * 3);
    const p = this.pos;
    const written = this.utf8(s, p + 4);
    this.u32(p, written);
    this.pos = p + 4 + written;
    this.n++;
  }

  /** Starts an element written piece by piece (fragment, digits; at most `maxBytes` of them); returns where it starts, for endElement. */
  beginElement(maxBytes: number): number {
    this.ensure(4 + maxBytes);
    const at = this.pos;
    this.pos = at + 4;
    return at;
  }

  /** Bytes copied as they are (ASCII), into the element begun. */
  fragment(bytes: Uint8Array): this {
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < bytes.length; i++) b[p++] = bytes[i]!;
    this.pos = p;
    return this;
  }

  /** A non-negative safe integer's decimal digits, into the element begun. */
  digits(v: number): this {
    let n = 1;
    for (let x = v; x >= 10; x = Math.floor(x / 10)) n++;
    const b = this.buf;
    let p = this.pos + n - 1;
    let x = v;
    do {
      const q = Math.floor(x / 10);
      b[p--] = 0x30 + (x - q * 10);
      x = q;
    } while (x > 0);
    this.pos += n;
    return this;
  }

  /** Ends the element begun at `at`: its length is what was written since. */
  endElement(at: number): void {
    this.u32(at, this.pos - at - 4);
    this.n++;
  }

  get length(): number {
    return this.n;
  }

  clear(): void {
    this.pos = 20;
    this.n = 0;
  }

  get capacity(): number {
    return this.buf.length;
  }

  /** Writes where the column is (its bytes, then its elements) at `at`, for rollback; returns where the next mark goes. */
  mark(marks: Float64Array, at: number): number {
    marks[at] = this.pos;
    marks[at + 1] = this.n;
    return at + 2;
  }

  /** Back to the mark at `at`; returns where the next mark starts. */
  rollback(marks: Float64Array, at: number): number {
    this.pos = marks[at]!;
    this.n = marks[at + 1]!;
    return at + 2;
  }

  /**
   * Drops in place the elements whose mark in `keep` (from index `from` on) is not 1, moving the kept
   * runs down; returns the index after this column's elements.
   */
  compact(keep: Uint8Array, from: number): number {
    const b = this.buf;
    let to = 20;
    let run = 20;
    let index = from;
    let kept = 0;
    for (let at = 20; at < this.pos; index++) {
      const next = at + 4 + ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
      if (keep[index] === 1) {
        kept++;
      } else {
        // A run of kept elements moves in one copy (most are kept).
        if (run !== to) b.copy(b, to, run, at);
        to += at - run;
        run = next;
      }
      at = next;
    }
    if (run !== to) b.copy(b, to, run, this.pos);
    to += this.pos - run;
    this.pos = to;
    this.n = kept;
    return index;
  }

  /** One array of the elements of `parts` (columns of one type), in order; a single part is finished in place. */
  static concat(parts: readonly BinaryColumn[]): Buffer {
    if (parts.length === 1) return parts[0]!.finish();
    let bytes = 0;
    for (const p of parts) bytes += p.pos - 20;
    const out = new BinaryColumn(parts[0]!.type, bytes);
    for (const p of parts) {
      p.buf.copy(out.buf, out.pos, 20, p.pos);
      out.pos += p.pos - 20;
      out.n += p.n;
    }
    return out.finish();
  }

  finish(): Buffer {
    const b = this.buf;
    if (this.n === 0) {
      // An empty array: no dimensions.
      b.writeInt32BE(0, 8);
      b.writeInt32BE(0, 12);
      b.writeInt32BE(OID[this.type], 16);
      return b.subarray(8, 20);
    }
    b.writeInt32BE(1, 0); // ndim
    b.writeInt32BE(0, 4); // no NULLs
    b.writeInt32BE(OID[this.type], 8);
    b.writeInt32BE(this.n, 12);
    b.writeInt32BE(1, 16); // lower bound
    return b.subarray(0, this.pos);
  }
}

/** The ASCII bytes of a JSON fragment. */
const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const KIND = ascii('{"kind":');
const ORDER_ID = ascii(',"orderId":');
const SIDE = ascii(',"side":');
const TYPE = ascii(',"type":');
const TIF = ascii(',"tif":');
const POST_ONLY_TRUE = ascii(',"postOnly":true');
const POST_ONLY_FALSE = ascii(',"postOnly":false');
const PRICE = ascii(',"price":');
const QUANTITY = ascii(',"quantity":');
const STP = ascii(',"stp":');
const NULL = ascii('null');
const CLOSE = ascii('}');

const isUint = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * The serializeCommand() JSON of `cmd` as a json element of `col`, its bytes written straight from the
 * fields (no string built, flattened and encoded again per command); anything unusual (a field that is
 * not a non-negative safe integer where one belongs) takes JSON.stringify of serializeCommand, so the
 * stored JSON is the same either way.
 */
function writeCommandJson(col: BinaryColumn, cmd: JournaledCommand | Command): void {
  switch (cmd.kind) {
    case CommandKind.NewOrder:
      if (isUint(cmd.orderId) && isUint(cmd.side) && isUint(cmd.type) && isUint(cmd.tif) && typeof cmd.postOnly === 'boolean' && isUint(cmd.price) && isUint(cmd.quantity) && isUint(cmd.stp)) {
        const at = col.beginElement(256); // 88 bytes of fragments, 8 numbers of at most 16 digits
        col.fragment(KIND).digits(cmd.kind).fragment(ORDER_ID).digits(cmd.orderId).fragment(SIDE).digits(cmd.side).fragment(TYPE).digits(cmd.type).fragment(TIF).digits(cmd.tif);
        col.fragment(cmd.postOnly ? POST_ONLY_TRUE : POST_ONLY_FALSE).fragment(PRICE).digits(cmd.price).fragment(QUANTITY).digits(cmd.quantity).fragment(STP).digits(cmd.stp).fragment(CLOSE);
        return col.endElement(at);
      }
      break;
    case CommandKind.Cancel:
      if (isUint(cmd.orderId)) {
        const at = col.beginElement(64);
        col.fragment(KIND).digits(cmd.kind).fragment(ORDER_ID).digits(cmd.orderId).fragment(CLOSE);
        return col.endElement(at);
      }
      break;
    case CommandKind.Replace:
      if (isUint(cmd.orderId) && isUint(cmd.price) && isUint(cmd.quantity)) {
        const at = col.beginElement(128);
        col.fragment(KIND).digits(cmd.kind).fragment(ORDER_ID).digits(cmd.orderId).fragment(PRICE).digits(cmd.price).fragment(QUANTITY).digits(cmd.quantity).fragment(CLOSE);
        return col.endElement(at);
      }
      break;
    case CommandKind.CancelAll:
      if (cmd.side === undefined || isUint(cmd.side)) {
        const at = col.beginElement(64);
        col.fragment(KIND).digits(cmd.kind).fragment(SIDE);
        if (cmd.side === undefined) col.fragment(NULL);
        else col.digits(cmd.side);
        col.fragment(CLOSE);
        return col.endElement(at);
      }
      break;
  }
  col.text(JSON.stringify(serializeCommand(cmd)));
}

export interface JournalWriteColumns {
  /** Pairs in the order of their first entry in the batch, and each one's first sequence. */
  firstPairs: string[];
  firstSequence: Map<string, number>;
  /** Binary arrays: pair, sequence, command (json), account, client_order_id, timestamp_ms. */
  journal: Buffer[];
  /** Binary arrays of the orders' columns (18, INSERT_ORDERS order); orderCount rows. */
  orders: Buffer[];
  orderCount: number;
  /** Binary arrays of the trades' columns (11, INSERT_TRADES order); tradeCount rows. */
  trades: Buffer[];
  tradeCount: number;
}

const JOURNAL_TYPES: readonly ElementType[] = ['text', 'int8', 'json', 'text', 'text', 'int8'];
const JOURNAL_BYTES = [12, 12, 130, 24, 24, 12];
const ORDER_TYPES: readonly ElementType[] = ['text', 'int8', 'text', 'text', 'int2', 'int2', 'int2', 'bool', 'int2', 'int8', 'int8', 'int8', 'int8', 'text', 'int2', 'int8', 'int8', 'int8'];
const ORDER_BYTES = [12, 12, 24, 24, 6, 6, 6, 5, 6, 12, 12, 12, 12, 20, 6, 12, 12, 12];
const TRADE_TYPES: readonly ElementType[] = ['text', 'int8', 'int8', 'text', 'int8', 'text', 'int2', 'int8', 'int8', 'int8', 'int8'];
const TRADE_BYTES = [12, 12, 12, 24, 12, 24, 6, 12, 12, 12, 12];

const columns = (types: readonly ElementType[], bytes: readonly number[], n: number): BinaryColumn[] => types.map((t, i) => new BinaryColumn(t, n * bytes[i]!));

/**
 * Journal entries of ONE pair encoded as their column elements when they are appended, so what waits for
 * the transaction is bytes, not the entries: the commands, order rows and trade rows the pair built die
 * young instead of surviving the scavenges that run while a commit is awaited (at tens of thousands of
 * commands a second that copying was the durable server's largest extra cost). Every order row is kept
 * (an order touched twice is two rows, each with its entry's sequence); columnsOf() keeps the last.
 */
export class JournalChunk {
  readonly journal: BinaryColumn[];
  readonly orders: BinaryColumn[];
  readonly trades: BinaryColumn[];
  /** The order id of each order row, in element order. */
  readonly orderIds: number[] = [];
  count = 0;
  firstSequence = 0;
  lastSequence = 0;

  constructor(
    public pair: string,
    expectedEntries: number,
  ) {
    this.journal = columns(JOURNAL_TYPES, JOURNAL_BYTES, expectedEntries);
    this.orders = columns(ORDER_TYPES, ORDER_BYTES, expectedEntries * 2);
    this.trades = columns(TRADE_TYPES, TRADE_BYTES, expectedEntries);
  }

  /**
   * Empties the chunk for entries of `pair`, keeping its buffers: a writer reuses a committed chunk's
   * instead of allocating 35 of them per chunk (each larger than 4 KiB a separate allocation to free).
   */
  reset(pair: string): void {
    this.pair = pair;
    for (const c of this.journal) c.clear();
    for (const c of this.orders) c.clear();
    for (const c of this.trades) c.clear();
    this.orderIds.length = 0;
    this.count = this.firstSequence = this.lastSequence = 0;
  }

  /** Bytes its buffers hold (what keeping it for reuse costs). */
  get capacity(): number {
    let bytes = 0;
    for (const c of this.journal) bytes += c.capacity;
    for (const c of this.orders) bytes += c.capacity;
    for (const c of this.trades) bytes += c.capacity;
    return bytes;
  }

  /**
   * Adds entries of this chunk's pair (in sequence order): all of them or, when a value does not fit its
   * column, none (it throws and the chunk is as it was).
   */
  add(entries: readonly JournalEntry[]): void {
    this.mark();
    let written = 0;
    try {
      for (const e of entries) {
        if (e.pair !== this.pair) throw new Error(`journal chunk of ${this.pair} cannot hold an entry of ${e.pair}`);
        this.write(e);
        written++;
      }
    } catch (err) {
      this.rollback();
      throw err;
    }
    if (written === 0) return;
    if (this.count === 0) this.firstSequence = entries[0]!.sequence;
    this.lastSequence = entries[written - 1]!.sequence;
    this.count += written;
  }

  private write(e: JournalEntry): void {
    const j = this.journal;
    j[0]!.text(e.pair);
    j[1]!.int8(e.sequence);
    writeCommandJson(j[2]!, e.command);
    j[3]!.text(e.account);
    j[4]!.text(e.clientOrderId);
    j[5]!.int8(e.timestampMs);
    const o = this.orders;
    for (const r of e.orders) {
      o[0]!.text(e.pair);
      o[1]!.int8(r.orderId);
      o[2]!.text(r.account);
      o[3]!.text(r.clientOrderId);
      o[4]!.int2(r.side);
      o[5]!.int2(r.type);
      o[6]!.int2(r.tif);
      o[7]!.bool(r.postOnly);
      o[8]!.int2(r.stp);
      o[9]!.int8(r.price);
      o[10]!.int8(r.quantity);
      o[11]!.int8(r.filled);
      o[12]!.int8(r.remaining);
      o[13]!.text(r.status);
      o[14]!.int2(r.cancelReason);
      o[15]!.int8(e.sequence);
      o[16]!.int8(r.createdAtMs);
      o[17]!.int8(r.updatedAtMs);
      this.orderIds.push(r.orderId);
    }
    const t = this.trades;
    for (const r of e.trades) {
      t[0]!.text(e.pair);
      t[1]!.int8(r.tradeId);
      t[2]!.int8(r.makerOrderId);
      t[3]!.text(r.makerAccount);
      t[4]!.int8(r.takerOrderId);
      t[5]!.text(r.takerAccount);
      t[6]!.int2(r.takerSide);
      t[7]!.int8(r.price);
      t[8]!.int8(r.quantity);
      t[9]!.int8(e.sequence);
      t[10]!.int8(r.timestampMs);
    }
  }

  /**
   * Drops the order rows a later row of the same order supersedes (`keep`, from index `from`: the batch's
   * rows in order), in place; returns the index after this chunk's rows. A dropped row is never needed
   * again: a chunk is only ever written with the chunks after it that it was compacted against.
   */
  dropSuperseded(keep: Uint8Array, from: number): number {
    for (const c of this.orders) c.compact(keep, from);
    const ids = this.orderIds;
    let to = 0;
    for (let i = 0; i < ids.length; i++) if (keep[from + i] === 1) ids[to++] = ids[i]!;
    const next = from + ids.length;
    ids.length = to;
    return next;
  }

  /** Every column's position before an add (one reused array: no allocation per call). */
  private readonly marks = new Float64Array(1 + 2 * (JOURNAL_TYPES.length + ORDER_TYPES.length + TRADE_TYPES.length));

  private mark(): void {
    const m = this.marks;
    m[0] = this.orderIds.length;
    let at = 1;
    for (const c of this.journal) at = c.mark(m, at);
    for (const c of this.orders) at = c.mark(m, at);
    for (const c of this.trades) at = c.mark(m, at);
  }

  private rollback(): void {
    const m = this.marks;
    this.orderIds.length = m[0]!;
    let at = 1;
    for (const c of this.journal) at = c.rollback(m, at);
    for (const c of this.orders) at = c.rollback(m, at);
    for (const c of this.trades) at = c.rollback(m, at);
  }
}

/**
 * The column arrays of a batch of chunks (in queue order), and each pair's first sequence. Orders keep
 * their last row in the batch (ON CONFLICT may touch a row only once per statement): a batch is nearly
 * always one pair's or a few pairs', so the map is per pair and keyed by the order id itself.
 */
export function columnsOf(chunks: readonly JournalChunk[]): JournalWriteColumns {
  const firstSequence = new Map<string, number>();
  for (const c of chunks) if (!firstSequence.has(c.pair)) firstSequence.set(c.pair, c.firstSequence);
  let rows = 0;
  for (const c of chunks) rows += c.orderIds.length;
  // The last row of each order: rows superseded later in the batch are left out.
  const last = new Map<string, Map<number, number>>();
  let g = 0;
  for (const c of chunks) {
    let byId = last.get(c.pair);
    if (byId === undefined) last.set(c.pair, (byId = new Map()));
    for (const id of c.orderIds) byId.set(id, g++);
  }
  let orderCount = 0;
  for (const byId of last.values()) orderCount += byId.size;
  if (orderCount < rows) {
    const keep = new Uint8Array(rows);
    for (const byId of last.values()) for (const i of byId.values()) keep[i] = 1;
    let from = 0;
    for (const c of chunks) from = c.dropSuperseded(keep, from);
  }
  const pick = (of: (c: JournalChunk) => BinaryColumn[], n: number) => {
    const out: Buffer[] = [];
    for (let i = 0; i < n; i++) out.push(BinaryColumn.concat(chunks.map((c) => of(c)[i]!)));
    return out;
  };
  let tradeCount = 0;
  for (const c of chunks) tradeCount += c.trades[0]!.length;
  return {
    firstPairs: [...firstSequence.keys()],
    firstSequence,
    journal: pick((c) => c.journal, JOURNAL_TYPES.length),
    orders: pick((c) => c.orders, ORDER_TYPES.length),
    orderCount,
    trades: pick((c) => c.trades, TRADE_TYPES.length),
    tradeCount,
  };
}
