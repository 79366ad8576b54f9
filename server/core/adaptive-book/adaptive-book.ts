/**
 * The adaptive order book: the same semantics as the legacy book (events.ts emission rules, validation.ts),
 * built for throughput. It holds the resting state of one pair and must not allocate per order on the
 * hot path nor import anything outside server/core.
 *
 * Layout (see each module's header):
 * - OrderPool: one 64-byte record per order in two typed arrays, intrusive doubly linked FIFO per level, free list.
 * - PooledOrderIdIndex: chained hash id → slot whose chains run through the order records, for O(1)
 *   cancel and replace. An OrderIdIndex maps each account with resting orders to the sentinel slot of its
 *   ring (orders linked per account through the pool), so cancel-all visits that account's orders only,
 *   never the whole pool.
 * - LevelPool: price levels (aggregate + FIFO ends), pooled the same way.
 * - PriceIndex (one per side): a bitmap-indexed window of levels around the touch plus a heap-ordered
 *   far tier, with the best level cached.
 * Hot paths write NIL (-1), record field offsets and enum members as literals (with the name in a
 * comment): V8 reloads and re-checks a module-level constant or an imported binding at every use.
 * Events leave through the EventSink's primitive-argument methods; no event objects are built.
 */
import { CommandKind, type CancelAllCommand, type CancelCommand, type Command, type NewOrderCommand, type ReplaceCommand } from '../commands.ts';
import { InvariantError } from '../errors.ts';
import type { EventSink } from '../events.ts';
import type { Instrument } from '../instrument.ts';
import { ACCEPTED, type DepthLevel, type OrderBook, type Outcome, type Rejection, type RestingOrder } from '../order-book.ts';
import { CancelReason } from '../reasons.ts';
import { hashBookState } from '../state-hash.ts';
import { Side, StpMode, type AccountId, type Lots, type OrderId, type PriceTicks } from '../types.ts';
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
import { LevelPool } from './level-pool.ts';
import { OrderIdIndex } from './order-id-index.ts';
import { PooledOrderIdIndex } from './pooled-order-id-index.ts';
import {
  ACCOUNT_SENTINEL,
  OrderPool,
  flagPostOnly,
  flagSide,
  flagStp,
  packFlags,
} from './order-pool.ts';
import { PriceIndex, defaultWindowSize } from './price-index.ts';

export interface AdaptiveBookOptions {
  /**
   * Price keys held in each side's directly indexed window (a power of two >= 32). Raising it keeps more
   * of a deep book in O(1) slots at 4 bytes + 1 bit per key per side; lowering it mainly serves tests,
   * which use a tiny window to drive the far tier and re-centring.
   * @default the smallest power of two above maxPriceTicks (at least 1024), capped at 65536
   */
  windowSize?: number;
}

/** One side's price tiers: levels in the window, levels in the far tier, window moves so far. */
export interface PriceTierStats {
  window: number;
  far: number;
  recentres: number;
}

export class AdaptiveBook implements OrderBook {
  readonly implementation = 'adaptive' as const;
  readonly instrument: Instrument;
  private readonly orders: OrderPool;
  private readonly ids: PooledOrderIdIndex;
  /** Account → the sentinel slot of its ring of resting orders (only accounts with resting orders). */
  private readonly accounts: OrderIdIndex;
  private readonly levels: LevelPool;
  private readonly bids: PriceIndex;
  private readonly asks: PriceIndex;
  /**
   * Set by match(): the taker stopped on a self-trade (CancelTaker or CancelBoth), so its remainder is
   * cancelled as SelfTradeTaker instead of resting. A field rather than a second return value so that
   * match() returns a plain number and allocates nothing.
   */
  private stoppedBySelfTrade: boolean;

