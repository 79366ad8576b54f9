/**
 * Admin HTTP API request metrics: `trading_admin_http_requests_total{method,route,code}` and
 * `trading_admin_http_request_duration_seconds{method,route}`. `route` is the route's template (the
 * prefix route `/admin/circuit-breaker/reset/` becomes `/admin/circuit-breaker/reset/:param`), or
 * `unmatched` for a 404, so a client probing paths cannot create series; `method` is folded to the
 * verbs the API knows plus `other`. Every route × its method exists from start (code 200 at 0).
 */
import type { Registry } from 'prom-client';
import type { Route } from '../http/admin-server.ts';
import { CounterFamily, HistogramFamily, type CounterSeries, type HistogramSeries } from './metric-families.ts';

/** Buckets of the admin request duration: 1 ms .. 60 s (CPU profiles take up to 60 s). */
export const ADMIN_HTTP_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const METHODS = new Set(['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS']);
export const UNMATCHED_ROUTE = 'unmatched';

/** The label of a route: its path, with `:param` for a prefix route's parameter. */
export function routeLabel(route: Pick<Route, 'path' | 'suffix'>): string {
  return route.path.endsWith('/') ? `${route.path}:param${route.suffix ?? ''}` : route.path;
}

export class AdminHttpMetrics {
  readonly requests = new CounterFamily<'method' | 'route' | 'code'>('trading_admin_http_requests_total', 'Admin HTTP API requests answered, by method, route template and status code.', ['method', 'route', 'code']);
  readonly duration = new HistogramFamily<'method' | 'route'>(
    'trading_admin_http_request_duration_seconds',
    'Time to answer one admin HTTP API request, in seconds, by method and route template.',
    ['method', 'route'],
    ADMIN_HTTP_BUCKETS_SECONDS,
  );
  private readonly handles = new Map<string, { duration: HistogramSeries; byCode: Map<number, CounterSeries> }>();

  constructor(registry: Registry, routes: readonly Pick<Route, 'method' | 'path' | 'suffix'>[]) {
    this.requests.register(registry);
    this.duration.register(registry);
    for (const r of routes) this.handle(r.method, routeLabel(r)).byCode.set(200, this.requests.series({ method: r.method, route: routeLabel(r), code: '200' }));
  }

  /** One answered request (the admin server's `observe` hook). */
  observe(method: string, route: string, status: number, seconds: number): void {
    const m = METHODS.has(method) ? method : 'other';
    const h = this.handle(m, route);
    let c = h.byCode.get(status);
    if (c === undefined) h.byCode.set(status, (c = this.requests.series({ method: m, route, code: String(status) })));
    c.inc();
    h.duration.observe(seconds);
  }

  private handle(method: string, route: string): { duration: HistogramSeries; byCode: Map<number, CounterSeries> } {
    const key = `${method} ${route}`;
    let h = this.handles.get(key);
    if (h === undefined) this.handles.set(key, (h = { duration: this.duration.series({ method, route }), byCode: new Map() }));
    return h;
  }
}
