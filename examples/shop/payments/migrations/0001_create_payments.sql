-- One row per idempotency key, whatever happened under it: the UNIQUE
-- constraint on payment_key is what makes a key charge at most once, and
-- what keeps a voided key (refunded before any charge) from being charged
-- later.
CREATE TABLE payments (
    id          TEXT PRIMARY KEY,
    payment_key TEXT NOT NULL UNIQUE,
    order_id    TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    amount      BIGINT NOT NULL,
    currency    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('charged', 'declined', 'refunded', 'voided')),
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    -- A voided key, never charged, has no amount; every other payment has
    -- one.
    CHECK (CASE WHEN status = 'voided' THEN amount = 0 ELSE amount > 0 END)
);

CREATE INDEX payments_order_id ON payments (order_id, created_at);
