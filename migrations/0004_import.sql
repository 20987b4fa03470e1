-- Each register import is a batch: which file (by hash), who, when, counts.
-- A batch can be undone while none of its donations has been allocated.
CREATE TABLE import_batches (
    id             INTEGER PRIMARY KEY,
    file_name      TEXT NOT NULL,
    file_sha256    TEXT NOT NULL,
    format         TEXT NOT NULL,
    by_user        TEXT NOT NULL,
    at             TEXT NOT NULL,
    new            INTEGER NOT NULL,
    duplicate      INTEGER NOT NULL,
    invalid        INTEGER NOT NULL,
    outgoing       INTEGER NOT NULL,
    incoming_total INTEGER NOT NULL,
    outgoing_total INTEGER NOT NULL,
    undone_at      TEXT,
    undone_by      TEXT
);

ALTER TABLE donations ADD COLUMN batch_id INTEGER REFERENCES import_batches (id);
CREATE INDEX donations_batch ON donations (batch_id) WHERE batch_id IS NOT NULL;
