/**
 * Errors that cross the ports: what an adapter throws when the outside world fails, in a shape the
 * inside (pairs) and the edge (gRPC, HTTP) both understand. No I/O here.
 */

/**
 * A dependency (PostgreSQL, Redis, the server itself) cannot take the work now. Leaves as gRPC
 * UNAVAILABLE with a clear message; the work already handed over is kept (see each port for what
 * "kept" means) and the caller may retry later.
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
