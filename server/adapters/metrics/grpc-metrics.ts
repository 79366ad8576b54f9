/**
 * gRPC server metrics under the names gRPC users know (go-grpc-prometheus / grpc-ecosystem):
 * `grpc_server_started_total`, `grpc_server_handled_total{grpc_code}`, `grpc_server_handling_seconds`,
 * `grpc_server_msg_received_total`, `grpc_server_msg_sent_total`, all labelled grpc_type, grpc_service,
 * grpc_method. Every method of the served services × every code it can answer with exists from start at 0
 * (`registerMethods`), so `rate()` and alerts see a fresh service. Counting is plain arithmetic on handles
 * resolved once per method (grpc-metrics-interceptor.ts); prom-client only reads them at scrape time.
 */
import { status as Status } from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { CounterFamily, HistogramFamily, type CounterSeries, type HistogramSeries } from './metric-families.ts';

export type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

/** Buckets of `grpc_server_handling_seconds`: 100 µs .. 10 s, with the runbook's 20 ms as an edge. */
export const GRPC_HANDLING_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The codes this server's handlers answer with (errors.ts `describeError`: OK, INVALID_ARGUMENT,
 * NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, UNAUTHENTICATED, UNAVAILABLE, RESOURCE_EXHAUSTED,
 * DEADLINE_EXCEEDED, INTERNAL) plus CANCELLED (the client went away). Pre-created per method; any other
 * code grpc-js itself produces still gets its series on first use.
 */
export const PRECREATED_CODES: readonly Status[] = [
  Status.OK,
  Status.CANCELLED,
  Status.INVALID_ARGUMENT,
  Status.DEADLINE_EXCEEDED,
  Status.NOT_FOUND,
  Status.ALREADY_EXISTS,
  Status.FAILED_PRECONDITION,
  Status.RESOURCE_EXHAUSTED,
  Status.UNAUTHENTICATED,
  Status.UNAVAILABLE,
  Status.INTERNAL,
];

/** grpc-js numeric code → the canonical name Prometheus users expect (`OK`, `NOT_FOUND`, ...). */
const CODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Status)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v as number, k]),
);
export function codeName(code: number): string {
  return CODE_NAMES[code] ?? 'UNKNOWN';
}

type MethodLabel = 'grpc_type' | 'grpc_service' | 'grpc_method';

/** One method's handles: resolved once, then updated per call without lookups. */
export class GrpcMethodMetrics {
  private readonly handledByCode = new Map<number, CounterSeries>();
  constructor(
    readonly started: CounterSeries,
    readonly received: CounterSeries,
    readonly sent: CounterSeries,
    readonly seconds: HistogramSeries,
    private readonly handledOf: (code: string) => CounterSeries,
  ) {}

  handled(code: number): CounterSeries {
    let s = this.handledByCode.get(code);
    if (s === undefined) this.handledByCode.set(code, (s = this.handledOf(codeName(code))));
    return s;
  }
}

/** A method as grpc-js describes it (ServerMethodDefinition / a generated service's entries). */
export interface MethodShape {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
}

export function grpcType(m: Pick<MethodShape, 'requestStream' | 'responseStream'>): GrpcType {
  if (m.requestStream) return m.responseStream ? 'bidi_stream' : 'client_stream';
  return m.responseStream ? 'server_stream' : 'unary';
}

/** "/pkg.Service/Method" → ["pkg.Service", "Method"]. */
export function splitPath(path: string): [service: string, method: string] {
  const p = path.startsWith('/') ? path.slice(1) : path;
  const i = p.lastIndexOf('/');
  return i < 0 ? ['unknown', p] : [p.slice(0, i), p.slice(i + 1)];
}

export class GrpcServerMetrics {
  readonly started = new CounterFamily<MethodLabel>('grpc_server_started_total', 'Total number of RPCs started on the server.', ['grpc_type', 'grpc_service', 'grpc_method']);
  readonly handled = new CounterFamily<MethodLabel | 'grpc_code'>(
    'grpc_server_handled_total',
    'Total number of RPCs completed on the server, regardless of success or failure.',
    ['grpc_type', 'grpc_service', 'grpc_method', 'grpc_code'],
  );
  readonly handling = new HistogramFamily<MethodLabel>(
    'grpc_server_handling_seconds',
    'Histogram of response latency (seconds) of gRPC calls handled by the server, until the status is sent.',
    ['grpc_type', 'grpc_service', 'grpc_method'],
    GRPC_HANDLING_BUCKETS_SECONDS,
  );
  readonly received = new CounterFamily<MethodLabel>('grpc_server_msg_received_total', 'Total number of RPC stream messages received on the server.', ['grpc_type', 'grpc_service', 'grpc_method']);
  readonly sent = new CounterFamily<MethodLabel>('grpc_server_msg_sent_total', 'Total number of gRPC stream messages sent by the server.', ['grpc_type', 'grpc_service', 'grpc_method']);
  /** Bounded: methods are the registered ones (grpc-js answers UNIMPLEMENTED to others without interceptors). */
  private readonly byPath = new Map<string, GrpcMethodMetrics>();

  constructor(registry: Registry) {
    for (const f of [this.started, this.handled, this.handling, this.received, this.sent]) f.register(registry);
  }

  /** Pre-creates every method of `services` (generated service definitions) × PRECREATED_CODES at 0. */
  registerMethods(services: readonly Readonly<Record<string, MethodShape>>[]): void {
    for (const def of services) for (const m of Object.values(def)) this.method(m);
  }

  /** The handles of one method (created with its pre-created codes on first use). */
  method(m: MethodShape): GrpcMethodMetrics {
    let mm = this.byPath.get(m.path);
    if (mm !== undefined) return mm;
    const [grpc_service, grpc_method] = splitPath(m.path);
    const labels = { grpc_type: grpcType(m), grpc_service, grpc_method };
    mm = new GrpcMethodMetrics(this.started.series(labels), this.received.series(labels), this.sent.series(labels), this.handling.series(labels), (grpc_code) =>
      this.handled.series({ ...labels, grpc_code }),
    );
    for (const code of PRECREATED_CODES) mm.handled(code);
    this.byPath.set(m.path, mm);
    return mm;
  }
}
