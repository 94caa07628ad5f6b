-- The history of every delivery (issue: the operator console and webhooks): one row per
-- change of a delivery's state, written by triggers in the same statement as the change,
-- so every path (enqueue, a worker's outcome, the lease sweep, block and unblock,
-- release, retry, resolve) records it atomically without each statement knowing.
-- A worker's claim (into `delivering`) is not recorded: it would double the rows, and
-- the outcome that ends it says `from_state = 'delivering'`. An upsert vendor's sale
-- queued again as an update (its revision changes) is recorded even when its state
-- stays `pending`. `attempt` is the row's attempts after the change; `error` and
-- `error_kind` its last error; `actor` who made the change, where the row tells:
-- `enqueue`, the worker (its id, for a delivery or an ended claim), `operator`, or
-- `sweep` (a worker's sweep: orphaned claims, blocking and unblocking). Times are Unix
-- milliseconds (UTC): `at` is the row's `updated_at` as the change wrote it.
-- Events are kept when a delivered delivery is purged. `duration_ms` is how long the
-- attempt an outcome ends took (the vendor's request), from the delivery's new
-- `last_attempt_ms`, which a worker writes with each outcome (NULL when it sent nothing,
-- and for a claim the sweep or a release ends).
ALTER TABLE posbridge_outbox_deliveries ADD COLUMN last_attempt_ms INTEGER;
CREATE TABLE posbridge_outbox_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id INTEGER NOT NULL,
    tenant      TEXT    NOT NULL,
    vendor      TEXT    NOT NULL,
    reference   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    from_state  TEXT,
    to_state    TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    error_kind  TEXT,
    error       TEXT,
    disposition TEXT,
    vendor_id   TEXT,
    actor       TEXT,
    duration_ms INTEGER,
    at          INTEGER NOT NULL
);
CREATE INDEX posbridge_outbox_events_tenant ON posbridge_outbox_events (tenant, id);
CREATE INDEX posbridge_outbox_events_delivery ON posbridge_outbox_events (delivery_id, id);
CREATE INDEX posbridge_outbox_events_at ON posbridge_outbox_events (at);

CREATE TRIGGER posbridge_outbox_events_on_insert AFTER INSERT ON posbridge_outbox_deliveries
BEGIN
    INSERT INTO posbridge_outbox_events (delivery_id, tenant, vendor, reference, kind, from_state, to_state,
        attempt, error_kind, error, disposition, vendor_id, actor, duration_ms, at)
    VALUES (new.id, new.tenant, new.vendor, new.reference, new.kind, NULL, new.state,
        new.attempts, new.last_error_kind, new.last_error, new.disposition, new.vendor_id, 'enqueue', NULL, new.updated_at);
END;

CREATE TRIGGER posbridge_outbox_events_on_update AFTER UPDATE OF state, revision ON posbridge_outbox_deliveries
WHEN (old.state IS NOT new.state OR old.revision IS NOT new.revision) AND new.state <> 'delivering'
BEGIN
    INSERT INTO posbridge_outbox_events (delivery_id, tenant, vendor, reference, kind, from_state, to_state,
        attempt, error_kind, error, disposition, vendor_id, actor, duration_ms, at)
    VALUES (new.id, new.tenant, new.vendor, new.reference, new.kind, old.state, new.state,
        new.attempts, new.last_error_kind, new.last_error, new.disposition, new.vendor_id,
        CASE
            WHEN old.revision IS NOT new.revision THEN 'enqueue'
            WHEN new.state = 'delivered' THEN new.delivered_by
            WHEN old.state = 'delivering' AND new.lease_owner IS NULL AND old.lease_until < new.updated_at
                AND new.last_error_kind = 'uncertain' AND new.resend = 1 THEN 'sweep'
            WHEN old.state = 'delivering' THEN old.lease_owner
            WHEN old.state IN ('dead', 'uncertain') THEN 'operator'
            WHEN old.state = 'blocked' AND new.released_at IS NOT NULL AND old.released_at IS NULL THEN 'operator'
            WHEN old.state = 'blocked' OR new.state = 'blocked' THEN 'sweep'
        END,
        CASE WHEN old.state = 'delivering' THEN new.last_attempt_ms END,
        new.updated_at);
END;
