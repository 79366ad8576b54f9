/**
 * Errors that cross the ports: what an adapter throws when the outside world fails, in a shape the
 * inside (pairs) and the edge (gRPC, HTTP) both understand. No I/O here.
 */

/**
 * Base of the errors that are expected answers to a caller, not faults: bad input, rejections, refusals,
 * things not found. They are told to the caller and never logged with a stack, and a flood of them must
 * stay cheap, so they are built without a stack trace: V8 walks up to Error.stackTraceLimit frames when an
 * Error is made (about 6 µs for one thrown 15 frames deep against 0.6 µs with none); with 0 it walks
 * none, and `stack` is the first line only. Set around `super()`, restored at once. Bugs (any other
 * error) keep their stack.
 */
export class AnswerError extends Error {
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

/**
 * A dependency (PostgreSQL, Redis, the server itself, the trading gate) cannot take the work now. The
 * one such error: adapters and the gRPC edge throw this class, the gRPC mapping sends it as UNAVAILABLE
 * (the admin API as 503) with the message as is, always `<dependency> unavailable: <detail>`. The work
 * already handed over is kept (see each port for what "kept" means) and the caller may retry later.
 */
export class UnavailableError extends Error {
  constructor(
    /** Which dependency: `postgresql`, `redis`, `server`. */
    readonly dependency: string,
    /** What failed, readable by an operator; never parsed. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${dependency} unavailable: ${detail}`, options);
    this.name = 'UnavailableError';
  }
}

/**
 * Cluster mode: this replica does not own the pair (another does, or nobody while a hand-over is in
 * progress). Leaves as gRPC UNAVAILABLE with trailing metadata `x-pair-owner` / `x-pair-owner-address`
 * when the owner is known, else `x-retry-after-ms` (docs/cluster.md, the protos' comments). Nothing was applied.
 */
export class PairNotOwnedError extends UnavailableError {
  constructor(
    readonly pair: string,
    /** The owner's replica id; undefined while the pair has no owner. */
    readonly owner: string | undefined,
    /** The owner's advertised gRPC host:port. */
    readonly ownerAddress: string | undefined,
    /** Retry hint while there is no owner (about one renew interval). */
    readonly retryAfterMs: number,
  ) {
    super(
      'cluster',
      owner === undefined
        ? `${pair} has no owner right now (hand-over in progress); nothing was applied — retry in about ${retryAfterMs} ms`
        : `${pair} is owned by replica ${owner} at ${ownerAddress ?? 'an unknown address'}; nothing was applied — send it there`,
    );
    this.name = 'PairNotOwnedError';
  }
}
