-- 001: journal, projections (orders, trades), snapshots, instruments, per-pair control state.
-- Tables are created in the connection's current schema (search_path), so tests can use one schema each.

-- The command journal: the source of truth. One row per applied command of a pair, gap-free per pair.
CREATE TABLE journal (
    pair             text        NOT NULL,
    sequence         bigint      NOT NULL CHECK (sequence > 0),
    command          jsonb       NOT NULL,
    account          text        NOT NULL,
    client_order_id  text        NOT NULL DEFAULT '',
    timestamp_ms     bigint      NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pair, sequence)
);

-- Projection: every order's latest state (upserted by the journal writer in the same transaction).
CREATE TABLE orders (
    pair              text        NOT NULL,
    order_id          bigint      NOT NULL,
    account           text        NOT NULL,
    client_order_id   text        NOT NULL DEFAULT '',
    side              smallint    NOT NULL,
    order_type        smallint    NOT NULL,
    tif               smallint    NOT NULL,
    post_only         boolean     NOT NULL,
    stp               smallint    NOT NULL,
    price_ticks       bigint      NOT NULL,
    quantity_lots     bigint      NOT NULL,
    filled_lots       bigint      NOT NULL,
    remaining_lots    bigint      NOT NULL,
    status            text        NOT NULL,
    cancel_reason     smallint    NOT NULL DEFAULT 0,
    journal_sequence  bigint      NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (pair, order_id)
);
-- The runbook's weekly maintenance reindexes this one by name.
CREATE INDEX idx_orders_timestamp ON orders (created_at);
CREATE INDEX idx_orders_account ON orders (pair, account, client_order_id);

CREATE TABLE trades (
    pair              text        NOT NULL,
    trade_id          bigint      NOT NULL,
    maker_order_id    bigint      NOT NULL,
    maker_account     text        NOT NULL,
    taker_order_id    bigint      NOT NULL,
    taker_account     text        NOT NULL,
    taker_side        smallint    NOT NULL,
    price_ticks       bigint      NOT NULL,
    quantity_lots     bigint      NOT NULL,
    journal_sequence  bigint      NOT NULL,
    created_at        timestamptz NOT NULL,
    PRIMARY KEY (pair, trade_id)
);
CREATE INDEX idx_trades_created_at ON trades (created_at);

-- Snapshots bound recovery time; the runbook deletes those older than 90 days by created_at.
CREATE TABLE order_book_snapshots (
    id          bigserial   PRIMARY KEY,
    pair        text        NOT NULL,
    sequence    bigint      NOT NULL,
    payload     jsonb       NOT NULL,
    -- sha256 (hex) of the payload's canonical JSON (keys sorted): corruption is detected on load.
    checksum    text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_order_book_snapshots_pair_sequence ON order_book_snapshots (pair, sequence DESC, id DESC);

CREATE TABLE instruments (
    symbol      text        PRIMARY KEY,
    spec        jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Migration state/percentage and breaker state per pair, so a restart keeps them.
CREATE TABLE pair_state (
    pair        text        PRIMARY KEY,
    state       jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
