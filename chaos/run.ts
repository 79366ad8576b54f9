/**
 * `npm run chaos` — every drill against the real service process; `npm run chaos -- <drill> [...]` some;
 * `--list` names them; `--target host:port --admin URL` runs the drills that need no process of their own
 * against an operator's running service, only when it has chaos enabled (GET /admin/chaos/fault answers;
 * 404 → refused, exit 2).
 *
 * Per drill the runner makes a fresh PostgreSQL schema (DATABASE_URL, default the local test database),
 * a fresh Redis key prefix (REDIS_URL, default 127.0.0.1:6379), the fault proxies the drill needs, starts
 * server/main.ts with CHAOS_ENABLED on free ports, runs the drill (the simulator's load, the fault, the
 * operator's view, the mitigation, the recovery), stops the load, checks the ledger against the schema's
 * orders/trades tables, stops the process. Writes chaos/results/latest.json and chaos/results/latest.md (a full run) or
 * chaos/results/run-<drills>.json/.md (a selection). Exit 0 when every drill passed, 1 when one failed,
 * 2 on bad arguments or a target that refuses.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createTestSchema, LOCAL_TEST_DATABASE_URL, type TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { DrillContext, DrillFailure, type Drill, type DrillEnvironment, type DrillResult } from './drill.ts';
import { DRILLS } from './drills/index.ts';
import { FaultProxy } from './fault-proxy.ts';
import { checkLedger, type AckedOrder, type LedgerReport } from './ledger-check.ts';
import { startSimulatorLoad, type LoadHandle } from './load.ts';
import { OperatorView } from './operator-view.ts';
import { createApiKey, ProbeClient } from './probe-client.ts';
import { ROOT, ServiceProcess } from './service-process.ts';
import { renderMarkdown } from './results-table.ts';

const DATABASE_URL = process.env['DATABASE_URL'] ?? LOCAL_TEST_DATABASE_URL;
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
/** Each drill's hard limit (kill -9 recovers a process, so it gets more). */
const DRILL_DEADLINE_MS = Number(process.env['CHAOS_DRILL_DEADLINE_MS'] ?? 180_000);

interface Args {
  names: string[];
  list: boolean;
  target?: string;
  admin?: string;
  adminToken?: string;
  databaseUrl?: string;
  schema?: string;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const a: Args = { names: [], list: false };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${x} needs a value`);
      return v;
    };
    if (x === '--list') a.list = true;
    else if (x === '--target') a.target = value();
    else if (x === '--admin') a.admin = value();
    else if (x === '--admin-token') a.adminToken = value();
    else if (x === '--database-url') a.databaseUrl = value();
    else if (x === '--schema') a.schema = value();
    else if (x === '--help' || x === '-h') throw new UsageError('');
    else if (x.startsWith('--')) throw new UsageError(`unknown option ${x.slice(0, 40)}`);
    else a.names.push(x);
  }
  if ((a.target === undefined) !== (a.admin === undefined)) throw new UsageError('--target host:port and --admin URL go together');
  if (a.target !== undefined && !/^[\w.-]+:\d{1,5}$/.test(a.target)) throw new UsageError(`--target must be host:port, got ${a.target.slice(0, 60)}`);
  if (a.admin !== undefined && !/^https?:\/\/\S+$/.test(a.admin)) throw new UsageError(`--admin must be a URL like http://127.0.0.1:8080, got ${a.admin.slice(0, 60)}`);
  if ((a.databaseUrl === undefined) !== (a.schema === undefined)) throw new UsageError('--database-url and --schema go together (the target\'s journal, for the ledger check)');
  for (const n of a.names) if (!DRILLS.some((d) => d.name === n)) throw new UsageError(`unknown drill ${JSON.stringify(n.slice(0, 40))}; --list shows them`);
  return a;
}

const USAGE = `usage: npm run chaos [-- [drill ...] [--list] [--target host:port --admin URL [--admin-token T] [--database-url URL --schema NAME]]]`;

