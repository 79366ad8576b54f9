/**
 * Seeded command workloads for the engine benchmark, the property tests and the market simulator.
 *
 * Every generator returns plain, pre-built arrays (`setup` to rest before timing, `commands` to time)
 * and is deterministic for its seed. To know exactly which orders are live, so that cancels and replaces
 * always name a resting order of the right account, the generator drives a model book while it writes
 * the commands (the legacy book by default) and watches its fill and cancel events. Both books must
 * emit the same events for the same commands, so the workload does not depend on which one is the model.
 */
import { CommandKind, type CancelAllCommand, type CancelCommand, type Command, type NewOrderCommand, type ReplaceCommand } from '../server/core/commands.ts';
import type { EventSink } from '../server/core/events.ts';
import { compileInstrument, DEFAULT_INSTRUMENTS, type Instrument } from '../server/core/instrument.ts';
import { LegacyBook } from '../server/core/legacy-book/legacy-book.ts';
import type { OrderBook, OrderBookFactory } from '../server/core/order-book.ts';
import { rejectCodeName, type CancelReason, type RejectCode } from '../server/core/reasons.ts';
import { OrderType, Side, StpMode, TimeInForce, type AccountId, type Lots, type OrderId, type PriceTicks } from '../server/core/types.ts';
import { Random } from './random.ts';

export const BTCUSDT: Instrument = compileInstrument(DEFAULT_INSTRUMENTS.find((s) => s.symbol === 'BTCUSDT')!);
/** 65,000.00 USDT in 0.01 ticks. */
export const MID_PRICE: PriceTicks = 6_500_000;

export interface WorkloadStats {
  setupOrders: number;
  commands: number;
  newLimits: number;
  crossingLimits: number;
  cancels: number;
  replaces: number;
  marketOrders: number;
  sweeps: number;
  /** Opposite levels each sweep was sized to clear, summed (divide by `sweeps` for the mean). */
  sweepLevels: number;
  cancelAlls: number;
  fills: number;
  /** Rejections by code name. Only book-rule refusals are expected (e.g. PostOnlyWouldTake); never Invalid*, UnknownOrder. */
  rejections: Record<string, number>;
  /** Resting orders in the model after the last command. */
  liveAtEnd: number;
  bestBidAtEnd: PriceTicks | undefined;
  bestAskAtEnd: PriceTicks | undefined;
  minMid: PriceTicks;
  maxMid: PriceTicks;
}

export interface Workload {
  name: string;
  seed: number;
  instrument: Instrument;
  /** Commands that build the starting book; apply them untimed. */
  setup: Command[];
  /** The measured stream. */
  commands: Command[];
  stats: WorkloadStats;
}

export interface WorkloadOptions {
  seed?: number;
  /** Number of commands after the setup. */
  commands?: number;
  /** The book used to track live orders while generating; the legacy book unless given. */
  model?: OrderBookFactory;
}

/**
 * A few hundred resting orders within ±50 ticks of 65,000.00, then the mixed stream: ~50 % new limits near
 * the touch (some crossing), 25 % cancels of live orders, 5 % replaces, 10 % market orders, 10 % sweeping
 * IOC limits across several levels, and a few cancel-alls; eight flow accounts and four market makers, with
 * every STP mode in use.
 */
export function shallowWorkload(opts: WorkloadOptions = {}): Workload {
  const g = new Generator('shallow', opts, 300);
  g.shallowSetup(150);
  g.stream(opts.commands ?? 100_000);
  return g.finish();
}

/**
 * 200,000 resting orders over 10,000 price levels per side (≈ 10 orders a level; the 1,000 levels nearest
 * the mid are contiguous ticks, further out the spacing is 1-9 ticks, about ±460.00 in all), then the same
 * stream as `shallowWorkload` around the touch.
 */
