/**
 * The service configuration, read from the environment once. The only module that reads process.env;
 * everything else gets these values as arguments. Bad values fail at startup naming the variable.
 */
import type { BookImplementation } from './core/order-book.ts';

export interface ServiceConfig {
  /** GRPC_HOST. @default "0.0.0.0" */
  readonly grpcHost: string;
  /** GRPC_PORT; 0 picks a free port. @default 50051 */
  readonly grpcPort: number;
  /** BOOK_IMPLEMENTATION: the book that serves every pair. @default "legacy" */
  readonly bookImplementation: BookImplementation;
  /**
   * GRPC_SHUTDOWN_GRACE_MS: how long a shutdown waits for in-flight calls before cutting them. Longer
   * lets slow clients finish; shorter frees the port sooner.
   * @default 10000
   */
  readonly shutdownGraceMs: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`${variable}: ${reason}`);
    this.name = 'ConfigError';
  }
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const book = env.BOOK_IMPLEMENTATION === undefined || env.BOOK_IMPLEMENTATION === '' ? 'legacy' : env.BOOK_IMPLEMENTATION;
  if (book !== 'legacy' && book !== 'adaptive') throw new ConfigError('BOOK_IMPLEMENTATION', `must be "legacy" or "adaptive", got ${JSON.stringify(book)}`);
  return Object.freeze({
    grpcHost: env.GRPC_HOST === undefined || env.GRPC_HOST === '' ? '0.0.0.0' : env.GRPC_HOST,
    grpcPort: integer(env, 'GRPC_PORT', 50051, 0, 65535),
    bookImplementation: book,
    shutdownGraceMs: integer(env, 'GRPC_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
  });
}