  constructor(instrument: Instrument, options: AdaptiveBookOptions = {}) {
    const windowSize = options.windowSize ?? defaultWindowSize(instrument.maxPriceTicks);
    this.instrument = instrument;
    this.orders = new OrderPool(1024);
    this.ids = new PooledOrderIdIndex(this.orders, 1024);
    this.accounts = new OrderIdIndex(64);
    this.levels = new LevelPool(256);
    this.bids = new PriceIndex(true, instrument.maxPriceTicks, windowSize);
    this.asks = new PriceIndex(false, instrument.maxPriceTicks, windowSize);
    this.stoppedBySelfTrade = false;
  }

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

  /** Where each side's levels are and how often its window moved (tests, diagnostics). */
  tiers(): { bids: PriceTierStats; asks: PriceTierStats } {
    const of = (p: PriceIndex): PriceTierStats => ({ window: p.windowLevels, far: p.farLevels, recentres: p.recentres });
    return { bids: of(this.bids), asks: of(this.asks) };
  }

  private refuse(orderId: OrderId, account: AccountId, r: Rejection, out: EventSink): Rejection {
    out.rejected(orderId, account, r.code, r.field, r.reason);
    return r;
  }

  private newOrder(cmd: NewOrderCommand, out: EventSink): Outcome {
    const orderId = cmd.orderId;
    const account = cmd.account;
    const invalid = validateNewOrder(this.instrument, cmd);
    if (invalid !== undefined) return this.refuse(orderId, account, invalid, out);
    if (this.ids.get(orderId) >= 0) return this.refuse(orderId, account, DUPLICATE_ORDER(orderId), out);
    const side = cmd.side;
    const price = cmd.price;
    if (cmd.postOnly && this.wouldCross(side, price)) return this.refuse(orderId, account, POST_ONLY_WOULD_TAKE, out);

    const quantity = cmd.quantity;
    const isMarket = cmd.type === 1 /* OrderType.Market */;
    const isBuy = side === 0 /* Side.Buy */;
    // Validation guarantees a market order's price is 0, which is also what its own events report.
    out.accepted(orderId, account, side, price, quantity);
    const opposite = isBuy ? this.asks : this.bids;
    let limit = price;
    if (isMarket) {
      if (opposite.best === -1) {
        out.cancelled(orderId, account, side, 0, quantity, 5 /* CancelReason.MarketNoLiquidity */);
        return ACCEPTED;
      }
      limit = marketLimitPrice(this.instrument, isBuy, this.levels.i32[(opposite.best << 3) + 0 /* price */]!);
    }
    const stp = cmd.stp;
    const tif = cmd.tif;
    if (tif === 2 /* TimeInForce.FOK */ && !this.canFillCompletely(opposite, isBuy, limit, quantity, account, stp)) {
      out.cancelled(orderId, account, side, price, quantity, 4 /* CancelReason.FokNotFillable */);
      return ACCEPTED;
    }
    // Most limit orders do not cross: skip the matching loop's set-up for them.
    let remaining = quantity;
    if (this.crosses(opposite, isBuy, limit)) remaining = this.match(orderId, account, side, limit, price, quantity, stp, out);
    else this.stoppedBySelfTrade = false;
    if (remaining === 0) return ACCEPTED;
    if (this.stoppedBySelfTrade) {
      out.cancelled(orderId, account, side, price, remaining, 7 /* CancelReason.SelfTradeTaker */);
    } else if (isMarket) {
      const reason = opposite.best !== -1 ? 6 /* CancelReason.MarketProtectionBand */ : 5 /* CancelReason.MarketNoLiquidity */;
      out.cancelled(orderId, account, side, 0, remaining, reason);
    } else if (tif === 0 /* TimeInForce.GTC */) {
      const o = this.orders.alloc();
      const f = this.orders.f64;
      const fo = o << 2;
      f[fo + 0 /* id */] = orderId;
      f[fo + 1 /* account */] = account;
      this.orders.i32[(o << 3) + 6 /* flags */] = packFlags(side, stp, cmd.postOnly);
      this.ids.add(orderId, o);
      this.joinAccount(o, account);
      this.rest(o, side, price, remaining, out);
    } else {
      out.cancelled(orderId, account, side, price, remaining, 3 /* CancelReason.IocRemainder */);
    }
    return ACCEPTED;
  }

