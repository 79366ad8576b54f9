/**
 * Every error a gRPC caller can get, and the ONE function that turns any thrown value or core Rejection
 * into a gRPC status. Handlers never pick status codes themselves. Messages carry data,
 * not parsing: field and reject reason also travel in trailing metadata (`x-field`, `x-reject-reason`)
 * and, for batch items, in ItemError.
 */
import { Metadata, status, type StatusObject } from '@grpc/grpc-js';
import type { Rejection } from '../../core/order-book.ts';
import { RejectCode, isInputRejection } from '../../core/reasons.ts';
import { ValidationError } from '../../pairs/errors.ts';
import { AnswerError, PairNotOwnedError, UnavailableError } from '../../ports/errors.ts';
import { InvalidCredentialsError, SessionLimitError } from '../../ports/session-store.ts';
import { RejectReason, type ItemError } from './generated/trading/v1/types.ts';
import { boundedMessage } from './echo.ts';

/**
 * Reject reasons raised by this adapter, outside the core's table; the numbers are the proto's
 * RejectReason values (11xx bad request fields, 21xx unknown things).
 */
export const ApiRejectCode = {
  InvalidRequest: RejectReason.REJECT_REASON_INVALID_REQUEST,
  InvalidPair: RejectReason.REJECT_REASON_INVALID_PAIR,
  InvalidClientOrderId: RejectReason.REJECT_REASON_INVALID_CLIENT_ORDER_ID,
  UnknownPair: RejectReason.REJECT_REASON_UNKNOWN_PAIR,
} as const;

/** A core rejection leaving as an error (unary calls). */
export class RejectionError extends AnswerError {
  constructor(readonly rejection: Rejection) {
    super(`${rejection.field}: ${rejection.reason}`);
    this.name = 'RejectionError';
  }
}

/** Something named in the request does not exist (for this account). */
export class NotFoundError extends AnswerError {
  constructor(
    readonly field: string,
    readonly reason: string,
    readonly rejectReason: number,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'NotFoundError';
  }
}

export class UnauthenticatedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'UnauthenticatedError';
  }
}

export class DeadlineExceededError extends Error {
  constructor() {
    super('deadline exceeded before the request was applied; it was not applied');
    this.name = 'DeadlineExceededError';
  }
}

/** Too slow a reader, too many subscriptions. */
export class ResourceExhaustedError extends AnswerError {
  constructor(detail: string) {
    super(detail);
    this.name = 'ResourceExhaustedError';
  }
}

/** A per-account bound on held state (open orders) refused the command; nothing was applied. FAILED_PRECONDITION. */
export class LimitReachedError extends AnswerError {
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(detail);
    this.name = 'LimitReachedError';
  }
}

/**
 * The account's rate limit (SessionStore.consume) refused the call or flow message; nothing was applied.
 * Carries the store's retry hint as data; it also leaves in the message, because a command's ItemError
 * has no metadata of its own.
 */
export class RateLimitedError extends AnswerError {
  /**
   * @param retryAfterMs whole ms until the refused cost would be available again
   * @param cost what the refused work cost (1 per command, the item count of a batch)
   * @param what what was refused and why
   */
  constructor(
    readonly retryAfterMs: number,
    readonly cost: number,
    what = 'rate limit exceeded for this account: nothing was applied',
  ) {
    super(`${what}; retry after ${retryAfterMs} ms`);
    this.name = 'RateLimitedError';
  }
}

/** Trailing metadata key carrying RateLimitedError.retryAfterMs (whole milliseconds, decimal). */
export const RETRY_AFTER_HEADER = 'x-retry-after-ms';
/** Cluster mode: trailing metadata naming the replica that owns the pair of a refused call, and its gRPC host:port. */
export const PAIR_OWNER_HEADER = 'x-pair-owner';
export const PAIR_OWNER_ADDRESS_HEADER = 'x-pair-owner-address';

/** The facts of one error, the common form behind statuses and ItemErrors. */
export interface ErrorFacts {
  code: status;
  rejectReason: number;
  field: string;
  message: string;
  /** Set for rate refusals: leaves as trailing metadata `x-retry-after-ms`. */
  retryAfterMs?: number;
}

