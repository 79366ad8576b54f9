import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptSnapshotError, type PairSnapshot, type SnapshotOrder, type SnapshotToSave } from '../../ports/journal.ts';
import { canonicalJson } from './canonical-json.ts';
import { CLOSED_ORDER_FIELDS, snapshotFromPayload, snapshotPayloadBytes, type SnapshotPayloadOptions } from './snapshot-payload.ts';

const order = (i: number, status: SnapshotOrder['status']): SnapshotOrder => ({
  orderId: i,
  account: `acct-${i % 7}`,
  clientOrderId: i % 3 === 0 ? '' : `c${i}é"\\`,
  side: (i % 2) as SnapshotOrder['side'],
  type: (i % 2) as SnapshotOrder['type'],
  tif: (i % 3) as SnapshotOrder['tif'],
  postOnly: i % 5 === 0,
  stp: (i % 4) as SnapshotOrder['stp'],
  price: 6_500_000 + (i % 900),
  quantity: 1 + (i % 100),
  filled: i % 7,
  remaining: status === 'filled' || status === 'cancelled' ? 0 : 1 + (i % 50),
  status,
  cancelReason: status === 'cancelled' ? 1 + (i % 3) : 0,
  createdAtMs: 1_700_000_000_000 + i,
  updatedAtMs: 1_700_000_000_500 + i,
  lastSequence: i * 3,
});

function snapshotOf(open: number, closed: number | undefined): PairSnapshot {
  return {
    pair: 'BTCUSDT',
    sequence: 1000,
    lastOrderId: open + (closed ?? 0),
    lastTradeId: 17,
    eventSequence: 3000,
    marketDataSequence: 12,
    orders: Array.from({ length: open }, (_, i) => order(i + 1, i % 2 === 0 ? 'new' : 'partially_filled')),
    ...(closed === undefined ? {} : { closedOrders: Array.from({ length: closed }, (_, i) => order(open + i + 1, i % 2 === 0 ? 'filled' : 'cancelled')) }),
    takenAtMs: 1_700_000_001_000,
  };
}

/** The payload as text (its bytes decoded), and how often building it yielded. */
async function snapshotPayloadText(snapshot: PairSnapshot | SnapshotToSave, options?: SnapshotPayloadOptions): Promise<{ text: string; slices: number }> {
  const { bytes, slices } = await snapshotPayloadBytes(snapshot, options);
  return { text: bytes.toString('utf8'), slices };
}

const row = { id: '7', pair: 'BTCUSDT', sequence: 1000 };
/** What PostgreSQL hands back: JSONB reorders keys and adds spaces; the value is the same. */
const throughJsonb = (text: string): unknown => JSON.parse(JSON.stringify(JSON.parse(text), null, 1));

