-- 002: client order ids are unique per (pair, account) in the orders table, and the database has an
-- identity that idempotency records kept elsewhere (Redis) are tied to.

-- A client order id names one order of an account in a pair, for good: the service answers a
-- resubmission from this table when the order registry and the session store no longer hold it, and
-- this index makes a second order with the same id impossible. Engine-refused submissions ('rejected'
-- rows) created no order, so a retry of one is a new attempt and may reuse the id.
DO $$
DECLARE
    duplicates bigint;
BEGIN
    SELECT count(*) INTO duplicates FROM (
        SELECT 1 FROM orders
        WHERE client_order_id <> '' AND status <> 'rejected'
        GROUP BY pair, account, client_order_id
        HAVING count(*) > 1
    ) d;
    IF duplicates > 0 THEN
        RAISE EXCEPTION 'orders holds % client order ids used by more than one order (left by an older version; see docs/operations.md "Limits", duplicate client order ids). Find them with: SELECT pair, account, client_order_id, array_agg(order_id ORDER BY order_id) FROM orders WHERE client_order_id <> '''' AND status <> ''rejected'' GROUP BY 1, 2, 3 HAVING count(*) > 1', duplicates;
    END IF;
END $$;

CREATE UNIQUE INDEX orders_client_order_id_unique ON orders (pair, account, client_order_id)
    WHERE client_order_id <> '' AND status <> 'rejected';

-- One row: a random id made when this database was created (migrated). A new or reset database gets a
-- new one, so records describing another database's orders (Redis idempotency records) are not used.
CREATE TABLE service_identity (
    singleton    boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    database_id  text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO service_identity (database_id) VALUES (gen_random_uuid()::text);
