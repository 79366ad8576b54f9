/**
 * Translation between the simulator's integer vocabulary (sim-types.ts) and the trading.v1 wire types
 * (exact decimal strings, uint64 as decimal text) for the gRPC driver. A value the server sends that is
 * not a multiple of the pair's step is a protocol error and throws.
 */
import { StepFormatter, toSteps } from '../server/core/decimal.ts';
import { compileInstrument, type Instrument } from '../server/core/instrument.ts';
import { OrderType as CoreOrderType, Side as CoreSide, TimeInForce as CoreTif, type Side as CoreSideT } from '../server/core/types.ts';
import type { Instrument as WireInstrument } from '../server/adapters/grpc/generated/trading/v1/instruments.ts';
import type { OrderCommand } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { Liquidity, OrderStatus, OrderType, Side, StpMode, TimeInForce, type Order, type OrderEvent } from '../server/adapters/grpc/generated/trading/v1/types.ts';
import type { SimCommand, SimOrderEvent, SimOrderState, SimOrderStatus } from './sim-types.ts';

export function instrumentFromWire(w: WireInstrument): Instrument {
  const base = compileInstrument({ symbol: w.pair, baseAsset: w.baseAsset, quoteAsset: w.quoteAsset, tickSize: w.tickSize, lotSize: w.lotSize, minQuantityLots: 1, maxQuantityLots: 1, minPriceTicks: 1, maxPriceTicks: 1, marketProtectionBps: Math.max(1, w.marketProtectionBps) });
  const steps = (text: string, step: Instrument['tick'], what: string): number => {
    const r = toSteps(text, step, what);
    if (!r.ok) throw new Error(`instrument ${w.pair}: ${what} ${r.reason}`);
    return r.steps;
  };
  return compileInstrument({
    symbol: w.pair,
    baseAsset: w.baseAsset,
    quoteAsset: w.quoteAsset,
    tickSize: w.tickSize,
    lotSize: w.lotSize,
    minQuantityLots: steps(w.minQuantity, base.lot, 'min_quantity'),
    maxQuantityLots: steps(w.maxQuantity, base.lot, 'max_quantity'),
    minPriceTicks: steps(w.minPrice, base.tick, 'min_price'),
    maxPriceTicks: steps(w.maxPrice, base.tick, 'max_price'),
    marketProtectionBps: w.marketProtectionBps,
  });
}

const STATUS: Record<number, SimOrderStatus> = {
  [OrderStatus.ORDER_STATUS_NEW]: 'new',
  [OrderStatus.ORDER_STATUS_PARTIALLY_FILLED]: 'partially_filled',
  [OrderStatus.ORDER_STATUS_FILLED]: 'filled',
  [OrderStatus.ORDER_STATUS_CANCELLED]: 'cancelled',
  [OrderStatus.ORDER_STATUS_REJECTED]: 'rejected',
};

/** Per-pair converters with memoized formatting (prices cluster, quantities repeat). */
export class PairCodec {
  private readonly prices: StepFormatter;
  private readonly quantities: StepFormatter;

  constructor(readonly instrument: Instrument) {
    this.prices = new StepFormatter(instrument.tick);
    this.quantities = new StepFormatter(instrument.lot);
  }

  price(ticks: number): string {
    return this.prices.format(ticks);
  }

  quantity(lots: number): string {
    return this.quantities.format(lots);
  }

  ticks(text: string): number {
    if (text === '') return 0;
    const r = toSteps(text, this.instrument.tick, 'tick size');
    if (!r.ok) throw new Error(`${this.instrument.symbol}: price from the server ${r.reason}`);
    return r.steps;
  }

  lots(text: string): number {
    if (text === '') return 0;
    const r = toSteps(text, this.instrument.lot, 'lot size');
    if (!r.ok) throw new Error(`${this.instrument.symbol}: quantity from the server ${r.reason}`);
    return r.steps;
  }

  command(c: SimCommand, correlationId: string): OrderCommand {
    switch (c.kind) {
      case 'submit':
        return {
          correlationId,
          command: {
            $case: 'submit',
            value: {
              pair: c.pair,
              clientOrderId: c.clientOrderId,
              side: c.side === CoreSide.Buy ? Side.SIDE_BUY : Side.SIDE_SELL,
              type: c.type === CoreOrderType.Market ? OrderType.ORDER_TYPE_MARKET : OrderType.ORDER_TYPE_LIMIT,
              timeInForce: c.tif === CoreTif.IOC ? TimeInForce.TIME_IN_FORCE_IOC : c.tif === CoreTif.FOK ? TimeInForce.TIME_IN_FORCE_FOK : TimeInForce.TIME_IN_FORCE_GTC,
              price: c.type === CoreOrderType.Market ? '' : this.price(c.price),
              quantity: this.quantity(c.quantity),
              postOnly: c.postOnly,
              stpMode: StpMode.STP_MODE_CANCEL_TAKER,
            },
          },
        };
      case 'cancel':
        return { correlationId, command: { $case: 'cancel', value: { pair: c.pair, order: { $case: 'clientOrderId', value: c.clientOrderId } } } };
      case 'replace':
        return { correlationId, command: { $case: 'replace', value: { pair: c.pair, order: { $case: 'clientOrderId', value: c.clientOrderId }, price: this.price(c.price), quantity: this.quantity(c.quantity) } } };
    }
  }

  order(o: Order): SimOrderState {
    return {
      pair: o.pair,
      clientOrderId: o.clientOrderId,
      orderId: o.orderId,
      side: sideFromWire(o.side),
      price: this.ticks(o.price),
      quantity: this.lots(o.quantity),
      filled: this.lots(o.filledQuantity),
      remaining: this.lots(o.remainingQuantity),
      status: STATUS[o.status] ?? 'new',
      lastSequence: Number(o.lastSequence),
    };
  }

  /** Fill and cancel events (accepted/replaced carry nothing the agents need beyond their result). */
  event(e: OrderEvent, side: CoreSideT | undefined): SimOrderEvent | undefined {
    const status = STATUS[e.status] ?? 'new';
    const sequence = Number(e.sequence);
    const ev = e.event;
    if (ev?.$case === 'filled') {
      return {
        type: 'fill',
        pair: e.pair,
        clientOrderId: e.clientOrderId,
        orderId: e.orderId,
        tradeId: ev.value.tradeId,
        side: side ?? CoreSide.Buy,
        price: this.ticks(ev.value.price),
        quantity: this.lots(ev.value.quantity),
        remaining: this.lots(ev.value.remainingQuantity),
        liquidity: ev.value.liquidity === Liquidity.LIQUIDITY_MAKER ? 'maker' : 'taker',
        status,
        sequence,
      };
    }
    if (ev?.$case === 'cancelled') {
      return { type: 'cancelled', pair: e.pair, clientOrderId: e.clientOrderId, orderId: e.orderId, remaining: this.lots(ev.value.remainingQuantity), status, sequence };
    }
    return undefined;
  }
}

export function sideFromWire(s: Side): CoreSideT {
  return s === Side.SIDE_SELL ? CoreSide.Sell : CoreSide.Buy;
}
