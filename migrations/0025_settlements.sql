-- A payment processor's payout in a bank statement settles gifts already known from the
-- processor's register: it is never a donation. Each gift keeps the processor's fee.
CREATE TABLE settlements (
    id           INTEGER PRIMARY KEY,
    batch_id     INTEGER NOT NULL REFERENCES import_batches (id),
    processor    TEXT NOT NULL,
    received_on  TEXT NOT NULL,
    amount       INTEGER NOT NULL CHECK (amount > 0),
    currency     TEXT NOT NULL,
    external_key TEXT NOT NULL UNIQUE,
    purpose      TEXT NOT NULL,
    -- Filled when its gifts are found: the days they were given, their gross and fees.
    gifts_from   TEXT,
    gifts_to     TEXT,
    gross        INTEGER,
    fees         INTEGER,
    matched_at   TEXT
);
CREATE INDEX settlements_batch ON settlements (batch_id);
ALTER TABLE donations ADD COLUMN fee INTEGER NOT NULL DEFAULT 0 CHECK (fee >= 0);
ALTER TABLE donations ADD COLUMN settlement_id INTEGER REFERENCES settlements (id);
CREATE INDEX donations_unsettled ON donations (received_on) WHERE channel = 'website' AND settlement_id IS NULL;
-- MT940 and camt payments are keyed differently from now on (the n-th identical payment in a
-- statement counts, MT940's statement reference no longer does, a camt entry with only an
-- `NtryRef`/`EndToEndId` keys on it and its content). Payments of statements imported before keep
-- their old keys: an import that meets one of the same day and amount holds it back for a person.
INSERT INTO settings (key, value)
SELECT 'mt940_old_keys_until_batch', CAST((SELECT MAX(id) FROM import_batches WHERE format = 'mt940') AS TEXT)
WHERE EXISTS (SELECT 1 FROM import_batches WHERE format = 'mt940');
INSERT INTO settings (key, value)
SELECT 'camt_old_keys_until_batch', CAST((SELECT MAX(id) FROM import_batches WHERE format = 'camt') AS TEXT)
WHERE EXISTS (SELECT 1 FROM import_batches WHERE format = 'camt');

-- A payment the bank returned or reversed is never a donation: it is kept here, with the gift it
-- takes back where one is found, and waits on the bookkeeper's queue for a person.
CREATE TABLE returns (
    id           INTEGER PRIMARY KEY,
    batch_id     INTEGER NOT NULL REFERENCES import_batches (id),
    line         INTEGER NOT NULL,
    received_on  TEXT NOT NULL,
    amount       INTEGER NOT NULL CHECK (amount > 0),
    currency     TEXT NOT NULL,
    counterparty TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    external_key TEXT NOT NULL UNIQUE,
    donation_id  INTEGER REFERENCES donations (id) ON DELETE SET NULL
);
CREATE INDEX returns_batch ON returns (batch_id);
