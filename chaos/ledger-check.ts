/**
 * The ledger check every drill ends with, against the drill's own PostgreSQL schema (the `orders` and
 * `trades` projections the journal writer keeps in the same transaction as the journal):
 * - every acknowledged order is there (pair, account, client order id), every acknowledged cancel left it
 *   cancelled, every acknowledged fill's trade is there (lost = how many are missing);
 * - no client order id appears twice for one account and pair, no trade id twice (duplicated);
 * - filled quantities conserve: per pair, the buy orders' filled lots = the sell orders' filled lots = the
 *   trades' lots, and each order's filled lots = the lots of the trades it took part in;
 * - the book is not crossed: the best open bid is below the best open ask.
 */
import pg from 'pg';

/** What the client side was told (from the simulator's ledger, plus the drill's own probe orders). */
export interface AckedOrder {
  pair: string;
  account: string;
  clientOrderId: string;
  /** The order id in the acknowledgement, when there was one. */
  orderId?: string;
  /** A cancel of it was acknowledged (it must be cancelled, not resting, not lost). */
  cancelAcked?: boolean;
  /** Trade ids of fills the client was told about. */
  tradeIds?: readonly string[];
}

export interface LedgerReport {
  acknowledged: number;
  lost: number;
  duplicated: number;
  /** Human-readable problems, at most a few dozen. */
  problems: string[];
  /** Figures checked: per pair filled lots and trades. */
  figures: Record<string, { orders: number; trades: number; buyFilledLots: string; sellFilledLots: string; tradeLots: string; bestBid: string | null; bestAsk: string | null }>;
}

export async function checkLedger(databaseUrl: string, schema: string, acked: readonly AckedOrder[]): Promise<LedgerReport> {
  const client = new pg.Client({ connectionString: databaseUrl, options: `-c search_path=${schema}`, connectionTimeoutMillis: 10_000 });
  await client.connect();
  const problems: string[] = [];
  const problem = (p: string): void => {
    if (problems.length < 40) problems.push(p);
  };
  let lost = 0;
  let duplicated = 0;
  try {
    const orders = await client.query<{ pair: string; order_id: string; account: string; client_order_id: string; status: string; filled_lots: string }>(
      'SELECT pair, order_id::text, account, client_order_id, status, filled_lots::text FROM orders',
    );
    const byCid = new Map<string, (typeof orders.rows)[number]>();
    for (const r of orders.rows) if (r.client_order_id !== '') byCid.set(`${r.pair}\u0000${r.account}\u0000${r.client_order_id}`, r);

    const dupOrders = await client.query<{ pair: string; account: string; client_order_id: string; n: string }>(
      `SELECT pair, account, client_order_id, count(*)::text AS n FROM orders WHERE client_order_id <> '' GROUP BY 1, 2, 3 HAVING count(*) > 1`,
    );
    for (const d of dupOrders.rows) {
      duplicated += Number(d.n) - 1;
      problem(`duplicated: ${d.pair} ${d.account} ${d.client_order_id} appears ${d.n} times`);
    }

    const trades = await client.query<{ pair: string; trade_id: string; maker_order_id: string; taker_order_id: string; quantity_lots: string }>(
      'SELECT pair, trade_id::text, maker_order_id::text, taker_order_id::text, quantity_lots::text FROM trades',
    );
    const tradeIds = new Set<string>();
    const lotsByOrder = new Map<string, bigint>();
    for (const t of trades.rows) {
      const key = `${t.pair}\u0000${t.trade_id}`;
      if (tradeIds.has(key)) {
        duplicated++;
        problem(`duplicated trade ${t.pair} #${t.trade_id}`);
      }
      tradeIds.add(key);
      for (const o of [t.maker_order_id, t.taker_order_id]) {
        const k = `${t.pair}\u0000${o}`;
        lotsByOrder.set(k, (lotsByOrder.get(k) ?? 0n) + BigInt(t.quantity_lots));
      }
    }

    for (const a of acked) {
      const row = byCid.get(`${a.pair}\u0000${a.account}\u0000${a.clientOrderId}`);
      if (row === undefined) {
        lost++;
        problem(`lost: acknowledged order ${a.pair} ${a.account} ${a.clientOrderId} is not in the orders table`);
        continue;
      }
      if (a.cancelAcked && row.status !== 'cancelled') {
        lost++;
        problem(`lost cancel: ${a.pair} ${a.clientOrderId} was acknowledged cancelled, is ${row.status}`);
      }
      for (const t of a.tradeIds ?? []) {
        if (!tradeIds.has(`${a.pair}\u0000${t}`)) {
          lost++;
          problem(`lost fill: trade ${a.pair} #${t} of ${a.clientOrderId} is not in the trades table`);
        }
      }
    }

    // Every order's filled lots = its trades' lots.
    for (const r of orders.rows) {
      const fromTrades = lotsByOrder.get(`${r.pair}\u0000${r.order_id}`) ?? 0n;
      if (fromTrades !== BigInt(r.filled_lots)) problem(`order ${r.pair} #${r.order_id}: filled ${r.filled_lots} lots but its trades add up to ${fromTrades}`);
    }

    const sums = await client.query<{ pair: string; side: number; n: string; filled: string }>(
      'SELECT pair, side, count(*)::text AS n, coalesce(sum(filled_lots), 0)::text AS filled FROM orders GROUP BY 1, 2',
    );
    const tradeSums = await client.query<{ pair: string; n: string; lots: string }>('SELECT pair, count(*)::text AS n, coalesce(sum(quantity_lots), 0)::text AS lots FROM trades GROUP BY 1');
    const touch = await client.query<{ pair: string; side: number; best: string }>(
      `SELECT pair, side, (CASE WHEN side = 0 THEN max(price_ticks) ELSE min(price_ticks) END)::text AS best
         FROM orders WHERE status IN ('new', 'partially_filled') AND remaining_lots > 0 AND order_type = 0 GROUP BY 1, 2`,
    );
    const figures: LedgerReport['figures'] = {};
    const pairs = new Set([...sums.rows.map((r) => r.pair), ...tradeSums.rows.map((r) => r.pair)]);
    for (const p of pairs) {
      const buy = sums.rows.find((r) => r.pair === p && Number(r.side) === 0);
      const sell = sums.rows.find((r) => r.pair === p && Number(r.side) === 1);
      const tr = tradeSums.rows.find((r) => r.pair === p);
      const bid = touch.rows.find((r) => r.pair === p && Number(r.side) === 0)?.best ?? null;
      const ask = touch.rows.find((r) => r.pair === p && Number(r.side) === 1)?.best ?? null;
      const f = {
        orders: Number(buy?.n ?? 0) + Number(sell?.n ?? 0),
        trades: Number(tr?.n ?? 0),
        buyFilledLots: buy?.filled ?? '0',
        sellFilledLots: sell?.filled ?? '0',
        tradeLots: tr?.lots ?? '0',
        bestBid: bid,
        bestAsk: ask,
      };
      figures[p] = f;
      if (f.buyFilledLots !== f.sellFilledLots || f.buyFilledLots !== f.tradeLots) problem(`${p}: buys filled ${f.buyFilledLots} lots, sells ${f.sellFilledLots}, trades ${f.tradeLots}: not conserved`);
      if (bid !== null && ask !== null && BigInt(bid) >= BigInt(ask)) problem(`${p}: book crossed: best bid ${bid} ticks >= best ask ${ask} ticks`);
    }
    return { acknowledged: acked.length, lost, duplicated, problems, figures };
  } finally {
    await client.end();
  }
}
