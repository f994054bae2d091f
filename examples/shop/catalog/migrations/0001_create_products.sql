CREATE TABLE products (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    price_amount   BIGINT NOT NULL,
    price_currency TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
