/**
 * The baseline of `npm run bench:grpc`: a grpc-js server for the same trading.v1 services, built from the
 * same generated code (so requests are decoded and responses encoded exactly as the real service does),
 * whose handlers do no trading at all and answer at once with a fixed, realistic response of the right
 * message type: one Order plus one OrderEvent per order, about the size the real service sends for a
 * resting order. What the service costs beyond this server is the matching engine and the adapter.
 *
 *   node --import tsx loadtest/noop-grpc-server.ts          # GRPC_HOST (127.0.0.1), GRPC_PORT (0 = any free port)
 *
 * Prints `noop-grpc-server listening on HOST:PORT` once bound; exits on SIGTERM/SIGINT.
 */
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { pathToFileURL } from 'node:url';
import { InstrumentsServiceService, type Instrument, type InstrumentsServiceServer } from '../server/adapters/grpc/generated/trading/v1/instruments.ts';
import { MarketDataServiceService, type MarketDataServiceServer, type OrderBookSnapshot } from '../server/adapters/grpc/generated/trading/v1/market_data.ts';
import {
  OrdersServiceService,
  type BatchItemResult,
  type OrderFlowMessage,
  type OrderFlowRequest,
  type OrderFlowResponse,
  type OrdersServiceServer,
} from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { CancelReason, OrderStatus, OrderType, Side, StpMode, TimeInForce, type Order, type OrderEvent } from '../server/adapters/grpc/generated/trading/v1/types.ts';

const NOW = String(Date.now());

/** What the service answers for a resting BTCUSDT limit order (same fields set, same string lengths). */
const ORDER: Order = {
  pair: 'BTCUSDT',
  orderId: '1234567',
  clientOrderId: 'u-1a2b3c',
  side: Side.SIDE_BUY,
  type: OrderType.ORDER_TYPE_LIMIT,
  timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
  price: '64999.87',
  quantity: '0.00300',
  filledQuantity: '0.00000',
  remainingQuantity: '0.00300',
  status: OrderStatus.ORDER_STATUS_NEW,
  cancelReason: CancelReason.CANCEL_REASON_UNSPECIFIED,
  postOnly: false,
  stpMode: StpMode.STP_MODE_CANCEL_TAKER,
  createdAtUnixMs: NOW,
  updatedAtUnixMs: NOW,
  lastSequence: '2345678',
};
const ACCEPTED: OrderEvent = {
  pair: 'BTCUSDT',
  sequence: '2345678',
  orderId: '1234567',
  clientOrderId: 'u-1a2b3c',
  status: OrderStatus.ORDER_STATUS_NEW,
  timestampUnixMs: NOW,
  event: { $case: 'accepted', value: { side: Side.SIDE_BUY, price: '64999.87', quantity: '0.00300' } },
};
const CANCELLED_ORDER: Order = { ...ORDER, remainingQuantity: '0', status: OrderStatus.ORDER_STATUS_CANCELLED, cancelReason: CancelReason.CANCEL_REASON_USER_REQUESTED };
const CANCELLED: OrderEvent = {
  ...ACCEPTED,
  status: OrderStatus.ORDER_STATUS_CANCELLED,
  event: { $case: 'cancelled', value: { quantity: '0.00300', remainingQuantity: '0', reason: CancelReason.CANCEL_REASON_USER_REQUESTED } },
};
const ITEM: BatchItemResult = { error: undefined, order: ORDER, events: [ACCEPTED] };
const EVENT_MESSAGE: OrderFlowMessage = { message: { $case: 'event', value: ACCEPTED } };
const INSTRUMENT: Instrument = {
  pair: 'BTCUSDT',
  baseAsset: 'BTC',
  quoteAsset: 'USDT',
  tickSize: '0.01',
  lotSize: '0.00001',
  minQuantity: '0.00001',
  maxQuantity: '9000.00000',
  minPrice: '0.01',
  maxPrice: '1000000.00',
  marketProtectionBps: 500,
};
const BOOK: OrderBookSnapshot = {
  pair: 'BTCUSDT',
  sequence: '2345678',
  bids: Array.from({ length: 20 }, (_, i) => ({ price: (64_999.99 - i).toFixed(2), quantity: '0.12345', orderCount: 3 })),
  asks: Array.from({ length: 20 }, (_, i) => ({ price: (65_000.01 + i).toFixed(2), quantity: '0.12345', orderCount: 3 })),
};

const orders: OrdersServiceServer = {
  submitOrder: (_call, cb) => cb(null, { order: ORDER, events: [ACCEPTED] }),
  cancelOrder: (_call, cb) => cb(null, { order: CANCELLED_ORDER, events: [CANCELLED] }),
  replaceOrder: (_call, cb) => cb(null, { order: ORDER, events: [ACCEPTED] }),
  getOrder: (_call, cb) => cb(null, { order: ORDER }),
  listOpenOrders: (_call, cb) => cb(null, { orders: [ORDER], nextPage: undefined }),
  cancelAllOrders: (_call, cb) => cb(null, { orders: [CANCELLED_ORDER], events: [CANCELLED] }),
  // Results are positional: one per item, like the service.
  submitOrderBatch: (call, cb) => cb(null, { results: call.request.orders.map(() => ITEM) }),
  orderFlow: (call: ServerDuplexStream<OrderFlowRequest, OrderFlowResponse>) => {
    call.on('data', (req: OrderFlowRequest) => {
      // One event and one result per command, in that order, each result echoing its correlation id.
      const messages: OrderFlowMessage[] = [];
      for (const cmd of req.commands) {
        messages.push(EVENT_MESSAGE, { message: { $case: 'result', value: { correlationId: cmd.correlationId, error: undefined, order: ORDER } } });
      }
      call.write({ messages });
    });
    call.on('end', () => call.end());
    call.on('error', () => {});
  },
};

const marketData: MarketDataServiceServer = {
  getOrderBook: (_call, cb) => cb(null, { book: BOOK }),
  streamMarketData: (call) => {
    call.write({ pair: 'BTCUSDT', sequence: BOOK.sequence, update: { $case: 'snapshot', value: BOOK } });
    call.on('error', () => {});
  },
};

const instruments: InstrumentsServiceServer = {
  listInstruments: (_call, cb) => cb(null, { instruments: [INSTRUMENT] }),
};

export function createNoopServer(): Server {
  const server = new Server();
  server.addService(OrdersServiceService, orders);
  server.addService(MarketDataServiceService, marketData);
  server.addService(InstrumentsServiceService, instruments);
  return server;
}

function main(): void {
  const host = process.env.GRPC_HOST || '127.0.0.1';
  const port = Number(process.env.GRPC_PORT || '0');
  const server = createNoopServer();
  server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, bound) => {
    if (err) {
      console.error('noop-grpc-server failed to bind:', err.message);
      process.exit(1);
    }
    console.log(`noop-grpc-server listening on ${host}:${bound}`);
  });
  const stop = (): void => {
    server.tryShutdown(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
