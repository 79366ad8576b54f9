/**
 * The gRPC server: trading.v1 services (ts-proto + @grpc/grpc-js), grpc.health.v1 and reflection,
 * listening on one address, with a graceful shutdown. The only place in the adapter that owns sockets
 * and timers. Constructible in-process for tests (`listen('127.0.0.1', 0)`).
 */
import { Server, ServerCredentials, type ServerInterceptor, type ServerOptions } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { TradingPairs } from '../../pairs/trading-pairs.ts';
import type { SessionStore } from '../../ports/session-store.ts';
import type { ClientOrderArchive } from '../../ports/client-order-archive.ts';
import { headerAuthenticator, type Authenticator } from './auth.ts';
import type { CallContext, Logger } from './call-context.ts';
import type { DurabilityGate } from './durability-gate.ts';
import { UnavailableError } from '../../ports/errors.ts';
import { InstrumentsServiceService } from './generated/trading/v1/instruments.ts';
import { MarketDataServiceService } from './generated/trading/v1/market_data.ts';
import { OrdersServiceService } from './generated/trading/v1/orders.ts';
import { SessionServiceService } from './generated/trading/v1/sessions.ts';
import { createInstrumentsService } from './instruments-service.ts';
import { createMarketDataService } from './market-data-service.ts';
import { sessionHooks } from './order-session-hooks.ts';
import { createOrdersService } from './orders-service.ts';
import { createReflectionService } from './reflection.ts';
import type { SessionAuthenticator } from './session-authenticator.ts';
import { createSessionService } from './session-service.ts';
import { withRawResponses } from './raw-responses.ts';
import { MarketDataLimiter, type MarketDataLimitOptions } from './market-data-limiter.ts';
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.ts';
import { refuseDuplicateAuthorization } from './duplicate-headers.ts';
import { ConnectionGuard, connectionServerOptions, http2ServersOf, type ConnectionLimitOptions } from './connection-guard.ts';
import { StreamGovernor, type StreamLimitOptions } from './stream-limits.ts';

/** Fully qualified names of the services health reports on ('' is the whole server). */
export const SERVICE_NAMES = ['trading.v1.OrdersService', 'trading.v1.MarketDataService', 'trading.v1.InstrumentsService'] as const;
/** Served (and reported by health) when the server has `sessions`. */
export const SESSION_SERVICE_NAME = 'trading.v1.SessionService';

/** Sessions: SessionService, the bearer-token authenticator, rate limits and the idempotency fast path. */
export interface GrpcSessionOptions {
  store: SessionStore;
  /** Must also be installed as an interceptor (`interceptors: [authenticator.interceptor()]`). */
  authenticator: SessionAuthenticator;
  /** How long a session from Login lasts. */
  sessionTtlMs: number;
  /** The store's rate-limit bucket size (see SessionHooksOptions). */
  rateLimitBurst: number;
  /** See SessionHooksOptions.streamRecheckMs. @default 1000 */
  streamRecheckMs?: number;
  /** Failed-login backoff per key id and per peer (login-throttle.ts). @default its defaults */
  loginThrottle?: LoginThrottleOptions;
  /**
   * Whether OrdersService asks the store: rate limits and the idempotency fast path. False only where a
   * caller wants the registry alone (some tests). @default true
   */
  orderHooks?: boolean;
}

/** Default of GrpcServerOptions.maxOpenOrdersPerAccount. */
export const DEFAULT_MAX_OPEN_ORDERS_PER_ACCOUNT = 10_000;

/** Unsent messages a stream may queue before it is ended as too slow. */
export const DEFAULT_MAX_QUEUED_MESSAGES = 10_000;

