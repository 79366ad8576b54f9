/**
 * The admin HTTP transport on node:http: routing by exact path (plus `prefix/` routes with one path
 * parameter), bearer-token check, body parsing, and the ONE mapping from thrown errors to HTTP statuses
 * with a JSON body `{ error, field?, reason }`. The endpoints themselves live in admin-routes.ts.
 *
 * Bodies are parsed as JSON whatever the Content-Type says: the runbook's `curl -X POST -d '{...}'` sends
 * `application/x-www-form-urlencoded` by curl's default, and the operator meant JSON.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ValidationError } from '../../pairs/errors.ts';
import type { Logger } from '../grpc/call-context.ts';
import { boundedMessage, echo, ECHO_MAX } from '../grpc/echo.ts';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface AdminRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** The `:param` of a prefix route (e.g. the PAIR of `/admin/circuit-breaker/reset/PAIR`). */
  param: string;
  /** Parsed JSON body; {} when the body is empty. */
  body: Record<string, unknown>;
  /** The request's headers (the Trading UI reads its session cookie and CSRF header here). */
  headers: IncomingHttpHeaders;
}

/** `headers`: extra response headers (Set-Cookie, Content-Security-Policy). `stream`: the route takes the response over (SSE). */
export type AdminResponse = { status?: number; headers?: Record<string, string> } & (
  | { json: unknown }
  | { text: string }
  | { bytes: Buffer; contentType: string; filename?: string }
  | { stream(req: IncomingMessage, res: ServerResponse): void }
);

export interface Route {
  method: HttpMethod;
  /** Exact path, or a prefix ending in '/' whose remainder (non-empty, no '/') becomes `param`. */
  path: string;
  /**
   * With a prefix `path`: the fixed tail after the param, e.g. path '/admin/accounts/' and suffix
   * '/api-keys' match '/admin/accounts/ACCOUNT/api-keys'. @default '' (the param runs to the end)
   */
  suffix?: string;
  /** Reachable without the token even when one is configured (/health, /metrics). */
  public?: boolean;
  handle(req: AdminRequest): AdminResponse | Promise<AdminResponse>;
}

/** An error with its HTTP status; everything else is mapped by `toHttpError`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly reason: string,
    readonly field?: string,
    /** Extra response headers (Allow on a 405, WWW-Authenticate on a 401). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(reason);
    this.name = 'HttpError';
  }
}

export interface ErrorBody {
  error: string;
  field?: string;
  reason: string;
}

/**
 * THE mapping from thrown values to HTTP: ValidationError → 400 naming the field; unknown → 500, generic.
 * Reasons and field names are cut (they may quote what the client sent: a body key, a path).
 */
export function toHttpError(err: unknown): { status: number; body: ErrorBody; unexpected: boolean } {
  const field = (f: string): string => (f.length <= ECHO_MAX ? f : `${f.slice(0, ECHO_MAX)}…`);
  if (err instanceof HttpError)
    return { status: err.status, body: { error: err.error, ...(err.field ? { field: field(err.field) } : {}), reason: boundedMessage(err.reason) }, unexpected: false };
  if (err instanceof ValidationError) return { status: 400, body: { error: 'invalid_argument', field: field(err.field), reason: boundedMessage(err.reason) }, unexpected: false };
  return { status: 500, body: { error: 'internal', reason: 'internal error; see the service log' }, unexpected: true };
}

/** A client-supplied value for a log line: quoted, cut, and with `%` doubled so no logger reads it as a format. */
export function logValue(value: string): string {
  return echo(value).replace(/%/g, '%%');
}

