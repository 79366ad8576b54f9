/**
 * The service's structured logger: pino JSON lines (level, ISO time, msg, fields) on stdout, or readable
 * lines on a terminal (pretty-destination.ts), at LOG_LEVEL. Implements the Logger interface every
 * adapter already takes (grpc/call-context.ts), adding `warn`, `debug` and fields.
 * Secrets never reach the output: fields named like secrets are redacted at any depth (pino's redact),
 * and message/error text is scrubbed of bearer tokens, URL passwords and 32-byte random strings (scrub.ts).
 */
import pino, { type DestinationStream, type Logger as Pino } from 'pino';
import type { LogFields, Logger } from '../grpc/call-context.ts';
import { prettyDestination } from './pretty-destination.ts';
import { SECRET_FIELD_NAMES, scrubText } from './scrub.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export type LogFormat = 'json' | 'pretty';

export interface ServiceLoggerOptions {
  /** Lines below this level are dropped. @default 'info' */
  level?: LogLevel;
  /** @default 'json' */
  format?: LogFormat;
  /** ANSI colours in pretty format. @default false */
  color?: boolean;
  /** Where lines go. @default stdout, synchronously (nothing is lost at process.exit) */
  destination?: { write(s: string): unknown };
  /** Fields on every line. @default { service: 'trading-service' } */
  base?: Record<string, unknown>;
}

const REDACT_PATHS = SECRET_FIELD_NAMES.flatMap((n) => [n, `*.${n}`, `*.*.${n}`]);

function scrubError(err: unknown): unknown {
  if (!(err instanceof Error)) return typeof err === 'string' ? scrubText(err) : err;
  const copy = new Error(scrubText(err.message));
  copy.name = err.name;
  copy.stack = err.stack === undefined ? undefined : scrubText(err.stack);
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) (copy as { code?: unknown }).code = code;
  if (err.cause !== undefined) copy.cause = scrubError(err.cause);
  return copy;
}

export class ServiceLogger implements Logger {
  constructor(readonly pino: Pino) {}

  info(message: string, fields?: LogFields): void {
    if (this.pino.isLevelEnabled('info')) this.pino.info(fields ?? {}, scrubText(message));
  }

  warn(message: string, fields?: LogFields): void {
    if (this.pino.isLevelEnabled('warn')) this.pino.warn(fields ?? {}, scrubText(message));
  }

  debug(message: string, fields?: LogFields): void {
    if (this.pino.isLevelEnabled('debug')) this.pino.debug(fields ?? {}, scrubText(message));
  }

  error(message: string, error?: unknown, fields?: LogFields): void {
    if (!this.pino.isLevelEnabled('error')) return;
    this.pino.error({ ...(fields ?? {}), ...(error === undefined ? {} : { err: scrubError(error) }) }, scrubText(message));
  }

  /** A logger whose lines all carry `fields` (e.g. { pair }). */
  child(fields: LogFields): ServiceLogger {
    return new ServiceLogger(this.pino.child(fields));
  }
}

export function createServiceLogger(options: ServiceLoggerOptions = {}): ServiceLogger {
  const format = options.format ?? 'json';
  const out = options.destination ?? pino.destination({ fd: 1, sync: true });
  const destination: DestinationStream = (format === 'pretty' ? prettyDestination(out, options.color ?? false) : out) as DestinationStream;
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? { service: 'trading-service' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
  return new ServiceLogger(logger);
}
