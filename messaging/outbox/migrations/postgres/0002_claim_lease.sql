ALTER TABLE tailor_outbox ADD COLUMN claimed_until_us bigint;