describe('snapshot payload', () => {
  it('reads back the snapshot it wrote, whatever the slice size and counts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 30 }), fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }), fc.integer({ min: 1, max: 7 }), async (open, closed, sliceSize) => {
        const s = snapshotOf(open, closed);
        const { text } = await snapshotPayloadText(s, { sliceSize });
        expect(snapshotFromPayload(throughJsonb(text), row)).toEqual(s);
      }),
      { numRuns: 200 },
    );
  });

  it('writes the same text from a closed-order reader as from the array, and a reader that throws fails the write', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 7 }), async (open, closed, sliceSize) => {
        const s = snapshotOf(open, closed);
        const list = s.closedOrders!;
        const reader: SnapshotToSave = { ...s, closedOrders: { count: list.length, order: (i) => list[i]! } };
        expect((await snapshotPayloadText(reader, { sliceSize })).text).toBe((await snapshotPayloadText(s, { sliceSize })).text);
      }),
      { numRuns: 100 },
    );
    const s = snapshotOf(1, 5);
    const broken: SnapshotToSave = { ...s, closedOrders: { count: 5, order: (i) => (i < 3 ? s.closedOrders![i]! : fail()) } };
    function fail(): never {
      throw new Error('closed order 7 changed');
    }
    await expect(snapshotPayloadText(broken, { sliceSize: 2 })).rejects.toThrow('closed order 7 changed');
  });

  it('keeps resting orders as objects and closed orders as rows under one field list (every SnapshotOrder field)', async () => {
    const s = snapshotOf(2, 3);
    const payload = JSON.parse((await snapshotPayloadText(s)).text) as Record<string, unknown>;
    expect(payload['orders']).toEqual(s.orders);
    expect(payload['closedOrders']).toBeUndefined();
    const packed = payload['closedOrderRows'] as { fields: string[]; rows: unknown[][] };
    expect(packed.fields).toEqual(Object.keys(s.closedOrders![0]!));
    expect(packed.rows[0]).toEqual(CLOSED_ORDER_FIELDS.map((f) => s.closedOrders![0]![f]));
    // 1,000 closed orders take well under half the text their objects did.
    const big = snapshotOf(0, 1000);
    expect((await snapshotPayloadText(big)).text.length * 2).toBeLessThan(canonicalJson(big).length);
  });

  it('reads a payload written before the rows (closed orders as objects)', () => {
    const s = snapshotOf(3, 4);
    expect(snapshotFromPayload(JSON.parse(canonicalJson(s)), row)).toEqual(s);
  });

  it('are UTF-8 bytes in a SharedArrayBuffer (the checksum worker reads them without a copy) holding the text', async () => {
    const s = snapshotOf(300, 700);
    const { bytes, slices } = await snapshotPayloadBytes(s, { sliceSize: 128 });
    expect(bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(bytes.toString('utf8')).toBe((await snapshotPayloadText(s, { sliceSize: 1000 })).text);
    expect(slices).toBe(2 + 1 + 5); // yields: between 3 slices of resting orders, before the closed ones, between their 6
  });

  it('works in slices and lets the event loop run between them', async () => {
    let ranBeforeDone = false;
    setImmediate(() => {
      ranBeforeDone = true;
    });
    const r = await snapshotPayloadText(snapshotOf(10_000, 5000), { sliceSize: 2000 });
    // 5 slices of resting orders, 3 of closed ones: 7 yields, and a callback queued before ran first.
    expect(r.slices).toBe(7);
    expect(ranBeforeDone).toBe(true);
    let yields = 0;
    const counted = await snapshotPayloadText(snapshotOf(1000, 0), { sliceSize: 100, yieldToLoop: async () => void yields++ });
    expect(yields).toBe(counted.slices);
    expect(yields).toBe(9);
  });

  it('refuses a payload that does not fit its row or whose rows it cannot read, naming what', async () => {
    const good = JSON.parse((await snapshotPayloadText(snapshotOf(1, 2))).text) as Record<string, unknown>;
    const packed = good['closedOrderRows'] as { fields: string[]; rows: unknown[][] };
    const cases: [unknown, RegExp][] = [
      [{ ...good, sequence: 999 }, /does not match its row/],
      [{ ...good, pair: 'ETHUSDT' }, /does not match its row/],
      [{ ...good, orders: {} }, /does not match its row/],
      [null, /does not match its row/],
      [{ ...good, closedOrderRows: { ...packed, fields: [...packed.fields].reverse() } }, /closedOrderRows.fields is not the closed-order field list/],
      [{ ...good, closedOrderRows: { ...packed, fields: packed.fields.slice(1) } }, /closedOrderRows.fields/],
      [{ ...good, closedOrderRows: { fields: packed.fields, rows: 'x' } }, /closedOrderRows.rows is not an array/],
      [{ ...good, closedOrderRows: { fields: packed.fields, rows: [packed.rows[0], packed.rows[1]!.slice(2)] } }, /closedOrderRows.rows\[1\] is not a row of 17 values/],
      [{ ...good, closedOrderRows: null }, /closedOrderRows.fields/],
    ];
    for (const [payload, why] of cases) {
      expect(() => snapshotFromPayload(payload, row)).toThrow(CorruptSnapshotError);
      expect(() => snapshotFromPayload(payload, row)).toThrow(why);
    }
  });

  it('rejects a slice size that is not a positive integer', async () => {
    await expect(snapshotPayloadText(snapshotOf(1, 1), { sliceSize: 0 })).rejects.toThrow(/sliceSize must be a positive integer, got 0/);
  });
});
