-- posbridge outbox: one row per (tenant, vendor, sale reference).
-- Times are Unix milliseconds (UTC). Money lives only inside `payload`, the sale as
-- JSON with every amount a decimal string: never a float.
CREATE TABLE posbridge_outbox_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant          TEXT    NOT NULL,
    vendor          TEXT    NOT NULL,
    reference       TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    revision        INTEGER NOT NULL DEFAULT 1,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    resend          INTEGER NOT NULL DEFAULT 0,
    vendor_id       TEXT,
    disposition     TEXT,
    delivered_by    TEXT,
    last_error      TEXT,
    last_error_kind TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    UNIQUE (tenant, vendor, reference)
);
CREATE INDEX posbridge_outbox_due ON posbridge_outbox_deliveries (tenant, vendor, state, next_attempt_at);
CREATE INDEX posbridge_outbox_lease ON posbridge_outbox_deliveries (state, lease_until);
