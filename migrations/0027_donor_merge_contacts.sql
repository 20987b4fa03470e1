-- A donor merge carries the ways to reach the person (e-mail, phone, consent
-- to mailings, a wish to be left alone) to the donor kept. The merge keeps
-- what that donor held before and what it wrote, for un-merging: JSON
-- objects by field, only the fields the merge changed; NULL when none.
ALTER TABLE donor_merges ADD COLUMN into_before TEXT;
ALTER TABLE donor_merges ADD COLUMN into_after TEXT;

-- Anonymizing either donor removes the e-mails and phones kept here too (an
-- un-merge then leaves those fields as anonymization left them).
CREATE TRIGGER donor_merges_forget_contacts AFTER UPDATE OF anonymized_at ON donors
WHEN NEW.anonymized_at IS NOT NULL
BEGIN
    UPDATE donor_merges
    SET into_before = json_remove(into_before, '$.email', '$.phone'),
        into_after = json_remove(into_after, '$.email', '$.phone')
    WHERE (from_id = NEW.id OR into_id = NEW.id) AND into_before IS NOT NULL;
END;
