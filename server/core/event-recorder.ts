/**
 * Records a command's events into flat reusable arrays (no object per event) so the order-book
 * manager can compare a primary's and a shadow's output cheaply and replay the served one afterwards.
 */
import type { EventSink } from './events.ts';
import type { CancelReason, RejectCode } from './reasons.ts';
import type { AccountId, Lots, OrderId, PriceTicks, Side } from './types.ts';

const ACCEPTED = 1;
const REJECTED = 2;
const FILL = 3;
const CANCELLED = 4;
const REPLACED = 5;
const LEVEL = 6;

export class EventRecorder implements EventSink {
  /** Event tags and their numeric fields, back to back: [tag, f1, f2, ...]. */
  private nums: number[] = [];
  /** The strings of `rejected` events (field, reason), in order. */
  private strs: string[] = [];

  clear(): void {
    this.nums.length = 0;
    this.strs.length = 0;
  }

  get isEmpty(): boolean {
    return this.nums.length === 0;
  }

  /** True when both recorded exactly the same events. */
  sameAs(other: EventRecorder): boolean {
    const a = this.nums;
    const b = other.nums;
    if (a.length !== b.length || this.strs.length !== other.strs.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    for (let i = 0; i < this.strs.length; i++) if (this.strs[i] !== other.strs[i]) return false;
    return true;
  }

  /** Index of the first differing number, for divergence reports (-1 when equal). */
  firstDifference(other: EventRecorder): number {
    const n = Math.max(this.nums.length, other.nums.length);
    for (let i = 0; i < n; i++) if (this.nums[i] !== other.nums[i]) return i;
    return this.sameAs(other) ? -1 : n;
  }

  /** Sends the recorded events, in order, to `out`. */
  replay(out: EventSink): void {
    const n = this.nums;
    let s = 0;
    for (let i = 0; i < n.length; ) {
      switch (n[i]) {
        case ACCEPTED:
          out.accepted(n[i + 1]!, n[i + 2]!, n[i + 3]! as Side, n[i + 4]!, n[i + 5]!);
          i += 6;
          break;
        case REJECTED:
          out.rejected(n[i + 1]!, n[i + 2]!, n[i + 3]! as RejectCode, this.strs[s]!, this.strs[s + 1]!);
          s += 2;
          i += 4;
          break;
        case FILL:
          out.fill(n[i + 1]!, n[i + 2]!, n[i + 3]!, n[i + 4]!, n[i + 5]! as Side, n[i + 6]!, n[i + 7]!, n[i + 8]!, n[i + 9]!);
          i += 10;
          break;
        case CANCELLED:
          out.cancelled(n[i + 1]!, n[i + 2]!, n[i + 3]! as Side, n[i + 4]!, n[i + 5]!, n[i + 6]! as CancelReason);
          i += 7;
          break;
        case REPLACED:
          out.replaced(n[i + 1]!, n[i + 2]!, n[i + 3]! as Side, n[i + 4]!, n[i + 5]!, n[i + 6] === 1);
          i += 7;
          break;
        case LEVEL:
          out.level(n[i + 1]! as Side, n[i + 2]!, n[i + 3]!, n[i + 4]!);
          i += 5;
          break;
        default:
          throw new Error(`corrupt event record at ${i}`);
      }
    }
  }

  accepted(orderId: OrderId, account: AccountId, side: Side, price: PriceTicks, quantity: Lots): void {
    this.nums.push(ACCEPTED, orderId, account, side, price, quantity);
  }
  rejected(orderId: OrderId, account: AccountId, code: RejectCode, field: string, reason: string): void {
    this.nums.push(REJECTED, orderId, account, code);
    this.strs.push(field, reason);
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
    this.nums.push(FILL, makerOrderId, makerAccount, takerOrderId, takerAccount, takerSide, price, quantity, makerRemaining, takerRemaining);
  }
  cancelled(orderId: OrderId, account: AccountId, side: Side, price: PriceTicks, quantity: Lots, reason: CancelReason): void {
    this.nums.push(CANCELLED, orderId, account, side, price, quantity, reason);
  }
  replaced(orderId: OrderId, account: AccountId, side: Side, price: PriceTicks, quantity: Lots, priorityKept: boolean): void {
    this.nums.push(REPLACED, orderId, account, side, price, quantity, priorityKept ? 1 : 0);
  }
  level(side: Side, price: PriceTicks, quantity: Lots, orderCount: number): void {
    this.nums.push(LEVEL, side, price, quantity, orderCount);
  }
}
