/**
 * The Trading UI's server side on the admin listener: the built page (ui-static.ts), one Server-Sent
 * Events stream per page (market data of one pair, coalesced, plus the logged-in account's order events)
 * and small JSON endpoints for trading that forward to the service's own gRPC listener (ui-grpc-client.ts:
 * same sessions, validation, idempotency and matching as any gRPC client; no second path).
 *
 * Sessions: POST /ui/api/login exchanges an API key for a session token through SessionService.Login and
 * puts the token in an HttpOnly, SameSite=Strict cookie scoped to /ui: page scripts never see it, it is
 * never in a URL, and it is never logged. Every POST must carry `x-trading-ui: 1` (a header a cross-site
 * form cannot send), on top of SameSite.
 *
 * Access: every /ui/api route follows the admin API's rules (loopback, or `Authorization: Bearer
 * <ADMIN_TOKEN>` when one is set); only the static files are public.
 *
 * Bounds: at most `maxConnections` SSE streams (more get 503), each with a bounded send queue
 * (ui-sse.ts: a slow reader is dropped), market data coalesced per `flushMs` (ui-market-stream.ts),
 * and a fixed-size ring of performance samples.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { Instrument } from '../../core/instrument.ts';
import { ValidationError } from '../../pairs/errors.ts';
import type { PerformanceMonitor } from '../../pairs/performance-monitor.ts';
import type { TradingPairs } from '../../pairs/trading-pairs.ts';
import type { Logger } from '../grpc/call-context.ts';
import type { OrderFlowRequest, OrderFlowResponse } from '../grpc/generated/trading/v1/orders.ts';
import { HttpError, type AdminRequest, type AdminResponse, type Route } from './admin-server.ts';
import { UiGrpcClient, grpcToHttpError, type UiCredentials } from './ui-grpc-client.ts';
import { MarketStream, instrumentInfo } from './ui-market-stream.ts';
import { cancelAllFromUi, cancelFromUi, eventToUi, loginFromUi, orderToUi, replaceFromUi, submitFromUi } from './ui-orders-wire.ts';
import { SseConnection } from './ui-sse.ts';
import { uiStaticRoutes } from './ui-static.ts';

export const UI_SESSION_COOKIE = 'ts_ui_session';
export const DEFAULT_UI_MAX_CONNECTIONS = 32;
export const DEFAULT_UI_FLUSH_MS = 50;
export const PERFORMANCE_SAMPLE_MS = 5_000;
/** 10 minutes of samples. */
export const PERFORMANCE_SAMPLES = 120;

export interface UiBridgeOptions {
  pairs: TradingPairs;
  instruments: readonly Instrument[];
  monitor: PerformanceMonitor;
  /** The gRPC listener as host:port once it listens (the UI's trading calls go there). */
  grpcAddress(): string | undefined;
  /** The built page (ui/dist). */
  distDir: string;
  /** Whether the chaos endpoints exist (CHAOS_ENABLED). */
  chaosEnabled: boolean;
  /** AUTH_MODE, shown on the page. */
  authMode: string;
  logger: Logger;
  /** Most SSE streams open at once; more are refused with 503. @default 32 */
  maxConnections?: number;
  /** How often coalesced market data is sent to each stream (ms). @default 50 */
  flushMs?: number;
  /** Unsent bytes per stream before it is dropped as too slow. @default 1 MiB (ui-sse.ts) */
  maxQueuedBytes?: number;
}

interface PerformanceSample {
  at: number;
  legacy_p95_ms: number;
  adaptive_p95_ms: number;
  orders_per_sec: number;
  commands_per_sec: number;
  errors: number;
}

interface LiveStream {
  sse: SseConnection;
  market: MarketStream | undefined;
  credentials: UiCredentials | undefined;
  flow: ClientDuplexStream<OrderFlowRequest, OrderFlowResponse> | undefined;
  timer: NodeJS.Timeout;
}

