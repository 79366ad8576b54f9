// The runbook's scripts (scripts/*.sh) run with bash against an in-process TradingService on ports 0, with a
// bearer token (so every call must carry ADMIN_TOKEN), each in its own temporary working directory, with a
// short time limit and an environment built from scratch: no database, Redis, Prometheus or kubectl cluster,
// so those steps must say "skipped" and the rest must still do the runbook's job against the real service.
// The service runs in this process, so scripts are started asynchronously (a sync spawn would block the
// event loop the service answers on).
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrdersServiceClient } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { TradingService } from '../server/adapters/trading-service.ts';
import { loadConfig } from '../server/config.ts';
import { adminApiKeys, failure, limitOrder, loginThrough, unary } from './grpc-harness.ts';

const SCRIPTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts');
const TOKEN = 'runbook-scripts-test-token-0123456789';
const SCRIPT_TIMEOUT_MS = 45_000;
const quiet = { info: () => {}, error: () => {} };

function which(tool: string): string | undefined {
  try {
    return execFileSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
const REQUIRED_TOOLS = ['bash', 'curl', 'jq', 'bc'] as const;
const missingTools = REQUIRED_TOOLS.filter((t) => which(t) === undefined);
/** Absolute, because a test runs scripts with a PATH that has no bash in it. */
const BASH = which('bash') ?? '/bin/bash';

let service: TradingService;
let baseUrl: string;
let orders: OrdersServiceClient;
const workDirs: string[] = [];

interface ScriptRun {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  cwd: string;
}

/** The environment every script gets: only what it needs, every wait shortened, no cluster, no DB, no Redis. */
function scriptEnv(cwd: string, extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: cwd,
    LANG: 'C.UTF-8',
    TRADING_SERVICE_URL: baseUrl,
    ADMIN_TOKEN: TOKEN,
    // A kubeconfig that does not exist: kubectl (if installed) has no context, so its steps are skipped
    // even on a machine whose own kubeconfig points at a real cluster.
    KUBECONFIG: join(cwd, 'no-kubeconfig'),
    CURL_MAX_TIME: '10',
    ITERATIONS: '1',
    INTERVAL_SECONDS: '0',
    ABORT_WAIT_SECONDS: '0',
    IN_FLIGHT_WAIT_SECONDS: '0',
    VERIFY_WAIT_SECONDS: '0',
    ORDER_COMPLETION_WAIT_SECONDS: '0',
    ...extra,
  };
}

function runScript(name: string, extra: Record<string, string> = {}, args: string[] = []): Promise<ScriptRun> {
  const cwd = mkdtempSync(join(tmpdir(), 'runbook-script-'));
  workDirs.push(cwd);
  return new Promise((resolve) => {
    execFile(
      BASH,
      [join(SCRIPTS, name), ...args],
      { cwd, env: scriptEnv(cwd, extra), timeout: SCRIPT_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; signal?: string | null }) | null;
        resolve({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : null, signal: e?.signal ?? null, stdout, stderr, cwd });
      },
    );
  });
}

/** The script's output, for a failing expectation's message. */
const out = (r: ScriptRun) => `exit ${r.code} signal ${r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

async function admin(method: 'GET' | 'POST', path: string): Promise<any> {
  const res = await fetch(`${baseUrl}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
  return res.json();
}

const submit = (price = '100.00') => unary(orders.submitOrder.bind(orders), limitOrder('buy', price, '0.01'), 'alice');

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

