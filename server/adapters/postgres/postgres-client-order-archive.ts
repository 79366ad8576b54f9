/**
 * ClientOrderArchive on PostgreSQL: one indexed query per call (the UNIQUE index of migration 002 on
 * pair, account, client_order_id), and the database's identity (service_identity, made at migration).
 */
import type { Pool } from 'pg';
import type { ClientOrderArchive } from '../../ports/client-order-archive.ts';
import { UnavailableError } from '../../ports/errors.ts';
import type { JournalOrderStatus, OrderRow } from '../../ports/journal.ts';

interface Row {
  order_id: string;
  account: string;
  client_order_id: string;
  side: number;
  order_type: number;
  tif: number;
  post_only: boolean;
  stp: number;
  price_ticks: string;
  quantity_lots: string;
  filled_lots: string;
  remaining_lots: string;
  status: JournalOrderStatus;
  cancel_reason: number;
  created_ms: string;
  updated_ms: string;
}

export class PostgresClientOrderArchive implements ClientOrderArchive {
  constructor(private readonly pool: Pool) {}

  async findByClientOrderIds(pair: string, account: string, clientOrderIds: readonly string[]): Promise<Map<string, OrderRow>> {
    const out = new Map<string, OrderRow>();
    if (clientOrderIds.length === 0) return out;
    let rows: Row[] | undefined;
    let lastError: unknown;
    // Twice: a pooled connection the server dropped (after an outage) fails once, the next is fresh.
    for (let attempt = 0; attempt < 2 && rows === undefined; attempt++) {
      try {
        ({ rows } = await this.pool.query<Row>(
        `SELECT order_id, account, client_order_id, side, order_type, tif, post_only, stp, price_ticks, quantity_lots, filled_lots,
                remaining_lots, status, cancel_reason,
                round(extract(epoch FROM created_at) * 1000)::bigint AS created_ms, round(extract(epoch FROM updated_at) * 1000)::bigint AS updated_ms
           FROM orders
          WHERE pair = $1 AND account = $2 AND client_order_id = ANY($3::text[]) AND client_order_id <> '' AND NOT is_rejected`, // the unique index's predicate (006)
        [pair, account, [...new Set(clientOrderIds)]],
        ));
      } catch (err) {
        lastError = err;
      }
    }
    if (rows === undefined) {
      throw new UnavailableError('postgresql', `cannot look up client order ids in the orders table (nothing was applied): ${lastError instanceof Error ? lastError.message : String(lastError)}`, { cause: lastError });
    }
    for (const r of rows) {
      out.set(r.client_order_id, {
        orderId: Number(r.order_id),
        account: r.account,
        clientOrderId: r.client_order_id,
        side: r.side,
        type: r.order_type,
        tif: r.tif,
        postOnly: r.post_only,
        stp: r.stp,
        price: Number(r.price_ticks),
        quantity: Number(r.quantity_lots),
        filled: Number(r.filled_lots),
        remaining: Number(r.remaining_lots),
        status: r.status,
        cancelReason: r.cancel_reason,
        createdAtMs: Number(r.created_ms),
        updatedAtMs: Number(r.updated_ms),
      } as OrderRow);
    }
    return out;
  }
}

/** The random id of this database (migration 002), which Redis idempotency records are scoped to. */
export async function readDatabaseId(pool: Pool): Promise<string> {
  const { rows } = await pool.query<{ database_id: string }>('SELECT database_id FROM service_identity');
  if (rows.length !== 1) throw new Error('service_identity must hold exactly one row (migration 002)');
  return rows[0]!.database_id;
}
