/**
 * Every endpoint of the runbook's admin API (docs/runbook.md; docs/operations.md lists them with their JSON).
 * Each handler validates its whole input before it changes anything, calls one operation of the control
 * plane (server/pairs/pair-controls.ts: it keeps every pair's books in line with its migration and breaker
 * state by itself), and answers JSON whose fields are the ones the runbook's jq filters read. No business
 * logic here: it belongs to server/pairs.
 */
import type { Logger } from '../grpc/call-context.ts';
import { ValidationError } from '../../pairs/errors.ts';
import type { HealthReport } from '../../pairs/alerts.ts';
import type { AlertTracker } from '../../pairs/alerts.ts';
import type { FaultKind, FaultSwitch } from '../../pairs/faulty-book.ts';
import { compileRampSteps } from '../../pairs/migration-controller.ts';
import type { PairControls } from '../../pairs/pair-controls.ts';
import type { PerformanceMonitor } from '../../pairs/performance-monitor.ts';
import { UnavailableError } from '../../ports/errors.ts';
import type { EventLoopMonitor } from '../metrics/event-loop-monitor.ts';
import type { TradingMetrics } from '../metrics/trading-metrics.ts';
import { HttpError, type AdminRequest, type Route } from './admin-server.ts';
import { BusyError, goroutineText, mutexReport, type Profiler } from './profiling.ts';
import { chaosRoutes, type ChaosSeams } from '../chaos/chaos-routes.ts';

/** What the routes need from the service; built by TradingService. */
export interface AdminContext {
  /** Every pair's control plane: migration, breakers, books, trading gate. */
  control: PairControls;
  monitor: PerformanceMonitor;
  alerts: AlertTracker;
  metrics: TradingMetrics;
  profiler: Profiler;
  eventLoop: EventLoopMonitor;
  /** Present only when CHAOS_ENABLED: the fault switch of each pair. */
  faults: ReadonlyMap<string, FaultSwitch> | undefined;
  /** Present only when CHAOS_ENABLED: memory ballast, event-loop stall, served-path refusals. @default undefined */
  chaos?: ChaosSeams;
  /** Evaluates the runbook thresholds now. */
  health(): HealthReport;
  resources(): Record<string, unknown>;
  /** Counts for the goroutine page (open streams, pairs, ...). */
  serviceCounts(): Record<string, number>;
  logger: Logger;
  /** API keys of the session store; absent when the service runs without one (then the routes answer 404). */
  apiKeys?: {
    create(account: string): Promise<{ keyId: string; secret: string }>;
    revoke(keyId: string): Promise<boolean>;
  };
  /** Journal health, per-pair sequences and snapshots (`/admin/persistence/status`). @default { enabled: false } */
  persistence?: () => Record<string, unknown>;
  /** Replicas, pair owners, fencing tokens and lease ages (`/admin/cluster/status`, docs/cluster.md). @default { mode: "off" } */
  cluster?: () => unknown;
}

/** Accounts as the gRPC layer and the session store accept them. */
const ACCOUNT = /^[\x21-\x7e]{1,128}$/;

/** A session store that cannot be reached answers 503 with its reason, not a generic 500. */
async function withSessionStore<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof UnavailableError) throw new HttpError(503, 'unavailable', err.message);
    throw err;
  }
}

/** Who admin-API actions are recorded as (breaker history `by`, migration reasons). */
export const ADMIN_ACTOR = 'admin-api';

// ---- input helpers: every check throws ValidationError naming the field ----

export function only(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) if (!allowed.includes(key)) throw new ValidationError(key, `is not a field of this request (allowed: ${allowed.length ? allowed.join(', ') : 'none'})`);
}

function requiredString(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v.trim() === '') throw new ValidationError(field, `is required: a non-empty string, got ${JSON.stringify(v) ?? 'nothing'}`);
  return v;
}

