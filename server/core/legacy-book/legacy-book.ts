/**
 * The legacy order book: the straightforward reference the service ran first. Each side is an array of
 * levels sorted best-first, each level an array of orders in time order. Every operation is written for
 * obviousness, not speed (splices, linear walks through a level's orders; a level is found by binary
 * search, so a deep book's recovery and shadow runs stay usable); the adaptive book must match it event
 * for event.
 */
import { CommandKind, type CancelAllCommand, type CancelCommand, type Command, type NewOrderCommand, type ReplaceCommand } from '../commands.ts';
import { InvariantError } from '../errors.ts';
import type { EventSink } from '../events.ts';
import type { Instrument } from '../instrument.ts';
import { ACCEPTED, type DepthLevel, type OrderBook, type Outcome, type Rejection, type RestingOrder } from '../order-book.ts';
import { CancelReason } from '../reasons.ts';
import { hashBookState } from '../state-hash.ts';
import { OrderType, Side, StpMode, TimeInForce, type AccountId, type Lots, type OrderId, type PriceTicks, type StpMode as Stp } from '../types.ts';
import {
  DUPLICATE_ORDER,
  POST_ONLY_WOULD_TAKE,
  REPLACE_NO_CHANGE,
  UNKNOWN_ORDER,
  marketLimitPrice,
  validateCancel,
  validateCancelAll,
  validateNewOrder,
  validateReplace,
} from '../validation.ts';

interface Order {
  orderId: OrderId;
  account: AccountId;
  side: Side;
  price: PriceTicks;
  remaining: Lots;
  stp: Stp;
  postOnly: boolean;
}

interface Level {
  price: PriceTicks;
  orders: Order[];
}

/** What a taker is while it matches: a new order, or a replaced order re-entering. */
interface Taker {
  orderId: OrderId;
  account: AccountId;
  side: Side;
  /** The price reported in the taker's own events: its limit, or 0 for a market order. */
  reportedPrice: PriceTicks;
  limit: PriceTicks;
  remaining: Lots;
  stp: Stp;
}

/**
 * Where `price` is or would go in `levels` (sorted best-first): the index of the first level that is
 * not better than it. A binary search over the sorted array — the one place this book does not scan.
 */
