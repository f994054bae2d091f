ALTER TABLE tailor_outbox ADD COLUMN claimed_until_us INTEGER;
CREATE INDEX tailor_outbox_pending_aggregate ON tailor_outbox (aggregate, seq) WHERE sent_us IS NULL;
