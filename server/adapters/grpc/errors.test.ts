import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { CancelReason as CoreCancelReason, RejectCode } from '../../core/reasons.ts';
import { ValidationError } from '../../pairs/errors.ts';
import { CancelReason, RejectReason } from './generated/trading/v1/types.ts';
import { InvalidCredentialsError } from '../../ports/session-store.ts';
import { UnavailableError } from '../../ports/errors.ts';
import { LimitReachedError, NotFoundError, RateLimitedError, ResourceExhaustedError, RejectionError, UnauthenticatedError, describeError, describeRejection, toStatus, ApiRejectCode } from './errors.ts';

const snake = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

describe('the proto mirrors the core tables', () => {
  it.each(Object.entries(RejectCode))('RejectCode.%s has the same number in RejectReason', (name, code) => {
    expect((RejectReason as Record<string, unknown>)[`REJECT_REASON_${snake(name)}`]).toBe(code);
  });
  it.each(Object.entries(CoreCancelReason))('CancelReason.%s has the same number in the proto', (name, code) => {
    expect((CancelReason as Record<string, unknown>)[`CANCEL_REASON_${snake(name)}`]).toBe(code);
  });
  it('adapter reject codes do not collide with core codes', () => {
    const core = new Set<number>(Object.values(RejectCode));
    for (const code of Object.values(ApiRejectCode)) expect(core.has(code)).toBe(false);
  });
});

describe('describeError, the one mapping to gRPC status', () => {
  it.each([
    [RejectCode.InvalidQuantity, status.INVALID_ARGUMENT],
    [RejectCode.PriceOutOfBand, status.INVALID_ARGUMENT],
    [RejectCode.InvalidOrderId, status.INVALID_ARGUMENT],
    [RejectCode.UnknownOrder, status.NOT_FOUND],
    [RejectCode.DuplicateOrderId, status.ALREADY_EXISTS],
    [RejectCode.PostOnlyWouldTake, status.FAILED_PRECONDITION],
    [RejectCode.ReplaceNoChange, status.FAILED_PRECONDITION],
  ])('core code %i → status %i', (code, expected) => {
    expect(describeRejection({ ok: false, code, field: 'f', reason: 'r' }).code).toBe(expected);
    expect(describeError(new RejectionError({ ok: false, code, field: 'f', reason: 'r' })).code).toBe(expected);
  });

  it('keeps field and reason as data, in the message and in trailing metadata', () => {
    const s = toStatus(new ValidationError('price', '100.001 is not a multiple of the tick size 0.01'));
    expect(s.code).toBe(status.INVALID_ARGUMENT);
    expect(s.details).toBe('price: 100.001 is not a multiple of the tick size 0.01');
    expect(s.metadata?.get('x-field')).toEqual(['price']);
    expect(s.metadata?.get('x-reject-reason')).toEqual([String(RejectCode.InvalidPrice)]);
  });

  it('maps the other kinds', () => {
    expect(describeError(new NotFoundError('pair', 'unknown pair X', ApiRejectCode.UnknownPair)).code).toBe(status.NOT_FOUND);
    expect(describeError(new UnauthenticatedError('no account')).code).toBe(status.UNAUTHENTICATED);
    expect(describeError(new UnavailableError('server', 'shutting down')).code).toBe(status.UNAVAILABLE);
  });

  it('maps session errors: bad credentials are UNAUTHENTICATED, a down store UNAVAILABLE', () => {
    expect(describeError(new InvalidCredentialsError())).toMatchObject({ code: status.UNAUTHENTICATED, message: 'unknown API key id or wrong secret' });
    expect(describeError(new UnavailableError('redis', 'connection refused'))).toMatchObject({ code: status.UNAVAILABLE, message: 'redis unavailable: connection refused' });
  });

  it('answers a rate refusal with RESOURCE_EXHAUSTED and the retry hint in the message and in x-retry-after-ms', () => {
    const s = toStatus(new RateLimitedError(250, 10));
    expect(s.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(s.details).toBe('rate limit exceeded for this account: nothing was applied; retry after 250 ms');
    expect(s.metadata?.get('x-retry-after-ms')).toEqual(['250']);
  });

  it('builds refusals, rejections and bad-input errors without a stack trace (a flood of them walks no frames), and leaves Error.stackTraceLimit as it was', () => {
    const limit = Error.stackTraceLimit;
    const answers: [Error, number][] = [
      [new RateLimitedError(250, 1), status.RESOURCE_EXHAUSTED],
      [new ResourceExhaustedError('too many open streams'), status.RESOURCE_EXHAUSTED],
      [new RejectionError({ ok: false, code: RejectCode.UnknownOrder, field: 'order_id', reason: 'no order 7 for this account' }), status.NOT_FOUND],
      [new NotFoundError('pair', 'no pair XYZ', ApiRejectCode.UnknownPair), status.NOT_FOUND],
      [new LimitReachedError('open_orders', 'at most 10 open orders'), status.FAILED_PRECONDITION],
      [new ValidationError('price', 'not a multiple of the tick size'), status.INVALID_ARGUMENT],
    ];
    for (const [e, code] of answers) {
      expect(e.stack).not.toContain('\n    at ');
      expect(e.stack).toContain(e.message);
      expect(e).toBeInstanceOf(Error);
      expect(toStatus(e).code).toBe(code);
    }
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('a bug').stack).toContain('\n    at '); // other errors keep theirs
  });

  it('answers a bug with INTERNAL and leaks nothing', () => {
    expect(describeError(new TypeError('secret detail'))).toEqual({ code: status.INTERNAL, rejectReason: 0, field: '', message: 'internal error' });
  });
});
