/**
 * The grpc-js server interceptor (grpc-js ≥ 1.10) that feeds GrpcServerMetrics: started when the call
 * arrives, one count per message each way, and at the status: handled{grpc_code} and the handling time.
 * A call the client cancels before a status is sent counts as CANCELLED. Per call: one map lookup by
 * method path, additions on pre-resolved series, one `performance.now()` at each end.
 * Install it first (outermost), so it also sees statuses other interceptors produce.
 */
import { ServerInterceptingCall, status as Status, type ServerInterceptor } from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import type { GrpcServerMetrics } from './grpc-metrics.ts';

export function grpcMetricsInterceptor(metrics: GrpcServerMetrics): ServerInterceptor {
  return (descriptor, call) => {
    const m = metrics.method(descriptor);
    m.started.inc();
    const startedAt = performance.now();
    let done = false;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      m.handled(code).inc();
      m.seconds.observe((performance.now() - startedAt) / 1000);
    };
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMessage(message, nextMessage) {
            m.received.inc();
            nextMessage(message);
          },
          onCancel() {
            finish(Status.CANCELLED);
          },
        });
      },
      sendMessage(message, next) {
        m.sent.inc();
        next(message);
      },
      sendStatus(status, next) {
        finish(status.code);
        next(status);
      },
    });
  };
}