  private cancel(cmd: CancelCommand, out: EventSink): Outcome {
    const invalid = validateCancel(cmd);
    if (invalid !== undefined) return this.refuse(cmd.orderId, cmd.account, invalid, out);
    const o = this.ids.get(cmd.orderId);
    if (o < 0 || this.orders.f64[(o << 2) + 1 /* account */] !== cmd.account) return this.refuse(cmd.orderId, cmd.account, UNKNOWN_ORDER(cmd.orderId), out);
    this.cancelResting(o, cmd.orderId, cmd.account, 1 /* CancelReason.UserRequested */, out);
    return ACCEPTED;
  }

  private cancelAll(cmd: CancelAllCommand, out: EventSink): Outcome {
    const invalid = validateCancelAll(cmd);
    if (invalid !== undefined) return this.refuse(0, cmd.account, invalid, out);
    // The account's ring holds exactly its resting orders: the work is proportional to them, not to the pool.
    const account = cmd.account;
    const sentinel = this.accounts.get(account);
    if (sentinel < 0) return ACCEPTED;
    const oi = this.orders.i32;
    const of = this.orders.f64;
    const side = cmd.side;
    const mine: number[] = [];
    for (let o = oi[(sentinel << 3) + 5 /* accountNext */]!; o !== sentinel; o = oi[(o << 3) + 5 /* accountNext */]!) {
      if (side === undefined || flagSide(oi[(o << 3) + 6 /* flags */]!) === side) mine.push(of[(o << 2) + 0 /* id */]!);
    }
    // The ring is in order of first resting; the rule is ascending order id.
    mine.sort((a, b) => a - b);
    for (let i = 0; i < mine.length; i++) this.cancelResting(this.ids.get(mine[i]!), mine[i]!, account, 2 /* CancelReason.CancelAll */, out);
    return ACCEPTED;
  }

  private replace(cmd: ReplaceCommand, out: EventSink): Outcome {
    const invalid = validateReplace(this.instrument, cmd);
    const orderId = cmd.orderId;
    const account = cmd.account;
    if (invalid !== undefined) return this.refuse(orderId, account, invalid, out);
    const o = this.ids.get(orderId);
    const of = this.orders.f64;
    const oi = this.orders.i32;
    const fo = o << 2;
    const io = o << 3;
    if (o < 0 || of[fo + 1 /* account */] !== account) return this.refuse(orderId, account, UNKNOWN_ORDER(orderId), out);
    const price = cmd.price;
    const quantity = cmd.quantity;
    const oldPrice = oi[io + 0 /* price */]!;
    const oldRemaining = of[fo + 2 /* remaining */]!;
    const flags = oi[io + 6 /* flags */]!;
    const side = flagSide(flags) as Side;
    const lvl = oi[io + 3 /* level */]!;
    const levels = this.levels;
    if (price === oldPrice) {
      if (quantity === oldRemaining) return this.refuse(orderId, account, REPLACE_NO_CHANGE, out);
      if (quantity < oldRemaining) {
        // Reducing in place keeps queue priority.
        of[fo + 2 /* remaining */] = quantity;
        levels.total[lvl] -= oldRemaining - quantity;
        out.replaced(orderId, account, side, price, quantity, true);
        out.level(side, price, levels.total[lvl]!, levels.i32[(lvl << 3) + 2 /* count */]!);
        return ACCEPTED;
      }
    }
    if (flagPostOnly(flags) && this.wouldCross(side, price)) return this.refuse(orderId, account, POST_ONLY_WOULD_TAKE, out);

    // Losing priority: leave the level, then re-enter as a GTC limit taker. The slot and its id entry are
    // kept while it matches (nothing looks it up meanwhile) and reused if it rests again.
    this.unlink(o, lvl);
    levels.total[lvl] -= oldRemaining;
    out.replaced(orderId, account, side, price, quantity, false);
    this.emitLevelAfterRemoval(side, lvl, out);
    const remaining = this.match(orderId, account, side, price, price, quantity, flagStp(flags), out);
    if (remaining === 0) {
      this.forget(o, orderId);
    } else if (this.stoppedBySelfTrade) {
      out.cancelled(orderId, account, side, price, remaining, 7 /* CancelReason.SelfTradeTaker */);
      this.forget(o, orderId);
    } else {
      this.rest(o, side, price, remaining, out);
    }
    return ACCEPTED;
  }

