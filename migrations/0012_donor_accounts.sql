-- The bank accounts donors paid from, by name: the same name from the same
-- account is the same donor. An account stays with the donor who used it first.
CREATE TABLE donor_accounts (
    account  TEXT NOT NULL,
    name_key TEXT NOT NULL,
    donor_id INTEGER NOT NULL REFERENCES donors (id),
    PRIMARY KEY (account, name_key)
);
