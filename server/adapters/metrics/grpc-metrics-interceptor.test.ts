/**
 * The metrics layer on a real grpc-js server (a raw-bytes service: one unary, one bidi method) with a
 * metadata step that answers later, like the session authenticator over Redis: the handler sees the
 * checked metadata before any message (also when the client sent its messages and half-close before the
 * step answered), counts are one per message each way, and a call cancelled while its metadata is held
 * never reaches the handler and counts CANCELLED once.
 */
import { Metadata, Server, ServerCredentials, credentials, makeGenericClientConstructor, status, type Client, type ClientDuplexStream, type sendUnaryData, type ServerDuplexStream, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcServerMetrics } from './grpc-metrics.ts';
import { grpcMetricsInterceptor } from './grpc-metrics-interceptor.ts';

const raw = (b: Buffer): Buffer => b;
const service = {
  echo: { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw },
  chat: { path: '/test.Echo/Chat', requestStream: true, responseStream: true, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw },
};

type EchoClient = Client & {
  echo: (req: Buffer, md: Metadata, cb: (err: ServiceError | null, res?: Buffer) => void) => void;
  chat: (md: Metadata) => ClientDuplexStream<Buffer, Buffer>;
};

describe('grpcMetricsInterceptor with a metadata step that answers later', () => {
  const registry = new Registry();
  const metrics = new GrpcServerMetrics(registry);
  /** Held metadata steps: released by the test (or by a timer). */
  const held: (() => void)[] = [];
  const delayMs = 30;
  const server = new Server({
    interceptors: [
      grpcMetricsInterceptor(metrics, {
        onReceiveMetadata: (md, next) => {
          const release = (): void => {
            md.set('x-checked', 'yes');
            next(md);
          };
          if (md.get('x-hold').length > 0) held.push(release);
          else setTimeout(release, delayMs);
        },
      }),
    ],
  });
  /** What each handler saw, in order. */
  const seen: string[] = [];
  let handlerCalls = 0;
  let client: EchoClient;

  beforeAll(async () => {
    server.addService(service, {
      echo: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        handlerCalls++;
        callback(null, Buffer.from(`${String(call.metadata.get('x-checked')[0])}:${call.request.toString()}`));
      },
      chat: (call: ServerDuplexStream<Buffer, Buffer>) => {
        handlerCalls++;
        seen.push(`metadata ${String(call.metadata.get('x-checked')[0])}`);
        call.on('data', (b: Buffer) => {
          seen.push(`message ${b.toString()}`);
          call.write(Buffer.from(`re ${b.toString()}`));
        });
        call.on('end', () => {
          seen.push('half-close');
          call.end();
        });
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    const Ctor = makeGenericClientConstructor(service, 'Echo');
    client = new Ctor(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as EchoClient;
  });

  afterAll(async () => {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  const value = async (name: string, labels: string): Promise<number> => {
    const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  };

  it('a unary call: the request waits for the metadata step, then is answered and counted once', async () => {
    const answer = await new Promise<string>((resolve, reject) => client.echo(Buffer.from('hi'), new Metadata(), (err, res) => (err ? reject(err) : resolve(res!.toString()))));
    expect(answer).toBe('yes:hi');
    const labels = 'grpc_type="unary",grpc_service="test.Echo",grpc_method="Echo"';
    expect(await value('grpc_server_started_total', labels)).toBe(1);
    expect(await value('grpc_server_msg_received_total', labels)).toBe(1);
    expect(await value('grpc_server_msg_sent_total', labels)).toBe(1);
    expect(await value('grpc_server_handled_total', `${labels},grpc_code="OK"`)).toBe(1);
    expect(await value('grpc_server_handling_seconds_count', labels)).toBe(1);
  });

  it('a stream whose messages and half-close arrive during the step: all delivered after the metadata, in order', async () => {
    seen.length = 0;
    const stream = client.chat(new Metadata());
    const replies: string[] = [];
    stream.on('data', (b: Buffer) => replies.push(b.toString()));
    stream.write(Buffer.from('a'));
    stream.end(); // before the step (30 ms) lets the call go on
    await new Promise<void>((resolve, reject) => {
      stream.on('status', (s: { code: number }) => (s.code === status.OK ? resolve() : reject(new Error(`status ${s.code}`))));
      stream.on('error', reject);
    });
    expect(seen).toEqual(['metadata yes', 'message a', 'half-close']);
    expect(replies).toEqual(['re a']);
    const labels = 'grpc_type="bidi_stream",grpc_service="test.Echo",grpc_method="Chat"';
    expect(await value('grpc_server_msg_received_total', labels)).toBe(1);
    expect(await value('grpc_server_msg_sent_total', labels)).toBe(1);
    expect(await value('grpc_server_handled_total', `${labels},grpc_code="OK"`)).toBe(1);
  });

  it('a call cancelled while its metadata is held never reaches the handler and counts CANCELLED once', async () => {
    const before = handlerCalls;
    const md = new Metadata();
    md.set('x-hold', '1');
    const stream = client.chat(md);
    stream.on('error', () => {});
    stream.write(Buffer.from('never'));
    while (held.length === 0) await new Promise((r) => setTimeout(r, 5));
    stream.cancel();
    const labels = 'grpc_type="bidi_stream",grpc_service="test.Echo",grpc_method="Chat"';
    for (let i = 0; i < 100 && (await value('grpc_server_handled_total', `${labels},grpc_code="CANCELLED"`)) === 0; i++) await new Promise((r) => setTimeout(r, 10));
    held.shift()!(); // the step answers after the cancel: nothing goes on
    await new Promise((r) => setTimeout(r, 50));
    expect(handlerCalls).toBe(before);
    expect(await value('grpc_server_handled_total', `${labels},grpc_code="CANCELLED"`)).toBe(1);
  });
});
