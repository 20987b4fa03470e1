-- A donor merge carries the ways to reach the person (e-mail, phone, consent
-- to mailings, a wish to be left alone) to the donor kept. The merge keeps
-- what that donor held before and what it wrote, for un-merging: JSON
-- objects by field, only the fields the merge changed; NULL when none.
ALTER TABLE donor_merges ADD COLUMN into_before JSONB;
ALTER TABLE donor_merges ADD COLUMN into_after JSONB;

-- Anonymizing either donor removes the e-mails and phones kept here too (an
-- un-merge then leaves those fields as anonymization left them).
CREATE FUNCTION donor_merges_forget_contacts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE donor_merges
    SET into_before = into_before - 'email' - 'phone', into_after = into_after - 'email' - 'phone'
    WHERE (from_id = NEW.id OR into_id = NEW.id) AND into_before IS NOT NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER donor_merges_forget_contacts AFTER UPDATE OF anonymized_at ON donors
    FOR EACH ROW WHEN (NEW.anonymized_at IS NOT NULL) EXECUTE FUNCTION donor_merges_forget_contacts();
