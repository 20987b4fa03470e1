-- SQLite checks `x IN ('a', 'b', 'c')` in a CHECK constraint by building a
-- temporary index of the list for every row it checks: two of them for each
-- donation written (its designation and channel), which cost an import of a
-- million payments more than writing the rows themselves. The same checks,
-- written as comparisons joined by OR, allow and refuse exactly the same
-- values (NULL included) and build nothing.
--
-- Only the text of the tables' definitions changes, not a byte of their
-- rows: SQLite's own guide to schema changes (lang_altertable.html, "making
-- other kinds of table schema changes") edits `sqlite_schema` for such a
-- change. The store then moves the schema version on (see `Store::migrate`),
-- so every connection reads the new definitions.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(replace(sql,
    'CHECK (designation_kind IN (''unrestricted'', ''case'', ''beneficiary''))',
    'CHECK (designation_kind = ''unrestricted'' OR designation_kind = ''case'' OR designation_kind = ''beneficiary'')'),
    'CHECK (channel IN (''website'', ''bank'', ''event'', ''corporate'', ''cash''))',
    'CHECK (channel = ''website'' OR channel = ''bank'' OR channel = ''event'' OR channel = ''corporate'' OR channel = ''cash'')')
WHERE type = 'table' AND name = 'donations';
UPDATE sqlite_schema
SET sql = replace(replace(sql,
    'CHECK (program IN (''treatment'', ''rehabilitation'', ''equipment'', ''research''))',
    'CHECK (program = ''treatment'' OR program = ''rehabilitation'' OR program = ''equipment'' OR program = ''research'')'),
    'CHECK (stage IN (''qualification'', ''documents'', ''fundraising'', ''payment'', ''paid'', ''closed'', ''rejected'', ''on_hold''))',
    'CHECK (stage = ''qualification'' OR stage = ''documents'' OR stage = ''fundraising'' OR stage = ''payment'' OR stage = ''paid'' OR stage = ''closed'' OR stage = ''rejected'' OR stage = ''on_hold'')')
WHERE type = 'table' AND name = 'cases';
PRAGMA writable_schema = OFF;
