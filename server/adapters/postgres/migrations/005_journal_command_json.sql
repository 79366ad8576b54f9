-- 005: the journal's command is stored as `json` (its text, checked to be JSON) instead of `jsonb`.
-- The command is written once per applied command on the acknowledgement path and read back only by
-- recovery, whole: nothing queries inside it. jsonb parsed every command into its binary form on insert
-- (about 2 µs of the PostgreSQL backend per row, of some 16 µs per journal entry in all, measured with
-- bench:journal-write) and stored about twice the bytes (192 against 102 for a new order: more WAL), and
-- recovery had it printed back to text. json keeps the text as written: `command->>'kind'` still works.
-- Rewrites the table once (an exclusive lock for as long as that takes on a large journal).
ALTER TABLE journal ALTER COLUMN command TYPE json USING command::json;
