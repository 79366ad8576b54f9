// The runbook's admin HTTP API against an in-process TradingService on ports 0, over real HTTP (fetch):
// every endpoint answers with the fields the runbook's jq filters read (checked with jq itself when it is
// installed, and with the equivalent JS always), bad input is refused with a JSON error and changes
// nothing, profiles are real gzip-compressed pprof protobuf, and the token guards what it should.
import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { credentials } from '@grpc/grpc-js';
import { Profile } from 'pprof-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradingService } from '../server/adapters/trading-service.ts';
import { OrdersServiceClient } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { loadConfig } from '../server/config.ts';
import { adminApiKeys, limitOrder, loginThrough, unary } from './grpc-harness.ts';

const quiet = { info: () => {}, error: () => {} };
const hasJq = (() => {
  try {
    execFileSync('jq', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

/** Runs the runbook's jq filter on a body (compact output), or undefined when jq is not installed. */
function jq(filter: string, body: string): string | undefined {
  if (!hasJq) return undefined;
  return execFileSync('jq', ['-c', filter], { input: body }).toString().trim();
}

let service: TradingService;
let base: string;
let orders: OrdersServiceClient;

async function call(method: 'GET' | 'POST', path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; json: any; headers: Headers }> {
  const res = await fetch(`${base}${path}`, { method, body, headers });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

/** As the runbook's curl sends it: `curl -X POST -d '{...}'` (form-urlencoded content type, JSON body). */
const post = (path: string, body?: string) => call('POST', path, body, body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' });
const get = (path: string) => call('GET', path);

beforeAll(async () => {
  service = new TradingService(loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0' }), { logger: quiet });
  const ports = await service.start();
  base = `http://127.0.0.1:${ports.adminPort}`;
  orders = new OrdersServiceClient(`127.0.0.1:${ports.grpcPort}`, credentials.createInsecure());
  // Accounts log in as clients do: API key from the admin API, SessionService.Login, bearer token.
  loginThrough({ address: `127.0.0.1:${ports.grpcPort}`, createApiKey: adminApiKeys(base) });
  // Some traffic so the figures are not all zero: a resting bid and a crossing sell (one trade).
  await unary(orders.submitOrder.bind(orders), limitOrder('buy', '100.00', '0.01'), 'alice');
  await unary(orders.submitOrder.bind(orders), limitOrder('sell', '100.00', '0.01'), 'bob');
});

afterAll(async () => {
  orders?.close();
  await service?.stop(1_000);
});

describe('runbook endpoints answer the fields its jq filters read', () => {
  it('GET /health: 200 with status HEALTHY, checks and alerts (curl -f passes; jq .status)', async () => {
    const r = await get('/health');
    expect(r.status).toBe(200);
    expect(r.json.status).toBe('HEALTHY');
    expect(r.json.checks).toHaveProperty('latency_p95_ms');
    expect(Array.isArray(r.json.alerts)).toBe(true);
    if (hasJq) expect(jq('.status', r.text)).toBe('"HEALTHY"');
  });

  it('GET /admin/migration/status: an array; .current_percentage and .pair per entry', async () => {
    const r = await get('/admin/migration/status');
    expect(r.status).toBe(200);
    expect(r.json.map((s: any) => s.pair)).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
    for (const s of r.json) expect(s).toMatchObject({ state: 'shadow', current_percentage: 0 });
    const filter = '.[] | select(.current_percentage > 0) | {pair: .pair, percentage: .current_percentage}';
    expect(r.json.filter((s: any) => s.current_percentage > 0)).toEqual([]);
    if (hasJq) expect(jq(filter, r.text)).toBe('');
  });

  it('GET /admin/migration/summary: a JSON object (embedded whole in the daily report)', async () => {
    const r = await get('/admin/migration/summary');
    expect(r.json).toMatchObject({ total_pairs: 3, emergency_stopped: false });
    expect(r.json.by_state.shadow).toBe(3);
  });

  it('GET /admin/circuit-breaker/status: an array with .open, .pair, .reason; none open', async () => {
    const r = await get('/admin/circuit-breaker/status');
    expect(r.json).toHaveLength(3);
    for (const b of r.json) expect(b).toMatchObject({ open: false, reason: null });
    expect(r.json.filter((b: any) => b.open === true).length).toBe(0);
    if (hasJq) expect(jq('[.[] | select(.open == true)] | length', r.text)).toBe('0');
  });

  it('GET /admin/circuit-breaker/history: .last_24h | length', async () => {
    const r = await get('/admin/circuit-breaker/history');
    expect(Array.isArray(r.json.last_24h)).toBe(true);
    if (hasJq) expect(jq('.last_24h | length', r.text)).toBe(String(r.json.last_24h.length));
  });

  it('GET /admin/metrics/summary: .last_24h, .avg_latency_p95, .total_orders_24h, .total_trades_24h, .error_rate_24h, .peak_throughput_24h', async () => {
    const r = await get('/admin/metrics/summary');
    for (const f of ['avg_latency_p95', 'total_orders_24h', 'total_trades_24h', 'error_rate_24h', 'peak_throughput_24h']) expect(typeof r.json[f]).toBe('number');
    expect(r.json.last_24h).toBeTypeOf('object');
    expect(r.json.total_orders_24h).toBe(2);
    expect(r.json.total_trades_24h).toBe(1);
    if (hasJq) expect(jq('.total_orders_24h', r.text)).toBe('2');
  });

  it('GET /admin/metrics/current: numeric .latency_p95_ms and .error_rate (compared with bc by the health check)', async () => {
    const r = await get('/admin/metrics/current');
    expect(typeof r.json.latency_p95_ms).toBe('number');
    expect(typeof r.json.error_rate).toBe('number');
    if (hasJq) expect(Number(jq('.latency_p95_ms', r.text))).toBe(r.json.latency_p95_ms);
  });

  it('GET /admin/metrics/throughput: .last_minute', async () => {
    const r = await get('/admin/metrics/throughput');
    expect(r.json.last_minute).toMatchObject({ orders: 2, trades: 1 });
  });

  it('GET /admin/errors/summary, /admin/alerts/active, /admin/reports/daily, /admin/system/resources answer JSON', async () => {
    const errors = await get('/admin/errors/summary');
    expect(errors.json).toHaveProperty('last_24h');
    const alerts = await get('/admin/alerts/active');
    expect(alerts.json).toMatchObject({ status: 'HEALTHY', count: 0, alerts: [] });
    const daily = await get('/admin/reports/daily');
    expect(daily.json.summary).toMatchObject({ total_orders: 2, total_trades: 1 });
    expect(daily.json.migration_summary.total_pairs).toBe(3);
    expect(daily.json.circuit_breaker_activations).toBe(0);
    const res = await get('/admin/system/resources');
    expect(res.json.memory.rss_mib).toBeGreaterThan(0);
    expect(res.json.memory).toHaveProperty('heap_used_mib');
    expect(res.json.memory).toHaveProperty('external_mib');
    expect(res.json.event_loop).toHaveProperty('delay_p99_ms');
    expect(res.json.event_loop).toHaveProperty('utilization');
    expect(res.json.active_handles.total).toBeGreaterThan(0);
    expect(res.json.cpu).toHaveProperty('user_seconds');
  });

  it('GET /metrics: Prometheus text with the runbook names and a le="0.02" duration bucket', async () => {
    const r = await get('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(r.text).toMatch(/^trading_orders_total\{pair="BTCUSDT",implementation="legacy"\} 2$/m);
    expect(r.text).toMatch(/^trading_trades_total\{pair="BTCUSDT"\} 1$/m);
    expect(r.text).toMatch(/^trading_latency_p95\{pair="BTCUSDT",implementation="legacy",role="served"\} [\d.e-]+$/m);
    expect(r.text.split('\n').filter((l) => l.includes('latency_p95')).length).toBeGreaterThan(0); // `grep latency_p95`
    expect(r.text).toMatch(/^trading_command_duration_seconds_bucket\{.*le="0\.02".*\} \d+$/m);
    expect(r.text).toMatch(/^trading_circuit_breaker_open\{pair="ETHUSDT"\} 0$/m);
    expect(r.text).toMatch(/^trading_migration_percentage\{pair="SOLUSDT",state="shadow"\} 0$/m);
    expect(r.text).toContain('trading_errors_total');
    expect(r.text).toContain('trading_event_loop_delay_seconds');
    expect(r.text).toContain('trading_event_loop_utilization_ratio');
    expect(r.text).toContain('process_resident_memory_bytes');
  });
});

describe('migration controls', () => {
  it('percentage "all" 0 (the latency mitigation, sent as curl -d does) and one pair to 25', async () => {
    const all = await post('/admin/migration/percentage', '{"pair": "all", "percentage": 0}');
    expect(all.status).toBe(200);
    expect(all.json.changed).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
    const one = await post('/admin/migration/percentage', '{"pair": "ETHUSDT", "percentage": 25}');
    expect(one.status).toBe(200);
    const status = (await get('/admin/migration/status')).json;
    expect(status.find((s: any) => s.pair === 'ETHUSDT')).toMatchObject({ state: 'canary', current_percentage: 25 });
    // Orders still succeed on the canary pair.
    await unary(orders.submitOrder.bind(orders), limitOrder('buy', '10.00', '0.001', { pair: 'ETHUSDT' }), 'alice');
    await post('/admin/migration/percentage', '{"pair": "ETHUSDT", "percentage": 0}');
  });

  it('ramp, stop-all, emergency-stop, rollback and complete answer with the migration status', async () => {
    const ramp = await post('/admin/migration/ramp', '{"pair": "SOLUSDT", "steps": [10, 100]}');
    expect(ramp.status).toBe(200);
    expect(ramp.json.status).toMatchObject({ pair: 'SOLUSDT', current_percentage: 10 });
    const stop = await post('/admin/migration/stop-all');
    expect(stop.json.changed).toEqual(['SOLUSDT']);
    const emergency = await post('/admin/migration/emergency-stop');
    expect(emergency.status).toBe(200);
    expect((await get('/admin/migration/summary')).json.emergency_stopped).toBe(true);
    expect((await get('/admin/migration/status')).json.every((s: any) => s.current_percentage === 0)).toBe(true);
    const rollback = await post('/admin/migration/rollback', '{"pair": "SOLUSDT"}');
    expect(rollback.json.status.find((s: any) => s.pair === 'SOLUSDT').state).toBe('rolled_back');
    const notFull = await post('/admin/migration/complete', '{"pair": "SOLUSDT"}');
    expect(notFull.status).toBe(400);
    expect(notFull.json).toMatchObject({ error: 'invalid_argument', field: 'pair' });
    await post('/admin/migration/percentage', '{"pair": "SOLUSDT", "percentage": 100}');
    const complete = await post('/admin/migration/complete', '{"pair": "SOLUSDT"}');
    expect(complete.status).toBe(200);
    expect(service.managers.get('SOLUSDT')!.books).toMatchObject({ legacy: false, adaptive: true });
    await unary(orders.submitOrder.bind(orders), limitOrder('buy', '10.00', '0.01', { pair: 'SOLUSDT' }), 'alice');
    await post('/admin/migration/rollback', '{"pair": "SOLUSDT"}');
    expect(service.managers.get('SOLUSDT')!.books).toMatchObject({ legacy: true, adaptive: true });
    await post('/admin/migration/percentage', '{"pair": "all", "percentage": 0}');
  });
});

describe('bad input is refused with a JSON error and changes nothing', () => {
  const cases: [string, string, string | undefined, number, Record<string, unknown>][] = [
    ['unknown pair', '/admin/migration/percentage', '{"pair": "DOGEUSDT", "percentage": 5}', 400, { error: 'invalid_argument', field: 'pair' }],
    ['percentage above 100', '/admin/migration/percentage', '{"pair": "all", "percentage": 101}', 400, { field: 'percentage' }],
    ['negative percentage', '/admin/migration/percentage', '{"pair": "BTCUSDT", "percentage": -1}', 400, { field: 'percentage' }],
    ['fractional percentage', '/admin/migration/percentage', '{"pair": "BTCUSDT", "percentage": 12.5}', 400, { field: 'percentage' }],
    ['percentage as a string', '/admin/migration/percentage', '{"pair": "BTCUSDT", "percentage": "50"}', 400, { field: 'percentage' }],
    ['missing pair', '/admin/migration/percentage', '{"percentage": 50}', 400, { field: 'pair' }],
    ['unknown field', '/admin/migration/percentage', '{"pair": "BTCUSDT", "percentage": 50, "force": true}', 400, { field: 'force' }],
    ['malformed JSON', '/admin/migration/percentage', '{"pair": "BTCUSDT", "percentage": ', 400, { error: 'invalid_json', field: 'body' }],
    ['a JSON array', '/admin/migration/percentage', '[1]', 400, { error: 'invalid_json' }],
    ['bad ramp steps', '/admin/migration/ramp', '{"pair": "BTCUSDT", "steps": [5, 1, 100]}', 400, { field: 'steps' }],
    ['reset of an unknown pair', '/admin/circuit-breaker/reset/NOPE', undefined, 400, { field: 'pair' }],
    ['unknown path', '/admin/migration/percentages', '{}', 404, { error: 'not_found' }],
  ];
  it.each(cases)('%s', async (_name, path, body, status, expected) => {
    const before = JSON.stringify({ m: (await get('/admin/migration/status')).json.map((s: any) => [s.pair, s.state, s.current_percentage]), b: (await get('/admin/circuit-breaker/status')).json });
    const r = await post(path, body);
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.json).toMatchObject(expected);
    expect(typeof r.json.reason).toBe('string');
    const after = JSON.stringify({ m: (await get('/admin/migration/status')).json.map((s: any) => [s.pair, s.state, s.current_percentage]), b: (await get('/admin/circuit-breaker/status')).json });
    expect(after).toBe(before);
  });

  it('a wrong method is 405 with Allow', async () => {
    const r = await get('/admin/migration/percentage');
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('POST');
    expect(r.json.error).toBe('method_not_allowed');
    expect((await post('/health')).status).toBe(405);
  });

  it('chaos endpoints do not exist unless CHAOS_ENABLED', async () => {
    const r = await post('/admin/chaos/fault', '{"pair": "BTCUSDT", "kind": "throw"}');
    expect(r.status).toBe(404);
  });

  it('profile seconds outside 1-60 is 400', async () => {
    for (const s of ['0', '61', 'abc', '1.5', '-1']) {
      const r = await get(`/debug/pprof/profile?seconds=${s}`);
      expect(r.status).toBe(400);
      expect(r.json.field).toBe('seconds');
    }
  });
});

describe('profiles', () => {
  it('/debug/pprof/heap is gzip-compressed pprof protobuf (1f 8b) that decodes as a Profile', async () => {
    const res = await fetch(`${base}/debug/pprof/heap`);
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(0, 2).toString('hex')).toBe('1f8b');
    const profile = Profile.decode(gunzipSync(bytes));
    expect(profile.sampleType.length).toBeGreaterThan(0);
    const names = profile.sampleType.map((t) => profile.stringTable.strings[Number(t.type)]);
    expect(names).toContain('inuse_space');
  });

  it('/debug/pprof/profile?seconds=1 is a pprof wall/CPU profile', async () => {
    const res = await fetch(`${base}/debug/pprof/profile?seconds=1`);
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(0, 2).toString('hex')).toBe('1f8b');
    expect(Profile.decode(gunzipSync(bytes)).sampleType.length).toBeGreaterThan(0);
  });

  it('/debug/pprof/goroutine?debug=1 explains the one thread and lists pending resources; /debug/pprof/mutex explains and reports event-loop delay', async () => {
    const g = await get('/debug/pprof/goroutine?debug=1');
    expect(g.status).toBe(200);
    expect(g.text).toContain('1 JavaScript thread');
    expect(g.text).toMatch(/total pending resources: \d+/);
    const m = await get('/debug/pprof/mutex');
    expect(m.json.explanation).toMatch(/no mutexes/);
    expect(m.json.event_loop.current).toHaveProperty('delay_p99_ms');
  });
});

describe('admin token', () => {
  let guarded: TradingService;
  let url: string;
  const token = 'test-token-0123456789abcdef';
  beforeAll(async () => {
    guarded = new TradingService(loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', ADMIN_TOKEN: token }), { logger: quiet });
    url = `http://127.0.0.1:${(await guarded.start()).adminPort}`;
  });
  afterAll(() => guarded?.stop(500));

  it('every call but /health and /metrics needs Authorization: Bearer <token>', async () => {
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    const none = await fetch(`${url}/admin/migration/status`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: string }).error).toBe('unauthenticated');
    expect((await fetch(`${url}/admin/migration/status`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const halt = await fetch(`${url}/admin/trading/halt`, { method: 'POST', headers: { authorization: `Bearer ${token.slice(0, -1)}x` } });
    expect(halt.status).toBe(401);
    expect(guarded.gate.isHalted).toBe(false);
    expect((await fetch(`${url}/admin/migration/status`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });
});

describe('configuration', () => {
  it('refuses a non-loopback ADMIN_HOST without ADMIN_TOKEN, naming the variable', () => {
    expect(() => loadConfig({ ADMIN_HOST: '0.0.0.0' })).toThrow(/^ADMIN_TOKEN: .*required/);
    expect(() => loadConfig({ ADMIN_HOST: '0.0.0.0', ADMIN_TOKEN: 'a-long-enough-token-123' })).not.toThrow();
  });
  it('names the variable of every bad value', () => {
    expect(() => loadConfig({ ADMIN_PORT: '80a' })).toThrow(/^ADMIN_PORT:/);
    expect(() => loadConfig({ MIGRATION_INITIAL_STATE: 'full' })).toThrow(/^MIGRATION_INITIAL_STATE:/);
    expect(() => loadConfig({ RAMP_STEPS: '5,1,100' })).toThrow(/^RAMP_STEPS:/);
    expect(() => loadConfig({ RAMP_STEPS: '1,50' })).toThrow(/^RAMP_STEPS: must end at 100/);
    expect(() => loadConfig({ RAMP_HOLD_MS: '0' })).toThrow(/^RAMP_HOLD_MS:/);
    expect(() => loadConfig({ BREAKER_LATENCY_BUDGET_MS: '-1' })).toThrow(/^BREAKER_LATENCY_BUDGET_MS:/);
    expect(() => loadConfig({ CHAOS_ENABLED: 'maybe' })).toThrow(/^CHAOS_ENABLED:/);
  });
  it('defaults: loopback 8080, shadow, chaos off', () => {
    expect(loadConfig({})).toMatchObject({ adminHost: '127.0.0.1', adminPort: 8080, migrationInitialState: 'shadow', chaosEnabled: false, rampSteps: [1, 5, 25, 50, 100], breakerLatencyBudgetMs: 5 });
  });
});
