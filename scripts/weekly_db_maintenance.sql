-- Weekly database maintenance
-- Run during low-traffic periods

-- The runbook's "Database Maintenance" SQL (docs/runbook.md), run as:
--   psql -v ON_ERROR_STOP=1 -f scripts/weekly_db_maintenance.sql "$DATABASE_URL"
-- psql sends the statements one by one, outside a transaction block, as VACUUM and
-- REINDEX ... CONCURRENTLY require (so never run it with --single-transaction).
-- One deviation from the runbook text, in step 4: pg_stat_user_tables has no column "tablename"
-- (it is "relname"), so the runbook's query fails on every PostgreSQL version; it selects
-- relname AS tablename and sizes by relid, which also survives names that need quoting.

-- 1. Update table statistics
ANALYZE;

-- 2. Vacuum tables
VACUUM (ANALYZE, VERBOSE) orders;
VACUUM (ANALYZE, VERBOSE) trades;
VACUUM (ANALYZE, VERBOSE) order_book_snapshots;

-- 3. Reindex if needed
REINDEX INDEX CONCURRENTLY idx_orders_timestamp;

-- 4. Check for bloat
SELECT schemaname, relname AS tablename,
       pg_size_pretty(pg_total_relation_size(relid)) as size,
       n_dead_tup, n_live_tup
FROM pg_stat_user_tables
WHERE n_dead_tup > 1000
ORDER BY pg_total_relation_size(relid) DESC;

-- 5. Archive old data (older than 90 days)
DELETE FROM order_book_snapshots
WHERE created_at < NOW() - INTERVAL '90 days';
