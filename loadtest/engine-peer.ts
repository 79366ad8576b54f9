/**
 * The project's matching core as a peer of the shared bench-peers harness (/work/shared/bench-peers,
 * README there): `runEngineOnce(wl)` has the shape of a peer's `runOnce` — a fresh book, only the
 * processing loop timed, and `{ ns, fills, volume, resting }` back (fills = maker executions).
 *
 * The workload's three operations become core commands: `A` a GTC limit, `M` an IOC market order
 * (its unfilled rest is cancelled, never rests: the peers' "dropped"), `C` a cancel (an id already gone
 * is answered with an UNKNOWN_ORDER rejection, changing nothing: the peers' no-op). Accounts are derived
 * from the order id (`1 + id % ACCOUNTS`) so a cancel names its order's owner; STP is off, as the peers
 * have none. One mutable command object per kind is refilled from the typed arrays inside the timed loop
 * (the books copy what they keep, never the command), so the loop measures the book, not a decoder.
 *
 * The previous pass's book and sink stay reachable until the next pass has built its own (`retained`).
 * Without that, the full GC the benches run between passes collects the last instances of the book's
 * classes, and with them their hidden classes (V8 holds map transitions weakly): every function optimised
 * against those maps is thrown away ("weak objects" in --trace-deopt) and each timed pass re-ran from the
 * interpreter, paying its warm-up again — up to 6 × 20 deoptimisations per run. The naive peer's plain
 * objects and built-in Maps keep no such state. Nothing of the retained book is touched in the timed loop.
 */
import { CommandKind, type CancelCommand, type NewOrderCommand } from '../server/core/commands.ts';
import type { EventSink } from '../server/core/events.ts';
import type { OrderBook } from '../server/core/order-book.ts';
import { OrderType, StpMode, TimeInForce, type Lots, type Side } from '../server/core/types.ts';

/** The workload as harness.mjs's loadWorkload() returns it. */
export interface PeerWorkload {
  file: string;
  n: number;
  op: Uint8Array;
  id: Int32Array;
  side: Uint8Array;
  price: Int32Array;
  qty: Int32Array;
  meta: { expected?: { fills: number; volume: number; resting: number } } | null;
}

export interface PeerRun {
  ns: bigint;
  fills: number;
  volume: number;
  resting: number;
}

const OP_ADD = 0;
const OP_MARKET = 1;
/** Distinct owners the workload's orders are spread over (cancel-all and per-account paths see several). */
export const ACCOUNTS = 64;

/** Counts maker executions and traded lots; everything else is dropped. */
class FillCounter implements EventSink {
  fills = 0;
  volume = 0;
  accepted(): void {}
  rejected(): void {}
  fill(_m: number, _ma: number, _t: number, _ta: number, _s: Side, _p: number, quantity: Lots): void {
    this.fills++;
    this.volume += quantity;
  }
  cancelled(): void {}
  replaced(): void {}
  level(): void {}
}

/** The last pass's book and sink (see the header); replaced, never accumulated. */
const retained: { book?: OrderBook; sink?: EventSink } = {};

/** Commands per call of applyRange (see there). */
const CHUNK = 4096;

/**
 * The timed loop over commands [from, to), called once per CHUNK commands so that V8 optimises it as a
 * whole function, entered directly: as one loop called once per pass, each pass entered it in baseline
 * code and waited for on-stack replacement, and under callgrind a third of the loop's instructions were
 * baseline code. The enum values are read once per call into locals, not per command.
 */
function applyRange(book: OrderBook, sink: EventSink, wl: PeerWorkload, from: number, to: number, order: NewOrderCommand, cancel: CancelCommand): void {
  const { op, id, side, price, qty } = wl;
  const limit = OrderType.Limit;
  const market = OrderType.Market;
  const gtc = TimeInForce.GTC;
  const ioc = TimeInForce.IOC;
  for (let i = from; i < to; i++) {
    const c = op[i]!;
    const oid = id[i]!;
    if (c === OP_ADD || c === OP_MARKET) {
      order.orderId = oid;
      order.account = 1 + (oid % ACCOUNTS);
      order.side = side[i]! as Side;
      order.quantity = qty[i]!;
      if (c === OP_ADD) {
        order.type = limit;
        order.tif = gtc;
        order.price = price[i]!;
      } else {
        order.type = market;
        order.tif = ioc;
        order.price = 0;
      }
      book.apply(order, sink);
    } else {
      cancel.orderId = oid;
      cancel.account = 1 + (oid % ACCOUNTS);
      book.apply(cancel, sink);
    }
  }
}

export function runEngineOnce(makeBook: () => OrderBook, wl: PeerWorkload): PeerRun {
  const book = makeBook();
  const sink = new FillCounter();
  const order: NewOrderCommand = {
    kind: CommandKind.NewOrder,
    orderId: 0,
    account: 0,
    side: 0,
    type: OrderType.Limit,
    tif: TimeInForce.GTC,
    postOnly: false,
    price: 0,
    quantity: 0,
    stp: StpMode.None,
  };
  const cancel: CancelCommand = { kind: CommandKind.Cancel, orderId: 0, account: 0 };
  const t0 = process.hrtime.bigint();
  for (let from = 0; from < wl.n; from += CHUNK) applyRange(book, sink, wl, from, Math.min(wl.n, from + CHUNK), order, cancel);
  const t1 = process.hrtime.bigint();
  retained.book = book;
  retained.sink = sink;
  return { ns: t1 - t0, fills: sink.fills, volume: sink.volume, resting: book.size() };
}
