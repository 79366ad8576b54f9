/**
 * Errors that cross the ports: what an adapter throws when the outside world fails, in a shape the
 * inside (pairs) and the edge (gRPC, HTTP) both understand. No I/O here.
 */

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
