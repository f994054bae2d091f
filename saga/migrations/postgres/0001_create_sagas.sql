CREATE TABLE tailor_sagas (
    id               text PRIMARY KEY,
    name             text NOT NULL,
    data             text NOT NULL,
    state            text NOT NULL,
    step             integer NOT NULL,
    failed_step      text NOT NULL DEFAULT '',
    reason           text NOT NULL DEFAULT '',
    events           integer NOT NULL,
    created_us       bigint NOT NULL,
    updated_us       bigint NOT NULL,
    claim_token      text NOT NULL DEFAULT '',
    claimed_until_us bigint
);
CREATE INDEX tailor_sagas_unfinished ON tailor_sagas (updated_us) WHERE state IN ('running', 'compensating');
CREATE TABLE tailor_saga_events (
    saga_id    text NOT NULL,
    seq        integer NOT NULL,
    step       text NOT NULL,
    kind       text NOT NULL,
    attempts   integer NOT NULL,
    error      text NOT NULL DEFAULT '',
    started_us bigint NOT NULL,
    at_us      bigint NOT NULL,
    PRIMARY KEY (saga_id, seq)
);
