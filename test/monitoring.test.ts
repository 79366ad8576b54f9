// monitoring/: the Prometheus rules pass `promtool check rules` and their unit tests (`promtool test
// rules`: each alert fires beyond its threshold, stays silent below), every alert the service raises in
// process has a rule with the runbook's severity and level, and every metric the rules and the Grafana
// dashboard read is exported by a real running service (real PostgreSQL journal, real Redis sessions),
// whose /metrics output `promtool check metrics` accepts without a complaint.
// promtool comes from Debian's `prometheus` package (.ci/run installs it); without it these tests fail.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { familyName, metricNames } from '../monitoring/promql-names.ts';
import { OrdersServiceClient } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { openServicePersistence } from '../server/adapters/durability/open-persistence.ts';
import { TradingService } from '../server/adapters/trading-service.ts';
import { loadConfig } from '../server/config.ts';
import { adminApiKeys, limitOrder, loginThrough, unary } from './grpc-harness.ts';
import { TEST_DATABASE_URL, testSchema } from './support/service-database.ts';
import type { TestSchema } from '../server/adapters/postgres/test-schema.ts';

const root = join(import.meta.dirname, '..');
const rulesDir = join(root, 'monitoring', 'prometheus');
const RULES = join(rulesDir, 'trading-service.rules.yml');
const DASHBOARD = join(root, 'monitoring', 'grafana', 'trading-service.dashboard.json');
/** Series Prometheus itself makes: the scrape's `up`, and `ALERTS` (the dashboard's alert annotations). */
const SYNTHETIC = new Set(['up', 'ALERTS']);

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  labels?: Record<string, string>;
}
const rules: Rule[] = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

function promtool(args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd: rulesDir, input, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool is needed (Debian package "prometheus"): ${r.error.message}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function dashboardExprs(): string[] {
  const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { targets?: { expr: string }[] }[]; annotations: { list: { expr?: string }[] } };
  return [...d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...d.annotations.list.flatMap((a) => (a.expr ? [a.expr] : []))];
}

