-- 004: fewer index entries written per command. The journal writer upserts every touched order and
-- inserts every trade in the same statement as the journal rows, so every index on `orders` and
-- `trades` is maintained on the ack path (an order's update changes `status`, a column of the partial
-- unique index's predicate, so it is never a HOT update: every index gets a new entry).
-- Two of them are read by nothing:
-- - idx_orders_account (pair, account, client_order_id): the client-order-id lookup
--   (postgres-client-order-archive.ts) filters `client_order_id <> '' AND status <> 'rejected'`, which is
--   exactly the predicate of orders_client_order_id_unique (002), on the same columns.
-- - idx_trades_created_at: no query of the service, the runbook or the maintenance script selects
--   trades by time (the 90-day archive is of order_book_snapshots).
-- idx_orders_timestamp stays: the weekly maintenance reindexes it by name.
DROP INDEX IF EXISTS idx_orders_account;
DROP INDEX IF EXISTS idx_trades_created_at;
