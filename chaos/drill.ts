/**
 * What a drill is and what it reports. A drill injects one failure into a running service and walks the
 * operator's path: the symptoms the runbook promises (polled with bounded waits: a deadline is a failure,
 * never a timed assertion of speed), the runbook's mitigation, recovery, and finally the ledger. The
 * runner (run.ts) owns the service process, the database schema, the fault proxies and the load.
 */
import type { FaultProxy } from './fault-proxy.ts';
import type { LoadHandle, LoadOptions } from './load.ts';
import type { AckedOrder } from './ledger-check.ts';
import { OperatorView, type AlertView, type HealthView } from './operator-view.ts';
import type { ProbeClient } from './probe-client.ts';
import type { ServiceProcess } from './service-process.ts';

/** One row of chaos/results/latest.json. */
export interface DrillResult {
  drill: string;
  /** The runbook threshold, quoted, with its section. */
  threshold: string;
  tripped: boolean;
  /** From the injection to the moment every promised symptom was seen. */
  trippedAfterMs: number | null;
  /** What the operator saw, one line each (endpoint: value). */
  symptoms: string[];
  mitigation: string;
  recovered: boolean;
  /** From the mitigation (or the fault's removal when the service heals itself) to HEALTHY again. */
  recoveredAfterMs: number | null;
  /** Acknowledged orders checked against the ledger (simulator + the drill's probe orders). */
  acknowledged: number | null;
  lost: number | null;
  duplicated: number | null;
  passed: boolean;
  failures: string[];
  /** Figures the drill measured (p95 before/after, memory, ...). */
  figures: Record<string, unknown>;
  durationMs: number;
  /** Load average when the drill ended (2-core machine shared with others). */
  loadAverage: string;
}

export interface DrillNeeds {
  /** PostgreSQL reached through a fault proxy (the drill is about PostgreSQL). */
  postgresProxy?: boolean;
  /** Redis reached through a fault proxy (the drill is about sessions). */
  redisProxy?: boolean;
  /** The runner must own the process (kill -9, restart): not possible with --target. */
  ownsProcess?: boolean;
  /** Extra service environment (e.g. a breaker budget). */
  env?: Record<string, string>;
}

export interface Drill {
  name: string;
  /** Quoted from the operators' runbook (docs/runbook.md follows it), with the section. */
  threshold: string;
  mitigation: string;
  needs: DrillNeeds;
  run(ctx: DrillContext): Promise<void>;
}

/** A deadline passed or a check failed hard: the drill stops here. */
export class DrillFailure extends Error {}

export interface DrillEnvironment {
  view: OperatorView;
  grpcTarget: string;
  service: ServiceProcess | undefined;
  postgresProxy: FaultProxy | undefined;
  redisProxy: FaultProxy | undefined;
  pairs: readonly string[];
  startLoad(options: LoadOptions): Promise<LoadHandle>;
  probe(account: string): Promise<ProbeClient>;
  log(line: string): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Expectation {
  /** /health status. */
  status?: 'HEALTHY' | 'DEGRADED' | 'UNHEALTHY';
  /** Alerts that must be active, with their runbook level. */
  alerts?: { name: string; level?: number; dependency?: string }[];
  /** Alerts that must not be active. */
  noAlerts?: string[];
  /** Breakers that must be open with that reason. */
  breakers?: { pair: string; reason: string }[];
  /** All breakers closed. */
  breakersClosed?: boolean;
  /** /metrics series checks. */
  metrics?: { name: string; labels?: Record<string, string>; test: (v: number | undefined) => boolean; describe: string }[];
  /** health_check_comprehensive.sh exit code. */
  script?: number;
}

export class DrillContext {
  readonly symptoms: string[] = [];
  readonly failures: string[] = [];
  readonly figures: Record<string, unknown> = {};
  readonly probeOrders: AckedOrder[] = [];
  loads: LoadHandle[] = [];
  private injectedAt: number | undefined;
  private trippedAt: number | undefined;
  private mitigatedAt: number | undefined;
  private recoveredAt: number | undefined;
  mitigationDone = '';

  constructor(
    readonly env: DrillEnvironment,
    readonly drill: Drill,
  ) {}

  get view(): OperatorView {
    return this.env.view;
  }

  log(line: string): void {
    this.env.log(`  [${this.drill.name}] ${line}`);
  }

  fail(why: string): never {
    throw new DrillFailure(why);
  }

  /** A soft check: recorded, the drill goes on. */
  check(ok: boolean, what: string): boolean {
    if (!ok) this.failures.push(what);
    return ok;
  }

  injected(what: string): void {
    this.injectedAt = Date.now();
    this.log(`inject: ${what}`);
  }

  /** When the cheap views (health, alerts, breakers, metrics) last agreed with an expectation. */
  viewOkAt = 0;

  tripped(at = this.viewOkAt || Date.now()): void {
    this.trippedAt ??= at;
  }

  mitigated(what: string): void {
    this.mitigatedAt = Date.now();
    this.mitigationDone = what;
    this.log(`mitigate: ${what}`);
  }

  recovered(at = this.viewOkAt || Date.now()): void {
    this.recoveredAt ??= at;
  }

  get trippedAfterMs(): number | null {
    return this.trippedAt !== undefined && this.injectedAt !== undefined ? this.trippedAt - this.injectedAt : null;
  }

