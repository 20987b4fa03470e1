-- Workflow: imports remember the outgoing payments they could not match to
-- an invoice (a bookkeeper's work), and notices wait for the people they
-- concern until they have seen them.
ALTER TABLE import_batches ADD COLUMN unmatched INTEGER NOT NULL DEFAULT 0;
-- A bookkeeper who has dealt with a batch's problems takes it off the queue.
ALTER TABLE import_batches ADD COLUMN reviewed_at TEXT;
ALTER TABLE import_batches ADD COLUMN reviewed_by TEXT;

CREATE TABLE notices (
    id       INTEGER PRIMARY KEY,
    -- A person's account name, 'role:ROLE' for everyone in a role, or '*'.
    audience TEXT NOT NULL,
    -- Who caused it: nobody is told of their own doing.
    actor    TEXT NOT NULL,
    at       TEXT NOT NULL,
    kind     TEXT NOT NULL,
    text     TEXT NOT NULL,
    case_id  INTEGER REFERENCES cases (id),
    batch_id INTEGER REFERENCES import_batches (id)
);
CREATE INDEX notices_audience ON notices (audience, id);

CREATE TABLE notice_seen (
    notice_id INTEGER NOT NULL REFERENCES notices (id),
    person    TEXT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (notice_id, person)
);
