/**
 * The Trading UI's way into trading: a gRPC client of the service's OWN listener on loopback. Every
 * browser command therefore runs exactly the code a gRPC client runs: the session interceptor, rate
 * limits, validation, idempotency, the durability gate and the one matching path. Nothing here decides
 * anything about an order; it only carries requests in and maps gRPC statuses to HTTP ones, keeping the
 * field the service named (trailing metadata `x-field`).
 *
 * Tokens travel only as `authorization` metadata on these loopback calls and are never logged.
 */
import { credentials, Metadata, status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import {
  OrdersServiceClient,
  type CancelAllOrdersRequest,
  type CancelAllOrdersResponse,
  type CancelOrderRequest,
  type CancelOrderResponse,
  type ListOpenOrdersResponse,
  type OrderFlowRequest,
  type OrderFlowResponse,
  type ReplaceOrderRequest,
  type ReplaceOrderResponse,
  type SubmitOrderRequest,
  type SubmitOrderResponse,
} from '../grpc/generated/trading/v1/orders.ts';
import { SessionServiceClient, type LoginResponse } from '../grpc/generated/trading/v1/sessions.ts';
import { HttpError } from './admin-server.ts';

/** Deadline of one forwarded unary call. */
export const UI_CALL_DEADLINE_MS = 10_000;

const HTTP_BY_GRPC: Partial<Record<status, number>> = {
  [status.INVALID_ARGUMENT]: 400,
  [status.UNAUTHENTICATED]: 401,
  [status.PERMISSION_DENIED]: 403,
  [status.NOT_FOUND]: 404,
  [status.ALREADY_EXISTS]: 409,
  [status.FAILED_PRECONDITION]: 409,
  [status.RESOURCE_EXHAUSTED]: 429,
  [status.UNAVAILABLE]: 503,
  [status.DEADLINE_EXCEEDED]: 504,
};

/** A gRPC failure as the admin listener's JSON error: `{ error: 'INVALID_ARGUMENT', field: 'price', reason }`. */
export function grpcToHttpError(err: unknown): HttpError {
  const e = err as Partial<ServiceError>;
  if (typeof e.code !== 'number') return new HttpError(500, 'internal', 'internal error; see the service log');
  const field = e.metadata?.get('x-field')[0];
  const name = status[e.code] ?? 'UNKNOWN';
  const reason = e.code === status.INTERNAL ? 'internal error; see the service log' : (e.details ?? name);
  return new HttpError(HTTP_BY_GRPC[e.code] ?? 502, name, reason, typeof field === 'string' && field !== '' ? field : undefined);
}

/** Who the calls act for: the session token from Login, and (for AUTH_MODE=header servers) its account. */
export interface UiCredentials {
  token: string;
  account: string;
}

function metadataOf(c: UiCredentials): Metadata {
  const md = new Metadata();
  md.set('authorization', `Bearer ${c.token}`);
  // Read only by a server in AUTH_MODE=header (loopback only), where the session check is not the
  // authenticator; the account is the one Login vouched for.
  md.set('x-account-id', c.account);
  return md;
}

type Unary<Req, Res> = (req: Req, md: Metadata, options: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => unknown;

export class UiGrpcClient {
  private orders: OrdersServiceClient | undefined;
  private sessions: SessionServiceClient | undefined;
  private closed = false;

  /** `address()` is the gRPC listener as host:port, known once the service listens. */
  constructor(private readonly address: () => string | undefined) {}

  private clients(): { orders: OrdersServiceClient; sessions: SessionServiceClient } {
    if (this.closed) throw new HttpError(503, 'UNAVAILABLE', 'the service is shutting down');
    if (this.orders === undefined || this.sessions === undefined) {
      const target = this.address();
      if (target === undefined) throw new HttpError(503, 'UNAVAILABLE', 'the gRPC listener is not up yet (recovery in progress?); retry shortly');
      this.orders = new OrdersServiceClient(target, credentials.createInsecure());
      this.sessions = new SessionServiceClient(target, credentials.createInsecure());
    }
    return { orders: this.orders, sessions: this.sessions };
  }

  private call<Req, Res>(method: Unary<Req, Res>, req: Req, md: Metadata): Promise<Res> {
    return new Promise((resolve, reject) => {
      method(req, md, { deadline: Date.now() + UI_CALL_DEADLINE_MS }, (err, res) => (err ? reject(grpcToHttpError(err)) : resolve(res)));
    });
  }

  login(apiKeyId: string, apiKeySecret: string): Promise<LoginResponse> {
    const { sessions } = this.clients();
    return this.call(sessions.login.bind(sessions), { apiKeyId, apiKeySecret }, new Metadata());
  }

  async logout(c: UiCredentials): Promise<void> {
    const { sessions } = this.clients();
    await this.call(sessions.logout.bind(sessions), {}, metadataOf(c));
  }

  submit(c: UiCredentials, req: SubmitOrderRequest): Promise<SubmitOrderResponse> {
    const { orders } = this.clients();
    return this.call(orders.submitOrder.bind(orders), req, metadataOf(c));
  }

  cancel(c: UiCredentials, req: CancelOrderRequest): Promise<CancelOrderResponse> {
    const { orders } = this.clients();
    return this.call(orders.cancelOrder.bind(orders), req, metadataOf(c));
  }

  cancelAll(c: UiCredentials, req: CancelAllOrdersRequest): Promise<CancelAllOrdersResponse> {
    const { orders } = this.clients();
    return this.call(orders.cancelAllOrders.bind(orders), req, metadataOf(c));
  }

  replace(c: UiCredentials, req: ReplaceOrderRequest): Promise<ReplaceOrderResponse> {
    const { orders } = this.clients();
    return this.call(orders.replaceOrder.bind(orders), req, metadataOf(c));
  }

  listOpen(c: UiCredentials): Promise<ListOpenOrdersResponse> {
    const { orders } = this.clients();
    return this.call(orders.listOpenOrders.bind(orders), { pair: '', page: undefined }, metadataOf(c));
  }

  /** An OrderFlow stream that sends nothing: it carries the account's order events (fills by others too). */
  accountEvents(c: UiCredentials): ClientDuplexStream<OrderFlowRequest, OrderFlowResponse> {
    const { orders } = this.clients();
    return orders.orderFlow(metadataOf(c));
  }

  close(): void {
    this.closed = true;
    this.orders?.close();
    this.sessions?.close();
  }
}
