// gRPC server metrics (grpc-metrics-interceptor.ts) on a real in-process service: each call is counted
// once as started and once as handled with the status code the client saw, handling time is observed,
// stream messages are counted both ways, and the admin HTTP metrics count requests by route template.
import { Metadata, credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrdersServiceClient } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { TradingService } from '../server/adapters/trading-service.ts';
import { loadConfig } from '../server/config.ts';
import { limitOrder } from './grpc-harness.ts';

let service: TradingService;
let orders: OrdersServiceClient;
let base: string;

async function sample(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  if (line === undefined) throw new Error(`no sample ${name}{${labels}}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}
const submit = (md: Metadata, req = limitOrder('buy', '100.00', '0.01')) => new Promise<number>((resolve) => orders.submitOrder(req, md, (err) => resolve(err?.code ?? status.OK)));
const SUBMIT = 'grpc_type="unary",grpc_service="trading.v1.OrdersService",grpc_method="SubmitOrder"';

beforeAll(async () => {
  service = new TradingService(loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', PERSISTENCE: 'memory', AUTH_MODE: 'header' }), { logger: { info() {}, error() {} } });
  const ports = await service.start();
  base = `http://127.0.0.1:${ports.adminPort}`;
  orders = new OrdersServiceClient(`127.0.0.1:${ports.grpcPort}`, credentials.createInsecure());
});

afterAll(async () => {
  orders?.close();
  await service?.stop(1_000);
});

describe('gRPC server metrics', () => {
  it('counts started and handled per code, and observes the handling time', async () => {
    const md = new Metadata();
    md.set('x-account-id', 'alice');
    expect(await submit(md)).toBe(status.OK);
    expect(await submit(md)).toBe(status.OK);
    expect(await submit(md, limitOrder('buy', '100.001', '0.01'))).toBe(status.INVALID_ARGUMENT);
    expect(await submit(new Metadata())).toBe(status.UNAUTHENTICATED);
    expect(await sample('grpc_server_started_total', SUBMIT)).toBe(4);
    expect(await sample('grpc_server_handled_total', `${SUBMIT},grpc_code="OK"`)).toBe(2);
    expect(await sample('grpc_server_handled_total', `${SUBMIT},grpc_code="INVALID_ARGUMENT"`)).toBe(1);
    expect(await sample('grpc_server_handled_total', `${SUBMIT},grpc_code="UNAUTHENTICATED"`)).toBe(1);
    expect(await sample('grpc_server_handled_total', `${SUBMIT},grpc_code="NOT_FOUND"`)).toBe(0);
    expect(await sample('grpc_server_handling_seconds_count', SUBMIT)).toBe(4);
    expect(await sample('grpc_server_handling_seconds_bucket', `le="+Inf",${SUBMIT}`)).toBe(4);
    expect(await sample('grpc_server_msg_received_total', SUBMIT)).toBe(4);
    expect(await sample('grpc_server_msg_sent_total', SUBMIT)).toBe(2);
  });

  it('counts OrderFlow stream messages both ways and the stream as handled when it ends', async () => {
    const FLOW = 'grpc_type="bidi_stream",grpc_service="trading.v1.OrdersService",grpc_method="OrderFlow"';
    const md = new Metadata();
    md.set('x-account-id', 'bob');
    const call = orders.orderFlow(md);
    const got: unknown[] = [];
    const ended = new Promise<void>((resolve) => call.on('status', () => resolve()));
    call.on('data', (d) => got.push(d));
    call.on('error', () => {});
    for (let i = 0; i < 3; i++) call.write({ commands: [{ correlationId: `c${i}`, command: { $case: 'submit', value: limitOrder('sell', '200.00', '0.01') } }] });
    while (got.length < 3) await new Promise((r) => setTimeout(r, 10));
    call.end();
    await ended;
    expect(await sample('grpc_server_msg_received_total', FLOW)).toBe(3);
    expect(await sample('grpc_server_msg_sent_total', FLOW)).toBeGreaterThanOrEqual(3);
    expect(await sample('grpc_server_handled_total', `${FLOW},grpc_code="OK"`)).toBe(1);
  });
});

describe('admin HTTP metrics', () => {
  it('counts requests by method, route template and code; unknown paths fold into "unmatched"', async () => {
    await fetch(`${base}/admin/circuit-breaker/reset/BTCUSDT`, { method: 'POST' });
    await fetch(`${base}/admin/circuit-breaker/reset/ETHUSDT`, { method: 'POST' });
    await fetch(`${base}/no/such/path-1`);
    await fetch(`${base}/no/such/path-2`);
    expect(await sample('trading_admin_http_requests_total', 'method="POST",route="/admin/circuit-breaker/reset/:param",code="200"')).toBe(2);
    expect(await sample('trading_admin_http_requests_total', 'method="GET",route="unmatched",code="404"')).toBe(2);
    expect(await sample('trading_admin_http_request_duration_seconds_count', 'method="POST",route="/admin/circuit-breaker/reset/:param"')).toBe(2);
  });
});
