/**
 * A step of a call that is usually done at once (the in-process session store, no journal) and only
 * sometimes has to wait (Redis, a durable write): `undefined` when done, else a promise of it (its
 * rejection is the step's error). Callers `await` it either way; the step itself allocates no promise
 * and runs no async frame when it has nothing to wait for.
 */
export type Pending = Promise<unknown> | undefined;