export function deepWorkload(opts: WorkloadOptions & { ordersPerSide?: number; levelsPerSide?: number } = {}): Workload {
  const perSide = opts.ordersPerSide ?? 100_000;
  const g = new Generator('deep', opts, 2 * perSide);
  g.deepSetup(perSide, opts.levelsPerSide ?? 10_000);
  g.stream(opts.commands ?? 100_000);
  return g.finish();
}

/**
 * `count` non-crossing GTC limit orders, 10 per level on contiguous ticks, bids below and asks above the
 * mid, for measuring memory per resting order. No model book is run (nothing trades), so it is cheap to
 * build. Levels are emitted from the far end towards the mid, so each new level is the new best.
 */
export function restingOrders(count: number, seed = 1): Command[] {
  const rng = new Random(seed);
  const out: Command[] = [];
  const perLevel = 10;
  const levels = Math.ceil(count / 2 / perLevel);
  let id = 1;
  for (let d = levels; d >= 1 && out.length < count; d--) {
    for (const side of [Side.Buy, Side.Sell] as const) {
      const price = side === Side.Buy ? MID_PRICE - d : MID_PRICE + d;
      for (let k = 0; k < perLevel && out.length < count; k++) {
        const account = MARKET_MAKERS[rng.nextInt(MARKET_MAKERS.length)]!;
        out.push(newOrder(id++, account.id, side, OrderType.Limit, TimeInForce.GTC, false, price, quantity(rng), account.stp));
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------

interface AccountSpec {
  id: AccountId;
  stp: StpMode;
}
/** Hold the setup liquidity and also quote near the touch, so their takers meet their own resting orders. */
const MARKET_MAKERS: readonly AccountSpec[] = [
  { id: 101, stp: StpMode.None },
  { id: 102, stp: StpMode.CancelMaker },
  { id: 103, stp: StpMode.DecrementAndCancel },
  { id: 104, stp: StpMode.CancelTaker },
];
/** Traders; cancel-all only ever targets these, so it stays "a trader disconnects", not "the deep book vanishes". */
const FLOW_ACCOUNTS: readonly AccountSpec[] = [
  { id: 1, stp: StpMode.None },
  { id: 2, stp: StpMode.None },
  { id: 3, stp: StpMode.CancelTaker },
  { id: 4, stp: StpMode.CancelMaker },
  { id: 5, stp: StpMode.CancelBoth },
  { id: 6, stp: StpMode.DecrementAndCancel },
  { id: 7, stp: StpMode.None },
  { id: 8, stp: StpMode.CancelTaker },
];

/**
 * Command mix in parts per million of the stream (sums to 1,000,000). Cancel-all is "a few": one in
 * 50,000 commands, about a trader disconnecting now and then; it walks the account's orders, so a
 * higher rate would make the deep figures mostly a measure of cancel-all.
 */
const MIX = { newLimit: 499_980, cancel: 250_000, replace: 50_000, market: 100_000, sweep: 100_000, cancelAll: 20 } as const;
/** Passive orders go up to this many ticks behind the touch, skewed towards it. */
const PASSIVE_WINDOW = 50;

const QTY_SCALES = [10, 10, 100, 100, 100, 1_000, 1_000, 10_000] as const;
/** Resting size: 10 lots (0.0001 BTC) to 90,000 lots (0.9 BTC), small sizes more common. Integers only. */
function quantity(rng: Random): Lots {
  return (1 + rng.nextInt(9)) * QTY_SCALES[rng.nextInt(QTY_SCALES.length)]!;
}
const TAKER_QTY_SCALES = [10, 10, 100, 100, 1_000] as const;
/** Market and crossing orders are smaller on average (10 to 9,000 lots) than resting liquidity. */
function takerQuantity(rng: Random): Lots {
  return (1 + rng.nextInt(9)) * TAKER_QTY_SCALES[rng.nextInt(TAKER_QTY_SCALES.length)]!;
}

function newOrder(
  orderId: OrderId,
  account: AccountId,
  side: Side,
  type: OrderType,
  tif: TimeInForce,
  postOnly: boolean,
  price: PriceTicks,
  qty: Lots,
  stp: StpMode,
): NewOrderCommand {
  // One literal shape for every new order, so the benchmark's commands share a hidden class.
  return { kind: CommandKind.NewOrder, orderId, account, side, type, tif, postOnly, price, quantity: qty, stp };
}

/** Live order ids with their accounts: O(1) add, remove and uniform pick. */
class IdPool {
  private readonly ids: OrderId[] = [];
  private readonly accounts: AccountId[] = [];
  private readonly index = new Map<OrderId, number>();

  get size(): number {
    return this.ids.length;
  }
  has(id: OrderId): boolean {
    return this.index.has(id);
  }
  add(id: OrderId, account: AccountId): void {
    if (this.index.has(id)) return;
    this.index.set(id, this.ids.length);
    this.ids.push(id);
    this.accounts.push(account);
  }
  remove(id: OrderId): void {
    const i = this.index.get(id);
    if (i === undefined) return;
    const last = this.ids.length - 1;
    this.ids[i] = this.ids[last]!;
    this.accounts[i] = this.accounts[last]!;
    this.index.set(this.ids[i]!, i);
    this.ids.pop();
    this.accounts.pop();
    this.index.delete(id);
  }
  /** Index-based so the pick depends only on the pool's history, never on Map iteration details. */
  pick(rng: Random): { id: OrderId; account: AccountId } {
    const i = rng.nextInt(this.ids.length);
    return { id: this.ids[i]!, account: this.accounts[i]! };
  }
}

/** Remembers which orders the last command touched (filled or cancelled) and counts what matters. */
class TouchSink implements EventSink {
  touched: OrderId[] = [];
  fills = 0;
  rejections = new Map<RejectCode, number>();
  accepted(): void {}
  rejected(_orderId: OrderId, _account: AccountId, code: RejectCode): void {
    this.rejections.set(code, (this.rejections.get(code) ?? 0) + 1);
  }
  fill(makerOrderId: OrderId): void {
    this.fills++;
    this.touched.push(makerOrderId);
  }
  cancelled(orderId: OrderId, _account: AccountId, _side: Side, _price: PriceTicks, _quantity: Lots, _reason: CancelReason): void {
    this.touched.push(orderId);
  }
  replaced(): void {}
  level(): void {}
}

class Generator {
  private readonly rng: Random;
  private readonly model: OrderBook;
  private readonly sink = new TouchSink();
  private readonly setupPool = new IdPool();
  private readonly flowPool = new IdPool();
  private readonly setup: Command[] = [];
  private readonly commands: Command[] = [];
  private target: Command[] = this.setup;
  private nextId = 1;
  private readonly seed: number;
  private readonly stats: WorkloadStats;

  constructor(
    private readonly name: string,
    opts: WorkloadOptions,
    /** Resting orders the stream should hover around; sweep sizes steer towards it. */
    private readonly targetLive: number,
  ) {
    this.seed = opts.seed ?? 1;
    this.rng = new Random(this.seed);
    this.model = (opts.model ?? ((i) => new LegacyBook(i)))(BTCUSDT);
    this.stats = {
      setupOrders: 0,
      commands: 0,
      newLimits: 0,
      crossingLimits: 0,
      cancels: 0,
      replaces: 0,
      marketOrders: 0,
      sweeps: 0,
      sweepLevels: 0,
      cancelAlls: 0,
      fills: 0,
      rejections: {},
      liveAtEnd: 0,
      bestBidAtEnd: undefined,
      bestAskAtEnd: undefined,
      minMid: MID_PRICE,
      maxMid: MID_PRICE,
    };
  }

  shallowSetup(perSide: number): void {
    for (let i = 0; i < 2 * perSide; i++) {
      const side = (i & 1) as Side;
      const d = 1 + Math.min(this.rng.nextInt(PASSIVE_WINDOW), this.rng.nextInt(PASSIVE_WINDOW));
      const mm = this.rng.pick(MARKET_MAKERS);
      const price = side === Side.Buy ? MID_PRICE - d : MID_PRICE + d;
      this.emit(newOrder(this.nextId++, mm.id, side, OrderType.Limit, TimeInForce.GTC, false, price, quantity(this.rng), mm.stp));
    }
  }

  deepSetup(perSide: number, levelsPerSide: number): void {
    // Distance of level L from the mid: contiguous for the first 1,000, then 1-9 ticks apart.
    const dist = new Array<number>(levelsPerSide);
    let d = 0;
    for (let l = 0; l < levelsPerSide; l++) {
      d += l < 1_000 ? 1 : 1 + this.rng.nextInt(9);
      dist[l] = d;
    }
    const counts: [number[], number[]] = [new Array<number>(levelsPerSide).fill(0), new Array<number>(levelsPerSide).fill(0)];
    for (const side of [Side.Buy, Side.Sell] as const) for (let i = 0; i < perSide; i++) counts[side][this.rng.nextInt(levelsPerSide)]!++;
    // Far levels first, so each new level is the best of its side: the setup's arrival order does not
    // matter to what is measured, and this keeps building it cheap for a book with sorted arrays.
    for (let l = levelsPerSide - 1; l >= 0; l--) {
      for (const side of [Side.Buy, Side.Sell] as const) {
        const price = side === Side.Buy ? MID_PRICE - dist[l]! : MID_PRICE + dist[l]!;
        for (let k = 0; k < counts[side][l]!; k++) {
          const mm = this.rng.pick(MARKET_MAKERS);
          this.emit(newOrder(this.nextId++, mm.id, side, OrderType.Limit, TimeInForce.GTC, false, price, quantity(this.rng), mm.stp));
        }
      }
    }
  }

  stream(count: number): void {
    this.stats.setupOrders = this.setupPool.size;
    this.target = this.commands;
    const { newLimit, cancel, replace, market, sweep } = MIX;
    for (let i = 0; i < count; i++) {
      const roll = this.rng.nextInt(1_000_000);
      if (roll < newLimit) this.newLimit();
      else if (roll < newLimit + cancel) this.cancel();
      else if (roll < newLimit + cancel + replace) this.replace();
      else if (roll < newLimit + cancel + replace + market) this.market();
      else if (roll < newLimit + cancel + replace + market + sweep) this.sweep();
      else this.cancelAll();
    }
  }

  finish(): Workload {
    const s = this.stats;
    s.commands = this.commands.length;
    s.fills = this.sink.fills;
    for (const [code, n] of [...this.sink.rejections].sort((a, b) => a[0] - b[0])) s.rejections[rejectCodeName(code)] = n;
    s.liveAtEnd = this.model.size();
    s.bestBidAtEnd = this.model.bestPrice(Side.Buy);
    s.bestAskAtEnd = this.model.bestPrice(Side.Sell);
    return { name: this.name, seed: this.seed, instrument: BTCUSDT, setup: this.setup, commands: this.commands, stats: s };
  }

  // --- the stream ------------------------------------------------------------------------------------

  private flowAccount(): AccountSpec {
    // 30 % of flow comes from the market makers, so STP meets their deep resting orders as well.
    return this.rng.chance(3, 10) ? this.rng.pick(MARKET_MAKERS) : this.rng.pick(FLOW_ACCOUNTS);
  }

  /**
   * Side of a taker (market, crossing or sweeping order). Takers lean towards the anchor price, up to
   * 75:25 when the mid is 400 ticks or more away, so the mid wanders but stays inside the setup's depth
   * however long the stream is.
   */
  private takerSide(): Side {
    const leanBp = Math.max(-2_500, Math.min(2_500, (MID_PRICE - this.mid()) * 6));
    return this.rng.nextInt(10_000) < 5_000 + leanBp ? Side.Buy : Side.Sell;
  }

  /** The book's mid, or the anchor while a side is empty. */
  private mid(): PriceTicks {
    const bid = this.model.bestPrice(Side.Buy);
    const ask = this.model.bestPrice(Side.Sell);
    if (bid !== undefined && ask !== undefined) return Math.floor((bid + ask) / 2);
    if (bid !== undefined) return bid;
    if (ask !== undefined) return ask - 1;
    return MID_PRICE;
  }

  private newLimit(): void {
    const acct = this.flowAccount();
    this.stats.newLimits++;
    if (this.rng.chance(15, 100)) {
      const side = this.takerSide();
      const opposite = this.model.bestPrice(side === Side.Buy ? Side.Sell : Side.Buy);
      if (opposite !== undefined) this.crossingLimit(acct, side, opposite);
      else this.passiveLimit(acct, side);
    } else {
      this.passiveLimit(acct, this.rng.nextInt(2) as Side);
    }
  }

  private crossingLimit(acct: AccountSpec, side: Side, opposite: PriceTicks): void {
      // At or a little through the best opposite price, so it trades and may rest what is left.
      this.stats.crossingLimits++;
      const qty = takerQuantity(this.rng);
      const through = this.rng.nextInt(3);
      const price = side === Side.Buy ? opposite + through : opposite - through;
      const tif = this.rng.chance(7, 10) ? TimeInForce.GTC : TimeInForce.IOC;
      this.emit(newOrder(this.nextId++, acct.id, side, OrderType.Limit, tif, false, price, qty, acct.stp));
  }

  /** At or behind the mid, never crossing, so post-only is never refused. */
  private passiveLimit(acct: AccountSpec, side: Side): void {
    const opposite = this.model.bestPrice(side === Side.Buy ? Side.Sell : Side.Buy);
    const qty = quantity(this.rng);
    const mid = this.mid();
    const offset = Math.min(this.rng.nextInt(PASSIVE_WINDOW), this.rng.nextInt(PASSIVE_WINDOW));
    let price = side === Side.Buy ? mid - offset : mid + 1 + offset;
    if (opposite !== undefined) price = side === Side.Buy ? Math.min(price, opposite - 1) : Math.max(price, opposite + 1);
    const postOnly = this.rng.chance(1, 10);
    this.emit(newOrder(this.nextId++, acct.id, side, OrderType.Limit, TimeInForce.GTC, postOnly, price, qty, acct.stp));
  }

  /** A live order: mostly one placed by the stream, sometimes a setup order deep in the book. */
  private pickLive(): { id: OrderId; account: AccountId } | undefined {
    const preferSetup = this.rng.chance(1, 10);
    const first = preferSetup ? this.setupPool : this.flowPool;
    const second = preferSetup ? this.flowPool : this.setupPool;
    if (first.size > 0) return first.pick(this.rng);
    if (second.size > 0) return second.pick(this.rng);
    return undefined;
  }

  private cancel(): void {
    const live = this.pickLive();
    if (live === undefined) return this.newLimit();
    this.stats.cancels++;
    const cmd: CancelCommand = { kind: CommandKind.Cancel, orderId: live.id, account: live.account };
    this.emit(cmd);
  }

  private replace(): void {
    const live = this.pickLive();
    const order = live === undefined ? undefined : this.model.getOrder(live.id);
    if (live === undefined || order === undefined) return this.newLimit();
    this.stats.replaces++;
    let price = order.price;
    let qty = order.remaining;
    if (order.remaining > 1 && this.rng.chance(1, 2)) {
      qty = 1 + this.rng.nextInt(order.remaining - 1); // smaller at the same price: keeps priority
    } else {
      const delta = 1 + this.rng.nextInt(5);
      // Post-only orders only move away from the touch (they would be refused if they crossed);
      // others move either way and may trade on re-entry.
      const away = order.postOnly || this.rng.chance(1, 2);
      price = (order.side === Side.Buy) === away ? order.price - delta : order.price + delta;
      if (this.rng.chance(1, 2)) qty = quantity(this.rng);
    }
    const cmd: ReplaceCommand = { kind: CommandKind.Replace, orderId: live.id, account: live.account, price, quantity: qty };
    this.emit(cmd);
  }

  private market(): void {
    const acct = this.flowAccount();
    const side = this.takerSide();
    const tif = this.rng.chance(9, 10) ? TimeInForce.IOC : TimeInForce.FOK;
    this.stats.marketOrders++;
    this.emit(newOrder(this.nextId++, acct.id, side, OrderType.Market, tif, false, 0, takerQuantity(this.rng), acct.stp));
  }

  /**
   * An aggressive IOC limit priced at the K-th opposite level and sized to clear the K levels. K is the
   * generator's one lever on book size (the mix is fixed, so passive adds minus cancels must be traded
   * away): 3-8 levels when orders pile up above `targetLive`, 2-4 near it, and below it one level only
   * partly, so the book neither drains nor grows without bound.
   */
  private sweep(): void {
    const acct = this.flowAccount();
    const side = this.takerSide();
    const live = this.model.size();
    const thin = live < this.targetLive * 0.9;
    const k = live > this.targetLive * 1.1 ? this.rng.intBetween(3, 8) : thin ? 1 : this.rng.intBetween(2, 4);
    const levels = this.model.depth(side === Side.Buy ? Side.Sell : Side.Buy, k);
    this.stats.sweeps++;
    if (levels.length === 0) {
      const price = side === Side.Buy ? this.mid() + 10 : this.mid() - 10;
      this.emit(newOrder(this.nextId++, acct.id, side, OrderType.Limit, TimeInForce.IOC, false, price, takerQuantity(this.rng), acct.stp));
      return;
    }
    this.stats.sweepLevels += levels.length;
    let total = 0;
    for (const l of levels) total += l.quantity;
    if (thin) total = Math.floor((total * (1 + this.rng.nextInt(3))) / 4);
    const qty = Math.max(1, Math.min(total, BTCUSDT.maxQuantityLots));
    this.emit(newOrder(this.nextId++, acct.id, side, OrderType.Limit, TimeInForce.IOC, false, levels[levels.length - 1]!.price, qty, acct.stp));
  }

  private cancelAll(): void {
    const acct = this.rng.pick(FLOW_ACCOUNTS);
    const r = this.rng.nextInt(3);
    const cmd: CancelAllCommand = { kind: CommandKind.CancelAll, account: acct.id, side: r === 2 ? undefined : (r as Side) };
    this.stats.cancelAlls++;
    this.emit(cmd);
  }

  // --- bookkeeping -----------------------------------------------------------------------------------

  private emit(cmd: Command): void {
    this.target.push(cmd);
    const sink = this.sink;
    sink.touched.length = 0;
    this.model.apply(cmd, sink);
    for (const id of sink.touched) {
      if (this.model.getOrder(id) === undefined) {
        this.setupPool.remove(id);
        this.flowPool.remove(id);
      }
    }
    if (cmd.kind === CommandKind.NewOrder && this.model.getOrder(cmd.orderId) !== undefined) {
      (this.target === this.setup ? this.setupPool : this.flowPool).add(cmd.orderId, cmd.account);
    } else if (cmd.kind === CommandKind.Replace && this.model.getOrder(cmd.orderId) === undefined) {
      // A re-entering order that traded away completely shows up only as the taker of its fills.
      this.setupPool.remove(cmd.orderId);
      this.flowPool.remove(cmd.orderId);
    }
    if (this.target === this.commands) {
      const mid = this.mid();
      if (mid < this.stats.minMid) this.stats.minMid = mid;
      if (mid > this.stats.maxMid) this.stats.maxMid = mid;
    }
  }
}