export interface GrpcServerOptions {
  pairs: TradingPairs;
  /**
   * Who the caller is. @default `sessions.authenticator` when `sessions` is given, else headerAuthenticator
   * (metadata `x-account-id`, trusted as is: local tools and benchmarks only)
   */
  authenticator?: Authenticator;
  /** SessionService, rate limits and idempotency over a SessionStore. @default none (no SessionService) */
  sessions?: GrpcSessionOptions;
  /** grpc-js server interceptors, in order (the SessionAuthenticator's goes here). @default none */
  interceptors?: ServerInterceptor[];
  /** @default console */
  logger?: Logger;
  /** Wall clock for deadline checks. @default Date.now */
  nowMs?: () => number;
  /**
   * Unsent messages a stream may queue before it is ended with RESOURCE_EXHAUSTED. Raising it lets a
   * slow reader hold more memory; lowering it disconnects bursty readers sooner.
   * @default 10_000
   */
  maxQueuedMessages?: number;
  /** Passed to grpc-js (over the connection defaults of connection-limits.ts). */
  serverOptions?: ServerOptions;
  /** Bounds on long-lived streams: queued bytes, stream counts (stream-limits.ts). @default DEFAULT_STREAM_LIMITS */
  streamLimits?: StreamLimitOptions;
  /**
   * MAX_OPEN_ORDERS_PER_ACCOUNT: resting orders one account may hold per pair; a GTC limit order
   * beyond it is refused with FAILED_PRECONDITION (IOC, FOK and market orders never rest and pass).
   * @default 10000
   */
  maxOpenOrdersPerAccount?: number;
  /** Per-peer budget for market-data reads (market-data-limiter.ts). @default its defaults */
  marketDataLimits?: MarketDataLimitOptions;
  /** Bounds on TCP connections: total, per peer, preface and idle timeouts, keepalive (connection-guard.ts). @default DEFAULT_CONNECTION_LIMITS */
  connectionLimits?: ConnectionLimitOptions;
  /**
   * Admission of new orders and replaces (operator halt, maintenance): throws UnavailableError to refuse.
   * @default always admits
   */
  newOrderGate?: { checkNewOrders(pair: string): void };
  /**
   * Ack after durable (adapters/durability): commands refused while the journal is down, replies held
   * until the journal holds what they show. @default none (in-memory: replies at once)
   */
  durability?: DurabilityGate;
  /**
   * The durable record of client order ids (the `orders` table), asked when neither the registry nor
   * the session store knows an id. @default none (in-memory service: the registry and store alone)
   */
  clientOrderArchive?: ClientOrderArchive;
}

export type ShutdownResult = 'graceful' | 'forced';

export class TradingGrpcServer {
  readonly health: HealthImplementation;
  /** Names health reports on ('' is the whole server). */
  private readonly serviceNames: readonly string[];
  private readonly server: Server;
  private readonly streams = new Set<(reason: Error) => void>();
  /** The streams that follow one pair (market data), so a pair leaving this replica ends them. */
  private readonly pairStreams = new Map<string, Set<(reason: Error) => void>>();
  private shuttingDown = false;
  private shutdownPromise: Promise<ShutdownResult> | undefined;
  private readonly logger: Logger;
  /** Open long-lived streams and their queued bytes, server-wide. */
  readonly streamGovernor: StreamGovernor;
  /** Open TCP connections and the limits on them. */
  readonly connectionGuard: ConnectionGuard;

