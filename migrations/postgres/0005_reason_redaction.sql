-- SQLite's migration 0023 on PostgreSQL: the personal-data rules remove a
-- reason people typed about someone, replacing it by the marker. Allocations,
-- reversals and the stage history take that one change (the reason alone,
-- from words to the marker, every other column as it was); the audit log may
-- put the marker in place of a value under the name `reason`.

CREATE FUNCTION almoner_reason_redaction_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.reason IS NOT DISTINCT FROM '(removed under the personal-data rules)'
        AND OLD.reason IS NOT NULL AND OLD.reason IS DISTINCT FROM '(removed under the personal-data rules)'
        AND to_jsonb(NEW) - 'reason' = to_jsonb(OLD) - 'reason' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
END $$;

DROP TRIGGER allocations_no_update ON allocations;
CREATE TRIGGER allocations_no_update BEFORE UPDATE ON allocations
    FOR EACH ROW EXECUTE FUNCTION almoner_reason_redaction_only('allocations are never edited: reverse and allocate again');
DROP TRIGGER reversals_no_update ON reversals;
CREATE TRIGGER reversals_no_update BEFORE UPDATE ON reversals
    FOR EACH ROW EXECUTE FUNCTION almoner_reason_redaction_only('reversals are never edited');
DROP TRIGGER stage_changes_no_update ON stage_changes;
CREATE TRIGGER stage_changes_no_update BEFORE UPDATE ON stage_changes
    FOR EACH ROW EXECUTE FUNCTION almoner_reason_redaction_only('stage history is append-only');

CREATE OR REPLACE FUNCTION audit_redacts(old_v JSONB, new_v JSONB, key TEXT) RETURNS BOOLEAN LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    k TEXT;
    i INT;
BEGIN
    IF old_v IS NULL OR new_v IS NULL THEN
        RETURN old_v IS NULL AND new_v IS NULL;
    END IF;
    IF new_v = to_jsonb('(removed under the personal-data rules)'::TEXT) AND new_v IS DISTINCT FROM old_v THEN
        RETURN COALESCE(key = ANY (ARRAY['name', 'full_name', 'donor_name', 'payer', 'payer_name', 'email', 'phone', 'inn',
            'payer_inn', 'account', 'accounts', 'payer_account', 'purpose', 'subscription', 'subscriptions', 'name_key',
            'address', 'reason', 'diagnosis', 'lay_diagnosis', 'treatment', 'notes', 'note', 'file', 'sha256']), FALSE);
    END IF;
    IF jsonb_typeof(new_v) <> jsonb_typeof(old_v) THEN
        RETURN FALSE;
    END IF;
    IF jsonb_typeof(new_v) = 'object' THEN
        IF ARRAY(SELECT jsonb_object_keys(new_v) ORDER BY 1) <> ARRAY(SELECT jsonb_object_keys(old_v) ORDER BY 1) THEN
            RETURN FALSE;
        END IF;
        FOR k IN SELECT jsonb_object_keys(new_v) LOOP
            IF NOT audit_redacts(old_v -> k, new_v -> k, k) THEN
                RETURN FALSE;
            END IF;
        END LOOP;
        RETURN TRUE;
    ELSIF jsonb_typeof(new_v) = 'array' THEN
        IF jsonb_array_length(new_v) <> jsonb_array_length(old_v) THEN
            RETURN FALSE;
        END IF;
        FOR i IN 0 .. jsonb_array_length(new_v) - 1 LOOP
            IF NOT audit_redacts(old_v -> i, new_v -> i, NULL) THEN
                RETURN FALSE;
            END IF;
        END LOOP;
        RETURN TRUE;
    END IF;
    RETURN new_v = old_v;
END $$;