  /** Does a taker with this limit meet the best opposite level? */
  private crosses(opposite: PriceIndex, isBuy: boolean, limit: PriceTicks): boolean {
    const best = opposite.best;
    if (best === -1) return false;
    const px = this.levels.i32[(best << 3) + 0 /* price */]!;
    return isBuy ? px <= limit : px >= limit;
  }

  /** Does a limit at `price` on `side` meet the best opposite price? */
  private wouldCross(side: Side, price: PriceTicks): boolean {
    const best = side === 0 /* Side.Buy */ ? this.asks.best : this.bids.best;
    if (best === -1) return false;
    const bestPrice = this.levels.i32[(best << 3) + 0 /* price */]!;
    return side === 0 /* Side.Buy */ ? price >= bestPrice : price <= bestPrice;
  }

  /**
   * FOK pre-check: would the taker be completely filled within `limit`? A maker of the same account stops
   * the walk unless the taker's mode would cancel that maker and carry on. Changes nothing.
   */
  private canFillCompletely(opposite: PriceIndex, isBuy: boolean, limit: PriceTicks, quantity: Lots, account: AccountId, stp: number): boolean {
    const of = this.orders.f64;
    const oi = this.orders.i32;
    const levels = this.levels;
    let needed = quantity;
    for (let lvl = opposite.best; lvl !== -1; ) {
      const px = levels.i32[(lvl << 3) + 0 /* price */]!;
      if (isBuy ? px > limit : px < limit) return false;
      for (let o = levels.i32[(lvl << 3) + 3 /* head */]!; o !== -1; o = oi[(o << 3) + 2 /* next */]!) {
        if (stp !== 0 /* StpMode.None */ && of[(o << 2) + 1 /* account */] === account) {
          if (stp === 2 /* StpMode.CancelMaker */) continue;
          return false;
        }
        needed -= of[(o << 2) + 2 /* remaining */]!;
        if (needed <= 0) return true;
      }
      lvl = opposite.levelAfter(px);
    }
    return false;
  }