  constructor(options: GrpcServerOptions) {
    this.logger = options.logger ?? { info: (m) => console.log('%s', m), error: (m, e) => console.error('%s', m, e) };
    const nowMs = options.nowMs ?? Date.now;
    this.streamGovernor = new StreamGovernor(options.streamLimits);
    this.connectionGuard = new ConnectionGuard(options.connectionLimits);
    const ctx: CallContext = {
      authenticator: options.authenticator ?? options.sessions?.authenticator ?? headerAuthenticator,
      logger: this.logger,
      nowMs,
      isShuttingDown: () => this.shuttingDown,
      registerStream: (close, pair) => {
        this.streams.add(close);
        if (pair === undefined) return () => this.streams.delete(close);
        let ofPair = this.pairStreams.get(pair);
        if (ofPair === undefined) this.pairStreams.set(pair, (ofPair = new Set()));
        ofPair.add(close);
        return () => {
          this.streams.delete(close);
          ofPair.delete(close);
        };
      },
      maxQueuedMessages: options.maxQueuedMessages ?? DEFAULT_MAX_QUEUED_MESSAGES,
      streams: this.streamGovernor,
      maxOpenOrdersPerAccount: options.maxOpenOrdersPerAccount ?? DEFAULT_MAX_OPEN_ORDERS_PER_ACCOUNT,
      checkNewOrders: options.newOrderGate ? (pair) => options.newOrderGate!.checkNewOrders(pair) : () => {},
    };
    // Channelz off: nothing serves it here, and its per-call trackers (closures, Date.now per message) are per-order work.
    this.server = new Server({ 'grpc.enable_channelz': 0, ...connectionServerOptions(this.connectionGuard.limits), ...options.serverOptions, interceptors: [...(options.serverOptions?.interceptors ?? []), ...(options.interceptors ?? [])] });
    const sessions = options.sessions;
    const hooks = sessions !== undefined && sessions.orderHooks !== false ? sessionHooks(sessions.store, { rateLimitBurst: sessions.rateLimitBurst, revalidate: (md) => sessions.authenticator.revalidate(md), streamRecheckMs: sessions.streamRecheckMs }) : undefined;
    this.server.addService(withRawResponses(OrdersServiceService, ['submitOrder', 'cancelOrder', 'replaceOrder', 'submitOrderBatch', 'orderFlow']), createOrdersService(ctx, options.pairs, hooks, options.durability, options.clientOrderArchive));
    this.server.addService(withRawResponses(MarketDataServiceService, ['streamMarketData', 'getOrderBook']), createMarketDataService(ctx, options.pairs, options.durability, new MarketDataLimiter(options.marketDataLimits), this.connectionGuard));
    this.server.addService(InstrumentsServiceService, createInstrumentsService(ctx, options.pairs));
    if (sessions !== undefined) {
      const auth = sessions.authenticator;
      this.server.addService(SessionServiceService, createSessionService(ctx, { store: sessions.store, sessionTtlMs: sessions.sessionTtlMs, logout: (md) => auth.logout(md), throttle: new LoginThrottle(sessions.loginThrottle) }));
    }
    this.serviceNames = sessions !== undefined ? ['', ...SERVICE_NAMES, SESSION_SERVICE_NAME] : ['', ...SERVICE_NAMES];
    this.health = new HealthImplementation(Object.fromEntries(this.serviceNames.map((s) => [s, 'SERVING' as const])));
    this.health.addToServer(this.server);
    createReflectionService().addToServer(this.server);
  }

  /** Binds and starts; resolves to the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number> {
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      const before = new Set(http2ServersOf(this.server));
      this.server.bindAsync(address, ServerCredentials.createInsecure(), (err, boundPort) => {
        if (err) {
          reject(err);
          return;
        }
        const added = http2ServersOf(this.server).filter((h) => !before.has(h));
        if (added.length === 0) this.logger.error('grpc: cannot find the http2 server inside grpc-js; connection limits and the preface timeout are NOT enforced');
        for (const h of added) {
          this.connectionGuard.watch(h);
          refuseDuplicateAuthorization(h);
        }
        resolve(boundPort);
      });
    });
  }

  /** True once shutdown began (health NOT_SERVING, new calls refused). */
  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Ends every stream that follows `pair` with `reason` (cluster mode: the pair left this replica). */
  endStreamsOf(pair: string, reason: Error): number {
    const closers = [...(this.pairStreams.get(pair) ?? [])];
    for (const close of closers) close(reason);
    return closers.length;
  }

  get openStreamCount(): number {
    return this.streams.size;
  }

  /**
   * Graceful shutdown: health → NOT_SERVING, new calls refused with UNAVAILABLE, long-lived streams
   * ended with UNAVAILABLE (after what they already queued is sent), then grpc-js tryShutdown lets
   * in-flight calls finish; after `graceMs` whatever is left is cut (forceShutdown).
   */
  shutdown(graceMs: number): Promise<ShutdownResult> {
    if (this.shutdownPromise !== undefined) return this.shutdownPromise;
    this.shuttingDown = true;
    for (const name of this.serviceNames) this.health.setStatus(name, 'NOT_SERVING');
    const reason = new UnavailableError('server', 'shutting down; reconnect to another instance');
    for (const close of [...this.streams]) close(reason);
    this.shutdownPromise = new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.logger.info(`grpc: in-flight calls still open after ${graceMs} ms; forcing shutdown`);
        this.server.forceShutdown();
        resolve('forced');
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve('graceful');
      });
    });
    return this.shutdownPromise;
  }
}
