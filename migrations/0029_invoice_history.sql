-- A case's invoices are a history, not a field: a clinic's corrected bill replaces one (the old one
-- stays, withdrawn, naming what replaced it and why), a second course adds one, and each is paid
-- by a payment order of its own. The target follows the live invoices until fundraising opens.
CREATE TABLE invoice_history (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    number        TEXT NOT NULL CHECK (number <> ''),
    date          TEXT NOT NULL,
    amount        INTEGER NOT NULL CHECK (amount > 0),
    payee         TEXT NOT NULL CHECK (payee <> ''),
    payee_inn     TEXT,
    payee_account TEXT,
    payee_bic     TEXT,
    recorded_at   TEXT,
    recorded_by   TEXT,
    withdrawn_at  TEXT,
    replaced_by   INTEGER,
    reason        TEXT,
    paid_by       INTEGER REFERENCES payment_orders (id)
);
INSERT INTO invoice_history (case_id, number, date, amount, payee, payee_inn, payee_account, payee_bic)
SELECT case_id, number, date, amount, payee, payee_inn, payee_account, payee_bic FROM invoices ORDER BY case_id;
UPDATE invoice_history SET paid_by = (SELECT MAX(p.id) FROM payment_orders p WHERE p.case_id = invoice_history.case_id);
DROP TABLE invoices;
ALTER TABLE invoice_history RENAME TO invoices;
CREATE INDEX invoices_case ON invoices (case_id);
ALTER TABLE payment_orders ADD COLUMN invoice_id INTEGER REFERENCES invoices (id);

-- The few gifts in another currency, found without reading every donation: segments' sums and
-- thresholds are in roubles and leave them out.
CREATE INDEX donations_other_currency ON donations (id) WHERE currency <> 'RUB';
