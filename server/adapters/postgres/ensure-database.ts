/**
 * DATABASE_URL may name a database that does not exist yet (a new user's
 * `DATABASE_URL=postgres://postgres@127.0.0.1:5432/trading npm start`). Then we create it, through
 * the server's maintenance database (`postgres`, else `template1`) with the same credentials, when
 * the role may (CREATEDB or superuser); otherwise the error is one line saying what to run.
 */
import pg from 'pg';
import { redactPostgresUrl } from './redact-url.ts';

/** PostgreSQL's SQLSTATE for "database does not exist" and "database already exists". */
const INVALID_CATALOG_NAME = '3D000';
const DUPLICATE_DATABASE = '42P04';

function client(url: URL, database: string): pg.Client {
  const u = new URL(url.href);
  u.pathname = `/${encodeURIComponent(database)}`;
  const c = new pg.Client({ connectionString: u.href, connectionTimeoutMillis: 10_000 });
  c.on('error', () => {}); // a dropped connection surfaces as the failed query
  return c;
}

/** The database a postgres:// URL names (libpq's default: the user name). */
export function databaseOf(url: URL): string {
  const path = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return path !== '' ? path : decodeURIComponent(url.username) || 'postgres';
}

/**
 * Connects once to `connectionString`; if its database does not exist, creates it when the role may.
 * Returns the name of the database it created, or undefined when it already existed. Errors other
 * than a missing database are left to the caller's own connection (they are reported there).
 */
export async function ensureDatabaseExists(connectionString: string, log: (line: string) => void = () => {}): Promise<string | undefined> {
  const url = new URL(connectionString);
  const database = databaseOf(url);
  const probe = client(url, database);
  try {
    await probe.connect();
    return undefined;
  } catch (err) {
    if ((err as { code?: string }).code !== INVALID_CATALOG_NAME) return undefined;
  } finally {
    await probe.end().catch(() => {});
  }
  const role = decodeURIComponent(url.username) || 'the connecting role';
  const where = `${url.hostname}:${url.port || '5432'}`;
  const howTo = `create it as a role that may (e.g. psql "${redactPostgresUrl(withDatabase(url, 'postgres'))}" -c 'CREATE DATABASE ${quoteIdent(database)}' , or createdb -h ${url.hostname} -p ${url.port || '5432'} ${database}), or point DATABASE_URL at an existing database`;
  let admin: pg.Client | undefined;
  for (const maintenance of ['postgres', 'template1']) {
    const c = client(url, maintenance);
    try {
      await c.connect();
      admin = c;
      break;
    } catch {
      await c.end().catch(() => {});
    }
  }
  if (admin === undefined) throw new Error(`database "${database}" does not exist on ${where}, and role ${role} cannot connect to its maintenance database to create it; ${howTo}`);
  try {
    const { rows } = await admin.query<{ may: boolean }>('SELECT (rolcreatedb OR rolsuper) AS may FROM pg_roles WHERE rolname = current_user');
    if (rows[0]?.may !== true) throw new Error(`database "${database}" does not exist on ${where}, and role ${role} may not create databases (no CREATEDB); ${howTo}`);
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(database)}`);
    } catch (err) {
      if ((err as { code?: string }).code === DUPLICATE_DATABASE) return undefined; // created meanwhile by another process
      throw new Error(`database "${database}" does not exist on ${where} and CREATE DATABASE failed: ${(err as Error).message}; ${howTo}`);
    }
    log(`created database "${database}" on ${where} (DATABASE_URL named a database that did not exist)`);
    return database;
  } finally {
    await admin.end().catch(() => {});
  }
}

function withDatabase(url: URL, database: string): string {
  const u = new URL(url.href);
  u.pathname = `/${database}`;
  return u.href;
}

/** A double-quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
