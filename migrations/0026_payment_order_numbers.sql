-- Payment orders almoner wrote for the bank (`payments export`). A number is given once, in the
-- write transaction that records it (the largest so far plus one), to one case's invoice as it
-- stood (number, date, amount, payee and the payee's bank details), and never to another: the
-- same invoice, unchanged and still unpaid, is written again as the same order (number and
-- date); a changed one gets a new number. Every file an order went into is kept.
CREATE TABLE payment_order_numbers (
    number         INTEGER PRIMARY KEY CHECK (number > 0),
    case_id        INTEGER NOT NULL REFERENCES cases (id),
    order_date     TEXT NOT NULL,
    invoice_number TEXT NOT NULL,
    invoice_date   TEXT NOT NULL,
    amount         INTEGER NOT NULL CHECK (amount > 0),
    payee          TEXT NOT NULL,
    payee_inn      TEXT NOT NULL,
    payee_account  TEXT NOT NULL,
    payee_bic      TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX payment_order_numbers_case ON payment_order_numbers (case_id);

CREATE TABLE payment_order_exports (
    id          INTEGER PRIMARY KEY,
    number      INTEGER NOT NULL REFERENCES payment_order_numbers (number),
    file_name   TEXT NOT NULL,
    exported_by TEXT NOT NULL,
    exported_at TEXT NOT NULL
);
CREATE INDEX payment_order_exports_number ON payment_order_exports (number);

-- A number given is never taken back nor changed (the next one would otherwise repeat it).
CREATE TRIGGER payment_order_numbers_no_update BEFORE UPDATE ON payment_order_numbers
BEGIN SELECT RAISE(ABORT, 'payment order numbers are never changed'); END;
CREATE TRIGGER payment_order_numbers_no_delete BEFORE DELETE ON payment_order_numbers
BEGIN SELECT RAISE(ABORT, 'payment order numbers are never taken back'); END;
CREATE TRIGGER payment_order_exports_no_update BEFORE UPDATE ON payment_order_exports
BEGIN SELECT RAISE(ABORT, 'the record of exported payment orders is append-only'); END;
CREATE TRIGGER payment_order_exports_no_delete BEFORE DELETE ON payment_order_exports
BEGIN SELECT RAISE(ABORT, 'the record of exported payment orders is append-only'); END;
