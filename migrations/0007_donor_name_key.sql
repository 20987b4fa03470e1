-- Donors without INN, e-mail or phone are recognised by their name, written
-- any way: case, ё/е, spacing, quotes and word order aside. The key is
-- computed by almoner (see domain::names::name_key) and filled in for
-- existing donors when the database is opened.
ALTER TABLE donors ADD COLUMN name_key TEXT;
CREATE INDEX donors_name_key ON donors (name_key) WHERE name_key IS NOT NULL;
-- The fill at open looks only at donors still without a key: found at once, not by a scan.
CREATE INDEX donors_without_name_key ON donors (id) WHERE name_key IS NULL;
