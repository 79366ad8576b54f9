/**
 * Errors thrown by per-pair control (server/pairs). Bad input is thrown at the boundary as a ValidationError
 * carrying the field it is about, so adapters map it to gRPC INVALID_ARGUMENT / HTTP 400 without parsing the
 * message. Must not import anything outside server/core and server/ports.
 */

import { AnswerError } from '../ports/errors.ts';

/** Bad input: names the field and why; the operation it was given to changed nothing. No stack trace (an answer). */
export class ValidationError extends AnswerError {
  constructor(
    /** The offending field as the caller spelled it (`percentage`, `pair`, `latencyBudgetMs`, ...). */
    readonly field: string,
    /** Why the value was refused, readable by an operator. */
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'ValidationError';
  }
}
