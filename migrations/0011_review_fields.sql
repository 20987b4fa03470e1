-- A merge may take some of the new record's fields (name, birth date, city)
-- onto the earlier one: what they replaced is kept (JSON) so undo restores it.
ALTER TABLE match_reviews ADD COLUMN replaced TEXT;