function levelPosition(levels: readonly Level[], side: Side, price: PriceTicks): number {
  let lo = 0;
  let hi = levels.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const p = levels[mid]!.price;
    if (side === Side.Buy ? p > price : p < price) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class LegacyBook implements OrderBook {
  readonly implementation = 'legacy' as const;
  /** Index 0 = bids (highest first), 1 = asks (lowest first). */
  private readonly sides: [Level[], Level[]] = [[], []];
  private readonly orders = new Map<OrderId, Order>();

  constructor(readonly instrument: Instrument) {}

  apply(cmd: Command, out: EventSink): Outcome {
    switch (cmd.kind) {
      case CommandKind.NewOrder:
        return this.newOrder(cmd, out);
      case CommandKind.Cancel:
        return this.cancel(cmd, out);
      case CommandKind.Replace:
        return this.replace(cmd, out);
      case CommandKind.CancelAll:
        return this.cancelAll(cmd, out);
    }
  }

  private refuse(orderId: OrderId, account: AccountId, r: Rejection, out: EventSink): Rejection {
    out.rejected(orderId, account, r.code, r.field, r.reason);
    return r;
  }

  private newOrder(cmd: NewOrderCommand, out: EventSink): Outcome {
    const invalid = validateNewOrder(this.instrument, cmd);
    if (invalid) return this.refuse(cmd.orderId, cmd.account, invalid, out);
    if (this.orders.has(cmd.orderId)) return this.refuse(cmd.orderId, cmd.account, DUPLICATE_ORDER(cmd.orderId), out);
    const isMarket = cmd.type === OrderType.Market;
    if (cmd.postOnly && this.wouldCross(cmd.side, cmd.price)) return this.refuse(cmd.orderId, cmd.account, POST_ONLY_WOULD_TAKE, out);

    out.accepted(cmd.orderId, cmd.account, cmd.side, cmd.price, cmd.quantity);
    const opposite = this.sides[1 - cmd.side];
    let limit = cmd.price;
    if (isMarket) {
      if (opposite.length === 0) {
        out.cancelled(cmd.orderId, cmd.account, cmd.side, 0, cmd.quantity, CancelReason.MarketNoLiquidity);
        return ACCEPTED;
      }
      limit = marketLimitPrice(this.instrument, cmd.side === Side.Buy, opposite[0]!.price);
    }
    const taker: Taker = {
      orderId: cmd.orderId,
      account: cmd.account,
      side: cmd.side,
      reportedPrice: cmd.price,
      limit,
      remaining: cmd.quantity,
      stp: cmd.stp,
    };
    if (cmd.tif === TimeInForce.FOK && !this.canFillCompletely(taker)) {
      out.cancelled(cmd.orderId, cmd.account, cmd.side, cmd.price, cmd.quantity, CancelReason.FokNotFillable);
      return ACCEPTED;
    }
    const stoppedBySelfTrade = this.match(taker, out);
    if (taker.remaining === 0) return ACCEPTED;
    if (stoppedBySelfTrade) {
      out.cancelled(taker.orderId, taker.account, taker.side, taker.reportedPrice, taker.remaining, CancelReason.SelfTradeTaker);
    } else if (isMarket) {
      const reason = opposite.length > 0 ? CancelReason.MarketProtectionBand : CancelReason.MarketNoLiquidity;
      out.cancelled(taker.orderId, taker.account, taker.side, 0, taker.remaining, reason);
    } else if (cmd.tif === TimeInForce.GTC) {
      this.rest({ orderId: cmd.orderId, account: cmd.account, side: cmd.side, price: cmd.price, remaining: taker.remaining, stp: cmd.stp, postOnly: cmd.postOnly }, out);
    } else {
      out.cancelled(taker.orderId, taker.account, taker.side, taker.reportedPrice, taker.remaining, CancelReason.IocRemainder);
    }
    return ACCEPTED;
  }

  private cancel(cmd: CancelCommand, out: EventSink): Outcome {
    const invalid = validateCancel(cmd);
    if (invalid) return this.refuse(cmd.orderId, cmd.account, invalid, out);
    const order = this.orders.get(cmd.orderId);
    if (!order || order.account !== cmd.account) return this.refuse(cmd.orderId, cmd.account, UNKNOWN_ORDER(cmd.orderId), out);
    out.cancelled(order.orderId, order.account, order.side, order.price, order.remaining, CancelReason.UserRequested);
    this.remove(order);
    this.emitLevel(order.side, order.price, out);
    return ACCEPTED;
  }

  private cancelAll(cmd: CancelAllCommand, out: EventSink): Outcome {
    const invalid = validateCancelAll(cmd);
    if (invalid) return this.refuse(0, cmd.account, invalid, out);
    const mine = [...this.orders.values()]
      .filter((o) => o.account === cmd.account && (cmd.side === undefined || o.side === cmd.side))
      .sort((a, b) => a.orderId - b.orderId);
    for (const order of mine) {
      out.cancelled(order.orderId, order.account, order.side, order.price, order.remaining, CancelReason.CancelAll);
      this.remove(order);
      this.emitLevel(order.side, order.price, out);
    }
    return ACCEPTED;
  }

  private replace(cmd: ReplaceCommand, out: EventSink): Outcome {
    const invalid = validateReplace(this.instrument, cmd);
    if (invalid) return this.refuse(cmd.orderId, cmd.account, invalid, out);
    const order = this.orders.get(cmd.orderId);
    if (!order || order.account !== cmd.account) return this.refuse(cmd.orderId, cmd.account, UNKNOWN_ORDER(cmd.orderId), out);
    if (cmd.price === order.price && cmd.quantity === order.remaining) return this.refuse(cmd.orderId, cmd.account, REPLACE_NO_CHANGE, out);

    if (cmd.price === order.price && cmd.quantity < order.remaining) {
      order.remaining = cmd.quantity;
      out.replaced(order.orderId, order.account, order.side, order.price, order.remaining, true);
      this.emitLevel(order.side, order.price, out);
      return ACCEPTED;
    }
    if (order.postOnly && this.wouldCross(order.side, cmd.price)) return this.refuse(cmd.orderId, cmd.account, POST_ONLY_WOULD_TAKE, out);

    this.remove(order);
    out.replaced(order.orderId, order.account, order.side, cmd.price, cmd.quantity, false);
    this.emitLevel(order.side, order.price, out);
    const taker: Taker = {
      orderId: order.orderId,
      account: order.account,
      side: order.side,
      reportedPrice: cmd.price,
      limit: cmd.price,
      remaining: cmd.quantity,
      stp: order.stp,
    };
    const stoppedBySelfTrade = this.match(taker, out);
    if (taker.remaining === 0) return ACCEPTED;
    if (stoppedBySelfTrade) {
      out.cancelled(taker.orderId, taker.account, taker.side, taker.reportedPrice, taker.remaining, CancelReason.SelfTradeTaker);
    } else {
      this.rest({ ...order, price: cmd.price, remaining: taker.remaining }, out);
    }
    return ACCEPTED;
  }

  /** Does a limit at `price` on `side` meet the best opposite price? */
  private wouldCross(side: Side, price: PriceTicks): boolean {
    const best = this.sides[1 - side][0];
    if (best === undefined) return false;
    return side === Side.Buy ? price >= best.price : price <= best.price;
  }

  private withinLimit(taker: Taker, levelPrice: PriceTicks): boolean {
    return taker.side === Side.Buy ? levelPrice <= taker.limit : levelPrice >= taker.limit;
  }

  /** FOK pre-check: would the taker be completely filled, given its self-trade mode? Changes nothing. */
  private canFillCompletely(taker: Taker): boolean {
    let available = 0;
    for (const level of this.sides[1 - taker.side]) {
      if (!this.withinLimit(taker, level.price)) break;
      for (const maker of level.orders) {
        if (maker.account === taker.account && taker.stp !== StpMode.None) {
          if (taker.stp === StpMode.CancelMaker) continue;
          return false;
        }
        available += maker.remaining;
        if (available >= taker.remaining) return true;
      }
    }
    return false;
  }

  /** Trades the taker against the opposite side. Returns true when self-trade prevention stopped it. */
  private match(taker: Taker, out: EventSink): boolean {
    const opposite = this.sides[1 - taker.side];
    const makerSide = (1 - taker.side) as Side;
    while (taker.remaining > 0 && opposite.length > 0) {
      const level = opposite[0]!;
      if (!this.withinLimit(taker, level.price)) return false;
      let changed = false;
      let stop = false;
      let i = 0;
      while (i < level.orders.length && taker.remaining > 0) {
        const maker = level.orders[i]!;
        if (maker.account === taker.account && taker.stp !== StpMode.None) {
          if (taker.stp === StpMode.CancelTaker) {
            stop = true;
            break;
          }
          if (taker.stp === StpMode.CancelMaker || taker.stp === StpMode.CancelBoth) {
            out.cancelled(maker.orderId, maker.account, maker.side, maker.price, maker.remaining, CancelReason.SelfTradeMaker);
            level.orders.splice(i, 1);
            this.orders.delete(maker.orderId);
            changed = true;
            if (taker.stp === StpMode.CancelBoth) {
              stop = true;
              break;
            }
            continue;
          }
          // DecrementAndCancel
          const d = Math.min(maker.remaining, taker.remaining);
          maker.remaining -= d;
          taker.remaining -= d;
          changed = true;
          out.cancelled(maker.orderId, maker.account, maker.side, maker.price, d, CancelReason.SelfTradeDecrement);
          out.cancelled(taker.orderId, taker.account, taker.side, taker.reportedPrice, d, CancelReason.SelfTradeDecrement);
          if (maker.remaining === 0) {
            level.orders.splice(i, 1);
            this.orders.delete(maker.orderId);
          } else {
            i++;
          }
          continue;
        }
        const q = Math.min(maker.remaining, taker.remaining);
        maker.remaining -= q;
        taker.remaining -= q;
        changed = true;
        out.fill(maker.orderId, maker.account, taker.orderId, taker.account, taker.side, maker.price, q, maker.remaining, taker.remaining);
        if (maker.remaining === 0) {
          level.orders.splice(i, 1);
          this.orders.delete(maker.orderId);
        } else {
          i++;
        }
      }
      if (level.orders.length === 0) opposite.shift();
      if (changed) this.emitLevel(makerSide, level.price, out);
      if (stop) return true;
      if (level.orders.length > 0) return false; // taker done (or decremented to zero) inside this level
    }
    return false;
  }

  private rest(order: Order, out: EventSink): void {
    const levels = this.sides[order.side];
    const i = levelPosition(levels, order.side, order.price);
    if (i < levels.length && levels[i]!.price === order.price) {
      levels[i]!.orders.push(order);
    } else {
      levels.splice(i, 0, { price: order.price, orders: [order] });
    }
    this.orders.set(order.orderId, order);
    this.emitLevel(order.side, order.price, out);
  }

  private remove(order: Order): void {
    const levels = this.sides[order.side];
    const li = levelPosition(levels, order.side, order.price);
    const level = levels[li]!;
    level.orders.splice(level.orders.indexOf(order), 1);
    if (level.orders.length === 0) levels.splice(li, 1);
    this.orders.delete(order.orderId);
  }

  private emitLevel(side: Side, price: PriceTicks, out: EventSink): void {
    const levels = this.sides[side];
    const level = levels[levelPosition(levels, side, price)];
    if (level === undefined || level.price !== price) {
      out.level(side, price, 0, 0);
    } else {
      out.level(side, price, level.orders.reduce((sum, o) => sum + o.remaining, 0), level.orders.length);
    }
  }

  getOrder(orderId: OrderId): RestingOrder | undefined {
    const o = this.orders.get(orderId);
    return o === undefined ? undefined : { ...o };
  }

  forEachOrder(side: Side, visit: (order: RestingOrder) => void): void {
    for (const level of this.sides[side]) for (const o of level.orders) visit({ ...o });
  }

  depth(side: Side, maxLevels: number): DepthLevel[] {
    return this.sides[side].slice(0, Math.max(0, maxLevels)).map((l) => ({
      price: l.price,
      quantity: l.orders.reduce((sum, o) => sum + o.remaining, 0),
      orderCount: l.orders.length,
    }));
  }

  bestPrice(side: Side): PriceTicks | undefined {
    return this.sides[side][0]?.price;
  }

  size(): number {
    return this.orders.size;
  }

  load(orders: Iterable<RestingOrder>): void {
    this.sides[0].length = 0;
    this.sides[1].length = 0;
    this.orders.clear();
    const ignore: EventSink = { accepted() {}, rejected() {}, fill() {}, cancelled() {}, replaced() {}, level() {} };
    for (const o of orders) this.rest({ ...o }, ignore);
  }

  stateHash(): string {
    return hashBookState(this);
  }

  checkInvariants(): void {
    const fail = (rule: string, detail: string): never => {
      throw new InvariantError(this.implementation, rule, detail);
    };
    let count = 0;
    for (const side of [Side.Buy, Side.Sell] as const) {
      const levels = this.sides[side];
      for (let i = 0; i < levels.length; i++) {
        const level = levels[i]!;
        if (level.orders.length === 0) fail('no empty levels', `${side}@${level.price}`);
        if (i > 0) {
          const prev = levels[i - 1]!.price;
          if (side === Side.Buy ? prev <= level.price : prev >= level.price) fail('levels sorted best first', `${side}: ${prev} then ${level.price}`);
        }
        for (const o of level.orders) {
          count++;
          if (o.price !== level.price || o.side !== side) fail('order on its own level', `order ${o.orderId}`);
          if (!(o.remaining > 0)) fail('resting quantity positive', `order ${o.orderId} has ${o.remaining}`);
          if (this.orders.get(o.orderId) !== o) fail('id index consistent', `order ${o.orderId}`);
        }
      }
    }
    if (count !== this.orders.size) fail('id index consistent', `${count} resting vs ${this.orders.size} indexed`);
    const bid = this.bestPrice(Side.Buy);
    const ask = this.bestPrice(Side.Sell);
    if (bid !== undefined && ask !== undefined && bid >= ask) fail('book not crossed', `best bid ${bid} >= best ask ${ask}`);
  }
}