  get recoveredAfterMs(): number | null {
    const from = this.mitigatedAt ?? this.injectedAt;
    return this.recoveredAt !== undefined && from !== undefined ? this.recoveredAt - from : null;
  }

  get isTripped(): boolean {
    return this.trippedAt !== undefined;
  }

  get isRecovered(): boolean {
    return this.recoveredAt !== undefined;
  }

  async startLoad(options: LoadOptions): Promise<LoadHandle> {
    const h = await this.env.startLoad(options);
    this.loads.push(h);
    return h;
  }

  /** Polls `probe` every `everyMs` until it returns a value other than undefined/false; the deadline fails the drill. */
  async waitFor<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined | false> | T | undefined | false, everyMs = 200): Promise<T> {
    const end = Date.now() + deadlineMs;
    let last: unknown;
    for (;;) {
      try {
        const v = await probe();
        if (v !== undefined && v !== false) return v as T;
      } catch (err) {
        last = err;
      }
      if (Date.now() >= end) this.fail(`${what}: not reached within the ${deadlineMs} ms deadline${last ? ` (last error: ${String((last as Error).message ?? last)})` : ''}`);
      await sleep(everyMs);
    }
  }

  /**
   * Polls the operator's view until every expectation holds (deadline = failure, with what was seen last);
   * then returns the symptom lines (also recorded unless `record` is false).
   */
  async expectView(label: string, e: Expectation, deadlineMs: number, record = true): Promise<string[]> {
    let lastSeen = '';
    const lines = await this.waitFor(
      label,
      deadlineMs,
      async () => {
        const r = await this.readView(e);
        lastSeen = r.lines.join('; ');
        return r.ok ? r.lines : false;
      },
      250,
    ).catch(async (err: unknown) => {
      const alerts = await this.view.alerts().catch(() => []);
      throw new DrillFailure(`${(err as Error).message}; last seen: ${lastSeen}; active alerts: ${alerts.map((a) => `${a.name}/${a.level}: ${a.message}`).join('; ') || 'none'}`);
    });
    this.viewOkAt = Date.now();
    if (e.script !== undefined) {
      // The script is slower (curl, psql, redis-cli): polled after the cheap views agree.
      const want = e.script;
      let last = -1;
      await this.waitFor(
        `${label}: health_check_comprehensive.sh exit ${want}`,
        deadlineMs,
        async () => {
          last = (await this.view.healthScript()).code;
          return last === want;
        },
        500,
      ).catch((err: unknown) => {
        throw new DrillFailure(`${(err as Error).message}; it exited ${last}`);
      });
      lines.push(`health_check_comprehensive.sh: exit ${want}`);
    }
    if (record) this.symptoms.push(...lines.map((l) => `${label}: ${l}`));
    return lines;
  }

  private async readView(e: Expectation): Promise<{ ok: boolean; lines: string[] }> {
    const lines: string[] = [];
    let ok = true;
    const need = (cond: boolean): void => {
      if (!cond) ok = false;
    };
    const h: HealthView = await this.view.health();
    lines.push(`/health ${h.httpStatus} ${h.status}`);
    if (e.status !== undefined) need(h.status === e.status && h.httpStatus === (e.status === 'UNHEALTHY' ? 503 : 200));
    if (e.alerts !== undefined || e.noAlerts !== undefined) {
      const alerts: AlertView[] = await this.view.alerts();
      for (const want of e.alerts ?? []) {
        const a = alerts.find((x) => x.name === want.name && (want.dependency === undefined || (x.dependencies ?? []).includes(want.dependency)));
        need(a !== undefined && (want.level === undefined || a.level === want.level));
        if (a !== undefined) lines.push(`/admin/alerts/active ${a.name} level ${a.level} (${a.severity}): ${a.message}`);
      }
      for (const name of e.noAlerts ?? []) need(!alerts.some((x) => x.name === name));
      if ((e.noAlerts ?? []).length > 0) lines.push(`/admin/alerts/active: ${alerts.map((a) => `${a.name}/${a.level}`).join(', ') || 'none'}`);
    }
    if (e.breakers !== undefined || e.breakersClosed) {
      const b = await this.view.breakers();
      for (const want of e.breakers ?? []) {
        const x = b.find((y) => y.pair === want.pair);
        need(x !== undefined && x.open && x.reason === want.reason);
        if (x?.open) lines.push(`/admin/circuit-breaker/status ${x.pair} open, reason ${x.reason}`);
      }
      if (e.breakersClosed) {
        const open = b.filter((y) => y.open);
        need(open.length === 0);
        lines.push(`/admin/circuit-breaker/status: ${open.length} open`);
      }
    }
    if (e.metrics !== undefined) {
      const m = await this.view.metrics();
      for (const want of e.metrics) {
        const v = OperatorView.series(m, want.name, want.labels);
        need(want.test(v));
        lines.push(`/metrics ${want.name}${want.labels ? JSON.stringify(want.labels) : ''} = ${v ?? 'absent'} (${want.describe})`);
      }
    }
    return { ok, lines };
  }

  /** Waits until /health is HEALTHY again with no alert and every breaker closed; marks the recovery. */
  async expectHealthy(label: string, deadlineMs: number, script = true): Promise<void> {
    await this.expectView(label, { status: 'HEALTHY', breakersClosed: true, ...(script ? { script: 0 } : {}) }, deadlineMs);
    this.recovered();
  }
}
