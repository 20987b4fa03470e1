-- A register that does not reconcile (unreadable lines, control totals that do not match) is
-- committed only when a person accepts its problems with a reason: who, why, and which problems.
ALTER TABLE import_batches ADD COLUMN accepted_by TEXT;
ALTER TABLE import_batches ADD COLUMN accepted_reason TEXT;
ALTER TABLE import_batches ADD COLUMN problems TEXT NOT NULL DEFAULT '[]';
ALTER TABLE import_batches ADD COLUMN mismatches INTEGER NOT NULL DEFAULT 0;
