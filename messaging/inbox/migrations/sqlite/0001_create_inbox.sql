CREATE TABLE tailor_inbox (
    consumer   TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    handled_us INTEGER NOT NULL,
    PRIMARY KEY (consumer, event_id)
) WITHOUT ROWID;
CREATE INDEX tailor_inbox_handled ON tailor_inbox (handled_us);
