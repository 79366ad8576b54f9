/** Journal entries for the persistence suites: valid commands with their projection rows. */
import { CommandKind } from '../../core/commands.ts';
import { OrderType, Side, StpMode, TimeInForce } from '../../core/types.ts';
import type { JournalEntry } from '../../ports/journal.ts';

const T0 = 1_700_000_000_000;

/** A new limit order (seq = order id) resting unfilled; every third one also trades with the previous. */
export function newOrderEntry(pair: string, sequence: number, account = `acct-${sequence % 7}`): JournalEntry {
  const ts = T0 + sequence;
  const trades =
    sequence % 3 === 0
      ? [{ tradeId: sequence / 3, makerOrderId: sequence - 1, makerAccount: `acct-${(sequence - 1) % 7}`, takerOrderId: sequence, takerAccount: account, takerSide: Side.Buy, price: 100, quantity: 1, timestampMs: ts }]
      : [];
  return {
    pair,
    sequence,
    command: { kind: CommandKind.NewOrder, orderId: sequence, account: 9999, side: Side.Buy, type: OrderType.Limit, tif: TimeInForce.GTC, postOnly: false, price: 100 + (sequence % 5), quantity: 10, stp: StpMode.None },
    account,
    clientOrderId: `c-${sequence}`,
    timestampMs: ts,
    orders: [
      {
        orderId: sequence,
        account,
        clientOrderId: `c-${sequence}`,
        side: Side.Buy,
        type: OrderType.Limit,
        tif: TimeInForce.GTC,
        postOnly: false,
        stp: StpMode.None,
        price: 100 + (sequence % 5),
        quantity: 10,
        filled: trades.length,
        remaining: 10 - trades.length,
        status: trades.length > 0 ? 'partially_filled' : 'new',
        cancelReason: 0,
        createdAtMs: ts,
        updatedAtMs: ts,
      },
    ],
    trades,
  };
}

export function entries(pair: string, from: number, to: number): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (let s = from; s <= to; s++) out.push(newOrderEntry(pair, s));
  return out;
}
