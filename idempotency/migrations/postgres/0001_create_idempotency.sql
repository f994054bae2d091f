CREATE TABLE tailor_idempotency (
    scope       text NOT NULL,
    idem_key    text NOT NULL,
    fingerprint bytea NOT NULL,
    state       text NOT NULL CHECK (state IN ('in_progress', 'done')),
    token       text NOT NULL,
    status      integer,
    headers     text,
    body        bytea,
    created_us  bigint NOT NULL,
    expires_us  bigint NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX tailor_idempotency_expires ON tailor_idempotency (expires_us);
