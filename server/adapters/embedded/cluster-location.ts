/**
 * Where the embedded cluster lives: `<dataDir>/pgdata`. As root the server runs as user `postgres`,
 * which must search every parent of the cluster. When it cannot (DATA_DIR inside root's 0700 home,
 * or a DATA_DIR from `mktemp -d`), the cluster is placed in a root-owned directory it can reach,
 * `/var/lib/trading-service/embedded-postgres/<digest of dataDir>-<random>`, and `<dataDir>/pgdata`
 * becomes a symbolic link to it, so the data directory still names its cluster and later starts
 * find it. Nothing above the data directory has its permissions changed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, lstat, mkdir, readdir, realpath, rmdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describeDir, firstBlocked, type RunAsUser } from './run-as-user.ts';

export const RELOCATED_CLUSTERS_DIR = '/var/lib/trading-service/embedded-postgres';

async function kind(path: string): Promise<'missing' | 'link' | 'dir' | 'other'> {
  try {
    const s = await lstat(path);
    return s.isSymbolicLink() ? 'link' : s.isDirectory() ? 'dir' : 'other';
  } catch {
    return 'missing';
  }
}

async function unreachable(user: RunAsUser, path: string, blocked: string): Promise<Error> {
  return new Error(
    `running as root, the embedded PostgreSQL runs as user ${user.name}, which cannot reach ${path}: ${await describeDir(blocked)} is not searchable by it; set DATA_DIR to a directory it can reach (e.g. DATA_DIR=/var/lib/trading-service), run as a non-root user, or set DATABASE_URL`,
  );
}

/**
 * The cluster directory to give `postgres -D` (a real path). With `user` undefined (not root) it
 * is `<dataDir>/pgdata`. With a user, the directory is reachable by it and, once it exists, owned by it.
 */
export async function clusterDirFor(dataDir: string, user: RunAsUser | undefined, log: (line: string) => void): Promise<string> {
  const link = join(dataDir, 'pgdata');
  if (user === undefined) return link;
  const k = await kind(link);
  if (k === 'link') {
    let target: string;
    try {
      target = await realpath(link);
    } catch {
      throw new Error(`${link} is a symbolic link to a cluster that no longer exists; remove the link to start a new, empty database, or restore its target`);
    }
    const blocked = await firstBlocked(user, target);
    if (blocked !== undefined) throw await unreachable(user, target, blocked);
    return target;
  }
  if (k === 'other') throw new Error(`${link} exists but is not a directory; move it away or choose another DATA_DIR`);
  const blocked = await firstBlocked(user, dataDir);
  if (blocked === undefined) {
    await mkdir(link, { recursive: true, mode: 0o700 });
    await chown(link, user.uid, user.gid);
    return link;
  }
  if (k === 'dir') {
    if ((await readdir(link)).length > 0) throw await unreachable(user, link, blocked);
    await rmdir(link); // empty: nothing lost by placing the cluster elsewhere
  }
  // Relocate: a root-owned 0755 chain down to a 0700 directory owned by the user.
  const blockedDesc = await describeDir(blocked);
  await mkdir(RELOCATED_CLUSTERS_DIR, { recursive: true, mode: 0o755 }).catch((err: Error) => {
    throw new Error(`${blockedDesc} keeps user ${user.name} from reaching ${dataDir}, and ${RELOCATED_CLUSTERS_DIR} cannot be created to hold the cluster instead (${err.message}); set DATA_DIR to a directory user ${user.name} can reach, or set DATABASE_URL`);
  });
  const stillBlocked = await firstBlocked(user, RELOCATED_CLUSTERS_DIR);
  if (stillBlocked !== undefined) throw await unreachable(user, RELOCATED_CLUSTERS_DIR, stillBlocked);
  const digest = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  const target = join(RELOCATED_CLUSTERS_DIR, `${digest}-${randomBytes(4).toString('hex')}`);
  await mkdir(target, { mode: 0o700 });
  await chown(target, user.uid, user.gid);
  await chmod(target, 0o700);
  await symlink(target, link);
  log(`user ${user.name} cannot reach ${dataDir} (${blockedDesc} is not searchable by it): the cluster is kept in ${target}, linked from ${link}`);
  return target;
}
