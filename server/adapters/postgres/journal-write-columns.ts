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
import type { JournaledCommand, JournalEntry, OrderRow } from '../../ports/journal.ts';

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

/** The column arrays of a batch, and each pair's first sequence. */
export function journalWriteColumns(entries: readonly JournalEntry[]): JournalWriteColumns {
  const firstSequence = new Map<string, number>();
  const n = entries.length;
  const pairs = new BinaryColumn('text', n * 12);
  const sequences = new BinaryColumn('int8', n * 12);
  const commands = new BinaryColumn('json', n * 130);
  const accounts = new BinaryColumn('text', n * 24);
  const clientOrderIds = new BinaryColumn('text', n * 24);
  const timestamps = new BinaryColumn('int8', n * 12);
  // Orders: the last state per (pair, order) in this batch. A batch is nearly always one pair's or a
  // few pairs', so the map is per pair and keyed by the order id itself (no string key per row).
  const latest = new Map<string, Map<number, { sequence: number; row: OrderRow }>>();
  let tradeCount = 0;
  for (const e of entries) tradeCount += e.trades.length;
  const t = tradeCount;
  const trades = [
    new BinaryColumn('text', t * 12), new BinaryColumn('int8', t * 12), new BinaryColumn('int8', t * 12), new BinaryColumn('text', t * 24),
    new BinaryColumn('int8', t * 12), new BinaryColumn('text', t * 24), new BinaryColumn('int2', t * 6), new BinaryColumn('int8', t * 12),
    new BinaryColumn('int8', t * 12), new BinaryColumn('int8', t * 12), new BinaryColumn('int8', t * 12),
  ] as const;
  let lastPair: string | undefined;
  let pairOrders: Map<number, { sequence: number; row: OrderRow }> | undefined;
  for (const e of entries) {
    if (e.pair !== lastPair) {
      lastPair = e.pair;
      if (!firstSequence.has(e.pair)) firstSequence.set(e.pair, e.sequence);
      pairOrders = latest.get(e.pair);
      if (pairOrders === undefined) latest.set(e.pair, (pairOrders = new Map()));
    }
    pairs.text(e.pair);
    sequences.int8(e.sequence);
    writeCommandJson(commands, e.command);
    accounts.text(e.account);
    clientOrderIds.text(e.clientOrderId);
    timestamps.int8(e.timestampMs);
    for (const row of e.orders) pairOrders!.set(row.orderId, { sequence: e.sequence, row });
    for (const r of e.trades) {
      trades[0].text(e.pair);
      trades[1].int8(r.tradeId);
      trades[2].int8(r.makerOrderId);
      trades[3].text(r.makerAccount);
      trades[4].int8(r.takerOrderId);
      trades[5].text(r.takerAccount);
      trades[6].int2(r.takerSide);
      trades[7].int8(r.price);
      trades[8].int8(r.quantity);
      trades[9].int8(e.sequence);
      trades[10].int8(r.timestampMs);
    }
  }
  let orderCount = 0;
  for (const byId of latest.values()) orderCount += byId.size;
  const o = orderCount;
  const orders = [
    new BinaryColumn('text', o * 12), new BinaryColumn('int8', o * 12), new BinaryColumn('text', o * 24), new BinaryColumn('text', o * 24),
    new BinaryColumn('int2', o * 6), new BinaryColumn('int2', o * 6), new BinaryColumn('int2', o * 6), new BinaryColumn('bool', o * 5),
    new BinaryColumn('int2', o * 6), new BinaryColumn('int8', o * 12), new BinaryColumn('int8', o * 12), new BinaryColumn('int8', o * 12),
    new BinaryColumn('int8', o * 12), new BinaryColumn('text', o * 20), new BinaryColumn('int2', o * 6), new BinaryColumn('int8', o * 12),
    new BinaryColumn('int8', o * 12), new BinaryColumn('int8', o * 12),
  ] as const;
  for (const [pair, byId] of latest) {
    for (const { sequence, row: r } of byId.values()) {
      orders[0].text(pair);
      orders[1].int8(r.orderId);
      orders[2].text(r.account);
      orders[3].text(r.clientOrderId);
      orders[4].int2(r.side);
      orders[5].int2(r.type);
      orders[6].int2(r.tif);
      orders[7].bool(r.postOnly);
      orders[8].int2(r.stp);
      orders[9].int8(r.price);
      orders[10].int8(r.quantity);
      orders[11].int8(r.filled);
      orders[12].int8(r.remaining);
      orders[13].text(r.status);
      orders[14].int2(r.cancelReason);
      orders[15].int8(sequence);
      orders[16].int8(r.createdAtMs);
      orders[17].int8(r.updatedAtMs);
    }
  }
  return {
    firstPairs: [...firstSequence.keys()],
    firstSequence,
    journal: [pairs.finish(), sequences.finish(), commands.finish(), accounts.finish(), clientOrderIds.finish(), timestamps.finish()],
    orders: orders.map((c) => c.finish()),
    orderCount,
    trades: trades.map((c) => c.finish()),
    tradeCount,
  };
}
