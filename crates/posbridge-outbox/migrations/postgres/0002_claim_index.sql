-- The claim's index: a target's due deliveries in claim order (next_attempt_at, then
-- id), holding only rows that can be claimed. The claim reads just the rows it takes
-- instead of sorting every due row of the target on each claim.
CREATE INDEX posbridge_outbox_claim ON posbridge_outbox_deliveries (tenant, vendor, next_attempt_at, id)
    WHERE state IN ('pending', 'retrying');
