-- Donor matching on every new donation looks donors up by e-mail, or by name
-- and kind; without these it read the whole donors table each time.
CREATE INDEX donors_email ON donors (email) WHERE email IS NOT NULL;
CREATE INDEX donors_name ON donors (name, kind);
