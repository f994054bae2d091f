CREATE TABLE tailor_outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    aggregate  TEXT NOT NULL DEFAULT '',
    headers    TEXT NOT NULL DEFAULT '',
    body       BLOB NOT NULL,
    created_us INTEGER NOT NULL,
    sent_us    INTEGER
);
CREATE INDEX tailor_outbox_pending ON tailor_outbox (seq) WHERE sent_us IS NULL;
CREATE INDEX tailor_outbox_sent ON tailor_outbox (sent_us) WHERE sent_us IS NOT NULL;