/** Largest request body accepted; admin bodies are a few fields. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface AdminServerOptions {
  routes: readonly Route[];
  /** When set, every non-public route needs `Authorization: Bearer <token>`. */
  token?: string;
  logger: Logger;
  /** Told of every answered request: method, route template (or 'unmatched'), status, seconds (metrics). @default none */
  observe?: (method: string, route: string, status: number, seconds: number) => void;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export class AdminHttpServer {
  private readonly server: Server;
  private readonly exact = new Map<string, Map<string, Route>>();
  private readonly prefixes: Route[] = [];
  private readonly tokenDigest: Buffer | undefined;
  /** Paths answered without the token; every other request is authorized before it is even routed. */
  private readonly publicExact: Set<string>;
  private readonly publicPrefixes: Route[];

  constructor(private readonly options: AdminServerOptions) {
    for (const r of options.routes) {
      if (r.path.endsWith('/')) this.prefixes.push(r);
      else {
        let byMethod = this.exact.get(r.path);
        if (byMethod === undefined) this.exact.set(r.path, (byMethod = new Map()));
        byMethod.set(r.method, r);
      }
    }
    this.tokenDigest = options.token === undefined ? undefined : digest(options.token);
    this.publicExact = new Set(options.routes.filter((r) => r.public === true && !r.path.endsWith('/')).map((r) => r.path));
    this.publicPrefixes = options.routes.filter((r) => r.public === true && r.path.endsWith('/'));
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        options.logger.error('admin http: request failed outside the handler', err);
        if (!res.headersSent) send(res, 500, { error: 'internal', reason: 'internal error' });
        else res.destroy();
      });
    });
    // Slow-loris and idle keep-alive guards: admin calls are short.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 120_000; // CPU profiles take up to 60 s
    this.server.keepAliveTimeout = 5_000;
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then cuts what is left. */
  close(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      const timer = setTimeout(() => this.server.closeAllConnections(), graceMs);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      this.server.closeIdleConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const observe = this.options.observe;
    let routeName = 'unmatched';
    const startedAt = performance.now();
    if (observe !== undefined) res.once('finish', () => observe(method, routeName, res.statusCode, (performance.now() - startedAt) / 1000));
    let path = '/';
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://admin.invalid');
      } catch {
        throw new HttpError(400, 'invalid_path', 'the request target is not a valid URL path');
      }
      path = url.pathname.length > 1 && url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
      // A browser page of another site must not drive the admin API of a local operator (the runbook's
      // plain `curl -X POST` carries no token on loopback): a state-changing request that a browser marks
      // as coming from another origin is refused before anything else. curl and scripts send neither header.
      if (method !== 'GET') refuseCrossSite(req);
      // The token first: without it nothing about the routes (404 vs 405, path decoding) is revealed.
      if (!this.isPublic(path)) this.authorize(req);
      const { route, param } = this.resolve(path, method);
      routeName = route.path.endsWith('/') ? `${route.path}:param${route.suffix ?? ''}` : route.path;
      const body = method === 'POST' || method === 'PATCH' ? await readJsonBody(req) : {};
      const out = await route.handle({ method, path, query: url.searchParams, param, body, headers: req.headers });
      const status = out.status ?? 200;
      for (const [name, value] of Object.entries(out.headers ?? {})) res.setHeader(name, value);
      if ('stream' in out) out.stream(req, res);
      else if ('json' in out) send(res, status, out.json);
      else if ('text' in out) {
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
        res.end(out.text);
      } else {
        res.writeHead(status, {
          'content-type': out.contentType,
          'content-length': out.bytes.length,
          'cache-control': 'no-store',
          ...(out.filename ? { 'content-disposition': `attachment; filename="${out.filename}"` } : {}),
        });
        res.end(out.bytes);
      }
    } catch (err) {
      const mapped = toHttpError(err);
      if (mapped.unexpected) this.options.logger.error(`admin http: ${logValue(method)} ${logValue(path)} failed`, err);
      send(res, mapped.status, mapped.body, err instanceof HttpError ? err.headers : {});
      // A body we refused to read must not be parsed as the next request on this connection.
      if (!req.complete) res.once('finish', () => req.destroy());
    }
  }

  private resolve(path: string, method: string): { route: Route; param: string } {
    const byMethod = this.exact.get(path);
    if (byMethod !== undefined) {
      const route = byMethod.get(method);
      if (route === undefined) throw methodNotAllowed(method, path, [...byMethod.keys()]);
      return { route, param: '' };
    }
    const paramOf = (r: Route): string | undefined => prefixParam(r, path);
    const matching = this.prefixes.filter((r) => paramOf(r) !== undefined);
    if (matching.length > 0) {
      const route = matching.find((r) => r.method === method);
      if (route === undefined) throw methodNotAllowed(method, path, matching.map((r) => r.method));
      return { route, param: decodePathParam(paramOf(route)!) };
    }
    throw new HttpError(404, 'not_found', `no admin endpoint ${echo(path)}`);
  }

  /** Public exactly as resolve() would route it: a prefix route covers one path segment, not a subtree. */
  private isPublic(path: string): boolean {
    return this.publicExact.has(path) || this.publicPrefixes.some((r) => prefixParam(r, path) !== undefined);
  }

  private authorize(req: IncomingMessage): void {
    if (this.tokenDigest === undefined) return;
    const header = req.headers.authorization ?? '';
    const m = /^Bearer (\S+)$/i.exec(header);
    // Compare fixed-length digests so neither the token's length nor its prefix leaks through timing.
    if (m === null || !timingSafeEqual(digest(m[1]!), this.tokenDigest)) {
      throw new HttpError(401, 'unauthenticated', 'this endpoint needs the header Authorization: Bearer <ADMIN_TOKEN>', undefined, {
        'www-authenticate': 'Bearer realm="trading-service admin"',
      });
    }
  }
}

/**
 * 403 for a request a browser sent on behalf of another origin: `Sec-Fetch-Site: cross-site`/`same-site`
 * (browsers set it on every fetch and form post), or an `Origin` whose host is not the one addressed.
 */
function refuseCrossSite(req: IncomingMessage): void {
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  let foreign = site === 'cross-site' || site === 'same-site';
  if (!foreign && origin !== undefined && origin !== 'null') {
    try {
      foreign = new URL(origin).host !== req.headers.host;
    } catch {
      foreign = true;
    }
  } else if (origin === 'null') foreign = true;
  if (foreign) throw new HttpError(403, 'cross_origin', 'state-changing admin requests from another origin are refused (send them from the same origin, curl or a script)');
}

/** The parameter a prefix route (`/admin/x/` + param + suffix) takes from `path`: one non-empty segment, else undefined. */
function prefixParam(r: Route, path: string): string | undefined {
  const suffix = r.suffix ?? '';
  if (!path.startsWith(r.path) || !path.endsWith(suffix)) return undefined;
  const param = path.slice(r.path.length, path.length - suffix.length);
  return param.length > 0 && !param.includes('/') ? param : undefined;
}

function methodNotAllowed(method: string, path: string, allowed: string[]): HttpError {
  return new HttpError(405, 'method_not_allowed', `${echo(method, 16)} is not allowed on ${echo(path)}; use ${allowed.join(' or ')}`, undefined, { allow: allowed.join(', ') });
}

/** A path parameter, %-decoded; a malformed escape is the client's mistake (400), never a 500. */
function decodePathParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'invalid_path', `the path parameter ${echo(raw)} has a malformed %-escape`);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, 'payload_too_large', `request body is limited to ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'payload_too_large', `request body is limited to ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, 'invalid_json', `request body must be a JSON object: ${(e as Error).message}`, 'body');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new HttpError(400, 'invalid_json', 'request body must be a JSON object', 'body');
  return parsed as Record<string, unknown>;
}
