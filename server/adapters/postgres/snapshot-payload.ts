/**
 * A pair snapshot as the payload `order_book_snapshots` stores, and back.
 *
 * Written with JSON.stringify in slices between which the event loop runs (a pair retaining 100,000
 * closed orders is tens of MB of JSON; one stringify of it holds the loop for over 100 ms), with the
 * retained closed orders as rows of values under one field list (`closedOrderRows`) instead of one
 * object per order repeating its seventeen keys: about 11 MB instead of 29 MB for 100,000 orders, less
 * for this thread to write, for the checksum worker to hash and for PostgreSQL to check. The
 * resting orders stay objects (there are few; operators read them with json paths).
 *
 * The checksum is not computed here: it is sha256 of canonicalJson(JSON.parse(text)), the value the load
 * verifies, computed in a worker (json-checksum.ts) on save as on load. Payloads written before the rows
 * (closed orders as objects under `closedOrders`) load unchanged.
 */
import { CorruptSnapshotError, type ClosedOrderReader, type PairSnapshot, type SnapshotOrder, type SnapshotToSave } from '../../ports/journal.ts';

/** The columns of a `closedOrderRows` row, in order: every field of a SnapshotOrder. */
export const CLOSED_ORDER_FIELDS = [
  'orderId',
  'account',
  'clientOrderId',
  'side',
  'type',
  'tif',
  'postOnly',
  'stp',
  'price',
  'quantity',
  'filled',
  'remaining',
  'status',
  'cancelReason',
  'createdAtMs',
  'updatedAtMs',
  'lastSequence',
] as const satisfies readonly (keyof SnapshotOrder)[];

// A SnapshotOrder field missing from the list above fails to compile here.
const everyField: Exclude<keyof SnapshotOrder, (typeof CLOSED_ORDER_FIELDS)[number]> extends never ? true : never = true;
void everyField;

type ClosedOrderRow = unknown[];

function rowOf(o: SnapshotOrder): ClosedOrderRow {
  return [o.orderId, o.account, o.clientOrderId, o.side, o.type, o.tif, o.postOnly, o.stp, o.price, o.quantity, o.filled, o.remaining, o.status, o.cancelReason, o.createdAtMs, o.updatedAtMs, o.lastSequence];
}

function orderOf(r: ClosedOrderRow): SnapshotOrder {
  return {
    orderId: r[0],
    account: r[1],
    clientOrderId: r[2],
    side: r[3],
    type: r[4],
    tif: r[5],
    postOnly: r[6],
    stp: r[7],
    price: r[8],
    quantity: r[9],
    filled: r[10],
    remaining: r[11],
    status: r[12],
    cancelReason: r[13],
    createdAtMs: r[14],
    updatedAtMs: r[15],
    lastSequence: r[16],
  } as SnapshotOrder;
}

export interface SnapshotPayloadOptions {
  /** Orders serialised between two yields to the event loop. @default 500 */
  sliceSize?: number;
  /** How the work yields between slices. @default setImmediate */
  yieldToLoop?: () => Promise<void>;
}

const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The closed orders of either shape, read by index. */
function closedReader(closed: SnapshotOrder[] | ClosedOrderReader | undefined): ClosedOrderReader | undefined {
  if (closed === undefined || !Array.isArray(closed)) return closed;
  return { count: closed.length, order: (i) => closed[i]! };
}

/**
 * The payload of `snapshot` as UTF-8 bytes, built in slices: the resting orders, then the closed orders
 * read as rows slice by slice, each slice's text encoded in its own turn of the loop. The bytes are in
 * a SharedArrayBuffer, so the checksum worker reads them without a copy, and PostgreSQL takes them as
 * they are (json's binary input is its text): no string of tens of MB is flattened, cloned for the
 * worker or encoded again for the socket in one turn. What it reads must not change meanwhile
 * (exportSnapshot copies the resting orders; closed orders never change, and a SnapshotToSave's reader
 * throws if one did).
 */
