/** Small instruments and command builders shared by the book tests. */
import { CommandKind, type Command } from '../../server/core/commands.ts';
import { compileInstrument, type Instrument } from '../../server/core/instrument.ts';
import { OrderType, Side, StpMode, TimeInForce, type StpMode as Stp } from '../../server/core/types.ts';

/** Tick and lot of 1 so tests read in plain integers; price band [1, 200]; market band 5 %. */
export const TEST_INSTRUMENT: Instrument = compileInstrument({
  symbol: 'TESTUSD',
  baseAsset: 'TEST',
  quoteAsset: 'USD',
  tickSize: '1',
  lotSize: '1',
  minQuantityLots: 1,
  maxQuantityLots: 1_000_000,
  minPriceTicks: 1,
  maxPriceTicks: 200,
  marketProtectionBps: 500,
});

export interface OrderOptions {
  account?: number;
  tif?: 'GTC' | 'IOC' | 'FOK';
  postOnly?: boolean;
  stp?: Stp;
}

const tifOf = { GTC: TimeInForce.GTC, IOC: TimeInForce.IOC, FOK: TimeInForce.FOK } as const;

export function limit(orderId: number, side: 'buy' | 'sell', price: number, quantity: number, o: OrderOptions = {}): Command {
  return {
    kind: CommandKind.NewOrder,
    orderId,
    account: o.account ?? 1,
    side: side === 'buy' ? Side.Buy : Side.Sell,
    type: OrderType.Limit,
    tif: tifOf[o.tif ?? 'GTC'],
    postOnly: o.postOnly ?? false,
    price,
    quantity,
    stp: o.stp ?? StpMode.None,
  };
}

export function market(orderId: number, side: 'buy' | 'sell', quantity: number, o: OrderOptions = {}): Command {
  return { ...(limit(orderId, side, 0, quantity, { ...o, tif: o.tif ?? 'IOC' }) as object), type: OrderType.Market } as Command;
}

export function cancel(orderId: number, account = 1): Command {
  return { kind: CommandKind.Cancel, orderId, account };
}

export function replace(orderId: number, price: number, quantity: number, account = 1): Command {
  return { kind: CommandKind.Replace, orderId, account, price, quantity };
}

export function cancelAll(account: number, side?: 'buy' | 'sell'): Command {
  return { kind: CommandKind.CancelAll, account, side: side === undefined ? undefined : side === 'buy' ? Side.Buy : Side.Sell };
}
