/**
 * What a book tells the world. Books call an EventSink with primitive arguments (no event objects on
 * the hot path, as in liquibook's order_listener); RecordingSink turns them into objects for tests and
 * adapters. Sequence numbers are stamped by the pair layer, not here, because the serving book can change.
 *
 * Emission rules both implementations follow (the differential test holds them to it):
 * - new order: `accepted`, then per opposite level it passes through (best first) its fills and
 *   self-trade cancels in queue order, then one `level` update for that level if anything in it changed;
 *   then either one `level` update for the level it rests on, or `cancelled` for its unfilled remainder.
 *   Self-trade cancels of makers, and SelfTradeDecrement reductions (maker first, then taker), are
 *   emitted where they happen; a CancelTaker/CancelBoth taker cancel comes after the loop like any remainder.
 *   Market orders report price 0 in `accepted` and in their own `cancelled`.
 * - cancel: `cancelled`, then `level`. cancel-all: that pair of events per order, ascending order id.
 * - replace keeping priority: `replaced` (priorityKept), `level`. Replace losing priority: `replaced`,
 *   `level` for the level it left, then matching and resting as for a new GTC limit order.
 * - a rejected command emits only `rejected` and changes nothing.
 */
import type { CancelReason, RejectCode } from './reasons.ts';
import type { AccountId, Lots, OrderId, PriceTicks, Side } from './types.ts';

export interface EventSink {
  accepted(orderId: OrderId, account: AccountId, side: Side, price: PriceTicks, quantity: Lots): void;
  rejected(orderId: OrderId, account: AccountId, code: RejectCode, field: string, reason: string): void;
  fill(
    makerOrderId: OrderId,
    makerAccount: AccountId,
    takerOrderId: OrderId,
    takerAccount: AccountId,
    takerSide: Side,
    price: PriceTicks,
    quantity: Lots,
    makerRemaining: Lots,
    takerRemaining: Lots,
  ): void;
  /**
   * `quantity` lots of the order left the book without trading. Always the whole open quantity, except
   * for SelfTradeDecrement, where an order may lose part of its quantity and stay open with the rest.
   */
  cancelled(orderId: OrderId, account: AccountId, side: Side, price: PriceTicks, quantity: Lots, reason: CancelReason): void;
  replaced(orderId: OrderId, account: AccountId, side: Side, price: PriceTicks, quantity: Lots, priorityKept: boolean): void;
  /** The aggregate of one price level after the book finished with it; quantity 0 means the level is gone. */
  level(side: Side, price: PriceTicks, quantity: Lots, orderCount: number): void;
}

export type BookEvent =
  | { type: 'accepted'; orderId: OrderId; account: AccountId; side: Side; price: PriceTicks; quantity: Lots }
  | { type: 'rejected'; orderId: OrderId; account: AccountId; code: RejectCode; field: string; reason: string }
  | {
      type: 'fill';
      makerOrderId: OrderId;
      makerAccount: AccountId;
      takerOrderId: OrderId;
      takerAccount: AccountId;
      takerSide: Side;
      price: PriceTicks;
      quantity: Lots;
      makerRemaining: Lots;
      takerRemaining: Lots;
    }
  | { type: 'cancelled'; orderId: OrderId; account: AccountId; side: Side; price: PriceTicks; quantity: Lots; reason: CancelReason }
  | { type: 'replaced'; orderId: OrderId; account: AccountId; side: Side; price: PriceTicks; quantity: Lots; priorityKept: boolean }
  | { type: 'level'; side: Side; price: PriceTicks; quantity: Lots; orderCount: number };

/** Collects events as objects. `take()` hands them over and starts a fresh list. */
export class RecordingSink implements EventSink {
  events: BookEvent[] = [];

  take(): BookEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  accepted(orderId: OrderId, account: AccountId, side: Side, price: PriceTicks, quantity: Lots): void {
    this.events.push({ type: 'accepted', orderId, account, side, price, quantity });
  }
  rejected(orderId: OrderId, account: AccountId, code: RejectCode, field: string, reason: string): void {
    this.events.push({ type: 'rejected', orderId, account, code, field, reason });
  }
  fill(
    makerOrderId: OrderId,
    makerAccount: AccountId,
    takerOrderId: OrderId,
    takerAccount: AccountId,
    takerSide: Side,
    price: PriceTicks,
    quantity: Lots,
    makerRemaining: Lots,
    takerRemaining: Lots,
  ): void {
    this.events.push({
      type: 'fill',
      makerOrderId,
      makerAccount,
      takerOrderId,
      takerAccount,
      takerSide,
      price,
      quantity,
      makerRemaining,
      takerRemaining,
    });
  }
  cancelled(orderId: OrderId, account: AccountId, side: Side, price: PriceTicks, quantity: Lots, reason: CancelReason): void {
    this.events.push({ type: 'cancelled', orderId, account, side, price, quantity, reason });
  }
  replaced(orderId: OrderId, account: AccountId, side: Side, price: PriceTicks, quantity: Lots, priorityKept: boolean): void {
    this.events.push({ type: 'replaced', orderId, account, side, price, quantity, priorityKept });
  }
  level(side: Side, price: PriceTicks, quantity: Lots, orderCount: number): void {
    this.events.push({ type: 'level', side, price, quantity, orderCount });
  }
}

/** Discards everything; for benchmarks of the book alone and for shadow runs that only compare hashes. */
export const NULL_SINK: EventSink = {
  accepted() {},
  rejected() {},
  fill() {},
  cancelled() {},
  replaced() {},
  level() {},
};
