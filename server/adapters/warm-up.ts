/**
 * Start-up warm-up (WARMUP_ORDERS): before the service listens, a throwaway TradingService takes that
 * many orders over real gRPC OrderFlow streams, so the first clients after a start meet compiled code
 * instead of the interpreter. What runs hot in the real service — grpc-js and HTTP/2, the session check,
 * idempotency, both books, the registry, the monitor, the wire encoding — is the same code, so what V8
 * compiled for it carries over. Measured at 30,000 orders/s right after a start: first-second p99
 * 500-740 ms without, 224-287 ms after 100,000 warm-up orders, and one bad second instead of three
 * (bench-results/issue9-steps-2026-12-02.md, stop 23).
 *
 * Nothing of it reaches the real service: the throwaway one runs on the default configuration (no limit
 * given to the real one applies to it) with its own pairs (in memory), in-process sessions, metrics and
 * ports (loopback, chosen by the system), and is stopped before the real one starts. Best effort: a
 * failure is reported, never fatal.
 */
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadConfig, type ServiceConfig } from '../config.ts';
import type { Logger } from './grpc/call-context.ts';
import { TradingService } from './trading-service.ts';
import { priceText, quantityText } from './grpc/codec.ts';
import { OrdersServiceClient, type OrderCommand, type OrderFlowResponse } from './grpc/generated/trading/v1/orders.ts';
import { SessionServiceClient } from './grpc/generated/trading/v1/sessions.ts';
import { OrderType, Side, StpMode, TimeInForce } from './grpc/generated/trading/v1/types.ts';
import type { Instrument } from '../core/instrument.ts';

/** Commands per OrderFlow message, as batching clients send them. */
const BATCH = 100;
/** Messages in flight per stream. */
const WINDOW = 4;

export interface WarmUpReport {
  /** Commands sent (and answered). */
  commands: number;
  /** Of them, answered with an error (none expected: an IOC buy that finds no sell expires, which is not an error). */
  errors: number;
  ms: number;
}

/**
 * The throwaway service's configuration: the defaults (so no limit the real one was given can refuse the
 * warm-up, and nothing it points at — Redis, a database, a cluster, a collector — is touched), in memory,
 * on loopback ports chosen by the system, with the real one's initial migration state (the same books
 * run hot) and rate limits out of the way.
 */
export function warmUpConfig(config: ServiceConfig): ServiceConfig {
  return {
    ...loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_HOST: '127.0.0.1', ADMIN_PORT: '0', PERSISTENCE: 'memory' }),
    migrationInitialState: config.migrationInitialState,
    rateLimitPerSecond: 10_000_000,
    rateLimitBurst: 1_000_000_000,
  };
}

/** Runs `orders` orders (at least one message's worth) through a throwaway service; resolves when it has stopped. */
export async function warmUp(config: ServiceConfig, orders: number): Promise<WarmUpReport> {
  const started = Date.now();
  const quiet: Logger = { info() {}, error() {} };
  const service = new TradingService(warmUpConfig(config), { logger: quiet });
  try {
    const { grpcPort } = await service.start();
    const target = `127.0.0.1:${grpcPort}`;
    const orderClient = new OrdersServiceClient(target, credentials.createInsecure());
    const sessionClient = new SessionServiceClient(target, credentials.createInsecure());
    try {
      const inst = service.instruments[0]!;
      const [maker, taker] = await Promise.all(['warmup-maker', 'warmup-taker'].map((a) => login(service, sessionClient, a)));
      const messages = Math.max(1, Math.ceil(orders / (2 * BATCH)));
      const errors = await Promise.all([stream(orderClient, maker!, messages, (k) => makerCommands(inst, k)), stream(orderClient, taker!, messages, (k) => takerCommands(inst, k))]);
      return { commands: 2 * messages * BATCH, errors: errors[0]! + errors[1]!, ms: Date.now() - started };
    } finally {
      orderClient.close();
      sessionClient.close();
    }
  } finally {
    await service.stop(1_000);
  }
}

async function login(service: TradingService, sessions: SessionServiceClient, account: string): Promise<Metadata> {
  const key = await service.sessions.store.createApiKey(account);
  const token = await new Promise<string>((resolve, reject) =>
    sessions.login({ apiKeyId: key.keyId, apiKeySecret: key.secret }, (err: ServiceError | null, r) => (err ? reject(err) : resolve(r.token))),
  );
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

/** Sends `messages` messages of BATCH commands, WINDOW in flight; resolves when all are answered, with how many failed. */
function stream(client: OrdersServiceClient, md: Metadata, messages: number, commandsOf: (k: number) => OrderCommand[]): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const call = client.orderFlow(md);
    let sent = 0;
    let answered = 0;
    let errors = 0;
    const send = () => {
      while (sent < messages && sent - answered < WINDOW) call.write({ commands: commandsOf(sent++) });
      if (sent === messages) call.end();
    };
    call.on('data', (res: OrderFlowResponse) => {
      for (const m of res.messages) {
        if (m.message?.$case !== 'result') continue;
        if (m.message.value.error !== undefined) errors++;
        // A request is answered once the result of its last command is in.
        if (m.message.value.correlationId.endsWith(`.${BATCH - 1}`)) answered++;
      }
      if (answered < messages) send();
    });
    call.on('error', (err) => (answered === messages ? resolve(errors) : reject(err)));
    call.on('end', () => (answered === messages ? resolve(errors) : reject(new Error(`warm-up stream ended after ${answered} of ${messages} answers`))));
    send();
  });
}

/** The k-th message of a stream: BATCH commands, the i-th of them `command(n, i)` with n = k × BATCH + i. */
function message(k: number, command: (n: number, i: number) => OrderCommand['command']): OrderCommand[] {
  const out: OrderCommand[] = [];
  for (let i = 0; i < BATCH; i++) out.push({ correlationId: `${k}.${i}`, command: command(k * BATCH + i, i) });
  return out;
}

/** The maker's k-th message: resting sells the taker's IOC buys take, resting buys, and cancels of those buys. */
function makerCommands(inst: Instrument, k: number): OrderCommand[] {
  return message(k, (n, i) => {
    if (i % 3 === 0) return { $case: 'submit', value: limit(inst, `s${n}`, Side.SIDE_SELL, TimeInForce.TIME_IN_FORCE_GTC, 1 + (n % 10)) };
    if (i % 3 === 1) return { $case: 'submit', value: limit(inst, `b${n}`, Side.SIDE_BUY, TimeInForce.TIME_IN_FORCE_GTC, -1 - (n % 10)) };
    // The buy placed just before this one: it rests, so the cancel succeeds.
    return { $case: 'cancel', value: { pair: inst.symbol, order: { $case: 'clientOrderId', value: `b${n - 1}` } } };
  });
}

/** The taker's k-th message: IOC buys that cross the maker's sells (or expire when none rest). */
function takerCommands(inst: Instrument, k: number): OrderCommand[] {
  return message(k, (n) => ({ $case: 'submit', value: limit(inst, `t${n}`, Side.SIDE_BUY, TimeInForce.TIME_IN_FORCE_IOC, 11) }));
}

/** A one-lot limit order `offset` ticks from a fixed mid price. */
function limit(inst: Instrument, clientOrderId: string, side: Side, timeInForce: TimeInForce, offset: number) {
  const price = priceText(inst, inst.minPriceTicks + 100_000 + offset);
  return { pair: inst.symbol, clientOrderId, side, type: OrderType.ORDER_TYPE_LIMIT, timeInForce, price, quantity: quantityText(inst, inst.minQuantityLots), postOnly: false, stpMode: StpMode.STP_MODE_CANCEL_TAKER };
}