describe('Prometheus rules', () => {
  it('promtool check rules accepts the rules file', () => {
    const r = promtool(['check', 'rules', 'trading-service.rules.yml']);
    expect(r.out).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('promtool test rules: every alert fires on its synthetic series and stays silent below its threshold', () => {
    const r = promtool(['test', 'rules', 'trading-service.rules.test.yml']);
    expect(r.out).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('every in-process alert (server/pairs/alerts.ts AlertName) has a rule, with the runbook level matching its severity', () => {
    const source = readFileSync(join(root, 'server', 'pairs', 'alerts.ts'), 'utf8');
    const union = /export type AlertName =([^;]+);/.exec(source)![1]!;
    const names = [...union.matchAll(/'([a-z0-9_]+)'/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThanOrEqual(8);
    const alerts = rules.filter((r) => r.alert !== undefined);
    for (const name of names) expect(alerts.filter((a) => a.labels?.['service_alert'] === name).map((a) => a.alert), name).not.toEqual([]);
    const levelOf: Record<string, string> = { critical: '1', high: '2', medium: '3' };
    for (const a of alerts) expect(a.labels?.['level'], a.alert).toBe(levelOf[a.labels?.['severity'] ?? '']);
    // The runbook's queries are recorded.
    expect(rules.find((r) => r.record === 'trading:orders:rate5m')?.expr).toBe('sum(rate(trading_orders_total[5m]))');
    expect(rules.find((r) => r.record === 'trading:latency_p95:avg')?.expr).toBe('avg(trading_latency_p95)');
  });

  it('the name extractor finds metrics, not functions, labels or keywords', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (pair, le) (rate(a_bucket{role="served",x=~"$v"}[5m]))) > 1.5 * (b > 0) unless on (job) c_total')).toEqual(['a_bucket', 'b', 'c_total']);
  });
});

describe('every metric the rules and the dashboard read is exported by a running service', () => {
  let schema: TestSchema;
  let service: TradingService;
  let closePersistence: () => Promise<unknown>;
  let metricsText = '';

  beforeAll(async () => {
    schema = await testSchema('ts_monitoring');
    const env = {
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      ADMIN_PORT: '0',
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: schema.name,
      REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
      REDIS_PREFIX: `${schema.name}:`,
    };
    const config = loadConfig(env);
    const opened = await openServicePersistence(config, () => {});
    closePersistence = () => opened.close(2_000);
    service = new TradingService(config, { persistence: opened.persistence, logger: { info: () => {}, error: () => {} } });
    const ports = await service.start();
    const base = `http://127.0.0.1:${ports.adminPort}`;
    const orders = new OrdersServiceClient(`127.0.0.1:${ports.grpcPort}`, credentials.createInsecure());
    loginThrough({ address: `127.0.0.1:${ports.grpcPort}`, createApiKey: adminApiKeys(base) });
    await unary(orders.submitOrder.bind(orders), limitOrder('buy', '100.00', '0.01'), 'alice');
    orders.close();
    metricsText = await (await fetch(`${base}/metrics`)).text();
  });

  afterAll(async () => {
    await service?.stop(1_000);
    await closePersistence?.();
    await schema?.drop();
  });

  function exported(): Set<string> {
    const names = new Set<string>();
    for (const line of metricsText.split('\n')) {
      const m = /^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]/.exec(line);
      if (m) names.add(m[1]!);
    }
    return names;
  }

  it('rule and dashboard expressions name only exported series (or recording rules, or up/ALERTS)', () => {
    const have = exported();
    const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));
    const exprs = [...rules.map((r) => r.expr), ...dashboardExprs()];
    const referenced = new Set(exprs.flatMap(metricNames));
    expect(referenced.size).toBeGreaterThan(30);
    const missing = [...referenced].filter((n) => !SYNTHETIC.has(n) && !recorded.has(n) && !have.has(n));
    expect(missing).toEqual([]);
    // Histograms are read through their _bucket/_count/_sum series; their families are there too.
    for (const n of referenced) if (n.endsWith('_bucket')) expect(metricsText).toContain(`# TYPE ${familyName(n)} histogram`);
  });

  it('the series alerts and rates need exist on a fresh service (at 0), for every pair x implementation and gRPC method x code', () => {
    for (const pair of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'])
      for (const impl of ['legacy', 'adaptive']) {
        expect(metricsText).toMatch(new RegExp(`^trading_orders_total\\{pair="${pair}",implementation="${impl}"\\} \\d+$`, 'm'));
        expect(metricsText).toMatch(new RegExp(`^trading_command_failures_total\\{pair="${pair}",implementation="${impl}",role="served"\\} 0$`, 'm'));
      }
    expect(metricsText).toMatch(/^trading_orders_total\{pair="ETHUSDT",implementation="adaptive"\} 0$/m);
    expect(metricsText).toMatch(/^grpc_server_handled_total\{grpc_type="bidi_stream",grpc_service="trading.v1.OrdersService",grpc_method="OrderFlow",grpc_code="RESOURCE_EXHAUSTED"\} 0$/m);
    expect(metricsText).toMatch(/^grpc_server_handled_total\{grpc_type="unary",grpc_service="trading.v1.OrdersService",grpc_method="SubmitOrder",grpc_code="OK"\} 1$/m);
    expect(metricsText).toMatch(/^grpc_server_handled_total\{grpc_type="unary",grpc_service="trading.v1.SessionService",grpc_method="Login",grpc_code="OK"\} [1-9]\d*$/m);
    expect(metricsText).toMatch(/^trading_dependency_up\{dependency="postgresql",required="true"\} 1$/m);
    expect(metricsText).toMatch(/^trading_dependency_up\{dependency="redis",required="false"\} 1$/m);
    expect(metricsText).toMatch(/^trading_session_store_up\{backend="redis"\} 1$/m);
    expect(metricsText).toMatch(/^trading_journal_available 1$/m);
    expect(metricsText).toMatch(/^trading_journal_batch_entries_count [1-9]\d*$/m);
    expect(metricsText).toMatch(/^trading_session_rate_limit_decisions_total\{result="allowed"\} [1-9]\d*$/m);
    expect(metricsText).toMatch(/^trading_admin_http_requests_total\{method="POST",route="\/admin\/accounts\/:param\/api-keys",code="201"\} [1-9]\d*$/m);
  });

  it('promtool check metrics reports nothing on the real /metrics output', () => {
    const r = promtool(['check', 'metrics'], metricsText);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });
});
