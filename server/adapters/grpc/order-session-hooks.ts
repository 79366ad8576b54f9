/**
 * What OrdersService asks of the session store besides "who is calling": the per-account rate limit and
 * the idempotency fast path of client order ids. An interface so the service can run without a store
 * (no limits, the registry alone for idempotency) and tests can count calls; `sessionHooks` builds it
 * over a SessionStore. No matching logic here.
 */
import type { Metadata } from '@grpc/grpc-js';
import { inProcessSessions, type ClientOrderResult, type InProcessClientOrders, type RateDecision, type SessionStore } from '../../ports/session-store.ts';
import { RateLimitedError } from './errors.ts';

export interface OrderSessionHooks {
  /**
   * Takes `cost` (1 per call, the item count of a batch or flow message) from the account's bucket;
   * rejects with RateLimitedError when refused, UnavailableError when the store cannot answer. A store
   * in this process decides at once: undefined when admitted, RateLimitedError thrown when refused.
   */
  admit(account: string, cost: number): Promise<void> | undefined;
  /** The first result recorded for (account, pair, client order id) within the idempotency TTL. */
  lookupClientOrder(account: string, pair: string, clientOrderId: string): Promise<ClientOrderResult | undefined>;
  /** Records the first result; first writer wins (returns what is on record). */
  rememberClientOrder(account: string, pair: string, clientOrderId: string, result: ClientOrderResult): Promise<ClientOrderResult>;
  /**
   * The same two, answered synchronously, when the store lives in this process (MemorySessionStore):
   * no promise per order. Absent for stores behind a network (Redis).
   */
  readonly clientOrdersNow?: InProcessClientOrders;
  /**
   * Re-checks the session of a long-lived call (OrderFlow), at most once per `streamRecheckMs`: rejects
   * with UnauthenticatedError once it was logged out or expired. Absent: streams are checked only when
   * they open.
   */
  revalidate?(metadata: Metadata): Promise<unknown>;
  /** Least time between two re-checks of one stream's session. */
  readonly streamRecheckMs: number;
}

/** Default for SessionHooksOptions.streamRecheckMs. */
export const DEFAULT_STREAM_RECHECK_MS = 1_000;

export interface SessionHooksOptions {
  /**
   * The store's bucket size. A cost above it could never pass (the store refuses it with RangeError), so
   * larger work is charged the whole bucket instead: it passes only from a full bucket. Config keeps the
   * burst at or above the largest batch, so this only matters for stores built with smaller limits.
   */
  rateLimitBurst: number;
  /** Re-checks a stream's session (SessionAuthenticator.revalidate). @default none */
  revalidate?: (metadata: Metadata) => Promise<unknown>;
  /**
   * How often an open OrderFlow stream's session is checked again (before the next message after this
   * much time). Lower ends streams of logged-out or expired sessions sooner; each check is one store
   * read (a Redis round trip). 0 checks before every message.
   * @default 1000
   */
  streamRecheckMs?: number;
}

export function sessionHooks(store: SessionStore, options: SessionHooksOptions): OrderSessionHooks {
  const burst = options.rateLimitBurst;
  const now = inProcessSessions(store);
  const decide = (decision: RateDecision, cost: number): void => {
    if (!decision.allowed) throw new RateLimitedError(decision.retryAfterMs, cost);
  };
  return {
    admit(account, cost) {
      const charged = Math.min(Math.max(1, cost), burst);
      if (now !== undefined) {
        decide(now.consumeNow(account, charged), cost);
        return undefined;
      }
      return store.consume(account, charged).then((d) => decide(d, cost));
    },
    lookupClientOrder: (account, pair, clientOrderId) => store.lookupClientOrder(account, pair, clientOrderId),
    rememberClientOrder: (account, pair, clientOrderId, result) => store.rememberClientOrder(account, pair, clientOrderId, result),
    clientOrdersNow: now,
    revalidate: options.revalidate,
    streamRecheckMs: options.streamRecheckMs ?? DEFAULT_STREAM_RECHECK_MS,
  };
}
