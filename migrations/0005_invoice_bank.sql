-- The payee's bank details, so a payment order for the invoice can be
-- written for the bank client (almoner payments export).
ALTER TABLE invoices ADD COLUMN payee_inn TEXT;
ALTER TABLE invoices ADD COLUMN payee_account TEXT;
ALTER TABLE invoices ADD COLUMN payee_bic TEXT;
