-- Donor segments for mailings, and the personal-data rules (GDPR-style):
-- consent to be written to, a do-not-contact flag, and anonymization.
ALTER TABLE donors ADD COLUMN consent INTEGER NOT NULL DEFAULT 0 CHECK (consent IN (0, 1));
ALTER TABLE donors ADD COLUMN do_not_contact INTEGER NOT NULL DEFAULT 0 CHECK (do_not_contact IN (0, 1));
ALTER TABLE donors ADD COLUMN anonymized_at TEXT;
ALTER TABLE beneficiaries ADD COLUMN anonymized_at TEXT;
ALTER TABLE cases ADD COLUMN medical_removed_at TEXT;
CREATE INDEX donations_donor ON donations (donor_id, received_on) WHERE donor_id IS NOT NULL;

CREATE TABLE segments (
    name     TEXT PRIMARY KEY,
    filters  TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    saved_at TEXT NOT NULL
);

-- What the rules will do, to whom, and when: planned a month ahead so staff can look and override.
CREATE TABLE gdpr_plan (
    id         INTEGER PRIMARY KEY,
    entity     TEXT NOT NULL CHECK (entity IN ('donor', 'beneficiary', 'case')),
    entity_id  INTEGER NOT NULL,
    action     TEXT NOT NULL CHECK (action IN ('do_not_contact', 'anonymize', 'remove_medical')),
    reason     TEXT NOT NULL,
    due_on     TEXT NOT NULL,
    planned_at TEXT NOT NULL,
    done_at    TEXT,
    dropped_at TEXT
);
CREATE UNIQUE INDEX gdpr_plan_open ON gdpr_plan (entity, entity_id, action) WHERE done_at IS NULL AND dropped_at IS NULL;

-- Kept out of the rules (or brought under them early, on request), by a person's decision.
CREATE TABLE gdpr_overrides (
    entity    TEXT NOT NULL CHECK (entity IN ('donor', 'beneficiary')),
    entity_id INTEGER NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('exclude', 'include')),
    reason    TEXT NOT NULL,
    by_user   TEXT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id)
);
