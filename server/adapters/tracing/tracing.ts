/**
 * OpenTelemetry traces of a command's path: the gRPC call (server span, grpc-tracing-interceptor.ts),
 * under it the pair's book applying the command (`pair.apply`) and then the journal commit that makes it
 * durable (`journal.commit`), and the reply (the server span ends when the status is sent). Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set
 * (config.ts): then spans go in batches to `<endpoint>/v1/traces` (OTLP over HTTP/protobuf-JSON). Off
 * costs one boolean check per command. Tests pass their own exporter (InMemorySpanExporter).
 * Context flows through AsyncLocalStorage (the global context manager, registered once per process).
 */
import { context, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

export interface TracingOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://otel-collector:4318. @default undefined (tracing off) */
  endpoint?: string;
  /** Export here instead (synchronously per span: tests). @default undefined */
  exporter?: SpanExporter;
  /** The `service.name` resource attribute. @default "trading-service" */
  serviceName?: string;
}

export interface Tracing {
  readonly enabled: boolean;
  readonly tracer: Tracer;
  /** Flushes pending spans and stops exporting. */
  shutdown(): Promise<void>;
}

let contextManagerInstalled = false;

function installContextManager(): void {
  if (contextManagerInstalled) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  contextManagerInstalled = true;
}

export const TRACING_OFF: Tracing = { enabled: false, tracer: trace.getTracer('trading-service'), shutdown: async () => {} };

export function createTracing(options: TracingOptions = {}): Tracing {
  if (options.endpoint === undefined && options.exporter === undefined) return TRACING_OFF;
  installContextManager();
  const processor =
    options.exporter !== undefined
      ? new SimpleSpanProcessor(options.exporter)
      : new BatchSpanProcessor(new OTLPTraceExporter({ url: `${options.endpoint!.replace(/\/$/, '')}/v1/traces` }), { maxQueueSize: 4096, maxExportBatchSize: 512 });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName ?? 'trading-service' }),
    spanProcessors: [processor],
  });
  return { enabled: true, tracer: provider.getTracer('trading-service'), shutdown: () => provider.shutdown() };
}
