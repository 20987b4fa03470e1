-- A payment order an import recorded (from a bank statement's outgoing payment) names its batch
-- and the payment's key, so undoing the batch takes it back with the case's move to paid.
ALTER TABLE payment_orders ADD COLUMN batch_id BIGINT REFERENCES import_batches (id);
ALTER TABLE payment_orders ADD COLUMN external_key TEXT;
CREATE INDEX payment_orders_batch ON payment_orders (batch_id) WHERE batch_id IS NOT NULL;
-- The few cases raising another currency, found without reading every case: the board's sums
-- are in roubles and take them out.
CREATE INDEX cases_other_currency ON cases (stage, target, collected) WHERE currency <> 'RUB';
