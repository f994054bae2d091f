-- One review per user per product: the unique constraint is the rule,
-- whatever the code does and however many instances write at once.
CREATE TABLE reviews (
    id         TEXT PRIMARY KEY,
    product_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    rating     INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (product_id, user_id)
);

-- A product's reviews, newest first: the ids are version 7 UUIDs, which
-- sort by creation time.
CREATE INDEX reviews_by_product ON reviews (product_id, id);

-- Who bought what, learned from the orders' order.confirmed events: only
-- a buyer may review a product.
CREATE TABLE purchases (
    user_id    TEXT NOT NULL,
    product_id TEXT NOT NULL,
    PRIMARY KEY (user_id, product_id)
);