  /**
   * Trades a taker against the opposite side, best level first and FIFO within a level, applying the
   * taker's self-trade mode. Emits fills, maker cancels and one `level` per touched level; leaves the
   * taker's own remainder to the caller. Returns the taker's remaining lots.
   */
  private match(
    takerId: OrderId,
    account: AccountId,
    side: Side,
    limit: PriceTicks,
    reportedPrice: PriceTicks,
    quantity: Lots,
    stp: number,
    out: EventSink,
  ): Lots {
    const isBuy = side === 0 /* Side.Buy */;
    const makerSide: Side = isBuy ? 1 /* Side.Sell */ : 0 /* Side.Buy */;
    const opposite = isBuy ? this.asks : this.bids;
    // Nothing below allocates a slot or a level, so the pools' arrays cannot be replaced mid-loop.
    const of = this.orders.f64;
    const oi = this.orders.i32;
    const levels = this.levels;
    const lTotal = levels.total;
    let remaining = quantity;
    let stop = false;
    this.stoppedBySelfTrade = false;
    while (remaining > 0) {
      const lvl = opposite.best;
      if (lvl === -1) break;
      const px = levels.i32[(lvl << 3) + 0 /* price */]!;
      if (isBuy ? px > limit : px < limit) break;
      let changed = false;
      let o = levels.i32[(lvl << 3) + 3 /* head */]!;
      while (o !== -1) {
        const fo = o << 2;
        const next = oi[(o << 3) + 2 /* next */]!;
        const makerRemaining = of[fo + 2 /* remaining */]!;
        if (stp !== 0 /* StpMode.None */ && of[fo + 1 /* account */] === account) {
          if (stp === 1 /* StpMode.CancelTaker */) {
            stop = true;
            break;
          }
          const makerId = of[fo + 0 /* id */]!;
          if (stp === 4 /* StpMode.DecrementAndCancel */) {
            const d = makerRemaining < remaining ? makerRemaining : remaining;
            remaining -= d;
            lTotal[lvl] -= d;
            changed = true;
            out.cancelled(makerId, account, makerSide, px, d, 9 /* CancelReason.SelfTradeDecrement */);
            if (d === makerRemaining) this.removeMaker(o, lvl, makerId);
            else of[fo + 2 /* remaining */] = makerRemaining - d;
            out.cancelled(takerId, account, side, reportedPrice, d, 9 /* CancelReason.SelfTradeDecrement */);
            if (remaining === 0) break;
            o = next;
            continue;
          }
          // CancelMaker or CancelBoth: the maker goes whole.
          out.cancelled(makerId, account, makerSide, px, makerRemaining, 8 /* CancelReason.SelfTradeMaker */);
          lTotal[lvl] -= makerRemaining;
          this.removeMaker(o, lvl, makerId);
          changed = true;
          if (stp === 3 /* StpMode.CancelBoth */) {
            stop = true;
            break;
          }
          o = next;
          continue;
        }
        const q = makerRemaining < remaining ? makerRemaining : remaining;
        remaining -= q;
        const makerLeft = makerRemaining - q;
        lTotal[lvl] -= q;
        changed = true;
        const makerId = of[fo + 0 /* id */]!;
        out.fill(makerId, of[fo + 1 /* account */]!, takerId, account, side, px, q, makerLeft, remaining);
        if (makerLeft === 0) this.removeMaker(o, lvl, makerId);
        else of[fo + 2 /* remaining */] = makerLeft;
        if (remaining === 0) break;
        o = next;
      }
      if (changed) this.emitLevelAfterRemoval(makerSide, lvl, out);
      if (stop) {
        this.stoppedBySelfTrade = true;
        break;
      }
    }
    return remaining;
  }

  /** Puts slot `o` (id, account, flags already set) at the back of its level and reports the level. */
  private rest(o: number, side: Side, price: PriceTicks, remaining: Lots, out: EventSink): void {
    const index = side === 0 /* Side.Buy */ ? this.bids : this.asks;
    let lvl = index.levelAt(price);
    if (lvl === -1) {
      lvl = this.levels.alloc(side, price);
      index.insert(price, lvl);
    }
    const oi = this.orders.i32;
    const levels = this.levels;
    const io = o << 3;
    this.orders.f64[(o << 2) + 2 /* remaining */] = remaining;
    oi[io + 0 /* price */] = price;
    oi[io + 3 /* level */] = lvl;
    const tail = levels.i32[(lvl << 3) + 4 /* tail */]!;
    oi[io + 1 /* prev */] = tail;
    oi[io + 2 /* next */] = -1;
    if (tail === -1) levels.i32[(lvl << 3) + 3 /* head */] = o;
    else oi[(tail << 3) + 2 /* next */] = o;
    levels.i32[(lvl << 3) + 4 /* tail */] = o;
    const total = levels.total[lvl]! + remaining;
    levels.total[lvl] = total;
    const count = levels.i32[(lvl << 3) + 2 /* count */]! + 1;
    levels.i32[(lvl << 3) + 2 /* count */] = count;
    out.level(side, price, total, count);
  }

  /**
   * Cancels a resting order whole (user cancel, cancel-all) and reports it and its level. The caller has
   * the id and account at hand; side and price come from the level, so on a deep book this touches only
   * the order's remaining, level and links instead of every one of its arrays.
   */
  private cancelResting(o: number, orderId: OrderId, account: AccountId, reason: CancelReason, out: EventSink): void {
    const remaining = this.orders.f64[(o << 2) + 2 /* remaining */]!;
    const lvl = this.orders.i32[(o << 3) + 3 /* level */]!;
    const levels = this.levels;
    const side = levels.i32[(lvl << 3) + 1 /* side */]! as Side;
    out.cancelled(orderId, account, side, levels.i32[(lvl << 3) + 0 /* price */]!, remaining, reason);
    levels.total[lvl] -= remaining;
    this.removeMaker(o, lvl, orderId);
    this.emitLevelAfterRemoval(side, lvl, out);
  }

