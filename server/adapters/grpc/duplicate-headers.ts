/**
 * Node's HTTP/2 server keeps only the first value of a header it treats as single-valued, and
 * `authorization` is one: a request carrying `authorization: <valid>` and `authorization: Bearer
 * garbage` would reach grpc-js as the valid one alone. The contract says UNAUTHENTICATED unless there
 * is exactly one value, so this listener — run before grpc-js's own — reads the raw header list and,
 * when `authorization` appears more than once, joins every value with ", " (grpc-js splits metadata on
 * commas, so the SessionAuthenticator sees several values and refuses them).
 */
import type { Http2Server, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';

export function refuseDuplicateAuthorization(server: Http2Server): void {
  server.prependListener('stream', (_stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
    let values: string[] | undefined;
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      if (rawHeaders[i]!.toLowerCase() === 'authorization') (values ??= []).push(rawHeaders[i + 1]!);
    }
    if (values !== undefined && values.length > 1) headers['authorization'] = values.join(', ');
  });
}
