/**
 * One SERVER span per gRPC call (name `pkg.Service/Method`, rpc.* attributes, the status code), active
 * while the call's metadata, messages and half-close are handled, so what the handler does (and what
 * other interceptors start on its behalf, such as the session lookup) runs inside it and its child spans
 * (pair.apply, journal.commit) hang under it. Ends when the status is sent or the client cancels.
 * Install it first (outermost). Only installed when tracing is on.
 */
import { ServerInterceptingCall, status as Status, type ServerInterceptor } from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode, context, trace, type Tracer } from '@opentelemetry/api';
import { codeName, splitPath } from '../metrics/grpc-metrics.ts';

export function grpcTracingInterceptor(tracer: Tracer): ServerInterceptor {
  return (descriptor, call) => {
    const [service, method] = splitPath(descriptor.path);
    const span = tracer.startSpan(`${service}/${method}`, { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method } });
    const ctx = trace.setSpan(context.active(), span);
    let ended = false;
    const end = (code: number, details?: string): void => {
      if (ended) return;
      ended = true;
      span.setAttribute('rpc.grpc.status_code', code);
      if (code !== Status.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: `${codeName(code)}${details ? `: ${details.slice(0, 200)}` : ''}` });
      span.end();
    };
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata: (metadata, nextMetadata) => context.with(ctx, () => nextMetadata(metadata)),
          onReceiveMessage: (message, nextMessage) => context.with(ctx, () => nextMessage(message)),
          onReceiveHalfClose: (nextHalfClose) => context.with(ctx, () => nextHalfClose()),
          onCancel: () => end(Status.CANCELLED),
        });
      },
      sendStatus(status, next) {
        end(status.code, status.details);
        next(status);
      },
    });
  };
}
