-- One row per order. status moves from pending to confirmed or to
-- cancelled, never back; reason says why a cancelled order did not go
-- through, and dependency names the service whose outage cancelled it,
-- when one did.
CREATE TABLE orders (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'cancelled')),
    reason      TEXT NOT NULL DEFAULT '',
    dependency  TEXT NOT NULL DEFAULT '',
    total       BIGINT NOT NULL CHECK (total > 0),
    currency    TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE INDEX orders_user_id ON orders (user_id, id);

-- The products of an order, at the unit price they had when it was placed.
CREATE TABLE order_lines (
    order_id    TEXT NOT NULL REFERENCES orders (id),
    line        INTEGER NOT NULL,
    product_id  TEXT NOT NULL,
    quantity    BIGINT NOT NULL CHECK (quantity > 0),
    unit_price  BIGINT NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, line)
);
