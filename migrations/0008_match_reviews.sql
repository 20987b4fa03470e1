-- Children who are likely, not certainly, the same: a person decides.
ALTER TABLE beneficiaries ADD COLUMN merged_into INTEGER REFERENCES beneficiaries (id);

CREATE TABLE match_reviews (
    id             INTEGER PRIMARY KEY,
    -- The record made from the new application, and the earlier one it may be.
    beneficiary_id INTEGER NOT NULL REFERENCES beneficiaries (id),
    candidate_id   INTEGER NOT NULL REFERENCES beneficiaries (id),
    reason         TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'merged', 'kept')),
    decided_by     TEXT,
    decided_at     TEXT,
    -- Cases a merge moved (JSON list), so it can be undone exactly.
    moved_cases    TEXT,
    created_at     TEXT NOT NULL
);
CREATE INDEX match_reviews_open ON match_reviews (status) WHERE status = 'open';
