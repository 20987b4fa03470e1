-- almoner core schema (SQLite). Amounts are INTEGER kopecks; dates are
-- ISO-8601 text (dates 'YYYY-MM-DD', instants RFC 3339 in UTC).
-- The CHECK constraints and triggers are the database's own last line of
-- defence for the money rules; the store checks the same rules first so the
-- person gets a clear message.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO settings (key, value) VALUES ('designated_policy', 'hold');

CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('medical', 'fundraiser', 'bookkeeper', 'admin', 'viewer'))
);

CREATE TABLE beneficiaries (
    id         INTEGER PRIMARY KEY,
    full_name  TEXT NOT NULL,
    birth_date TEXT,
    city       TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE cases (
    id                INTEGER PRIMARY KEY,
    beneficiary_id    INTEGER NOT NULL REFERENCES beneficiaries (id),
    program           TEXT NOT NULL CHECK (program IN ('treatment', 'rehabilitation', 'equipment', 'research')),
    clinic            TEXT NOT NULL,
    diagnosis         TEXT NOT NULL DEFAULT '',
    stage             TEXT NOT NULL CHECK (stage IN ('qualification', 'documents', 'fundraising', 'payment', 'paid', 'closed', 'rejected', 'on_hold')),
    currency          TEXT NOT NULL DEFAULT 'RUB',
    target            INTEGER NOT NULL DEFAULT 0 CHECK (target >= 0),
    -- Sum of the case's live allocations, kept in the same transaction as
    -- every allocation and reversal (invariant 2: never above target).
    collected         INTEGER NOT NULL DEFAULT 0 CHECK (collected >= 0 AND collected <= target),
    responsible       TEXT,
    published         INTEGER NOT NULL DEFAULT 0 CHECK (published IN (0, 1)),
    stage_since       TEXT NOT NULL,
    fundraising_since TEXT,
    created_at        TEXT NOT NULL,
    notes             TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cases_stage ON cases (stage, id);
CREATE INDEX cases_fundraising ON cases (stage, fundraising_since, id);
CREATE INDEX cases_beneficiary ON cases (beneficiary_id);

CREATE TABLE qualifications (
    case_id     INTEGER PRIMARY KEY REFERENCES cases (id),
    diagnosis   TEXT NOT NULL,
    treatment   TEXT NOT NULL,
    clinic_fits INTEGER NOT NULL CHECK (clinic_fits = 1),
    approved_by TEXT NOT NULL,
    approved_at TEXT NOT NULL
);

CREATE TABLE invoices (
    case_id INTEGER PRIMARY KEY REFERENCES cases (id),
    number  TEXT NOT NULL CHECK (number <> ''),
    date    TEXT NOT NULL,
    amount  INTEGER NOT NULL CHECK (amount > 0),
    payee   TEXT NOT NULL CHECK (payee <> '')
);

CREATE TABLE payment_orders (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    number      TEXT NOT NULL,
    date        TEXT NOT NULL,
    amount      INTEGER NOT NULL CHECK (amount > 0),
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX payment_orders_case ON payment_orders (case_id);

CREATE TABLE documents (
    id        INTEGER PRIMARY KEY,
    case_id   INTEGER NOT NULL REFERENCES cases (id),
    kind      TEXT NOT NULL,
    file_name TEXT NOT NULL,
    sha256    TEXT NOT NULL,
    added_at  TEXT NOT NULL,
    added_by  TEXT NOT NULL
);
CREATE INDEX documents_case ON documents (case_id);

CREATE TABLE donors (
    id    INTEGER PRIMARY KEY,
    kind  TEXT NOT NULL CHECK (kind IN ('person', 'organisation')),
    name  TEXT NOT NULL,
    inn   TEXT,
    email TEXT
);
CREATE INDEX donors_inn ON donors (inn);

CREATE TABLE donations (
    id               INTEGER PRIMARY KEY,
    amount           INTEGER NOT NULL CHECK (amount > 0),
    currency         TEXT NOT NULL DEFAULT 'RUB',
    -- Sum of live allocations (invariant 1: never above amount).
    allocated        INTEGER NOT NULL DEFAULT 0 CHECK (allocated >= 0 AND allocated <= amount),
    designation_kind TEXT NOT NULL CHECK (designation_kind IN ('unrestricted', 'case', 'beneficiary')),
    designated_id    INTEGER,
    received_on      TEXT NOT NULL,
    channel          TEXT NOT NULL CHECK (channel IN ('website', 'bank', 'event', 'corporate', 'cash')),
    payer            TEXT NOT NULL,
    donor_id         INTEGER REFERENCES donors (id),
    purpose          TEXT NOT NULL DEFAULT '',
    released         INTEGER NOT NULL DEFAULT 0,
    -- Stable key of an imported payment: importing twice adds nothing twice.
    external_key     TEXT,
    created_at       TEXT NOT NULL,
    CHECK ((designation_kind = 'unrestricted') = (designated_id IS NULL))
);
CREATE UNIQUE INDEX donations_external_key ON donations (external_key) WHERE external_key IS NOT NULL;
CREATE INDEX donations_open ON donations (id) WHERE allocated < amount;
CREATE INDEX donations_designated ON donations (designation_kind, designated_id) WHERE designation_kind <> 'unrestricted';
CREATE INDEX donations_received ON donations (received_on);

CREATE TABLE allocations (
    id          INTEGER PRIMARY KEY,
    donation_id INTEGER NOT NULL REFERENCES donations (id),
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    amount      INTEGER NOT NULL CHECK (amount > 0),
    at          TEXT NOT NULL,
    by_user     TEXT NOT NULL,
    reason      TEXT
);
CREATE INDEX allocations_donation ON allocations (donation_id);
CREATE INDEX allocations_case ON allocations (case_id);

-- A reversal cancels one allocation whole; the allocation row stays.
CREATE TABLE reversals (
    id            INTEGER PRIMARY KEY,
    allocation_id INTEGER NOT NULL UNIQUE REFERENCES allocations (id),
    at            TEXT NOT NULL,
    by_user       TEXT NOT NULL,
    reason        TEXT NOT NULL CHECK (reason <> '')
);

CREATE TABLE stage_changes (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases (id),
    from_stage TEXT,
    to_stage   TEXT NOT NULL,
    at         TEXT NOT NULL,
    by_user    TEXT NOT NULL,
    reason     TEXT
);
CREATE INDEX stage_changes_case ON stage_changes (case_id, id);
CREATE INDEX stage_changes_to ON stage_changes (to_stage, at);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id INTEGER,
    before    TEXT,
    after     TEXT
);
CREATE INDEX audit_entity ON audit_log (entity, entity_id);

-- History is append-only: the database itself refuses to rewrite it.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be changed'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be deleted'); END;
CREATE TRIGGER allocations_no_update BEFORE UPDATE ON allocations
BEGIN SELECT RAISE(ABORT, 'allocations are never edited: reverse and allocate again'); END;
CREATE TRIGGER allocations_no_delete BEFORE DELETE ON allocations
BEGIN SELECT RAISE(ABORT, 'allocations are never deleted: reverse instead'); END;
CREATE TRIGGER reversals_no_update BEFORE UPDATE ON reversals
BEGIN SELECT RAISE(ABORT, 'reversals are never edited'); END;
CREATE TRIGGER reversals_no_delete BEFORE DELETE ON reversals
BEGIN SELECT RAISE(ABORT, 'reversals are never deleted'); END;
CREATE TRIGGER stage_changes_no_update BEFORE UPDATE ON stage_changes
BEGIN SELECT RAISE(ABORT, 'stage history is append-only'); END;
CREATE TRIGGER stage_changes_no_delete BEFORE DELETE ON stage_changes
BEGIN SELECT RAISE(ABORT, 'stage history is append-only'); END;

-- Invariant 3: money goes only to cases in fundraising.
CREATE TRIGGER allocations_only_fundraising BEFORE INSERT ON allocations
WHEN (SELECT stage FROM cases WHERE id = NEW.case_id) <> 'fundraising'
BEGIN SELECT RAISE(ABORT, 'allocations go only to cases in fundraising'); END;
