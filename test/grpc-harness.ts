/**
 * Shared by the test/grpc-*.test.ts suites: an in-process server on 127.0.0.1:0 and real grpc-js clients,
 * authenticated as the service does it: an API key created in the session store (what the admin API
 * does), SessionService.Login over gRPC, then `authorization: Bearer <token>` on every call. One
 * in-process store per test file, shared by its harnesses, so a token works on each of them; its limits
 * are high enough never to refuse a test (rate limits have their own suite).
 */
import { credentials, Metadata, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import { MemorySessionStore } from '../server/adapters/embedded/memory-session-store.ts';
import { TradingGrpcServer, type GrpcServerOptions } from '../server/adapters/grpc/grpc-server.ts';
import { SessionAuthenticator } from '../server/adapters/grpc/session-authenticator.ts';
import { SessionServiceClient } from '../server/adapters/grpc/generated/trading/v1/sessions.ts';
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
  sessions: SessionServiceClient;
  logged: string[];
  close(): Promise<void>;
}

/** Generous enough that no test is refused; the ManualClock below never refills the bucket. */
export const harnessStore = new MemorySessionStore({ clock: new ManualClock(1_700_000_000_000), rateLimitPerSecond: 1_000_000, rateLimitBurst: 1_000_000_000 });
export const harnessAuth = new SessionAuthenticator(harnessStore);
const tokens = new Map<string, Promise<string>>();

/** Where `tokenFor` gets sessions: a gRPC address serving SessionService, and how API keys are made there. */
export interface LoginSource {
  address: string;
  createApiKey(account: string): Promise<{ keyId: string; secret: string }>;
}
/** The current source: the most recently started harness, or what a suite set with `loginThrough`. */
let source: LoginSource | undefined;
let sourceHarness: Harness | undefined;
/** Harnesses started and not yet closed, oldest first. */
const openHarnesses: Harness[] = [];

function useHarness(h: Harness | undefined): void {
  source = h === undefined ? undefined : { address: h.address, createApiKey: (account) => harnessStore.createApiKey(account) };
  sourceHarness = h;
}

/** Makes `unary`, `asAccount` and `tokenFor` log in through `s` (e.g. a TradingService under test). */
export function loginThrough(s: LoginSource | undefined): void {
  source = s;
  sourceHarness = undefined;
  tokens.clear();
}

/** API keys created as an operator does: POST /admin/accounts/{account}/api-keys on the admin API. */
export function adminApiKeys(adminBase: string, adminToken?: string): LoginSource['createApiKey'] {
  return async (account) => {
    const res = await fetch(`${adminBase}/admin/accounts/${encodeURIComponent(account)}/api-keys`, {
      method: 'POST',
      headers: adminToken === undefined ? {} : { authorization: `Bearer ${adminToken}` },
    });
    const body = (await res.json()) as { keyId: string; secret: string };
    if (res.status !== 201) throw new Error(`creating an API key for ${account} answered ${res.status}: ${JSON.stringify(body)}`);
    return body;
  };
}

/** SessionService.Login over gRPC at `address`. */
export async function loginAt(address: string, key: { keyId: string; secret: string }): Promise<{ token: string; account: string; expiresAtUnixMs: string }> {
  const client = new SessionServiceClient(address, credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) => {
      client.login({ apiKeyId: key.keyId, apiKeySecret: key.secret }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  } finally {
    client.close();
  }
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
    sessions: { store: harnessStore, authenticator: harnessAuth, sessionTtlMs: 86_400_000, rateLimitBurst: 1_000_000_000 },
    interceptors: [harnessAuth.interceptor()],
    ...options,
  });
  const port = await server.listen('127.0.0.1', 0);
  const address = `127.0.0.1:${port}`;
  const orders = new OrdersServiceClient(address, credentials.createInsecure());
  const marketData = new MarketDataServiceClient(address, credentials.createInsecure());
  const instruments = new InstrumentsServiceClient(address, credentials.createInsecure());
  const sessions = new SessionServiceClient(address, credentials.createInsecure());
  const harness: Harness = {
    port,
    address,
    pairs,
    server,
    clock,
    orders,
    marketData,
    instruments,
    sessions,
    logged,
    async close() {
      openHarnesses.splice(openHarnesses.indexOf(harness), 1);
      // Tokens stay valid (shared store); the next login must go through a server still open.
      if (sourceHarness === harness) useHarness(openHarnesses.at(-1));
      orders.close();
      marketData.close();
      instruments.close();
      sessions.close();
      await server.shutdown(1_000);
    },
  };
  openHarnesses.push(harness);
  useHarness(harness);
  return harness;
}

/** Creates an API key for `account` in the store and logs it in through this harness's SessionService.Login. */
export async function login(h: Harness, account: string): Promise<{ token: string; account: string; expiresAtUnixMs: string }> {
  return loginAt(h.address, await harnessStore.createApiKey(account));
}

/** A bearer token for `account` (one login per account until the source changes). */
export function tokenFor(account: string): Promise<string> {
  let token = tokens.get(account);
  if (token === undefined) {
    const via = source;
    if (via === undefined) throw new Error('tokenFor: no harness is running and no loginThrough(...) source is set');
    token = via.createApiKey(account).then((key) => loginAt(via.address, key)).then((r) => r.token);
    tokens.set(account, token);
  }
  return token;
}

export function bearer(token: string): Metadata {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

/**
 * Call metadata acting for `account`: a logged-in session's bearer token, or `x-account-id` when no
 * login source is set (services started with AUTH_MODE=header); undefined gives empty metadata.
 */
export async function asAccount(account: string | undefined): Promise<Metadata> {
  if (account === undefined) return new Metadata();
  if (source === undefined) {
    // No harness and no loginThrough(...): a TradingService started with AUTH_MODE=header (loopback only).
    const md = new Metadata();
    md.set('x-account-id', account);
    return md;
  }
  return bearer(await tokenFor(account));
}

type Callback<Res> = (err: ServiceError | null, res: Res) => void;

/** Promisifies one unary call of a generated client: `unary(c.submitOrder.bind(c), req, 'alice')`. */
export function unary<Req, Res>(
  method: (req: Req, md: Metadata, options: Partial<CallOptions>, cb: Callback<Res>) => unknown,
  request: Req,
  account?: string,
  options: Partial<CallOptions> = {},
): Promise<Res> {
  return asAccount(account).then(
    (md) =>
      new Promise((resolve, reject) => {
        method(request, md, options, (err, res) => (err ? reject(err) : resolve(res)));
      }),
  );
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
