-- A payment order an import recorded (from a bank statement's outgoing payment) names its batch
-- and the payment's key, so undoing the batch takes it back with the case's move to paid.
ALTER TABLE payment_orders ADD COLUMN batch_id INTEGER REFERENCES import_batches (id);
ALTER TABLE payment_orders ADD COLUMN external_key TEXT;
CREATE INDEX payment_orders_batch ON payment_orders (batch_id) WHERE batch_id IS NOT NULL;
