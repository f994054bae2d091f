-- The Idempotency-Key of the request that placed the order. A client's
-- retry whose first answer was never stored (the process died while
-- placing it) runs again; with the key recorded here it finds the order
-- it placed rather than placing a second one.
ALTER TABLE orders ADD COLUMN idempotency_key TEXT;

CREATE UNIQUE INDEX orders_user_idempotency_key ON orders (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
