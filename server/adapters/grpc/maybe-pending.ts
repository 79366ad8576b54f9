/**
 * A step of a call that is usually done at once (the in-process session store, no journal) and only
 * sometimes has to wait (Redis, a durable write). Written as `undefined` (done) or a promise, so the
 * common case runs straight through without a promise, an async frame or a microtask hop per step:
 * in a unary call those were a measurable share of the server's CPU (bench-results, issue 9).
 */

/** Done (undefined) or a promise of it; a rejection is the step's error. */
export type Pending = Promise<unknown> | undefined;

/** `next()` now when `step` is done, else once it resolves (its rejection skips `next`). */
export function after<T>(step: Pending, next: () => T | Promise<T>): T | Promise<T> {
  return step === undefined ? next() : step.then(next);
}
