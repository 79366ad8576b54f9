/** Shared by the test/grpc-*.test.ts suites: an in-process server on 127.0.0.1:0 and real grpc-js clients. */
import { credentials, Metadata, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import { TradingGrpcServer, type GrpcServerOptions } from '../server/adapters/grpc/grpc-server.ts';
import { InstrumentsServiceClient } from '../server/adapters/grpc/generated/trading/v1/instruments.ts';
import { MarketDataServiceClient } from '../server/adapters/grpc/generated/trading/v1/market_data.ts';
import { OrdersServiceClient, type SubmitOrderRequest } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { OrderType, Side, StpMode, TimeInForce } from '../server/adapters/grpc/generated/trading/v1/types.ts';
import { BOOK_IMPLEMENTATIONS } from '../server/core/book-implementations.ts';
import { DEFAULT_INSTRUMENTS, compileInstrument } from '../server/core/instrument.ts';
import { singleBook } from '../server/pairs/serving-book.ts';
import { TradingPairs } from '../server/pairs/trading-pairs.ts';
import { ManualClock } from '../server/ports/clock.ts';

export interface Harness {
  port: number;
  address: string;
  pairs: TradingPairs;
  server: TradingGrpcServer;
  clock: ManualClock;
  orders: OrdersServiceClient;
  marketData: MarketDataServiceClient;
  instruments: InstrumentsServiceClient;
  logged: string[];
  close(): Promise<void>;
}

export async function startHarness(options: Partial<GrpcServerOptions> = {}): Promise<Harness> {
  const clock = new ManualClock(1_700_000_000_000);
  const pairs = new TradingPairs({
    instruments: DEFAULT_INSTRUMENTS.map(compileInstrument),
    createBook: singleBook(BOOK_IMPLEMENTATIONS.legacy),
    clock,
  });
  const logged: string[] = [];
  const server = new TradingGrpcServer({
    pairs,
    logger: { info: (m) => logged.push(m), error: (m, e) => logged.push(`${m}: ${String(e)}`) },
    ...options,
  });
  const port = await server.listen('127.0.0.1', 0);
  const address = `127.0.0.1:${port}`;
  const orders = new OrdersServiceClient(address, credentials.createInsecure());
  const marketData = new MarketDataServiceClient(address, credentials.createInsecure());
  const instruments = new InstrumentsServiceClient(address, credentials.createInsecure());
  return {
    port,
    address,
    pairs,
    server,
    clock,
    orders,
    marketData,
    instruments,
    logged,
    async close() {
      orders.close();
      marketData.close();
      instruments.close();
      await server.shutdown(1_000);
    },
  };
}

export function asAccount(account: string | undefined): Metadata {
  const md = new Metadata();
  if (account !== undefined) md.set('x-account-id', account);
  return md;
}

type Callback<Res> = (err: ServiceError | null, res: Res) => void;

/** Promisifies one unary call of a generated client: `unary(c.submitOrder.bind(c), req, 'alice')`. */
export function unary<Req, Res>(
  method: (req: Req, md: Metadata, options: Partial<CallOptions>, cb: Callback<Res>) => unknown,
  request: Req,
  account?: string,
  options: Partial<CallOptions> = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, asAccount(account), options, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** The error a call failed with (fails the test if it succeeded). */
export async function failure(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

export function limitOrder(side: 'buy' | 'sell', price: string, quantity: string, extra: Partial<SubmitOrderRequest> = {}): SubmitOrderRequest {
  return {
    pair: 'BTCUSDT',
    clientOrderId: '',
    side: side === 'buy' ? Side.SIDE_BUY : Side.SIDE_SELL,
    type: OrderType.ORDER_TYPE_LIMIT,
    timeInForce: TimeInForce.TIME_IN_FORCE_UNSPECIFIED,
    price,
    quantity,
    postOnly: false,
    stpMode: StpMode.STP_MODE_UNSPECIFIED,
    ...extra,
  };
}
