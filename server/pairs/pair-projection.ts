/**
 * The journal and snapshot projection of a trading pair's orders and trades: the rows a journal entry
 * carries (ports/journal.ts OrderRow, TradeRow), the orders a PairSnapshot holds, and those orders back
 * as registry records. Accounts leave by name and come back interned. Pure functions; TradingPair
 * decides what to project.
 */
import type { CancelReason } from '../core/reasons.ts';
import type { AccountId, Lots, OrderId, PriceTicks, Side } from '../core/types.ts';
import type { OrderRow, SnapshotOrder, TradeRow } from '../ports/journal.ts';
import type { OrderRecord, OrderRegistry } from './order-registry.ts';

/** The name of an interned account (journal rows and snapshots carry names, not this process's ids). */
export type AccountName = (account: AccountId) => string;

export function orderRow(o: OrderRecord, accountName: AccountName): OrderRow {
  return {
    orderId: o.orderId,
    account: accountName(o.account),
    clientOrderId: o.clientOrderId,
    side: o.side,
    type: o.type,
    tif: o.tif,
    postOnly: o.postOnly,
    stp: o.stp,
    price: o.price,
    quantity: o.quantity,
    filled: o.filled,
    remaining: o.remaining,
    status: o.status,
    cancelReason: o.cancelReason,
    createdAtMs: o.createdAtMs,
    updatedAtMs: o.updatedAtMs,
  };
}

/**
 * The order rows of one command: the refused new order (if any), then every order it touched, once
 * each, in their state after the command.
 */
export function touchedOrderRows(registry: OrderRegistry, touched: readonly OrderId[], rejected: OrderRecord | undefined, accountName: AccountName): OrderRow[] {
  const orders: OrderRow[] = [];
  if (rejected !== undefined) orders.push(orderRow(rejected, accountName));
  // A command touches few orders (a taker and its makers, each twice at most), so an id already taken
  // is found by scanning the ids before it; a Set only for a sweep through many makers.
  const seen = touched.length > 16 ? new Set<OrderId>() : undefined;
  for (let i = 0; i < touched.length; i++) {
    const id = touched[i]!;
    if (seen !== undefined) {
      if (seen.has(id)) continue;
      seen.add(id);
    } else if (i > 0 && touched.lastIndexOf(id, i - 1) >= 0) {
      continue;
    }
    const o = registry.find(id);
    if (o !== undefined) orders.push(orderRow(o, accountName));
  }
  return orders;
}

export function tradeRow(
  tradeId: number,
  makerOrderId: OrderId,
  makerAccount: AccountId,
  takerOrderId: OrderId,
  takerAccount: AccountId,
  takerSide: Side,
  price: PriceTicks,
  quantity: Lots,
  timestampMs: number,
  accountName: AccountName,
): TradeRow {
  return { tradeId, makerOrderId, makerAccount: accountName(makerAccount), takerOrderId, takerAccount: accountName(takerAccount), takerSide, price, quantity, timestampMs };
}

export function snapshotOrder(o: OrderRecord, accountName: AccountName): SnapshotOrder {
  // The row with one field added, not spread into a new object: a snapshot copies every retained order
  // in one synchronous step, and the spread's generic copy made most of it (100,000 orders: 0.2-0.5 s).
  const row = orderRow(o, accountName) as SnapshotOrder;
  row.lastSequence = o.lastSequence;
  return row;
}

/**
 * An order row back as a registry record: `account` is the row's account interned here, `lastSequence`
 * the snapshot's (0 for a row of the `orders` table, which does not keep it).
 */
export function recordOfRow(o: OrderRow, account: AccountId, lastSequence: number): OrderRecord {
  return { ...o, account, cancelReason: o.cancelReason as CancelReason | 0, lastSequence };
}
