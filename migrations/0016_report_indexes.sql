-- Reports read whole periods: indexes that answer their sums without
-- visiting the rows (donations by day, channel and amount; donations per
-- donor; stage changes and allocations by time; payment orders by date).
DROP INDEX donations_received;
CREATE INDEX donations_received ON donations (received_on, currency, channel, amount);
DROP INDEX donations_donor;
CREATE INDEX donations_donor ON donations (donor_id, received_on, amount, channel) WHERE donor_id IS NOT NULL;
CREATE INDEX stage_changes_at ON stage_changes (at, to_stage, case_id);
CREATE INDEX allocations_at ON allocations (at, case_id, amount);
DROP INDEX allocations_case;
CREATE INDEX allocations_case ON allocations (case_id, donation_id, amount);
CREATE INDEX payment_orders_date ON payment_orders (date);
