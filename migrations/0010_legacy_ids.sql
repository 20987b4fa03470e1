-- Records migrated from an old CRM, by the id they had there: a second run
-- of the same export adds nothing twice, and the reconciliation report reads
-- the database's side of every figure through this table.
CREATE TABLE legacy_ids (
    source      TEXT NOT NULL,
    entity      TEXT NOT NULL CHECK (entity IN ('beneficiary', 'case', 'donor', 'donation', 'allocation')),
    old_id      TEXT NOT NULL,
    new_id      INTEGER NOT NULL,
    migrated_at TEXT NOT NULL,
    PRIMARY KEY (source, entity, old_id)
);
CREATE INDEX legacy_ids_new ON legacy_ids (entity, new_id);
