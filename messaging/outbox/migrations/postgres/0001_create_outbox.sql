CREATE TABLE tailor_outbox (
    seq        bigserial PRIMARY KEY,
    event_id   text NOT NULL,
    subject    text NOT NULL,
    aggregate  text NOT NULL DEFAULT '',
    headers    text NOT NULL DEFAULT '',
    body       bytea NOT NULL,
    created_us bigint NOT NULL,
    sent_us    bigint
);
CREATE INDEX tailor_outbox_pending ON tailor_outbox (seq) WHERE sent_us IS NULL;
CREATE INDEX tailor_outbox_pending_aggregate ON tailor_outbox (aggregate, seq) WHERE sent_us IS NULL;
CREATE INDEX tailor_outbox_sent ON tailor_outbox (sent_us) WHERE sent_us IS NOT NULL;
