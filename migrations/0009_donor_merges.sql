-- Duplicate donors found later are merged (and can be un-merged): the
-- merged donor stands for the one it was merged into, and a record of what
-- moved makes the merge exactly undoable.
ALTER TABLE donors ADD COLUMN merged_into INTEGER REFERENCES donors (id);

CREATE TABLE donor_merges (
    id            INTEGER PRIMARY KEY,
    from_id       INTEGER NOT NULL REFERENCES donors (id),
    into_id       INTEGER NOT NULL REFERENCES donors (id),
    donations     TEXT NOT NULL,   -- JSON list of the donations that moved
    subscriptions TEXT NOT NULL,   -- JSON list of the subscriptions that moved
    by_user       TEXT NOT NULL,
    at            TEXT NOT NULL,
    undone_at     TEXT,
    undone_by     TEXT
);