export function reasonOf(body: Record<string, unknown>, fallback: string): string {
  const v = body['reason'];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || v.trim() === '' || v.length > 500) throw new ValidationError('reason', 'must be a non-empty string of at most 500 characters');
  return v;
}

function knownPair(ctx: AdminContext, pair: string, allowAll: boolean): string {
  if (allowAll && pair === 'all') return pair;
  if (!ctx.control.has(pair)) throw new ValidationError('pair', `unknown pair "${pair}"; known: ${ctx.control.pairs().join(', ')}${allowAll ? ' or "all"' : ''}`);
  return pair;
}

const FAULT_KINDS: readonly FaultKind[] = ['none', 'throw', 'diverge', 'slow'];

export function adminRoutes(ctx: AdminContext): Route[] {
  const json = (value: unknown, status = 200) => ({ status, json: value });
  const { control } = ctx;
  const { migration, breakers, gate } = control; // reads only: every change goes through `control`
  const migrationResult = (action: string, changed: string[]) => json({ action, changed, status: migration.status() });

  const routes: Route[] = [
    // ---- health and metrics (public even with a token: probes and Prometheus) ----
    {
      method: 'GET',
      path: '/health',
      public: true,
      handle: () => {
        const report = ctx.health();
        return json(report, report.status === 'UNHEALTHY' ? 503 : 200);
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      public: true,
      handle: async () => ({ status: 200, bytes: Buffer.from(await ctx.metrics.render()), contentType: ctx.metrics.contentType() }),
    },

    // ---- migration ----
    { method: 'GET', path: '/admin/migration/status', handle: () => json(migration.status()) },
    { method: 'GET', path: '/admin/migration/summary', handle: () => json(migration.summary()) },
    {
      method: 'POST',
      path: '/admin/migration/percentage',
      handle: ({ body }) => {
        only(body, ['pair', 'percentage', 'reason']);
        const pair = knownPair(ctx, requiredString(body, 'pair'), true);
        const pct = body['percentage'];
        if (typeof pct !== 'number' || !Number.isInteger(pct) || pct < 0 || pct > 100)
          throw new ValidationError('percentage', `must be a whole number in 0-100, got ${JSON.stringify(pct) ?? 'nothing'}`);
        const changed = control.setPercentage(pair, pct, reasonOf(body, `${ADMIN_ACTOR}: percentage ${pct}`));
        return migrationResult('percentage', changed);
      },
    },
    {
      method: 'POST',
      path: '/admin/migration/ramp',
      handle: ({ body }) => {
        only(body, ['pair', 'steps', 'reason']);
        const pair = knownPair(ctx, requiredString(body, 'pair'), false);
        const steps = body['steps'] === undefined ? undefined : compileRampSteps(body['steps'], 'steps');
        const ramp = control.startRamp(pair, steps, reasonOf(body, `${ADMIN_ACTOR}: ramp started`));
        ctx.logger.info(`migration: ramp started on ${pair} (${ramp.steps.join(' → ')})`);
        return json({ action: 'ramp', pair, ramp, status: control.get(pair).status() });
      },
    },
    {
      method: 'POST',
      path: '/admin/migration/complete',
      handle: ({ body }) => {
        only(body, ['pair', 'reason']);
        const pair = knownPair(ctx, requiredString(body, 'pair'), false);
        control.complete(pair, reasonOf(body, `${ADMIN_ACTOR}: completed`));
        return migrationResult('complete', [pair]);
      },
    },
    {
      method: 'POST',
      path: '/admin/migration/rollback',
      handle: ({ body }) => {
        only(body, ['pair', 'reason']);
        const pair = knownPair(ctx, requiredString(body, 'pair'), true);
        const changed = control.rollback(pair, reasonOf(body, `${ADMIN_ACTOR}: rollback`));
        return migrationResult('rollback', changed);
      },
    },
    {
      method: 'POST',
      path: '/admin/migration/stop-all',
      handle: ({ body }) => {
        only(body, ['reason']);
        const changed = control.stopAll(reasonOf(body, `${ADMIN_ACTOR}: stop-all`));
        ctx.logger.info(`migration: stop-all froze ${changed.length} ramps`);
        return migrationResult('stop-all', changed);
      },
    },
    {
      method: 'POST',
      path: '/admin/migration/emergency-stop',
      handle: ({ body }) => {
        only(body, ['reason']);
        const changed = control.emergencyStop(reasonOf(body, `${ADMIN_ACTOR}: emergency stop`));
        ctx.logger.info(`migration: EMERGENCY STOP: ${changed.length} pairs to 0 %`);
        return migrationResult('emergency-stop', changed);
      },
    },

    // ---- circuit breakers ----
    { method: 'GET', path: '/admin/circuit-breaker/status', handle: () => json(breakers.status()) },
    { method: 'GET', path: '/admin/circuit-breaker/history', handle: () => json(breakers.history()) },
    {
      method: 'POST',
      path: '/admin/circuit-breaker/activate-all',
      handle: ({ body }) => {
        only(body, ['reason']);
        const opened = control.activateAll(reasonOf(body, `activated by ${ADMIN_ACTOR}`)); // every pair continues on the legacy book alone
        return json({ action: 'activate-all', opened, status: breakers.status() });
      },
    },
    {
      method: 'POST',
      path: '/admin/circuit-breaker/reset/',
      handle: ({ param, body }) => {
        only(body, []);
        const pair = knownPair(ctx, param, false);
        if (!control.reset(pair, ADMIN_ACTOR)) throw new HttpError(409, 'reset_refused', `the rebuilt adaptive book of ${pair} does not match the legacy state; the breaker stays open`, 'pair');
        const armed = armedFault(ctx, pair);
        const pc = control.get(pair);
        return json({ action: 'reset', pair, status: pc.breakerStatus(), books: pc.books(), ...(armed !== undefined ? armedFaultWarning(pair, armed) : {}) });
      },
    },
    {
      method: 'POST',
      path: '/admin/circuit-breaker/reset-all',
      handle: ({ body }) => {
        only(body, []);
        const { reset, refused } = control.resetAll(ADMIN_ACTOR);
        const armed = reset.flatMap((pair) => {
          const f = armedFault(ctx, pair);
          return f === undefined ? [] : [{ pair, ...f }];
        });
        const warning = armed.length === 0 ? {} : { fault_armed: armed, warning: `chaos fault still armed on ${armed.map((a) => `${a.pair} (${a.kind})`).join(', ')}: their breakers will trip again; clear with POST /admin/chaos/fault {"pair": "<PAIR>", "kind": "none"}` };
        return json({ action: 'reset-all', reset, refused, status: breakers.status(), ...warning }, refused.length > 0 ? 409 : 200);
      },
    },

    // ---- performance ----
    { method: 'GET', path: '/admin/metrics/summary', handle: () => json(ctx.monitor.summary()) },
    { method: 'GET', path: '/admin/metrics/current', handle: () => json(ctx.monitor.current()) },
    { method: 'GET', path: '/admin/metrics/throughput', handle: () => json(ctx.monitor.throughput()) },
    { method: 'GET', path: '/admin/errors/summary', handle: () => json(ctx.monitor.errorsSummary()) },
    {
      method: 'GET',
      path: '/admin/alerts/active',
      handle: () => {
        const report = ctx.health();
        return json({ at: report.at, status: report.status, count: report.alerts.length, alerts: report.alerts });
      },
    },
    { method: 'GET', path: '/admin/alerts/history', handle: () => json({ resolved: ctx.alerts.history() }) },
    {
      method: 'GET',
      path: '/admin/reports/daily',
      handle: () => {
        const history = breakers.history();
        return json(
          ctx.monitor.dailyReport({
            migration_summary: migration.summary(),
            circuit_breaker_activations: history.last_24h.filter((e) => e.event === 'open').length,
            circuit_breaker_history: history.last_24h,
            active_alerts: ctx.health().alerts,
          }),
        );
      },
    },
    { method: 'GET', path: '/admin/system/resources', handle: () => json(ctx.resources()) },
    { method: 'GET', path: '/admin/persistence/status', handle: () => json(ctx.persistence?.() ?? { enabled: false }) },
    { method: 'GET', path: '/admin/cluster/status', handle: () => json(ctx.cluster?.() ?? { mode: 'off' }) },

    // ---- trading halt and maintenance ----
    // ---- API keys (sessions): the secret is shown once, in this answer; only its hash is stored ----
    {
      method: 'POST',
      path: '/admin/accounts/',
      suffix: '/api-keys',
      handle: async ({ param, body }) => {
        only(body, []);
        if (ctx.apiKeys === undefined) throw new HttpError(404, 'not_found', 'this service has no session store');
        if (!ACCOUNT.test(param)) throw new ValidationError('account', `must be 1-128 printable ASCII characters without spaces, got ${JSON.stringify(param)}`);
        const key = await withSessionStore(() => ctx.apiKeys!.create(param));
        ctx.logger.info(`admin api: API key ${key.keyId} created for account ${param}`);
        return json({ account: param, keyId: key.keyId, secret: key.secret, note: 'the secret is shown only now; log in with SessionService.Login(api_key_id, api_key_secret)' }, 201);
      },
    },
    {
      method: 'DELETE',
      path: '/admin/api-keys/',
      handle: async ({ param }) => {
        if (ctx.apiKeys === undefined) throw new HttpError(404, 'not_found', 'this service has no session store');
        const revoked = await withSessionStore(() => ctx.apiKeys!.revoke(param));
        if (!revoked) throw new HttpError(404, 'not_found', `no API key ${param}`, 'keyId');
        ctx.logger.info(`admin api: API key ${param} revoked`);
        return json({ keyId: param, revoked: true, note: 'the key can no longer log in; sessions it opened last until they expire or log out' });
      },
    },

    { method: 'GET', path: '/admin/trading/status', handle: () => json(gate.status()) },
    {
      method: 'POST',
      path: '/admin/trading/halt',
      handle: ({ body }) => {
        only(body, ['reason']);
        const changed = control.halt(ADMIN_ACTOR, reasonOf(body, 'emergency stop'));
        if (changed) ctx.logger.info('trading: HALTED by operator; new orders and replaces are refused');
        return json({ action: 'halt', changed, ...gate.status() });
      },
    },
    {
      method: 'POST',
      path: '/admin/trading/resume',
      handle: ({ body }) => {
        only(body, ['reason']);
        const changed = control.resume();
        if (changed) ctx.logger.info('trading: resumed by operator');
        return json({ action: 'resume', changed, ...gate.status() });
      },
    },
    {
      method: 'POST',
      path: '/admin/maintenance/enable',
      handle: ({ body }) => {
        only(body, ['reason']);
        const changed = control.enableMaintenance(ADMIN_ACTOR, reasonOf(body, 'planned maintenance'));
        if (changed) ctx.logger.info('trading: maintenance mode on; new orders and replaces are refused');
        return json({ action: 'maintenance-enable', changed, ...gate.status() });
      },
    },
    {
      method: 'POST',
      path: '/admin/maintenance/disable',
      handle: ({ body }) => {
        only(body, ['reason']);
        const changed = control.disableMaintenance();
        if (changed) ctx.logger.info('trading: maintenance mode off');
        return json({ action: 'maintenance-disable', changed, ...gate.status() });
      },
    },

    // ---- profiling (Node equivalents of Go's pprof; see profiling.ts) ----
    {
      method: 'GET',
      path: '/debug/pprof/heap',
      handle: async () => ({ status: 200, bytes: await ctx.profiler.heapProfile(), contentType: 'application/octet-stream', filename: 'heap.pb.gz' }),
    },
    {
      method: 'GET',
      path: '/debug/pprof/profile',
      handle: async ({ query }) => {
        const raw = query.get('seconds') ?? '30';
        if (!/^\d{1,2}$/.test(raw) || Number(raw) < 1 || Number(raw) > 60) throw new ValidationError('seconds', `must be a whole number of seconds in 1-60, got ${JSON.stringify(raw)}`);
        try {
          return { status: 200, bytes: await ctx.profiler.cpuProfile(Number(raw)), contentType: 'application/octet-stream', filename: 'profile.pb.gz' };
        } catch (e) {
          if (e instanceof BusyError) throw new HttpError(409, 'busy', e.message);
          throw e;
        }
      },
    },
    { method: 'GET', path: '/debug/pprof/goroutine', handle: () => ({ status: 200, text: goroutineText(ctx.eventLoop, ctx.serviceCounts()) }) },
    { method: 'GET', path: '/debug/pprof/mutex', handle: () => json(mutexReport(ctx.eventLoop)) },
  ];

  const faults = ctx.faults;
  if (faults !== undefined) {
    routes.push(
      {
        method: 'GET',
        path: '/admin/chaos/fault',
        handle: () => json([...faults.entries()].map(([pair, f]) => ({ pair, ...f.current }))),
      },
      {
        method: 'POST',
        path: '/admin/chaos/fault',
        handle: ({ body }: AdminRequest) => {
          only(body, ['pair', 'kind', 'everyNth', 'delayMs']);
          const pair = knownPair(ctx, requiredString(body, 'pair'), false);
          const kind = body['kind'];
          if (typeof kind !== 'string' || !FAULT_KINDS.includes(kind as FaultKind)) throw new ValidationError('kind', `must be one of ${FAULT_KINDS.join(', ')}, got ${JSON.stringify(kind) ?? 'nothing'}`);
          const everyNth = body['everyNth'] ?? 1;
          if (typeof everyNth !== 'number' || !Number.isSafeInteger(everyNth) || everyNth < 1) throw new ValidationError('everyNth', `must be a whole number >= 1, got ${JSON.stringify(everyNth)}`);
          const delayMs = body['delayMs'] ?? 50;
          if (typeof delayMs !== 'number' || !(delayMs >= 0 && delayMs <= 60_000)) throw new ValidationError('delayMs', `must be a number of milliseconds in 0-60000, got ${JSON.stringify(delayMs)}`);
          faults.get(pair)!.set({ kind: kind as FaultKind, everyNth, delayMs });
          ctx.logger.info(`chaos: fault ${kind} set on ${pair} (everyNth ${everyNth}, delayMs ${delayMs})`);
          return json({ pair, ...faults.get(pair)!.current });
        },
      },
    );
  }
  if (ctx.chaos !== undefined) routes.push(...chaosRoutes(ctx.chaos));
  return routes;
}

/** The chaos fault armed on `pair`, if any (kind other than `none`). */
function armedFault(ctx: AdminContext, pair: string): Readonly<{ kind: string; everyNth: number; delayMs: number }> | undefined {
  const f = ctx.faults?.get(pair)?.current;
  return f === undefined || f.kind === 'none' ? undefined : f;
}

/** What a reset answers while a chaos fault is still armed: the breaker will trip again. */
function armedFaultWarning(pair: string, fault: Readonly<{ kind: string; everyNth: number; delayMs: number }>): { fault_armed: { kind: string; everyNth: number; delayMs: number }; warning: string } {
  return {
    fault_armed: { kind: fault.kind, everyNth: fault.everyNth, delayMs: fault.delayMs },
    warning: `chaos fault ${fault.kind} is still armed on ${pair}: the breaker will trip again on the next commands; clear it with POST /admin/chaos/fault {"pair": "${pair}", "kind": "none"}`,
  };
}