/** `token.account` (account URI-encoded; base64url tokens hold no '.'). */
function credentialsOf(headers: IncomingHttpHeaders): UiCredentials | undefined {
  const cookie = headers.cookie;
  if (typeof cookie !== 'string') return undefined;
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== UI_SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    const dot = value.indexOf('.');
    if (dot <= 0 || value.length > 600) return undefined;
    try {
      return { token: value.slice(0, dot), account: decodeURIComponent(value.slice(dot + 1)) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function requireCsrfHeader(headers: IncomingHttpHeaders): void {
  if (headers['x-trading-ui'] !== '1') throw new HttpError(403, 'forbidden', 'Trading UI requests must carry the header x-trading-ui: 1', 'x-trading-ui');
}

function sessionCookie(value: string, maxAgeSeconds: number): string {
  return `${UI_SESSION_COOKIE}=${value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`;
}

export class UiBridge {
  private readonly grpc: UiGrpcClient;
  private readonly streams = new Set<LiveStream>();
  private readonly samples: PerformanceSample[] = [];
  private sampler: NodeJS.Timeout | undefined;
  private readonly maxConnections: number;
  private readonly flushMs: number;
  private closed = false;
  /** SSE streams refused because `maxConnections` were open. */
  refusedStreams = 0;
  /** SSE streams dropped because their reader was too slow. */
  droppedSlowReaders = 0;

  constructor(private readonly options: UiBridgeOptions) {
    this.grpc = new UiGrpcClient(options.grpcAddress);
    this.maxConnections = options.maxConnections ?? DEFAULT_UI_MAX_CONNECTIONS;
    this.flushMs = options.flushMs ?? DEFAULT_UI_FLUSH_MS;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** Starts the performance sampler (the Operations view's last minutes). */
  start(): void {
    if (this.sampler !== undefined) return;
    this.sample();
    this.sampler = setInterval(() => this.sample(), PERFORMANCE_SAMPLE_MS);
    this.sampler.unref();
  }

  /** Ends every stream and the gRPC client; routes answer 503 afterwards. */
  close(): void {
    this.closed = true;
    if (this.sampler !== undefined) clearInterval(this.sampler);
    for (const s of [...this.streams]) s.sse.close('service shutting down');
    this.grpc.close();
  }

  private sample(): void {
    const impl = this.options.monitor.perImplementation();
    const t = this.options.monitor.throughput().last_minute;
    this.samples.push({ at: Date.now(), legacy_p95_ms: impl.legacy.served, adaptive_p95_ms: impl.adaptive.served, orders_per_sec: t.orders_per_sec, commands_per_sec: t.commands_per_sec, errors: t.errors });
    if (this.samples.length > PERFORMANCE_SAMPLES) this.samples.splice(0, this.samples.length - PERFORMANCE_SAMPLES);
  }

  routes(): Route[] {
    const json = (value: unknown, status = 200, headers?: Record<string, string>): AdminResponse => ({ status, json: value, ...(headers ? { headers } : {}) });
    const withSession = (req: AdminRequest): UiCredentials => {
      if (req.method === 'POST') requireCsrfHeader(req.headers);
      const c = credentialsOf(req.headers);
      if (c === undefined) throw new HttpError(401, 'UNAUTHENTICATED', 'log in first (API key id and secret)');
      return c;
    };
    /** A forwarded call whose 401 also clears the stale cookie. */
    const forward = async (run: () => Promise<AdminResponse>): Promise<AdminResponse> => {
      try {
        return await run();
      } catch (err) {
        const e = err instanceof HttpError || err instanceof ValidationError ? err : grpcToHttpError(err);
        if (e instanceof HttpError && e.status === 401) throw new HttpError(401, e.error, e.reason, e.field, { 'set-cookie': sessionCookie('', 0) });
        throw e;
      }
    };
    return [
      ...uiStaticRoutes({ distDir: this.options.distDir }),
      {
        method: 'GET',
        path: '/ui/api/config',
        handle: ({ headers }) => {
          const c = credentialsOf(headers);
          return json({
            pairs: this.options.instruments.map(instrumentInfo),
            chaosEnabled: this.options.chaosEnabled,
            authMode: this.options.authMode,
            session: c === undefined ? null : { account: c.account },
            limits: { maxStreams: this.maxConnections, flushMs: this.flushMs },
          });
        },
      },
      {
        method: 'POST',
        path: '/ui/api/login',
        handle: ({ headers, body }) =>
          forward(async () => {
            requireCsrfHeader(headers);
            const { apiKeyId, apiKeySecret } = loginFromUi(body);
            const s = await this.grpc.login(apiKeyId, apiKeySecret);
            const maxAge = (Number(s.expiresAtUnixMs) - Date.now()) / 1000;
            this.options.logger.info(`trading ui: account ${s.account} logged in with API key ${apiKeyId.slice(0, 24)}`);
            return json({ account: s.account, expiresAtUnixMs: Number(s.expiresAtUnixMs) }, 200, { 'set-cookie': sessionCookie(`${s.token}.${encodeURIComponent(s.account)}`, maxAge) });
          }),
      },
      {
        method: 'POST',
        path: '/ui/api/logout',
        handle: async (req) => {
          requireCsrfHeader(req.headers);
          const c = credentialsOf(req.headers);
          if (c !== undefined) {
            await this.grpc.logout(c).catch((err: unknown) => this.options.logger.error('trading ui: logout failed', grpcToHttpError(err).reason));
            for (const s of this.streams) if (s.credentials?.token === c.token) this.endAccountFlow(s, 'logged out');
          }
          return json({ loggedOut: true }, 200, { 'set-cookie': sessionCookie('', 0) });
        },
      },
      { method: 'GET', path: '/ui/api/orders', handle: (req) => forward(async () => json({ orders: (await this.grpc.listOpen(withSession(req))).orders.map(orderToUi) })) },
      {
        method: 'POST',
        path: '/ui/api/orders',
        handle: (req) =>
          forward(async () => {
            const c = withSession(req);
            const r = await this.grpc.submit(c, submitFromUi(req.body));
            return json({ order: r.order ? orderToUi(r.order) : null, events: r.events.map(eventToUi) });
          }),
      },
      {
        method: 'POST',
        path: '/ui/api/orders/cancel',
        handle: (req) =>
          forward(async () => {
            const c = withSession(req);
            const r = await this.grpc.cancel(c, cancelFromUi(req.body));
            return json({ order: r.order ? orderToUi(r.order) : null, events: r.events.map(eventToUi) });
          }),
      },
      {
        method: 'POST',
        path: '/ui/api/orders/cancel-all',
        handle: (req) =>
          forward(async () => {
            const c = withSession(req);
            const r = await this.grpc.cancelAll(c, cancelAllFromUi(req.body));
            return json({ orders: r.orders.map(orderToUi), events: r.events.map(eventToUi) });
          }),
      },
      {
        method: 'POST',
        path: '/ui/api/orders/replace',
        handle: (req) =>
          forward(async () => {
            const c = withSession(req);
            const r = await this.grpc.replace(c, replaceFromUi(req.body));
            return json({ order: r.order ? orderToUi(r.order) : null, events: r.events.map(eventToUi) });
          }),
      },
      {
        method: 'GET',
        path: '/ui/api/performance',
        handle: () =>
          json({
            at: new Date().toISOString(),
            per_implementation: this.options.monitor.perImplementation(),
            per_pair: this.options.monitor.perPair(),
            throughput: this.options.monitor.throughput().last_minute,
            sample_ms: PERFORMANCE_SAMPLE_MS,
            samples: this.samples,
            ui: { open_streams: this.streams.size, max_streams: this.maxConnections, refused_streams: this.refusedStreams, dropped_slow_readers: this.droppedSlowReaders },
          }),
      },
      { method: 'GET', path: '/ui/api/stream', handle: ({ query, headers }) => this.openStream(query.get('pair') ?? '', credentialsOf(headers)) },
    ];
  }

  private openStream(pairName: string, credentials: UiCredentials | undefined): AdminResponse {
    if (this.closed) throw new HttpError(503, 'UNAVAILABLE', 'the service is shutting down');
    const pair = pairName === '' ? undefined : this.options.pairs.get(pairName);
    if (pairName !== '' && pair === undefined) throw new ValidationError('pair', `unknown pair "${pairName.slice(0, 32)}"; known: ${this.options.instruments.map((i) => i.symbol).join(', ')}`);
    if (this.streams.size >= this.maxConnections) {
      this.refusedStreams++;
      throw new HttpError(503, 'too_many_streams', `at most ${this.maxConnections} Trading UI streams may be open at once; close a tab or retry later`);
    }
    return {
      stream: (req: IncomingMessage, res: ServerResponse) => {
        const live: LiveStream = {
          sse: undefined as unknown as SseConnection,
          market: undefined,
          credentials,
          flow: undefined,
          timer: undefined as unknown as NodeJS.Timeout,
        };
        live.sse = new SseConnection(req, res, {
          maxQueuedBytes: this.options.maxQueuedBytes,
          onClose: (reason) => {
            if (reason.startsWith('reader too slow')) this.droppedSlowReaders++;
            clearInterval(live.timer);
            live.market?.close();
            this.endAccountFlow(live, reason);
            this.streams.delete(live);
          },
        });
        this.streams.add(live);
        live.sse.send('hello', { pair: pairName || null, account: credentials?.account ?? null, flushMs: this.flushMs });
        if (pair !== undefined) {
          live.market = new MarketStream(pair);
          live.sse.send('book', live.market.snapshotEvent);
        }
        if (credentials !== undefined) this.openAccountFlow(live, credentials);
        live.timer = setInterval(() => {
          const delta = live.market?.flush();
          if (delta !== undefined) live.sse.send('delta', delta);
        }, this.flushMs);
        live.timer.unref();
      },
    };
  }

  private openAccountFlow(live: LiveStream, c: UiCredentials): void {
    let flow: ClientDuplexStream<OrderFlowRequest, OrderFlowResponse>;
    try {
      flow = this.grpc.accountEvents(c);
    } catch (err) {
      live.sse.send('session', { state: 'unavailable', reason: grpcToHttpError(err).reason });
      return;
    }
    live.flow = flow;
    flow.on('data', (r: OrderFlowResponse) => {
      for (const m of r.messages) if (m.message?.$case === 'event') live.sse.send('order', eventToUi(m.message.value));
    });
    flow.on('error', (err: unknown) => {
      if (live.flow !== flow) return;
      live.flow = undefined;
      const e = grpcToHttpError(err);
      live.sse.send('session', { state: e.status === 401 ? 'ended' : 'unavailable', error: e.error, reason: e.reason });
    });
    flow.on('end', () => {
      if (live.flow === flow) live.flow = undefined;
    });
    live.sse.send('session', { state: 'live', account: c.account });
  }

  private endAccountFlow(live: LiveStream, reason: string): void {
    const flow = live.flow;
    if (flow === undefined) return;
    live.flow = undefined;
    flow.cancel();
    if (!live.sse.isClosed) live.sse.send('session', { state: 'ended', reason });
  }
}
