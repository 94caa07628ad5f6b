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
ALTER TABLE posbridge_outbox_deliveries ADD COLUMN last_attempt_ms BIGINT;
CREATE TABLE posbridge_outbox_events (
    id          BIGSERIAL PRIMARY KEY,
    delivery_id BIGINT  NOT NULL,
    tenant      TEXT    NOT NULL,
    vendor      TEXT    NOT NULL,
    reference   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    from_state  TEXT,
    to_state    TEXT    NOT NULL,
    attempt     BIGINT  NOT NULL,
    error_kind  TEXT,
    error       TEXT,
    disposition TEXT,
    vendor_id   TEXT,
    actor       TEXT,
    duration_ms BIGINT,
    at          BIGINT  NOT NULL
);
CREATE INDEX posbridge_outbox_events_tenant ON posbridge_outbox_events (tenant, id);
CREATE INDEX posbridge_outbox_events_delivery ON posbridge_outbox_events (delivery_id, id);
CREATE INDEX posbridge_outbox_events_at ON posbridge_outbox_events (at);

CREATE FUNCTION posbridge_outbox_record_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_from TEXT;
    v_actor TEXT;
    v_duration BIGINT;
BEGIN
    IF TG_OP = 'INSERT' THEN
        v_from := NULL;
        v_actor := 'enqueue';
    ELSE
        v_from := OLD.state;
        v_duration := CASE WHEN OLD.state = 'delivering' THEN NEW.last_attempt_ms END;
        v_actor := CASE
            WHEN OLD.revision IS DISTINCT FROM NEW.revision THEN 'enqueue'
            WHEN NEW.state = 'delivered' THEN NEW.delivered_by
            WHEN OLD.state = 'delivering' AND NEW.lease_owner IS NULL AND OLD.lease_until < NEW.updated_at
                AND NEW.last_error_kind = 'uncertain' AND NEW.resend = 1 THEN 'sweep'
            WHEN OLD.state = 'delivering' THEN OLD.lease_owner
            WHEN OLD.state IN ('dead', 'uncertain') THEN 'operator'
            WHEN OLD.state = 'blocked' AND NEW.released_at IS NOT NULL AND OLD.released_at IS NULL THEN 'operator'
            WHEN OLD.state = 'blocked' OR NEW.state = 'blocked' THEN 'sweep'
        END;
    END IF;
    INSERT INTO posbridge_outbox_events (delivery_id, tenant, vendor, reference, kind, from_state, to_state,
        attempt, error_kind, error, disposition, vendor_id, actor, duration_ms, at)
    VALUES (NEW.id, NEW.tenant, NEW.vendor, NEW.reference, NEW.kind, v_from, NEW.state,
        NEW.attempts, NEW.last_error_kind, NEW.last_error, NEW.disposition, NEW.vendor_id, v_actor, v_duration, NEW.updated_at);
    RETURN NULL;
END;
$$;

CREATE TRIGGER posbridge_outbox_events_on_insert AFTER INSERT ON posbridge_outbox_deliveries
    FOR EACH ROW EXECUTE FUNCTION posbridge_outbox_record_event();

CREATE TRIGGER posbridge_outbox_events_on_update AFTER UPDATE OF state, revision ON posbridge_outbox_deliveries
    FOR EACH ROW
    WHEN ((OLD.state IS DISTINCT FROM NEW.state OR OLD.revision IS DISTINCT FROM NEW.revision)
        AND NEW.state <> 'delivering')
    EXECUTE FUNCTION posbridge_outbox_record_event();
