CREATE TABLE tailor_idempotency (
    scope       TEXT NOT NULL,
    idem_key    TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
    token       TEXT NOT NULL,
    status      INTEGER,
    headers     TEXT,
    body        BLOB,
    created_us  INTEGER NOT NULL,
    expires_us  INTEGER NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX tailor_idempotency_expires ON tailor_idempotency (expires_us);