beforeAll(async () => {
  if (missingTools.length > 0) return;
  service = new TradingService(loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', ADMIN_TOKEN: TOKEN }), { logger: quiet });
  const ports = await service.start();
  baseUrl = `http://127.0.0.1:${ports.adminPort}`;
  orders = new OrdersServiceClient(`127.0.0.1:${ports.grpcPort}`, credentials.createInsecure());
  loginThrough({ address: `127.0.0.1:${ports.grpcPort}`, createApiKey: adminApiKeys(baseUrl, TOKEN) });
  // Some traffic, so latency and throughput are measured figures rather than empty windows.
  await unary(orders.submitOrder.bind(orders), limitOrder('buy', '100.00', '0.01'), 'alice');
  await unary(orders.submitOrder.bind(orders), limitOrder('sell', '100.00', '0.01'), 'bob');
});

afterAll(async () => {
  orders?.close();
  await service?.stop(1_000);
  for (const d of workDirs) rmSync(d, { recursive: true, force: true });
});

describe('runbook scripts against the running service', () => {
  it(`the tools the scripts need are installed: ${REQUIRED_TOOLS.join(', ')}`, () => {
    // The scripts stop with exit 3 naming what is missing; CI images need jq and bc (apt-get install -y jq bc).
    expect(missingTools, `missing: ${missingTools.join(', ')} (apt-get install -y ${missingTools.join(' ')})`).toEqual([]);
  });

  const maybe = it.skipIf(missingTools.length > 0);

  maybe('health_check_comprehensive.sh exits 0 on a healthy service; DB, Redis and kubectl are skipped with a reason', async () => {
    const r = await runScript('health_check_comprehensive.sh');
    expect(r.code, out(r)).toBe(0);
    expect(r.stdout).toContain('=== Overall Status: HEALTHY ===');
    expect(r.stdout).toContain('skipped: DB_HOST not set');
    expect(r.stdout).toContain('skipped: REDIS_HOST not set');
    expect(r.stdout).toMatch(/skipped: kubectl (not available|has no current context)/);
    expect(r.stdout).toContain('✅ All circuit breakers are closed');
    expect(r.stdout).toMatch(/✅ Memory usage within normal range: [\d.]+Mi \(RSS of the service process/);
  });

  maybe('health_check_comprehensive.sh exits 1 (DEGRADED) once activate-all opened the breakers, and 0 again after reset-all', async () => {
    await admin('POST', '/admin/circuit-breaker/activate-all');
    const r = await runScript('health_check_comprehensive.sh');
    expect(r.code, out(r)).toBe(1);
    expect(r.stdout).toContain('⚠️  3 circuit breakers are open');
    expect(r.stdout).toContain('BTCUSDT: operator');
    expect(r.stdout).toContain('=== Overall Status: DEGRADED ===');

    const reset = await admin('POST', '/admin/circuit-breaker/reset-all');
    expect(reset.refused).toEqual([]);
    const again = await runScript('health_check_comprehensive.sh');
    expect(again.code, out(again)).toBe(0);
  });

  maybe('health_check_comprehensive.sh exits 2 (UNHEALTHY) when the service does not answer', async () => {
    const r = await runScript('health_check_comprehensive.sh', { TRADING_SERVICE_URL: `http://127.0.0.1:${await closedPort()}`, CURL_MAX_TIME: '3' });
    expect(r.code, out(r)).toBe(2);
    expect(r.stdout).toContain('❌ Service health check failed');
    expect(r.stdout).toContain('=== Overall Status: UNHEALTHY ===');
  });

  maybe('daily_startup_checklist.sh completes: health, migration states, overnight figures, breakers; monitoring skipped', async () => {
    const r = await runScript('daily_startup_checklist.sh');
    expect(r.code, out(r)).toBe(0);
    expect(r.stdout).toContain('"status": "HEALTHY"');
    expect(r.stdout).toContain('"current_percentage": 0');
    expect(r.stdout).toContain('skipped: PROMETHEUS_URL not set');
    expect(r.stdout).toContain('skipped: GRAFANA_URL not set');
    expect(r.stdout).toContain('=== Startup checklist completed ===');
  });

  maybe('daily_shutdown_checklist.sh writes the daily report (valid JSON) and lists alerts and resources', async () => {
    const r = await runScript('daily_shutdown_checklist.sh');
    expect(r.code, out(r)).toBe(0);
    const report = readdirSync(r.cwd).find((f) => /^daily_report_\d{8}\.json$/.test(f));
    expect(report, out(r)).toBeDefined();
    const json = JSON.parse(readFileSync(join(r.cwd, report!), 'utf8'));
    expect(json).toHaveProperty('summary');
    expect(json).toHaveProperty('migration_summary');
    expect(r.stdout).toContain('skipped: PROMETHEUS_URL not set');
    expect(r.stdout).toContain('"rss_mib"');
    expect(r.stdout).toContain('=== End of day checklist completed ===');
  });

  maybe('realtime_monitoring.sh with ITERATIONS=1 prints one screen and stops', async () => {
    const r = await runScript('realtime_monitoring.sh');
    expect(r.code, out(r)).toBe(0);
    expect(r.stdout.split('=== Real-Time Trading System Monitor ===')).toHaveLength(2);
    expect(r.stdout).toContain('"HEALTHY"');
    expect(r.stdout).toContain('trading_latency_p95');
    expect(r.stdout).toContain('"orders_per_sec"');
    expect(r.stdout).toContain('Circuit Breakers:');
    expect(r.stdout).toContain('"rss_mib"');
  });

  maybe('critical_incident_response.sh stops migrations, opens every breaker, captures the state and notifies', async () => {
    const r = await runScript('critical_incident_response.sh');
    expect(r.code, out(r)).toBe(0);
    expect(r.stdout).toContain('=== Initial response completed - Begin investigation ===');
    const breakers = await admin('GET', '/admin/circuit-breaker/status');
    expect(breakers.every((b: any) => b.open === true)).toBe(true);
    expect((await admin('GET', '/admin/migration/summary')).emergency_stopped).toBe(true);
    // Trading goes on (on the legacy books) during an incident: only the migration is stopped.
    await expect(submit('99.00')).resolves.toBeDefined();

    const state = readdirSync(r.cwd).find((f) => /^incident_state_\d{8}_\d{6}\.json$/.test(f));
    expect(state, out(r)).toBeDefined();
    const captured = JSON.parse(readFileSync(join(r.cwd, state!), 'utf8'));
    expect(captured['/health'].status).toBeDefined();
    expect(captured['/admin/circuit-breaker/status']).toHaveLength(3);
    // Nothing left in the caller's directory but the state it asked to capture (no notification log unless INCIDENT_LOG).
    expect(readdirSync(r.cwd).filter((f) => !/^incident_state_/.test(f) && f !== 'no-kubeconfig'), out(r)).toEqual([]);
    expect(r.stdout).toContain('skipped: INCIDENT_LOG not set');

    expect((await admin('POST', '/admin/circuit-breaker/reset-all')).refused).toEqual([]);
  });

  maybe('notify_incident.sh logs to INCIDENT_LOG only when it is set', async () => {
    const plain = await runScript('notify_incident.sh', {}, ['--severity=high', '--status=investigating']);
    expect(plain.code, out(plain)).toBe(0);
    expect(plain.stdout).toContain('NOTIFY [high] status=investigating');
    expect(readdirSync(plain.cwd).filter((f) => f !== 'no-kubeconfig')).toEqual([]);

    const logDir = mkdtempSync(join(tmpdir(), 'incident-log-'));
    workDirs.push(logDir);
    const logFile = join(logDir, 'notifications.log');
    const logged = await runScript('notify_incident.sh', { INCIDENT_LOG: logFile }, ['--severity=critical', '--status=active']);
    expect(logged.code, out(logged)).toBe(0);
    const log = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log).toEqual([expect.objectContaining({ severity: 'critical', status: 'active', service_health: expect.any(String) })]);
    expect(readdirSync(logged.cwd).filter((f) => f !== 'no-kubeconfig')).toEqual([]);
  });

  maybe('without TRADING_SERVICE_URL, where trading-service does not resolve, the scripts say so and fall back to the admin URL of a local npm start', async () => {
    const r = await runScript('notify_incident.sh', { TRADING_SERVICE_URL: '' }, ['--severity=info', '--status=probe']);
    let resolves = true;
    try {
      execFileSync('getent', ['hosts', 'trading-service'], { stdio: 'ignore' });
    } catch {
      resolves = false;
    }
    if (resolves) return expect(r.stderr).not.toMatch(/TRADING_SERVICE_URL not set/); // inside a cluster: the runbook's host
    expect(r.stderr).toMatch(/TRADING_SERVICE_URL not set and the host trading-service does not resolve: using http:\/\/127\.0\.0\.1:8080/);
  });

  maybe('emergency_stop.sh halts trading and opens every breaker; emergency_resume.sh gets past the DEGRADED health check and trading works again', async () => {
    const stop = await runScript('emergency_stop.sh');
    expect(stop.code, out(stop)).toBe(0);
    expect(stop.stdout).toContain('=== EMERGENCY STOP COMPLETED ===');
    const refused = await failure(submit('98.00'));
    expect(refused.code).toBe(status.UNAVAILABLE);
    expect((await admin('GET', '/admin/circuit-breaker/status')).every((b: any) => b.open)).toBe(true);

    const resume = await runScript('emergency_resume.sh');
    expect(resume.code, out(resume)).toBe(0);
    // The runbook's `health_check_comprehensive.sh || exit 1` would have stopped here (DEGRADED = exit 1).
    expect(resume.stdout).toContain('=== Overall Status: DEGRADED ===');
    expect(resume.stdout).toContain('DEGRADED is expected after an emergency stop');
    expect(resume.stdout).toContain('=== EMERGENCY RESUME COMPLETED ===');
    expect(resume.stdout).toMatch(/skipped: kubectl (not available|has no current context)/);

    const accepted: any = await submit('98.00');
    expect(accepted.order).toBeDefined();
    expect((await admin('GET', '/admin/circuit-breaker/status')).some((b: any) => b.open)).toBe(false);
    expect((await admin('GET', '/admin/trading/status')).accepting_new_orders).toBe(true);
  });

  maybe('emergency_resume.sh does not resume when the service is UNHEALTHY (unreachable)', async () => {
    const r = await runScript('emergency_resume.sh', { TRADING_SERVICE_URL: `http://127.0.0.1:${await closedPort()}`, CURL_MAX_TIME: '3' });
    expect(r.code, out(r)).toBe(1);
    expect(r.stdout).toContain('not resuming');
    expect(r.stdout).not.toContain('5. Resuming trading operations');
  });

  maybe('planned_maintenance.sh runs its task inside maintenance mode and leaves trading accepting orders', async () => {
    // The task records what the service says while it runs: maintenance on, new orders refused.
    const task = `curl -s -H "Authorization: Bearer $ADMIN_TOKEN" "$TRADING_SERVICE_URL/admin/trading/status" > during.json`;
    const r = await runScript('planned_maintenance.sh', { MAINTENANCE_SCRIPT: task });
    expect(r.code, out(r)).toBe(0);
    expect(r.stdout).toContain('=== Maintenance completed ===');
    const during = JSON.parse(readFileSync(join(r.cwd, 'during.json'), 'utf8'));
    expect(during).toMatchObject({ accepting_new_orders: false, maintenance: { on: true } });
    expect((await admin('GET', '/admin/trading/status')).accepting_new_orders).toBe(true);
    await expect(submit('97.00')).resolves.toBeDefined();
  });

  maybe('generate_performance_report.sh writes performance_report_DATE.json with the runbook fields', async () => {
    const r = await runScript('generate_performance_report.sh');
    expect(r.code, out(r)).toBe(0);
    expect(r.stdout).toContain('skipped: PROMETHEUS_URL not set');
    const file = readdirSync(r.cwd).find((f) => /^performance_report_\d{4}-\d\d-\d\d\.json$/.test(f));
    expect(file, out(r)).toBeDefined();
    const report = JSON.parse(readFileSync(join(r.cwd, file!), 'utf8'));
    expect(report.date).toMatch(/^\d{4}-\d\d-\d\d$/);
    for (const field of ['avg_latency_p95', 'total_orders', 'total_trades', 'error_rate', 'peak_throughput']) {
      expect(typeof report.summary[field], field).toBe('number');
    }
    expect(report.summary.total_orders).toBeGreaterThanOrEqual(2);
    expect(report.migration_summary).toMatchObject({ total_pairs: 3 });
    // activate-all, the incident response and the emergency stop each opened the three breakers.
    expect(report.circuit_breaker_activations).toBeGreaterThanOrEqual(9);
  });

  maybe('notify_incident.sh refuses a bad severity; every script names a missing tool and exits 3', async () => {
    const bad = await runScript('notify_incident.sh', {}, ['--severity=urgent', '--status=active']);
    expect(bad.code, out(bad)).toBe(2);
    expect(bad.stderr).toContain('usage:');

    // A PATH with dirname (the scripts find each other with it) and curl, but neither jq nor bc.
    const bin = mkdtempSync(join(tmpdir(), 'runbook-bin-'));
    workDirs.push(bin);
    for (const tool of ['dirname', 'curl']) symlinkSync(which(tool)!, join(bin, tool));
    const scripts = readdirSync(SCRIPTS).filter((f) => f.endsWith('.sh') && f !== 'runbook-common.sh');
    expect(scripts.length).toBeGreaterThanOrEqual(10);
    for (const s of scripts) {
      const r = await runScript(s, { PATH: bin });
      expect(r.code, `${s}: ${out(r)}`).toBe(3);
      expect(r.stderr, s).toMatch(/required tool\(s\) not installed: .*jq/);
    }
  });
});

// Guard against a script left out of the suite: every runbook script in scripts/ is exercised above.
describe('the suite covers every runbook script', () => {
  it('each scripts/*.sh is run by a test in this file', () => {
    const source = readFileSync(fileURLToPath(import.meta.url), 'utf8');
    const scripts = readdirSync(SCRIPTS).filter((f) => f.endsWith('.sh') && f !== 'runbook-common.sh');
    for (const s of scripts) expect(source.includes(`'${s}'`), s).toBe(true);
    expect(existsSync(join(SCRIPTS, 'runbook-common.sh'))).toBe(true);
  });
});
