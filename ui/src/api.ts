/**
 * Calls to the admin listener. The admin token (when the listener needs one) lives only in this
 * module's memory, typed in by the operator; the trading session token never reaches page scripts at
 * all (an HttpOnly cookie set by /ui/api/login). Every POST carries `x-trading-ui: 1`, which the
 * server requires on the UI's endpoints (a cross-site form cannot send it).
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly reason: string,
    readonly field?: string,
  ) {
    super(field ? `${field}: ${reason}` : reason);
    this.name = 'ApiError';
  }
}

let adminToken: string | undefined;
const tokenListeners = new Set<() => void>();
let adminTokenNeeded = false;

export function setAdminToken(token: string | undefined): void {
  adminToken = token === '' ? undefined : token;
  adminTokenNeeded = false;
  for (const l of tokenListeners) l();
}

export function needsAdminToken(): boolean {
  return adminTokenNeeded;
}

export function onAdminTokenChange(listener: () => void): () => void {
  tokenListeners.add(listener);
  return () => tokenListeners.delete(listener);
}

export function authHeaders(): Record<string, string> {
  return adminToken === undefined ? {} : { authorization: `Bearer ${adminToken}` };
}

/** A 401 from the admin layer (not from a trading session) means the listener wants ADMIN_TOKEN. */
export function noteUnauthorized(res: Response): void {
  if (res.status === 401 && res.headers.get('www-authenticate') !== null && !adminTokenNeeded) {
    adminTokenNeeded = true;
    for (const l of tokenListeners) l();
  }
}

async function request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { ...authHeaders(), accept: 'application/json' };
  if (method === 'POST') {
    headers['content-type'] = 'application/json';
    headers['x-trading-ui'] = '1';
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network', `the service did not answer (${(e as Error).message})`);
  }
  noteUnauthorized(res);
  const text = await res.text();
  let json: any;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  // /health answers its JSON with 503 when UNHEALTHY: that is data, not a failure.
  if (res.ok || (path === '/health' && json !== undefined && typeof json.status === 'string')) return json as T;
  if (json && typeof json.reason === 'string') throw new ApiError(res.status, String(json.error ?? 'error'), json.reason, typeof json.field === 'string' ? json.field : undefined);
  throw new ApiError(res.status, 'http', `${res.status} ${res.statusText}: ${text.slice(0, 200)}`);
}

export const get = <T>(path: string): Promise<T> => request<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}): Promise<T> => request<T>('POST', path, body);