export async function snapshotPayloadBytes(snapshot: PairSnapshot | SnapshotToSave, options: SnapshotPayloadOptions = {}): Promise<{ bytes: Buffer; slices: number }> {
  const sliceSize = options.sliceSize ?? 500;
  if (!Number.isSafeInteger(sliceSize) || sliceSize < 1) throw new Error(`sliceSize must be a positive integer, got ${sliceSize}`);
  const yieldToLoop = options.yieldToLoop ?? immediate;
  const { orders, closedOrders, ...scalars } = snapshot;
  const closed = closedReader(closedOrders);
  const head = JSON.stringify(scalars);
  const parts: Buffer[] = [Buffer.from(head.slice(0, -1)), Buffer.from(head.length > 2 ? ',"orders":[' : '"orders":[')];
  const COMMA = Buffer.from(',');
  let slices = 0;
  /** `count` items in slices of sliceSize, each slice one JSON.stringify of what `encode` makes of [from, to). */
  const items = async (count: number, encode: (from: number, to: number) => unknown[]): Promise<void> => {
    for (let i = 0; i < count; i += sliceSize) {
      if (i > 0) {
        parts.push(COMMA);
        slices++;
        await yieldToLoop();
      }
      const json = JSON.stringify(encode(i, Math.min(count, i + sliceSize)));
      parts.push(Buffer.from(json.slice(1, -1)));
    }
  };
  await items(orders.length, (from, to) => orders.slice(from, to));
  parts.push(Buffer.from(']'));
  if (closed !== undefined) {
    if (orders.length > 0 && closed.count > 0) {
      slices++;
      await yieldToLoop();
    }
    parts.push(Buffer.from(`,"closedOrderRows":{"fields":${JSON.stringify(CLOSED_ORDER_FIELDS)},"rows":[`));
    await items(closed.count, (from, to) => {
      const rows = new Array<ClosedOrderRow>(to - from);
      for (let i = from; i < to; i++) rows[i - from] = rowOf(closed.order(i));
      return rows;
    });
    parts.push(Buffer.from(']}'));
  }
  parts.push(Buffer.from('}'));
  let length = 0;
  for (const b of parts) length += b.length;
  const bytes = Buffer.from(new SharedArrayBuffer(length));
  let at = 0;
  for (const b of parts) {
    bytes.set(b, at);
    at += b.length;
  }
  return { bytes, slices };
}

/**
 * The snapshot a parsed payload holds (either layout), checked against its row: CorruptSnapshotError
 * (naming what is wrong) when the pair, sequence, orders or closed-order rows do not fit.
 */
export function snapshotFromPayload(payload: unknown, row: { id: string; pair: string; sequence: number }): PairSnapshot {
  const corrupt = (why: string): CorruptSnapshotError => new CorruptSnapshotError(row.pair, row.id, why);
  const p = payload as Record<string, unknown> | null;
  if (p === null || typeof p !== 'object' || p['pair'] !== row.pair || p['sequence'] !== row.sequence || !Array.isArray(p['orders'])) {
    throw corrupt('payload does not match its row (pair, sequence or orders)');
  }
  const packed = p['closedOrderRows'];
  if (packed === undefined) return p as unknown as PairSnapshot;
  const { fields, rows } = (packed ?? {}) as { fields?: unknown; rows?: unknown };
  if (!Array.isArray(fields) || fields.length !== CLOSED_ORDER_FIELDS.length || fields.some((f, i) => f !== CLOSED_ORDER_FIELDS[i])) {
    throw corrupt(`closedOrderRows.fields is not the closed-order field list this version reads (got ${JSON.stringify(fields)?.slice(0, 80)})`);
  }
  if (!Array.isArray(rows)) throw corrupt('closedOrderRows.rows is not an array');
  const closedOrders: SnapshotOrder[] = new Array<SnapshotOrder>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as unknown;
    if (!Array.isArray(r) || r.length !== CLOSED_ORDER_FIELDS.length) throw corrupt(`closedOrderRows.rows[${i}] is not a row of ${CLOSED_ORDER_FIELDS.length} values`);
    closedOrders[i] = orderOf(r);
  }
  const { closedOrderRows: _, ...rest } = p;
  return { ...(rest as unknown as PairSnapshot), closedOrders };
}
