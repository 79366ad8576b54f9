/**
 * Lets chosen methods send responses that are already encoded: a Buffer given to `call.write` (or to
 * a unary callback) goes out as is, any other value is encoded by the generated serializer as before.
 * The streaming handlers encode each message once (market data: once per delta for all subscribers),
 * so they know its size for the queued-bytes bound (stream-limits.ts); GetOrderBook encodes a
 * full-depth answer once per book state. The wire format is unchanged.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';

export function withRawResponses<T extends ServiceDefinition>(service: T, methods: readonly (keyof T & string)[]): T {
  const copy: Record<string, unknown> = { ...service };
  for (const m of methods) {
    const def = service[m]!;
    const serialize = def.responseSerialize as (value: unknown) => Buffer;
    copy[m] = { ...def, responseSerialize: (value: unknown): Buffer => (Buffer.isBuffer(value) ? value : serialize(value)) };
  }
  return copy as T;
}

/**
 * Bytes already encoded as message `T`, for a handler of a method registered with `withRawResponses`
 * (the generated handler types want the message object; the serializer passes a Buffer through).
 */
export function encodedAs<T>(bytes: Buffer): T {
  return bytes as unknown as T;
}
