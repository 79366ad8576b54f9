/**
 * Shared by the k6 campaigns (steady, ramp, spike, soak): the project's protos, the runbook's thresholds,
 * accounts created through the admin API in setup(), one session per VU (SessionService.Login), and an
 * order flow of resting limit orders around a mid price, some crossing (trades), with cancels of the VU's
 * own earlier orders. Runs in k6 (goja), not Node: only k6/* modules. `npm run typecheck` checks these
 * files against @types/k6 (loadtest/k6/tsconfig.json).
 *
 * Environment (k6 -e NAME=value): GRPC_ADDR (127.0.0.1:50051), ADMIN_URL (http://127.0.0.1:8080),
 * ADMIN_TOKEN (when the service has one), PAIR (BTCUSDT), ACCOUNTS (accounts to spread the per-account
 * rate limit over; default RATE / 800 rounded up), RATE, DURATION and the campaign's own knobs.
 */
import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Rate, Trend } from 'k6/metrics';
import grpc from 'k6/net/grpc';
import type { Options } from 'k6/options';

export const GRPC_ADDR = __ENV['GRPC_ADDR'] ?? '127.0.0.1:50051';
export const ADMIN_URL = __ENV['ADMIN_URL'] ?? 'http://127.0.0.1:8080';
const ADMIN_TOKEN = __ENV['ADMIN_TOKEN'];
export const PAIR = __ENV['PAIR'] ?? 'BTCUSDT';

/** Whole number from the environment, or `fallback`; a bad value stops the run at init. */
export function envInt(name: string, fallback: number): number {
  const v = __ENV[name];
  if (v === undefined || v === '') return fallback;
  if (!/^\d+$/.test(v)) throw new Error(`${name} must be a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

/**
 * The runbook's budgets: p95 < 20 ms (health check step 5, troubleshooting "Latency P95 > 20ms") and an
 * error rate < 1 % (health check step 6). A run that breaks them fails (k6 exits 99).
 */
export const RUNBOOK_THRESHOLDS: NonNullable<Options['thresholds']> = {
  grpc_req_duration: ['p(95)<20'],
  order_latency: ['p(95)<20'],
  order_errors: ['rate<0.01'],
  checks: ['rate>0.99'],
};

export const orderErrors = new Rate('order_errors');
export const orderLatency = new Trend('order_latency', true);

// Protos: loaded in the init context, as k6 requires.
const client = new grpc.Client();
client.load(['../../proto'], 'trading/v1/orders.proto', 'trading/v1/sessions.proto');

export interface Credentials {
  keyId: string;
  secret: string;
}

/** setup(): one API key per account, created through the admin API (POST /admin/accounts/{a}/api-keys). */
export function createAccounts(count: number): Credentials[] {
  const headers: Record<string, string> = ADMIN_TOKEN ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {};
  const out: Credentials[] = [];
  for (let i = 0; i < count; i++) {
    const res = http.post(`${ADMIN_URL}/admin/accounts/k6-${i + 1}/api-keys`, null, { headers });
    if (res.status !== 201) throw new Error(`creating an API key for k6-${i + 1} answered ${res.status}: ${String(res.body)}`);
    const body = res.json() as { keyId: string; secret: string };
    out.push({ keyId: body.keyId, secret: body.secret });
  }
  return out;
}

/** Accounts for `rate` orders/s: the default per-account limit is 1000/s, keep each under 800. */
export function accountsFor(rate: number): number {
  return envInt('ACCOUNTS', Math.max(1, Math.ceil(rate / 800)));
}

interface VuState {
  token: string;
  open: string[];
  seq: number;
}
let state: VuState | undefined;

function session(accounts: Credentials[]): VuState {
  if (state !== undefined) return state;
  client.connect(GRPC_ADDR, { plaintext: true, timeout: '10s' });
  const creds = accounts[(exec.vu.idInTest - 1) % accounts.length]!;
  const res = client.invoke('trading.v1.SessionService/Login', { api_key_id: creds.keyId, api_key_secret: creds.secret });
  if (res.status !== grpc.StatusOK) throw new Error(`Login failed with status ${res.status}: ${JSON.stringify(res.error)}`);
  state = { token: (res.message as { token: string }).token, open: [], seq: 0 };
  return state;
}

/** 65,000.00 in 0.01 ticks. */
const MID_TICKS = 6_500_000;
const price = (ticks: number): string => `${Math.floor(ticks / 100)}.${String(ticks % 100).padStart(2, '0')}`;

/** One step of the flow: a new limit order (90 %, ~10 % of them crossing) or a cancel of an open one. */
export function tradeOnce(accounts: Credentials[]): void {
  const s = session(accounts);
  const params = { metadata: { authorization: `Bearer ${s.token}` }, timeout: '5s' };
  const cancel = s.open.length > 0 && Math.random() < 0.1;
  const started = Date.now();
  let res: grpc.Response;
  if (cancel) {
    const id = s.open.splice(Math.floor(Math.random() * s.open.length), 1)[0]!;
    res = client.invoke('trading.v1.OrdersService/CancelOrder', { pair: PAIR, client_order_id: id }, params);
  } else {
    const buy = Math.random() < 0.5;
    const crossing = Math.random() < 0.1;
    const offset = 1 + Math.floor(Math.random() * 50);
    const ticks = crossing ? MID_TICKS + (buy ? 60 : -60) : MID_TICKS + (buy ? -offset : offset);
    const id = `k6-${exec.vu.idInTest}-${++s.seq}`;
    res = client.invoke(
      'trading.v1.OrdersService/SubmitOrder',
      { pair: PAIR, client_order_id: id, side: buy ? 'SIDE_BUY' : 'SIDE_SELL', type: 'ORDER_TYPE_LIMIT', price: price(ticks), quantity: '0.001' },
      params,
    );
    if (res.status === grpc.StatusOK && !crossing) {
      s.open.push(id);
      if (s.open.length > 1000) s.open.shift();
    }
  }
  orderLatency.add(Date.now() - started);
  // A cancel may find its order already filled (NOT_FOUND): the flow does not track fills.
  const ok = res.status === grpc.StatusOK || (cancel && res.status === grpc.StatusNotFound);
  orderErrors.add(!ok);
  check(res, { 'order call succeeded': () => ok });
}

/** teardown(): nothing to close per VU from here; k6 closes connections at the end. */
export function closeClient(): void {
  client.close();
}
