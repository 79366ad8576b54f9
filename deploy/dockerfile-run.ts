/**
 * Performs deploy/Dockerfile's steps without Docker (no engine runs here): reads the Dockerfile, builds
 * the context from the committed tree (`git archive HEAD`, minus .dockerignore), and for each stage
 * executes its WORKDIR / ENV / COPY / RUN in a directory of its own, COPY --from copying between those
 * directories as the image build would. Then it starts the last stage's CMD in its directory as an
 * unprivileged user (nobody, when run as root: the image's USER is not root either), waits for GET
 * /health to answer 200, reads /metrics, sends SIGTERM and expects a clean exit 0.
 *
 * What it cannot prove: the base image itself (it uses this machine's Node; the FROM tag's major version
 * must match it) and the image's file ownership. Everything the Dockerfile's own instructions do, it does.
 *
 * Usage: node --import tsx deploy/dockerfile-run.ts [--keep]
 *   DATABASE_URL set: the service journals to that PostgreSQL, in a fresh schema dropped afterwards;
 *   unset: PERSISTENCE=memory. Exit 0 when every step passed, 1 otherwise, 2 on bad arguments.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from '../server/adapters/free-port.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DOCKERFILE = join(REPO, 'deploy', 'Dockerfile');
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 40_000;

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Instructions of a Dockerfile: comments and blank lines dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i]!.trim();
    if (l === '' || l.startsWith('#')) continue;
    const start = i + 1;
    while (l.endsWith('\\') && i + 1 < lines.length) l = `${l.slice(0, -1).trimEnd()} ${lines[++i]!.trim()}`;
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(l);
    if (m === null) throw new Error(`Dockerfile line ${start}: cannot parse ${JSON.stringify(l)}`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!, line: start });
  }
  return out;
}

interface Stage {
  name: string;
  image: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string | undefined;
  cmd: string[] | undefined;
}

function log(message: string): void {
  process.stdout.write(`dockerfile-run: ${message}\n`);
}

/** The build context: the committed tree, without what .dockerignore names (top-level entries). */
function buildContext(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const tar = execFileSync('git', ['-C', REPO, 'archive', '--format=tar', 'HEAD'], { maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  const ignore = join(REPO, '.dockerignore');
  if (!existsSync(ignore)) return;
  for (const raw of readFileSync(ignore, 'utf8').split('\n')) {
    const p = raw.trim();
    if (p === '' || p.startsWith('#') || p.startsWith('!') || p.includes('*')) continue;
    rmSync(join(dir, p), { recursive: true, force: true });
  }
}

function words(args: string): string[] {
  return args.split(/\s+/).filter((w) => w !== '');
}

function inStage(stage: Stage, path: string): string {
  return join(stage.root, isAbsolute(path) ? path : join(stage.workdir, path));
}

function copy(stage: Stage, args: string, from: (name: string) => Stage, context: string): void {
  const parts = words(args);
  let source = context;
  let sourceIsStage: Stage | undefined;
  while (parts[0]?.startsWith('--')) {
    const flag = parts.shift()!;
    const m = /^--from=(.+)$/.exec(flag);
    if (m) sourceIsStage = from(m[1]!);
    else if (!/^--chown=|^--chmod=/.test(flag)) throw new Error(`COPY flag ${flag} is not supported by the dry run`);
  }
  const dest = parts.pop()!;
  if (sourceIsStage !== undefined) source = sourceIsStage.root;
  const destPath = inStage(stage, dest);
  for (const src of parts) {
    const srcPath = sourceIsStage !== undefined ? join(source, isAbsolute(src) ? src : join(sourceIsStage.workdir, src)) : join(source, src);
    if (!existsSync(srcPath)) throw new Error(`COPY ${src}: not found in ${sourceIsStage ? `stage ${sourceIsStage.name}` : 'the build context'}`);
    if (statSync(srcPath).isDirectory()) {
      mkdirSync(destPath, { recursive: true });
      cpSync(srcPath, destPath, { recursive: true });
    } else {
      const target = dest.endsWith('/') ? join(destPath, src.split('/').pop()!) : destPath;
      mkdirSync(dirname(target), { recursive: true });
      cpSync(srcPath, target);
    }
  }
}

async function waitForHealth(url: string, child: { exitCode: number | null }): Promise<number> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode} before /health answered`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (r.status === 200) return r.status;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`GET ${url} did not answer 200 within ${START_TIMEOUT_MS} ms`);
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const keep = argv.includes('--keep');
  const unknown = argv.filter((a) => a !== '--keep');
  if (unknown.length > 0) {
    process.stderr.write(`dockerfile-run: unknown argument ${unknown[0]}; usage: dockerfile-run.ts [--keep]\n`);
    return 2;
  }
  const work = mkdtempSync(join(tmpdir(), 'dockerfile-run-'));
  chmodSync(work, 0o755);
  try {
    return await run(work);
  } finally {
    if (!keep) rmSync(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
}

async function run(work: string): Promise<number> {
  const context = join(work, 'context');
  buildContext(context);
  log(`context: committed tree of ${REPO} in ${context}`);

  const stages: Stage[] = [];
  const byName = (name: string): Stage => {
    const s = stages.find((x) => x.name === name) ?? stages[Number(name)];
    if (s === undefined) throw new Error(`COPY --from=${name}: no such stage`);
    return s;
  };
  let current: Stage | undefined;
  for (const ins of parseDockerfile(readFileSync(DOCKERFILE, 'utf8'))) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      const image = m[1]!;
      const major = /^node:(\d+)/.exec(image)?.[1];
      if (major !== undefined && major !== process.versions.node.split('.')[0]) throw new Error(`FROM ${image}: this machine runs Node ${process.version}; the dry run needs the same major`);
      current = { name: m[2] ?? String(stages.length), image, root: join(work, 'stages', m[2] ?? String(stages.length)), workdir: '/', env: {}, user: undefined, cmd: undefined };
      mkdirSync(current.root, { recursive: true });
      stages.push(current);
      log(`stage ${current.name} (${image})`);
      continue;
    }
    if (current === undefined) throw new Error(`Dockerfile line ${ins.line}: ${ins.op} before FROM`);
    const stage = current;
    switch (ins.op) {
      case 'WORKDIR':
        stage.workdir = isAbsolute(ins.args) ? ins.args : join(stage.workdir, ins.args);
        mkdirSync(join(stage.root, stage.workdir), { recursive: true });
        break;
      case 'ENV': {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(ins.args);
        if (m === null) throw new Error(`Dockerfile line ${ins.line}: ENV must be KEY=value`);
        stage.env[m[1]!] = m[2]!;
        break;
      }
      case 'COPY':
        copy(stage, ins.args, byName, context);
        log(`  COPY ${ins.args}`);
        break;
      case 'RUN': {
        log(`  RUN ${ins.args}`);
        const r = spawnSync('bash', ['-euo', 'pipefail', '-c', ins.args], { cwd: join(stage.root, stage.workdir), env: { ...process.env, ...stage.env }, stdio: 'inherit' });
        if (r.status !== 0) throw new Error(`RUN ${ins.args} (line ${ins.line}) exited with ${r.status}`);
        break;
      }
      case 'USER':
        stage.user = ins.args.trim();
        break;
      case 'CMD':
        stage.cmd = JSON.parse(ins.args) as string[];
        break;
      case 'EXPOSE':
        break;
      default:
        throw new Error(`Dockerfile line ${ins.line}: ${ins.op} is not supported by the dry run`);
    }
  }
  const final = stages.at(-1);
  if (final?.cmd === undefined) throw new Error('the last stage has no CMD');
  if (final.user === undefined || final.user === 'root' || final.user === '0') throw new Error('the last stage must set a non-root USER');
  execFileSync('chmod', ['-R', 'a+rX', final.root]);

  // Start it as the image would, unprivileged.
  const adminPort = await freePort();
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...final.env, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_HOST: '127.0.0.1', ADMIN_PORT: String(adminPort), GRPC_SHUTDOWN_GRACE_MS: '2000' };
  let dropSchema: (() => Promise<void>) | undefined;
  const databaseUrl = process.env['DATABASE_URL'];
  if (databaseUrl !== undefined && databaseUrl !== '') {
    const schema = `dockerfile_run_${process.pid}`;
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.end();
    dropSchema = async () => {
      const c = new pg.Client({ connectionString: databaseUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    };
    Object.assign(env, { DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema });
    log(`start: journal in PostgreSQL (DATABASE_URL), schema ${schema}`);
  } else {
    env['PERSISTENCE'] = 'memory';
    log('start: PERSISTENCE=memory (set DATABASE_URL to journal to PostgreSQL)');
  }
  const asRoot = process.getuid?.() === 0;
  const [cmd, ...args] = asRoot ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', ...final.cmd] : final.cmd;
  log(`start: ${asRoot ? '(as nobody) ' : ''}${final.cmd.join(' ')} in ${join(final.root, final.workdir)}`);
  const child = spawn(cmd!, args, { cwd: join(final.root, final.workdir), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  try {
    await waitForHealth(`http://127.0.0.1:${adminPort}/health`, child);
    log('GET /health: 200');
    const metrics = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
    const text = await metrics.text();
    if (metrics.status !== 200 || !/^trading_orders_total\{/m.test(text)) throw new Error(`GET /metrics answered ${metrics.status} without trading_orders_total`);
    log('GET /metrics: 200 with trading_orders_total');
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_TIMEOUT_MS))]);
    if (code !== 0) throw new Error(`after SIGTERM the service ended with ${code} (expected 0)`);
    log('SIGTERM: drained and exited 0');
    return 0;
  } catch (err) {
    child.kill('SIGKILL');
    process.stderr.write(`dockerfile-run: FAILED: ${(err as Error).message}\n--- service output ---\n${output.slice(-4000)}\n`);
    return 1;
  } finally {
    await dropSchema?.().catch(() => {});
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`dockerfile-run: FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