  /** Takes an order out of its level's FIFO, the id index and the pool. The caller adjusts the level total. */
  private removeMaker(o: number, lvl: number, orderId: OrderId): void {
    this.unlink(o, lvl);
    this.forget(o, orderId);
  }

  private forget(o: number, orderId: OrderId): void {
    this.ids.remove(orderId, o);
    this.leaveAccount(o);
    this.orders.free(o);
  }

  /**
   * Links slot `o` (its account set) at the back of its account's ring, creating the ring's sentinel
   * for an account with no resting order yet. May grow the pool (the sentinel is a pool slot).
   */
  private joinAccount(o: number, account: AccountId): void {
    let s = this.accounts.get(account);
    if (s < 0) {
      s = this.orders.alloc();
      const si = s << 3;
      const oi = this.orders.i32;
      oi[si + 3 /* level */] = -2; // ACCOUNT_SENTINEL
      oi[si + 4 /* accountPrev */] = s;
      oi[si + 5 /* accountNext */] = s;
      this.orders.f64[(s << 2) + 1 /* account */] = account;
      this.accounts.set(account, s);
    }
    const oi = this.orders.i32;
    const si = s << 3;
    const io = o << 3;
    const tail = oi[si + 4 /* accountPrev */]!;
    oi[io + 4 /* accountPrev */] = tail;
    oi[io + 5 /* accountNext */] = s;
    oi[(tail << 3) + 5 /* accountNext */] = o;
    oi[si + 4 /* accountPrev */] = o;
  }

  /** Unlinks slot `o` from its account's ring; the ring's sentinel goes with the account's last order. */
  private leaveAccount(o: number): void {
    const oi = this.orders.i32;
    const io = o << 3;
    const prev = oi[io + 4 /* accountPrev */]!;
    const next = oi[io + 5 /* accountNext */]!;
    oi[(prev << 3) + 5 /* accountNext */] = next;
    oi[(next << 3) + 4 /* accountPrev */] = prev;
    if (prev === next) {
      // Only the sentinel is left.
      this.accounts.delete(this.orders.f64[(prev << 2) + 1 /* account */]!);
      this.orders.free(prev);
    }
  }

  private unlink(o: number, lvl: number): void {
    const oi = this.orders.i32;
    const levels = this.levels;
    const io = o << 3;
    const prev = oi[io + 1 /* prev */]!;
    const next = oi[io + 2 /* next */]!;
    if (prev === -1) levels.i32[(lvl << 3) + 3 /* head */] = next;
    else oi[(prev << 3) + 2 /* next */] = next;
    if (next === -1) levels.i32[(lvl << 3) + 4 /* tail */] = prev;
    else oi[(next << 3) + 1 /* prev */] = prev;
    levels.i32[(lvl << 3) + 2 /* count */]!--;
  }

  /** Reports a level after orders left it, dropping it from the index (and the pool) when it emptied. */
  private emitLevelAfterRemoval(side: Side, lvl: number, out: EventSink): void {
    const levels = this.levels;
    const price = levels.i32[(lvl << 3) + 0 /* price */]!;
    const count = levels.i32[(lvl << 3) + 2 /* count */]!;
    if (count === 0) {
      (side === 0 /* Side.Buy */ ? this.bids : this.asks).remove(price);
      levels.free(lvl);
      out.level(side, price, 0, 0);
    } else {
      out.level(side, price, levels.total[lvl]!, count);
    }
  }

  private snapshot(o: number): RestingOrder {
    const orders = this.orders;
    const flags = orders.int(o, 6 /* flags */);
    return {
      orderId: orders.id(o),
      account: orders.account(o),
      side: flagSide(flags) as Side,
      price: orders.int(o, 0 /* price */),
      remaining: orders.remaining(o),
      stp: flagStp(flags) as StpMode,
      postOnly: flagPostOnly(flags),
    };
  }

