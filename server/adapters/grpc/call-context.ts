/**
 * What every handler checks before it touches a pair, in this order: the server is not shutting down
 * (UNAVAILABLE), the caller is authenticated where needed (UNAUTHENTICATED), the deadline has not passed
 * (DEADLINE_EXCEEDED: an expired call is never applied). Also the wrapper that turns anything a unary
 * handler throws into a status: handlers never call the callback with an error themselves.
 */
import type { Metadata, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { Authenticator } from './auth.ts';
import type { StreamGovernor } from './stream-limits.ts';
import { UnavailableError } from '../../ports/errors.ts';
import { DeadlineExceededError, isUnexpected, toStatus } from './errors.ts';

/** Structured fields of a log line (pair, account, orderId, clientOrderId, requestId, event, ...). */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * What the service logs through. `info`/`error` are all an implementation must have (a test's quiet
 * `{ info() {}, error() {} }` still fits); fields, `warn` and `debug` are used where the logger has them
 * (server/adapters/logging/service-logger.ts: JSON lines via pino).
 */
export interface Logger {
  info(message: string, fields?: LogFields): void;
  error(message: string, error?: unknown, fields?: LogFields): void;
  warn?(message: string, fields?: LogFields): void;
  debug?(message: string, fields?: LogFields): void;
}

export interface CallContext {
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  /** Wall-clock ms for deadline checks; injectable so tests can make every deadline already past. */
  nowMs(): number;
  isShuttingDown(): boolean;
  /**
   * Registers a long-lived stream so shutdown can end it (with UNAVAILABLE) instead of waiting for it.
   * Returns the function that unregisters it.
   */
  registerStream(close: (reason: Error) => void, pair?: string): () => void;
  /** A stream whose unsent messages exceed this is ended with RESOURCE_EXHAUSTED (slow reader). */
  readonly maxQueuedMessages: number;
  /** Stream counts and queued bytes of long-lived streams (stream-limits.ts). */
  readonly streams: StreamGovernor;
  /** Most open (resting) orders one account may hold per pair; a GTC order beyond it is refused. */
  readonly maxOpenOrdersPerAccount: number;
  /**
   * Asked before a new order or a replace is applied (never for cancels or reads); throws
   * UnavailableError while trading (or that pair's trading, by the requested pair name) is halted or in maintenance.
   */
  checkNewOrders(pair: string): void;
}

interface HasDeadline {
  getDeadline(): Date | number;
  readonly metadata: Metadata;
}

export function checkAdmission(ctx: CallContext, call: HasDeadline): void {
  if (ctx.isShuttingDown()) throw new UnavailableError('server', 'shutting down; retry on another instance');
  checkDeadline(ctx, call);
}

export function checkDeadline(ctx: CallContext, call: { getDeadline(): Date | number }): void {
  const d = call.getDeadline();
  const deadlineMs = d instanceof Date ? d.getTime() : d;
  if (Number.isFinite(deadlineMs) && deadlineMs <= ctx.nowMs()) throw new DeadlineExceededError();
}

export function logIfUnexpected(ctx: CallContext, what: string, err: unknown): void {
  if (isUnexpected(err)) ctx.logger.error(`${what} failed`, err, { event: 'rpc_failed', rpc: what });
}

/** A unary handler: admission, then `handle`, whose result or error becomes the reply. */
export function unary<Req, Res>(
  ctx: CallContext,
  name: string,
  handle: (request: Req, call: ServerUnaryCall<Req, Res>) => Res,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    let response: Res;
    try {
      checkAdmission(ctx, call);
      response = handle(call.request, call);
    } catch (err) {
      logIfUnexpected(ctx, name, err);
      callback(toStatus(err), null);
      return;
    }
    callback(null, response);
  };
}

/**
 * A unary handler whose work awaits something (the session store, a durable write): admission, then
 * `handle`; its resolved value or any error (thrown or rejected) becomes the reply. The deadline is
 * checked again inside `handle` by whoever applies work after an await (checkDeadline).
 */
export function unaryAsync<Req, Res>(
  ctx: CallContext,
  name: string,
  handle: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    let pending: Promise<Res>;
    try {
      checkAdmission(ctx, call);
      pending = handle(call.request, call);
    } catch (err) {
      logIfUnexpected(ctx, name, err);
      callback(toStatus(err), null);
      return;
    }
    pending.then(
      (response) => callback(null, response),
      (err: unknown) => {
        logIfUnexpected(ctx, name, err);
        callback(toStatus(err), null);
      },
    );
  };
}
