CREATE TABLE tailor_sagas (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    data             TEXT NOT NULL,
    state            TEXT NOT NULL,
    step             INTEGER NOT NULL,
    failed_step      TEXT NOT NULL DEFAULT '',
    reason           TEXT NOT NULL DEFAULT '',
    events           INTEGER NOT NULL,
    created_us       INTEGER NOT NULL,
    updated_us       INTEGER NOT NULL,
    claim_token      TEXT NOT NULL DEFAULT '',
    claimed_until_us INTEGER
);
CREATE INDEX tailor_sagas_unfinished ON tailor_sagas (updated_us) WHERE state IN ('running', 'compensating');
CREATE TABLE tailor_saga_events (
    saga_id    TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    step       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    error      TEXT NOT NULL DEFAULT '',
    started_us INTEGER NOT NULL,
    at_us      INTEGER NOT NULL,
    PRIMARY KEY (saga_id, seq)
);
