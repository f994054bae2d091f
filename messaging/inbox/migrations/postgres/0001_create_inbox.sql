CREATE TABLE tailor_inbox (
    consumer   text NOT NULL,
    event_id   text NOT NULL,
    handled_us bigint NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX tailor_inbox_handled ON tailor_inbox (handled_us);
