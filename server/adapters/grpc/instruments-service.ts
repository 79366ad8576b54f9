/** trading.v1.InstrumentsService: the pairs this server trades and their rules. Public. */
import type { TradingPairs } from '../../pairs/trading-pairs.ts';
import { unary, type CallContext } from './call-context.ts';
import { instrumentToWire } from './codec.ts';
import type { InstrumentsServiceServer } from './generated/trading/v1/instruments.ts';

export function createInstrumentsService(ctx: CallContext, pairs: TradingPairs): InstrumentsServiceServer {
  return {
    listInstruments: unary(ctx, 'ListInstruments', () => ({ instruments: pairs.list().map((p) => instrumentToWire(p.instrument)) })),
  };
}
