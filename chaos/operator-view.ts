/**
 * What an operator sees of a running service, read the way the runbook reads it: `/health` (status and
 * HTTP code), `/admin/alerts/active` (name, level), `/admin/circuit-breaker/status` (open, reason),
 * `/metrics` (Prometheus text), and the exit code of scripts/health_check_comprehensive.sh (0/1/2). Plus the
 * admin calls the runbook's mitigations make. Every call has a time limit; a refused connection is an
 * answer (`httpStatus: 0`), not a crash.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './service-process.ts';

export interface AlertView {
  name: string;
  level: number;
  severity: string;
  message: string;
  pairs?: string[];
  dependencies?: string[];
}

export interface HealthView {
  httpStatus: number;
  status: string;
  alerts: AlertView[];
  body: any;
}

export interface BreakerView {
  pair: string;
  open: boolean;
  reason: string | null;
}

const CALL_TIMEOUT_MS = 10_000;

export interface ScriptEnv {
  DATABASE_URL?: string;
  REDIS_URL?: string;
}

export class OperatorView {
  constructor(
    readonly adminUrl: string,
    private readonly scriptEnv: ScriptEnv = {},
    private readonly adminToken?: string,
  ) {}

  private headers(json: boolean): Record<string, string> {
    return { ...(json ? { 'content-type': 'application/json' } : {}), ...(this.adminToken ? { authorization: `Bearer ${this.adminToken}` } : {}) };
  }

  async get(path: string): Promise<{ status: number; text: string }> {
    try {
      const res = await fetch(`${this.adminUrl}${path}`, { headers: this.headers(false), signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
      return { status: res.status, text: await res.text() };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      return { status: 0, text: `${e.message ?? String(err)}${e.cause ? `: ${e.cause.code ?? ''} ${e.cause.message ?? ''}` : ''}` };
    }
  }

  async getJson(path: string): Promise<{ status: number; json: any }> {
    const r = await this.get(path);
    try {
      return { status: r.status, json: JSON.parse(r.text) };
    } catch {
      return { status: r.status, json: undefined };
    }
  }

  /** POST as the runbook's `curl -X POST URL -d JSON`; throws on a non-2xx answer (a mitigation that failed). */
  async post(path: string, body: unknown = {}): Promise<any> {
    const res = await fetch(`${this.adminUrl}${path}`, { method: 'POST', headers: this.headers(true), body: JSON.stringify(body), signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    if (res.status < 200 || res.status > 299) throw new Error(`POST ${path} ${JSON.stringify(body)} answered ${res.status}: ${text.slice(0, 300)}`);
    return text === '' ? {} : JSON.parse(text);
  }

  async health(): Promise<HealthView> {
    const r = await this.get('/health');
    let json: any;
    try {
      json = JSON.parse(r.text);
    } catch {
      json = undefined;
    }
    return { httpStatus: r.status, status: json?.status ?? (r.status === 0 ? `UNREACHABLE (${r.text.slice(0, 80)})` : `unreadable ${r.text.slice(0, 80)}`), alerts: json?.alerts ?? [], body: json };
  }

  async alerts(): Promise<AlertView[]> {
    return (await this.getJson('/admin/alerts/active')).json?.alerts ?? [];
  }

  async breakers(): Promise<BreakerView[]> {
    const r = await this.getJson('/admin/circuit-breaker/status');
    return Array.isArray(r.json) ? r.json.map((b: any) => ({ pair: b.pair, open: b.open, reason: b.reason ?? null })) : [];
  }

  /** `/metrics` as series → value (`name{label="v",...}` exactly as exposed). */
  async metrics(): Promise<Map<string, number>> {
    const r = await this.get('/metrics');
    const out = new Map<string, number>();
    if (r.status !== 200) return out;
    for (const line of r.text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const i = line.lastIndexOf(' ');
      out.set(line.slice(0, i), Number(line.slice(i + 1)));
    }
    return out;
  }

  /** The first series of `name` whose labels include every one given. */
  static series(m: Map<string, number>, name: string, labels: Record<string, string> = {}): number | undefined {
    for (const [k, v] of m) {
      if (k !== name && !k.startsWith(`${name}{`)) continue;
      if (Object.entries(labels).every(([l, x]) => k.includes(`${l}="${x}"`))) return v;
    }
    return undefined;
  }

  /** Runs scripts/health_check_comprehensive.sh against the service; resolves to its exit code (0/1/2, 3 tool missing). */
  healthScript(): Promise<{ code: number; output: string }> {
    return new Promise((ok) => {
      execFile(
        'bash',
        [join(ROOT, 'scripts', 'health_check_comprehensive.sh')],
        {
          timeout: 60_000,
          env: {
            PATH: process.env['PATH'] ?? '/usr/bin:/bin',
            TRADING_SERVICE_URL: this.adminUrl,
            CURL_MAX_TIME: '5',
            PGCONNECT_TIMEOUT: '3',
            ...(this.adminToken ? { ADMIN_TOKEN: this.adminToken } : {}),
            ...(this.scriptEnv.DATABASE_URL ? { DATABASE_URL: this.scriptEnv.DATABASE_URL } : {}),
            ...(this.scriptEnv.REDIS_URL ? { REDIS_URL: this.scriptEnv.REDIS_URL } : {}),
          },
        },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof (err as any).code === 'number' ? (err as any).code : -1;
          ok({ code, output: `${stdout}${stderr}` });
        },
      );
    });
  }
}
