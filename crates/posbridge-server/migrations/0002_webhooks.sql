-- posbridge-server: where each tenant's webhook stream stands. `last_event_id` is the
-- last outbox event (posbridge_outbox_events.id) the tenant's URL acknowledged; the
-- instance holding the lease sends the next one. Times are Unix milliseconds (UTC).
CREATE TABLE posbridge_server_webhooks (
    tenant          TEXT    PRIMARY KEY,
    last_event_id   BIGINT  NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_status     INTEGER,
    last_error      TEXT,
    sent            BIGINT  NOT NULL DEFAULT 0,
    updated_at      BIGINT  NOT NULL
);
