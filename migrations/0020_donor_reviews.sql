-- Donors the duplicate finder offers as likely one (`almoner donor duplicates`,
-- the console's donor duplicates screen) but a person said are two: the pair
-- is left out from then on. A merge is recorded in donor_merges; this holds
-- the other decision. Taking it back (undone_at) offers the pair again.
CREATE TABLE donors_kept_apart (
    id        INTEGER PRIMARY KEY,
    -- The pair, lower id first, so a pair is one row whichever way it was named.
    donor_a   INTEGER NOT NULL REFERENCES donors (id),
    donor_b   INTEGER NOT NULL REFERENCES donors (id),
    reason    TEXT,                -- the person's words, if any
    found     TEXT,                -- why the finder offered the pair
    by_user   TEXT NOT NULL,
    at        TEXT NOT NULL,
    undone_at TEXT,
    undone_by TEXT,
    CHECK (donor_a < donor_b)
);
CREATE UNIQUE INDEX donors_kept_apart_pair ON donors_kept_apart (donor_a, donor_b) WHERE undone_at IS NULL;

-- Who was merged into a donor, found at once (the finder and merges ask per donor).
CREATE INDEX donors_merged_into ON donors (merged_into) WHERE merged_into IS NOT NULL;
