-- Matching a child looks up earlier children by birth date (exact, or a digit off).
CREATE INDEX beneficiaries_born ON beneficiaries (birth_date);
