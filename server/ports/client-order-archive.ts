/**
 * The durable record of client order ids: the `orders` table, asked when the order registry (bounded
 * retention) and the session store's fast path (IDEMPOTENCY_TTL_MS, bounded) no longer hold an order.
 * A client order id names one order of an account in a pair for good (a UNIQUE index enforces it), so
 * a resubmission of an order long closed is still answered with that order, never executed twice.
 */
import type { OrderRow } from './journal.ts';

export interface ClientOrderArchive {
  /**
   * The orders (not engine-refused submissions) of `account` in `pair` with these client order ids, by
   * client order id. Throws UnavailableError('postgresql') when the database cannot answer.
   */
  findByClientOrderIds(pair: string, account: string, clientOrderIds: readonly string[]): Promise<Map<string, OrderRow>>;
}
