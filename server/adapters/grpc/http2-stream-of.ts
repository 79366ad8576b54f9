import type { Http2Stream } from 'node:http2';

/**
 * The HTTP/2 stream under a grpc-js server call (ServerWritableStream / ServerDuplexStream), found by
 * walking its interceptor chain (`call` → `nextCall`… → `stream`); undefined when the layout differs
 * from grpc-js 1.14's (then only the graceful status is sent).
 */
export function http2StreamOf(call: unknown): Http2Stream | undefined {
  let node = (call as { call?: unknown }).call;
  for (let i = 0; i < 16 && node !== undefined && node !== null; i++) {
    const stream = (node as { stream?: unknown }).stream;
    if (stream !== undefined && stream !== null && typeof (stream as Http2Stream).close === 'function' && 'session' in (stream as object)) return stream as Http2Stream;
    node = (node as { nextCall?: unknown }).nextCall;
  }
  return undefined;
}