  getOrder(orderId: OrderId): RestingOrder | undefined {
    const o = this.ids.get(orderId);
    return o < 0 ? undefined : this.snapshot(o);
  }

  forEachOrder(side: Side, visit: (order: RestingOrder) => void): void {
    const index = side === 0 /* Side.Buy */ ? this.bids : this.asks;
    for (const lvl of index.levelsInOrder()) {
      for (let o = this.levels.i32[(lvl << 3) + 3 /* head */]!; o !== -1; o = this.orders.int(o, 2 /* next */)) visit(this.snapshot(o));
    }
  }

  depth(side: Side, maxLevels: number): DepthLevel[] {
    const index = side === 0 /* Side.Buy */ ? this.bids : this.asks;
    const result: DepthLevel[] = [];
    const levels = this.levels;
    const wanted = Math.trunc(maxLevels); // as Array.slice reads it: 2.5 levels is 2, NaN is none
    for (let lvl = index.best; lvl !== -1 && result.length < wanted; lvl = index.levelAfter(levels.i32[(lvl << 3) + 0 /* price */]!)) {
      result.push({ price: levels.i32[(lvl << 3) + 0 /* price */]!, quantity: levels.total[lvl]!, orderCount: levels.i32[(lvl << 3) + 2 /* count */]! });
    }
    return result;
  }

  bestPrice(side: Side): PriceTicks | undefined {
    const best = side === 0 /* Side.Buy */ ? this.bids.best : this.asks.best;
    return best === -1 ? undefined : this.levels.i32[(best << 3) + 0 /* price */];
  }

  size(): number {
    return this.ids.size;
  }

  load(restingOrders: Iterable<RestingOrder>): void {
    this.orders.clear();
    this.levels.clear();
    this.ids.clear();
    this.accounts.clear();
    this.bids.clear();
    this.asks.clear();
    const quiet: EventSink = { accepted() {}, rejected() {}, fill() {}, cancelled() {}, replaced() {}, level() {} };
    for (const r of restingOrders) {
      // The price index keys prices as ticks within [0, maxPriceTicks]; anything else, or an id twice, is a
      // broken snapshot, and failing here beats corrupting the book.
      if (!(Number.isSafeInteger(r.price) && r.price >= 0 && r.price <= this.instrument.maxPriceTicks)) {
        throw new RangeError(`load: order ${r.orderId} has price ${r.price}, outside [0, ${this.instrument.maxPriceTicks}] ticks`);
      }
      if (this.ids.get(r.orderId) >= 0) throw new RangeError(`load: order ${r.orderId} appears twice`);
      const o = this.orders.alloc();
      const f = this.orders.f64;
      f[(o << 2) + 0 /* id */] = r.orderId;
      f[(o << 2) + 1 /* account */] = r.account;
      this.orders.i32[(o << 3) + 6 /* flags */] = packFlags(r.side, r.stp, r.postOnly);
      this.ids.add(r.orderId, o);
      this.joinAccount(o, r.account);
      this.rest(o, r.side, r.price, r.remaining, quiet);
    }
  }

  stateHash(): string {
    return hashBookState(this);
  }