/** Reject reasons for ValidationErrors, by field, so every bad `price` carries INVALID_PRICE and so on. */
const REASON_BY_FIELD: Record<string, number> = {
  price: RejectCode.InvalidPrice,
  quantity: RejectCode.InvalidQuantity,
  side: RejectCode.InvalidSide,
  type: RejectCode.InvalidOrderType,
  time_in_force: RejectCode.InvalidTimeInForce,
  stp_mode: RejectCode.InvalidStpMode,
  post_only: RejectCode.InvalidPostOnly,
  order_id: RejectCode.InvalidOrderId,
  pair: ApiRejectCode.InvalidPair,
  client_order_id: ApiRejectCode.InvalidClientOrderId,
};

/** Core reject code → status: 1xxx bad input, 2xxx order state, 3xxx book rules. */
function rejectionStatus(code: number): status {
  if (isInputRejection(code as RejectCode)) return status.INVALID_ARGUMENT;
  if (code === RejectCode.DuplicateOrderId) return status.ALREADY_EXISTS;
  if (code >= 2000 && code < 3000) return status.NOT_FOUND;
  if (code >= 3000 && code < 4000) return status.FAILED_PRECONDITION;
  return status.INTERNAL;
}

/** THE mapping. Unknown errors become INTERNAL with a generic message (details stay in the log). */
export function describeError(err: unknown): ErrorFacts {
  if (err instanceof RejectionError) return describeRejection(err.rejection);
  if (err instanceof ValidationError)
    return { code: status.INVALID_ARGUMENT, rejectReason: REASON_BY_FIELD[err.field] ?? ApiRejectCode.InvalidRequest, field: err.field, message: err.message };
  if (err instanceof NotFoundError) return { code: status.NOT_FOUND, rejectReason: err.rejectReason, field: err.field, message: err.message };
  if (err instanceof UnauthenticatedError) return { code: status.UNAUTHENTICATED, rejectReason: 0, field: '', message: err.message };
  // One message for an unknown key id and a wrong secret, so callers cannot probe for key ids.
  if (err instanceof InvalidCredentialsError) return { code: status.UNAUTHENTICATED, rejectReason: 0, field: '', message: err.message };
  // The one class of server/ports/errors.ts ("<dependency> unavailable: <detail>"), whoever throws it.
  if (err instanceof UnavailableError) return { code: status.UNAVAILABLE, rejectReason: 0, field: '', message: err.message };
  if (err instanceof RateLimitedError) return { code: status.RESOURCE_EXHAUSTED, rejectReason: 0, field: '', message: err.message, retryAfterMs: err.retryAfterMs };
  if (err instanceof DeadlineExceededError) return { code: status.DEADLINE_EXCEEDED, rejectReason: 0, field: '', message: err.message };
  if (err instanceof SessionLimitError) return { code: status.RESOURCE_EXHAUSTED, rejectReason: 0, field: '', message: err.message };
  if (err instanceof LimitReachedError) return { code: status.FAILED_PRECONDITION, rejectReason: 0, field: err.field, message: `${err.field}: ${err.message}` };
  if (err instanceof ResourceExhaustedError) return { code: status.RESOURCE_EXHAUSTED, rejectReason: 0, field: '', message: err.message };
  return { code: status.INTERNAL, rejectReason: 0, field: '', message: 'internal error' };
}

export function describeRejection(r: Rejection): ErrorFacts {
  return { code: rejectionStatus(r.code), rejectReason: r.code, field: r.field, message: `${r.field}: ${r.reason}` };
}

/** A status object for callbacks and stream 'error' events. */
export function toStatus(err: unknown): Partial<StatusObject> {
  const facts = describeError(err);
  const metadata = new Metadata();
  if (facts.field !== '') metadata.set('x-field', facts.field);
  if (facts.rejectReason !== 0) metadata.set('x-reject-reason', String(facts.rejectReason));
  if (facts.retryAfterMs !== undefined) metadata.set(RETRY_AFTER_HEADER, String(facts.retryAfterMs));
  if (err instanceof PairNotOwnedError) {
    if (err.owner !== undefined) metadata.set(PAIR_OWNER_HEADER, err.owner);
    if (err.ownerAddress !== undefined) metadata.set(PAIR_OWNER_ADDRESS_HEADER, err.ownerAddress);
    if (err.owner === undefined) metadata.set(RETRY_AFTER_HEADER, String(err.retryAfterMs));
  }
  return { code: facts.code, details: boundedMessage(facts.message), metadata };
}

export function toItemError(facts: ErrorFacts): ItemError {
  return { code: facts.code, rejectReason: facts.rejectReason as RejectReason, field: facts.field, message: boundedMessage(facts.message) };
}

/** True for errors the mapping does not know: bugs, to be logged with their stack. */
export function isUnexpected(err: unknown): boolean {
  return describeError(err).code === status.INTERNAL;
}
