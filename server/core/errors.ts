/** Errors the core can throw. Business rejections are values (Outcome), never exceptions. */

/** A book's internal state broke a rule it must always keep: a bug. Opens the pair's breaker. */
export class InvariantError extends Error {
  constructor(
    readonly implementation: string,
    readonly rule: string,
    detail: string,
  ) {
    super(`${implementation} book invariant "${rule}" violated: ${detail}`);
    this.name = 'InvariantError';
  }
}