  checkInvariants(): void {
    const fail = (rule: string, detail: string): never => {
      throw new InvariantError(this.implementation, rule, detail);
    };
    const orders = this.orders;
    const levels = this.levels;
    let resting = 0;
    for (const side of [0 /* Side.Buy */, 1 /* Side.Sell */] as const) {
      const index = side === 0 /* Side.Buy */ ? this.bids : this.asks;
      const problem = index.audit((l) => levels.i32[(l << 3) + 0 /* price */]!);
      if (problem !== undefined) fail('price index consistent', `side ${side}: ${problem}`);
      let prevPrice = -1;
      for (const lvl of index.levelsInOrder()) {
        const price = levels.i32[(lvl << 3) + 0 /* price */]!;
        if (levels.i32[(lvl << 3) + 1 /* side */] !== side) fail('level on its own side', `level ${lvl} at ${price} filed under side ${side}`);
        if (prevPrice >= 0 && (side === 0 /* Side.Buy */ ? prevPrice <= price : prevPrice >= price)) fail('levels sorted best first', `side ${side}: ${prevPrice} then ${price}`);
        prevPrice = price;
        let total = 0;
        let count = 0;
        let prev = -1;
        for (let o = levels.i32[(lvl << 3) + 3 /* head */]!; o !== -1; o = orders.int(o, 2 /* next */)) {
          if (count > orders.highWater) fail('FIFO links consistent', `level ${side}@${price} loops`);
          const id = orders.id(o);
          if (orders.int(o, 1 /* prev */) !== prev) fail('FIFO links consistent', `order ${id}: prev ${orders.int(o, 1 /* prev */)} expected ${prev}`);
          if (orders.int(o, 3 /* level */) !== lvl || orders.int(o, 0 /* price */) !== price || flagSide(orders.int(o, 6 /* flags */)) !== side) fail('order on its own level', `order ${id}`);
          if (!(orders.remaining(o) > 0)) fail('resting quantity positive', `order ${id} has ${orders.remaining(o)}`);
          if (this.ids.get(id) !== o) fail('id index consistent', `order ${id} in slot ${o}, index says ${this.ids.get(id)}`);
          total += orders.remaining(o);
          count++;
          prev = o;
        }
        if (levels.i32[(lvl << 3) + 4 /* tail */] !== prev) fail('FIFO links consistent', `level ${side}@${price} tail ${levels.i32[(lvl << 3) + 4 /* tail */]} expected ${prev}`);
        if (count === 0) fail('no empty levels', `${side}@${price}`);
        if (count !== levels.i32[(lvl << 3) + 2 /* count */] || total !== levels.total[lvl]) {
          fail('level aggregates match orders', `${side}@${price}: ${levels.total[lvl]}/${levels.i32[(lvl << 3) + 2 /* count */]} vs ${total}/${count}`);
        }
        resting += count;
      }
    }
    if (resting !== this.ids.size) fail('id index consistent', `${resting} resting vs ${this.ids.size} indexed`);
    let live = 0;
    for (let o = 0; o < orders.highWater; o++) if (orders.int(o, 3 /* level */) >= 0) live++;
    if (live !== resting) fail('pool consistent', `${live} live slots vs ${resting} resting`);
    const chains = this.ids.audit();
    if (chains !== undefined) fail('id index consistent', chains);
    this.ids.forEach((id, o) => {
      if (!orders.isLive(o) || orders.id(o) !== id) fail('id index consistent', `id ${id} points at slot ${o}`);
    });
    let inRings = 0;
    this.accounts.forEach((account, s) => {
      if (orders.int(s, 3 /* level */) !== ACCOUNT_SENTINEL || orders.account(s) !== account) fail('account rings consistent', `account ${account} points at slot ${s}, not its sentinel`);
      let n = 0;
      for (let o = orders.int(s, 5 /* accountNext */); o !== s; o = orders.int(o, 5 /* accountNext */)) {
        if (n++ > orders.highWater) fail('account rings consistent', `ring of account ${account} loops`);
        if (!orders.isLive(o) || orders.account(o) !== account) fail('account rings consistent', `slot ${o} in the ring of account ${account}`);
        if (orders.int(orders.int(o, 5 /* accountNext */), 4 /* accountPrev */) !== o) fail('account rings consistent', `ring of account ${account} broken after slot ${o}`);
      }
      if (n === 0) fail('account rings consistent', `account ${account} has an empty ring`);
      inRings += n;
    });
    if (inRings !== resting) fail('account rings consistent', `${inRings} orders in account rings vs ${resting} resting`);
    const bid = this.bestPrice(0 /* Side.Buy */);
    const ask = this.bestPrice(1 /* Side.Sell */);
    if (bid !== undefined && ask !== undefined && bid >= ask) fail('book not crossed', `best bid ${bid} >= best ask ${ask}`);
  }
}
