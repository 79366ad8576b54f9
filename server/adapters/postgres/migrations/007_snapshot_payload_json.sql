-- 007: a snapshot's payload is stored as `json` (its text, checked to be JSON) instead of `jsonb`, and
-- compressed with lz4 where the server has it (pglz otherwise, as before).
-- A payload is written whole by the snapshot writer while commands are being journaled and read back
-- whole by recovery (as text, whose checksum it verifies): nothing queries inside it on the hot paths.
-- jsonb built its binary tree of every value on insert and printed it back to text for recovery; for a
-- 23 MB payload of 80,000 orders on a 2-core host: insert 1.4-1.8 s as jsonb, 0.53 s as json, 0.29-0.45
-- s as json with lz4; read back as text 0.29-0.34 s against 0.09-0.13 s. That insert is PostgreSQL work
-- on the core the journal's commits need. `payload->'orders'` still works; jsonb operators need a cast.
-- Rewrites the table once (an exclusive lock for as long as that takes; the snapshot archive keeps it small).
ALTER TABLE order_book_snapshots ALTER COLUMN payload TYPE json USING payload::json;
DO $$
BEGIN
  EXECUTE 'ALTER TABLE order_book_snapshots ALTER COLUMN payload SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
  NULL; -- a server built without lz4 keeps its default compression
END
$$;
