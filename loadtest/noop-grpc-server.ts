/**
 * The baseline of `npm run bench:grpc`: a grpc-js server for the same trading.v1 services, built from the
 * same generated code (so requests are decoded and responses encoded exactly as the real service does),
 * whose handlers do no trading at all and answer at once with fixed, realistic responses of the right
 * message types. How many it writes follows NOOP_RESPONSE_SHAPE (loadtest/response-shape.ts): the
 * events per command by type, the share of cancels answered NOT_FOUND, and on OrderFlow the messages of
 * pushed events per request — bench:grpc counts them in the service's answers for the same flow, so
 * both servers write as many messages of the same shape. What the service costs beyond this server is
 * the matching engine and the adapter.
 *
 *   node --import tsx loadtest/noop-grpc-server.ts          # GRPC_HOST (127.0.0.1), GRPC_PORT (0 = any free port), NOOP_RESPONSE_SHAPE (JSON; default one accepted event per command)
 *
 * Prints `noop-grpc-server listening on HOST:PORT` once bound; exits on SIGTERM/SIGINT.
 */
import { Server, ServerCredentials, status, type ServerDuplexStream } from '@grpc/grpc-js';
import { realpathSync } from 'node:fs';
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
import { CancelReason, Liquidity, OrderStatus, OrderType, Side, StpMode, TimeInForce, type ItemError, type Order, type OrderEvent } from '../server/adapters/grpc/generated/trading/v1/types.ts';
import { ONE_ACCEPTED, parseShape, type EventKind, type ResponseShape } from './response-shape.ts';

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

const FILLED: OrderEvent = {
  ...ACCEPTED,
  status: OrderStatus.ORDER_STATUS_PARTIALLY_FILLED,
  event: { $case: 'filled', value: { tradeId: '3456789', price: '64999.87', quantity: '0.00100', remainingQuantity: '0.00200', liquidity: Liquidity.LIQUIDITY_MAKER } },
};
const EVENTS: Record<EventKind, OrderEvent> = { accepted: ACCEPTED, filled: FILLED, cancelled: CANCELLED };
const EVENT_MESSAGES: Record<EventKind, OrderFlowMessage> = {
  accepted: { message: { $case: 'event', value: ACCEPTED } },
  filled: { message: { $case: 'event', value: FILLED } },
  cancelled: { message: { $case: 'event', value: CANCELLED } },
};
const NOT_FOUND: ItemError = { code: status.NOT_FOUND, rejectReason: 2001, field: 'client_order_id', message: 'order u-1a2b3c not found (unknown, or already closed)' };

/** Hands out a fractional count as whole ones, evenly: rate 1.4 gives 1, 2, 1, 2, 1, ... (total exact). */
class Spreader {
  private acc = 0;
  constructor(private readonly rate: number) {}
  take(): number {
    this.acc += this.rate;
    const n = Math.floor(this.acc);
    this.acc -= n;
    return n;
  }
}

/** Answers of the shape in `shape`, one mode's worth per process (the counters spread its fractions). */
function createOrdersHandlers(shape: ResponseShape): OrdersServiceServer {
  const kinds = Object.keys(EVENTS) as EventKind[];
  const perCommand = kinds.map((k) => [k, new Spreader(shape.eventsPerCommand[k] ?? 0)] as const);
  const notFound = new Spreader(shape.cancelNotFoundShare);
  const pushedMessages = new Spreader(shape.pushedMessagesPerRequest);
  const perPushed = kinds.map((k) => [k, new Spreader(shape.eventsPerPushedMessage[k] ?? 0)] as const);
  const eventsOfCommand = (): OrderEvent[] => {
    const events: OrderEvent[] = [];
    for (const [k, s] of perCommand) for (let n = s.take(); n > 0; n--) events.push(EVENTS[k]);
    return events;
  };
  const pushedEvents = (): OrderFlowMessage[] => {
    const out: OrderFlowMessage[] = [];
    for (const [k, s] of perPushed) for (let n = s.take(); n > 0; n--) out.push(EVENT_MESSAGES[k]);
    return out.length > 0 ? out : [EVENT_MESSAGES.filled];
  };
  return {
    submitOrder: (_call, cb) => cb(null, { order: ORDER, events: eventsOfCommand() }),
    cancelOrder: (_call, cb) => {
      if (notFound.take() > 0) cb({ code: status.NOT_FOUND, details: NOT_FOUND.message });
      else cb(null, { order: CANCELLED_ORDER, events: eventsOfCommand() });
    },
    replaceOrder: (_call, cb) => cb(null, { order: ORDER, events: [ACCEPTED] }),
    getOrder: (_call, cb) => cb(null, { order: ORDER }),
    listOpenOrders: (_call, cb) => cb(null, { orders: [ORDER], nextPage: undefined }),
    cancelAllOrders: (_call, cb) => cb(null, { orders: [CANCELLED_ORDER], events: [CANCELLED] }),
    // Results are positional: one per item, like the service.
    submitOrderBatch: (call, cb) => cb(null, { results: call.request.orders.map((): BatchItemResult => ({ error: undefined, order: ORDER, events: eventsOfCommand() })) }),
    orderFlow: (call: ServerDuplexStream<OrderFlowRequest, OrderFlowResponse>) => {
      call.on('data', (req: OrderFlowRequest) => {
        // Each command's events, then its result echoing the correlation id, in one message per request
        // (as the service answers a request); then the messages of events pushed for other orders.
        const messages: OrderFlowMessage[] = [];
        for (const cmd of req.commands) {
          if (cmd.command?.$case === 'cancel' && notFound.take() > 0) {
            messages.push({ message: { $case: 'result', value: { correlationId: cmd.correlationId, error: NOT_FOUND, order: undefined } } });
            continue;
          }
          for (const e of eventsOfCommand()) messages.push({ message: { $case: 'event', value: e } });
          messages.push({ message: { $case: 'result', value: { correlationId: cmd.correlationId, error: undefined, order: ORDER } } });
        }
        call.write({ messages });
        for (let n = pushedMessages.take(); n > 0; n--) call.write({ messages: pushedEvents() });
      });
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
  };
}

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

export function createNoopServer(shape: ResponseShape = ONE_ACCEPTED): Server {
  // The transport as the service configures it (grpc-server.ts): channelz off.
  const server = new Server({ 'grpc.enable_channelz': 0 });
  server.addService(OrdersServiceService, createOrdersHandlers(shape));
  server.addService(MarketDataServiceService, marketData);
  server.addService(InstrumentsServiceService, instruments);
  return server;
}

function main(): void {
  const host = process.env.GRPC_HOST || '127.0.0.1';
  const port = Number(process.env.GRPC_PORT || '0');
  const server = createNoopServer(parseShape(process.env.NOOP_RESPONSE_SHAPE));
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

// Compared as real paths: run through a symlinked node_modules (a worktree sharing another's), the
// module's URL is the resolved one and a plain comparison would never start the server.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) main();