function log(line: string): void {
  console.log(line);
}

function loadAverage(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

/** Skipped against --target: the drill needs to own the process or sit a proxy in front of its dependencies. */
function targetRefusal(d: Drill): string | undefined {
  if (d.needs.ownsProcess) return 'needs to own the service process (kill -9 and restart)';
  if (d.needs.postgresProxy) return 'needs the fault proxy between the service and PostgreSQL';
  if (d.needs.redisProxy) return 'needs the fault proxy between the service and Redis';
  if (d.needs.env !== undefined) return `needs service settings ${Object.entries(d.needs.env).map(([k, v]) => `${k}=${v}`).join(' ')}`;
  return undefined;
}

async function runOne(d: Drill, args: Args, runTag: string): Promise<DrillResult> {
  const started = Date.now();
  log(`▶ ${d.name}: ${d.threshold}`);
  let schema: TestSchema | undefined;
  let service: ServiceProcess | undefined;
  let pgProxy: FaultProxy | undefined;
  let redisProxy: FaultProxy | undefined;
  const probes = new Map<string, ProbeClient>();
  const loads: LoadHandle[] = [];
  let ctx: DrillContext | undefined;
  const failures: string[] = [];
  let ledger: LedgerReport | undefined;
  let ledgerNote = '';
  const acked: AckedOrder[] = [];
  let ledgerDb: { url: string; schema: string } | undefined;
  try {
    let grpcTarget: string;
    let adminUrl: string;
    let scriptEnv: { DATABASE_URL?: string; REDIS_URL?: string } = {};
    if (args.target !== undefined) {
      grpcTarget = args.target;
      adminUrl = args.admin!.replace(/\/$/, '');
      if (args.databaseUrl !== undefined) {
        ledgerDb = { url: args.databaseUrl, schema: args.schema! };
        scriptEnv = { DATABASE_URL: args.databaseUrl };
      }
    } else {
      const tag = d.name.replace(/-/g, '_');
      schema = await createTestSchema(DATABASE_URL, `chaos_${tag}`);
      ledgerDb = { url: DATABASE_URL, schema: schema.name };
      let serviceDb = DATABASE_URL;
      if (d.needs.postgresProxy) {
        const u = new URL(DATABASE_URL);
        pgProxy = new FaultProxy(u.hostname, Number(u.port || 5432));
        await pgProxy.start();
        u.hostname = '127.0.0.1';
        u.port = String(pgProxy.port);
        serviceDb = u.toString();
      }
      let serviceRedis = REDIS_URL;
      if (d.needs.redisProxy) {
        const u = new URL(REDIS_URL);
        redisProxy = new FaultProxy(u.hostname, Number(u.port || 6379));
        await redisProxy.start();
        u.hostname = '127.0.0.1';
        u.port = String(redisProxy.port);
        serviceRedis = u.toString();
      }
      scriptEnv = { DATABASE_URL: serviceDb, REDIS_URL: serviceRedis };
      service = new ServiceProcess({
        env: {
          DATABASE_URL: serviceDb,
          DATABASE_SCHEMA: schema.name,
          REDIS_URL: serviceRedis,
          REDIS_PREFIX: `${schema.name}:`,
          // The simulator's agents are few and busy: the per-account limits are not what these drills test.
          RATE_LIMIT_PER_SECOND: '100000',
          RATE_LIMIT_BURST: '1000000',
          ...(d.needs.env ?? {}),
        },
      });
      await service.start();
      grpcTarget = service.grpcTarget;
      adminUrl = service.adminUrl;
      log(`  service pid ${service.pid}: gRPC ${grpcTarget}, admin ${adminUrl}, schema ${schema.name}`);
    }
    const view = new OperatorView(adminUrl, scriptEnv, args.adminToken);
    let loadSeq = 0;
    const env: DrillEnvironment = {
      view,
      grpcTarget,
      service,
      postgresProxy: pgProxy,
      redisProxy,
      pairs: ['BTCUSDT', 'ETHUSDT'],
      startLoad: async (o) => {
        const h = await startSimulatorLoad(grpcTarget, adminUrl, o, `${runTag}${d.name.replace(/[^a-z0-9]/g, '').slice(0, 10)}${loadSeq++}`, args.adminToken);
        loads.push(h);
        return h;
      },
      probe: async (account) => {
        let p = probes.get(account);
        if (p === undefined) {
          const name = `${runTag}-${account}`;
          p = new ProbeClient(grpcTarget, name);
          const r = await p.login(await createApiKey(adminUrl, name));
          if (!r.ok) throw new DrillFailure(`probe login as ${name} failed: ${r.code} ${r.details}`);
          probes.set(account, p);
        }
        return p;
      },
      log,
    };
    ctx = new DrillContext(env, d);
    const c = ctx;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      d.run(c),
      new Promise((_, fail) => {
        timer = setTimeout(() => fail(new DrillFailure(`the drill did not finish within ${DRILL_DEADLINE_MS} ms`)), DRILL_DEADLINE_MS);
      }),
    ]).finally(() => clearTimeout(timer));
  } catch (err) {
    failures.push(err instanceof DrillFailure ? err.message : `error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    pgProxy?.heal();
    redisProxy?.heal();
    for (const l of loads) {
      try {
        const outcome = await l.stop();
        acked.push(...outcome.acked);
      } catch (err) {
        failures.push(`stopping the simulator failed: ${String((err as Error).message ?? err)}`);
      }
    }
    for (const p of probes.values()) p.close();
    if (ctx !== undefined) {
      // Probe orders are acknowledged orders too; their accounts carry the run tag.
      acked.push(...ctx.probeOrders.map((o) => ({ ...o, account: `${runTag}-${o.account}` })));
    }
    if (ledgerDb !== undefined) {
      try {
        ledger = await checkLedger(ledgerDb.url, ledgerDb.schema, acked);
      } catch (err) {
        failures.push(`ledger check failed: ${String((err as Error).message ?? err)}`);
      }
    } else {
      ledgerNote = 'ledger not checked: --target without --database-url/--schema';
    }
    if (service !== undefined) {
      if (failures.length > 0 || (ctx?.failures.length ?? 0) > 0) log(`  service (running: ${service.running}) output (tail):\n${service.tail(60).replace(/^/gm, '    | ')}`);
      await service.stop().catch(() => undefined);
    }
    await pgProxy?.stop();
    await redisProxy?.stop();
  }
  const allFailures = [...(ctx?.failures ?? []), ...failures, ...(ledger?.problems ?? [])];
  const tripped = ctx?.isTripped ?? false;
  const recovered = ctx?.isRecovered ?? false;
  if (!tripped && allFailures.length === 0) allFailures.push('the threshold was never seen tripped');
  if (!recovered && allFailures.length === 0) allFailures.push('no recovery was seen');
  const result: DrillResult = {
    drill: d.name,
    threshold: d.threshold,
    tripped,
    trippedAfterMs: ctx?.trippedAfterMs ?? null,
    symptoms: ctx?.symptoms ?? [],
    mitigation: ctx?.mitigationDone || d.mitigation,
    recovered,
    recoveredAfterMs: ctx?.recoveredAfterMs ?? null,
    acknowledged: ledger?.acknowledged ?? null,
    lost: ledger?.lost ?? null,
    duplicated: ledger?.duplicated ?? null,
    passed: allFailures.length === 0 && tripped && recovered && (ledger === undefined ? ledgerNote !== '' : ledger.lost === 0 && ledger.duplicated === 0),
    failures: allFailures,
    figures: { ...(ctx?.figures ?? {}), ...(ledger ? { ledger: ledger.figures } : {}), ...(ledgerNote ? { ledger: ledgerNote } : {}) },
    durationMs: Date.now() - started,
    loadAverage: loadAverage(),
  };
  if (result.passed && schema !== undefined) await schema.drop().catch(() => undefined);
  else if (schema !== undefined) log(`  schema ${schema.name} kept for inspection`);
  log(
    `${result.passed ? '✔' : '✘'} ${d.name}: tripped ${result.tripped ? `after ${result.trippedAfterMs} ms` : 'NO'}, recovered ${result.recovered ? `after ${result.recoveredAfterMs} ms` : 'NO'}, ` +
      `acknowledged ${result.acknowledged ?? '-'}, lost ${result.lost ?? '-'}, duplicated ${result.duplicated ?? '-'} (${(result.durationMs / 1000).toFixed(1)} s, load ${result.loadAverage})`,
  );
  for (const f of allFailures) log(`    ✘ ${f}`);
  return result;
}

/** Against --target: refuse unless the service has chaos enabled. */
async function checkTarget(args: Args): Promise<void> {
  const admin = args.admin!.replace(/\/$/, '');
  let status: number;
  try {
    const res = await fetch(`${admin}/admin/chaos/fault`, { headers: args.adminToken ? { authorization: `Bearer ${args.adminToken}` } : {}, signal: AbortSignal.timeout(5_000) });
    status = res.status;
  } catch (err) {
    throw new UsageError(`the admin API at ${admin} is not reachable: ${String((err as Error).message ?? err).slice(0, 120)}`);
  }
  if (status === 404) throw new UsageError(`refusing: ${admin} has no chaos endpoints (GET /admin/chaos/fault answered 404). Drills only run against a service started with CHAOS_ENABLED=1`);
  if (status === 401 || status === 403) throw new UsageError(`refusing: ${admin} wants an admin token (--admin-token)`);
  if (status !== 200) throw new UsageError(`refusing: GET ${admin}/admin/chaos/fault answered ${status}`);
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) console.error(`chaos: ${err.message}`);
      console.error(USAGE);
      return 2;
    }
    throw err;
  }
  if (args.list) {
    for (const d of DRILLS) console.log(`${d.name.padEnd(22)} ${d.threshold}`);
    return 0;
  }
  if (args.target !== undefined) {
    try {
      await checkTarget(args);
    } catch (err) {
      console.error(`chaos: ${(err as Error).message}`);
      return 2;
    }
  }
  const selected = args.names.length === 0 ? DRILLS : DRILLS.filter((d) => args.names.includes(d.name));
  const runTag = `c${Date.now().toString(36)}`;
  const results: DrillResult[] = [];
  const skipped: { drill: string; why: string }[] = [];
  const t0 = Date.now();
  for (const d of selected) {
    const refusal = args.target !== undefined ? targetRefusal(d) : undefined;
    if (refusal !== undefined) {
      log(`- ${d.name}: skipped against --target: ${refusal}`);
      skipped.push({ drill: d.name, why: refusal });
      continue;
    }
    results.push(await runOne(d, args, runTag));
  }
  const totalMs = Date.now() - t0;
  const dir = join(ROOT, 'chaos', 'results');
  mkdirSync(dir, { recursive: true });
  const base = args.names.length === 0 && args.target === undefined ? 'latest' : `run-${args.target !== undefined ? 'target-' : ''}${args.names.join('+').slice(0, 80) || 'all'}`;
  const doc = { at: new Date().toISOString(), totalMs, loadAverage: loadAverage(), target: args.target ?? null, results, skipped };
  writeFileSync(join(dir, `${base}.json`), `${JSON.stringify(doc, null, 2)}\n`);
  writeFileSync(join(dir, `${base}.md`), renderMarkdown(doc));
  const failed = results.filter((r) => !r.passed);
  log(`\n${results.length - failed.length}/${results.length} drills passed in ${(totalMs / 1000).toFixed(1)} s (load ${loadAverage()}); ${skipped.length ? `${skipped.length} skipped; ` : ''}wrote chaos/results/${base}.json and .md`);
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('chaos: failed:', err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
