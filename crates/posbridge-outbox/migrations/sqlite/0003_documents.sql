-- Returns, voids and later payments ride the outbox beside sales (issue 19).
-- `kind` says what `payload` holds: `sale` (every row before this migration), `return`,
-- `void` or `payment`. `sale_reference` is the POS reference of the sale a return, void
-- or payment refers to: such a delivery is claimed only once that sale's delivery at the
-- same target is delivered (`vendor_id` of that row, the sale's push receipt, is filled
-- into the document). `released_at` is when an operator released a blocked delivery to
-- go without waiting for its sale.
ALTER TABLE posbridge_outbox_deliveries ADD COLUMN kind TEXT NOT NULL DEFAULT 'sale';
ALTER TABLE posbridge_outbox_deliveries ADD COLUMN sale_reference TEXT;
ALTER TABLE posbridge_outbox_deliveries ADD COLUMN released_at INTEGER;
-- The dependents of a sale at a target, in enqueue order.
CREATE INDEX posbridge_outbox_dependents ON posbridge_outbox_deliveries (tenant, vendor, sale_reference, id)
    WHERE sale_reference IS NOT NULL;
