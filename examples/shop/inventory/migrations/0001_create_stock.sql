-- The CHECK constraints are the never-oversell guarantee: whatever the
-- code does, the database refuses a row with negative stock.
CREATE TABLE stock (
    product_id TEXT PRIMARY KEY,
    available  BIGINT NOT NULL CHECK (available >= 0),
    reserved   BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE reservations (
    id         TEXT PRIMARY KEY,
    state      TEXT NOT NULL CHECK (state IN ('reserved', 'released', 'committed')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE reservation_items (
    reservation_id TEXT NOT NULL REFERENCES reservations (id),
    product_id     TEXT NOT NULL REFERENCES stock (product_id),
    quantity       BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (reservation_id, product_id)
);
