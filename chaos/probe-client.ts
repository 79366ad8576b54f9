/**
 * The drill's own few calls (not load: the simulator makes the load): log in with an API key made through
 * the admin API, submit one order, read one back, exactly as any client would over gRPC. Used to see what a
 * client is told during a fault (UNAVAILABLE naming PostgreSQL, a validated session still working while
 * Redis is down). Each call has a deadline.
 */
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { OrdersServiceClient } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { SessionServiceClient } from '../server/adapters/grpc/generated/trading/v1/sessions.ts';
import { OrderType, Side, StpMode, TimeInForce } from '../server/adapters/grpc/generated/trading/v1/types.ts';

export interface CallOutcome {
  ok: boolean;
  /** gRPC status name, "OK" on success. */
  code: string;
  details: string;
  orderId?: string;
  status?: number;
}

const CODE_NAMES = Object.fromEntries(Object.entries(status).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v, k])) as Record<number, string>;

export function codeName(code: number): string {
  return CODE_NAMES[code] ?? String(code);
}

export async function createApiKey(adminUrl: string, account: string): Promise<{ keyId: string; secret: string }> {
  const res = await fetch(`${adminUrl}/admin/accounts/${encodeURIComponent(account)}/api-keys`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { keyId: string; secret: string };
  if (res.status !== 201) throw new Error(`creating an API key for ${account} answered ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
  return body;
}

export class ProbeClient {
  private readonly orders: OrdersServiceClient;
  private readonly sessions: SessionServiceClient;
  private token = '';

  constructor(
    readonly target: string,
    readonly account: string,
  ) {
    this.orders = new OrdersServiceClient(target, credentials.createInsecure());
    this.sessions = new SessionServiceClient(target, credentials.createInsecure());
  }

  private md(): Metadata {
    const m = new Metadata();
    m.set('authorization', `Bearer ${this.token}`);
    return m;
  }

  private deadline(ms = 5_000): { deadline: Date } {
    return { deadline: new Date(Date.now() + ms) };
  }

  /** Login with a key; resolves to the outcome (UNAVAILABLE while Redis is down, for instance). */
  login(key: { keyId: string; secret: string }): Promise<CallOutcome> {
    return new Promise((ok) =>
      this.sessions.login({ apiKeyId: key.keyId, apiKeySecret: key.secret }, new Metadata(), this.deadline(), (err, res) => {
        if (err) return ok({ ok: false, code: codeName(err.code), details: err.details });
        this.token = res!.token;
        ok({ ok: true, code: 'OK', details: '' });
      }),
    );
  }

  /** A GTC limit order (decimal strings, as on the wire). */
  submit(pair: string, side: 'buy' | 'sell', price: string, quantity: string, clientOrderId: string): Promise<CallOutcome> {
    const req = {
      pair,
      clientOrderId,
      side: side === 'buy' ? Side.SIDE_BUY : Side.SIDE_SELL,
      type: OrderType.ORDER_TYPE_LIMIT,
      timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
      price,
      quantity,
      postOnly: false,
      stpMode: StpMode.STP_MODE_UNSPECIFIED,
    };
    return new Promise((ok) =>
      this.orders.submitOrder(req as any, this.md(), this.deadline(), (err: ServiceError | null, res: any) => {
        if (err) return ok({ ok: false, code: codeName(err.code), details: err.details });
        ok({ ok: true, code: 'OK', details: '', orderId: res.order?.orderId, status: res.order?.status });
      }),
    );
  }

  getOrder(pair: string, clientOrderId: string): Promise<CallOutcome> {
    return new Promise((ok) =>
      this.orders.getOrder({ pair, order: { $case: 'clientOrderId', value: clientOrderId } }, this.md(), this.deadline(), (err: ServiceError | null, res: any) => {
        if (err) return ok({ ok: false, code: codeName(err.code), details: err.details });
        ok({ ok: true, code: 'OK', details: '', orderId: res.order?.orderId ?? res.orderId, status: res.order?.status ?? res.status });
      }),
    );
  }

  close(): void {
    this.orders.close();
    this.sessions.close();
  }
}
