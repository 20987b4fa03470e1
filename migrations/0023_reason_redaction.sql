-- Free text people type about someone may say anything about them: a reason
-- given for placing or reversing a donor's money ("as Ivan Petrov asked by
-- phone"), or for moving a child's case ("rejected: the diagnosis is not
-- confirmed"). The personal-data rules remove it with the person's data:
-- such a reason, wherever it is kept, is replaced by the marker
-- '(removed under the personal-data rules)'.
--
-- Allocations, reversals and the stage history stay append-only with that
-- one exception: the reason alone may change, from words to the marker, and
-- every other column stays as it was (the stage history's one-time filling
-- of program, since and stay is still allowed as well). The audit log may
-- now also put the marker in place of a value under the name `reason`.
-- The cases' word index (FTS5, migration 0002) normally keeps a deleted row's
-- words in its segments until they happen to merge, so a diagnosis removed
-- from a case stayed findable in the file. With FTS5's own secure-delete
-- a deleted row's words leave the index at once; merging the segments now
-- drops the words of rows deleted before.
INSERT INTO case_search (case_search, rank) VALUES ('secure-delete', 1);
INSERT INTO case_search (case_search) VALUES ('optimize');

DROP TRIGGER allocations_no_update;
CREATE TRIGGER allocations_no_update BEFORE UPDATE ON allocations
WHEN NOT (NEW.reason IS '(removed under the personal-data rules)' AND OLD.reason IS NOT NULL
          AND OLD.reason IS NOT '(removed under the personal-data rules)'
          AND NEW.id = OLD.id AND NEW.donation_id = OLD.donation_id AND NEW.case_id = OLD.case_id
          AND NEW.amount = OLD.amount AND NEW.at = OLD.at AND NEW.by_user = OLD.by_user)
BEGIN SELECT RAISE(ABORT, 'allocations are never edited: reverse and allocate again'); END;

DROP TRIGGER reversals_no_update;
CREATE TRIGGER reversals_no_update BEFORE UPDATE ON reversals
WHEN NOT (NEW.reason IS '(removed under the personal-data rules)'
          AND OLD.reason IS NOT '(removed under the personal-data rules)'
          AND NEW.id = OLD.id AND NEW.allocation_id = OLD.allocation_id AND NEW.at = OLD.at
          AND NEW.by_user = OLD.by_user)
BEGIN SELECT RAISE(ABORT, 'reversals are never edited'); END;

DROP TRIGGER stage_changes_no_update;
CREATE TRIGGER stage_changes_no_update BEFORE UPDATE ON stage_changes
WHEN NOT (NEW.id = OLD.id AND NEW.case_id = OLD.case_id AND NEW.from_stage IS OLD.from_stage
          AND NEW.to_stage = OLD.to_stage AND NEW.at = OLD.at AND NEW.by_user = OLD.by_user
          AND ((OLD.program IS NULL AND OLD.since IS NULL AND OLD.stay IS NULL AND NEW.reason IS OLD.reason)
               OR (NEW.reason IS '(removed under the personal-data rules)' AND OLD.reason IS NOT NULL
                   AND OLD.reason IS NOT '(removed under the personal-data rules)'
                   AND NEW.program IS OLD.program AND NEW.since IS OLD.since AND NEW.stay IS OLD.stay)))
BEGIN SELECT RAISE(ABORT, 'stage history is append-only'); END;

DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (
    NEW.redacted = 1
    AND NEW.id IS OLD.id AND NEW.at IS OLD.at AND NEW.actor IS OLD.actor AND NEW.action IS OLD.action
    AND NEW.entity IS OLD.entity AND NEW.entity_id IS OLD.entity_id
    AND (NEW.before IS NULL) = (OLD.before IS NULL) AND (NEW.after IS NULL) = (OLD.after IS NULL)
    AND json_valid(COALESCE(NEW.before, 'null')) AND json_valid(COALESCE(NEW.after, 'null'))
    -- Every value now in `before` was there at the same place, or is the marker in place of one.
    AND NOT EXISTS (
        SELECT 1 FROM json_tree(COALESCE(NEW.before, 'null')) n
        WHERE n.type NOT IN ('object', 'array')
          AND NOT EXISTS (SELECT 1 FROM json_tree(COALESCE(OLD.before, 'null')) o
                          WHERE o.fullkey = n.fullkey
                            AND ((o.type = n.type AND o.atom IS n.atom)
                                 OR (n.atom IS '(removed under the personal-data rules)'
                                     AND n.key IN ('name', 'full_name', 'donor_name', 'payer', 'payer_name', 'email', 'phone', 'inn', 'payer_inn', 'account', 'accounts', 'payer_account', 'purpose', 'subscription', 'subscriptions', 'name_key', 'address', 'reason', 'diagnosis', 'lay_diagnosis', 'treatment', 'notes', 'note', 'file', 'sha256')))))
    -- No object or list appears that was not there (a marker replaces one, never adds one).
    AND NOT EXISTS (
        SELECT 1 FROM json_tree(COALESCE(NEW.before, 'null')) n
        WHERE n.type IN ('object', 'array')
          AND NOT EXISTS (SELECT 1 FROM json_tree(COALESCE(OLD.before, 'null')) o
                          WHERE o.fullkey = n.fullkey AND o.type = n.type))
    AND NOT EXISTS (
        SELECT 1 FROM json_tree(COALESCE(NEW.after, 'null')) n
        WHERE n.type IN ('object', 'array')
          AND NOT EXISTS (SELECT 1 FROM json_tree(COALESCE(OLD.after, 'null')) o
                          WHERE o.fullkey = n.fullkey AND o.type = n.type))
    -- Every value that was in `before` is still there, or the marker stands in its place or its parent's.
    AND NOT EXISTS (
        SELECT 1 FROM json_tree(COALESCE(OLD.before, 'null')) o
        WHERE o.type NOT IN ('object', 'array')
          AND NOT EXISTS (SELECT 1 FROM json_tree(COALESCE(NEW.before, 'null')) n
                          WHERE (n.fullkey = o.fullkey AND n.type = o.type AND n.atom IS o.atom)
                             OR (n.atom IS '(removed under the personal-data rules)'
                                 AND (n.fullkey = o.fullkey
                                      OR (substr(o.fullkey, 1, length(n.fullkey)) = n.fullkey
                                          AND substr(o.fullkey, length(n.fullkey) + 1, 1) IN ('.', '['))))))
    -- The same for `after`.
    AND NOT EXISTS (
        SELECT 1 FROM json_tree(COALESCE(NEW.after, 'null')) n
        WHERE n.type NOT IN ('object', 'array')
          AND NOT EXISTS (SELECT 1 FROM json_tree(COALESCE(OLD.after, 'null')) o
                          WHERE o.fullkey = n.fullkey
                            AND ((o.type = n.type AND o.atom IS n.atom)
                                 OR (n.atom IS '(removed under the personal-data rules)'
                                     AND n.key IN ('name', 'full_name', 'donor_name', 'payer', 'payer_name', 'email', 'phone', 'inn', 'payer_inn', 'account', 'accounts', 'payer_account', 'purpose', 'subscription', 'subscriptions', 'name_key', 'address', 'reason', 'diagnosis', 'lay_diagnosis', 'treatment', 'notes', 'note', 'file', 'sha256')))))
    AND NOT EXISTS (
        SELECT 1 FROM json_tree(COALESCE(OLD.after, 'null')) o
        WHERE o.type NOT IN ('object', 'array')
          AND NOT EXISTS (SELECT 1 FROM json_tree(COALESCE(NEW.after, 'null')) n
                          WHERE (n.fullkey = o.fullkey AND n.type = o.type AND n.atom IS o.atom)
                             OR (n.atom IS '(removed under the personal-data rules)'
                                 AND (n.fullkey = o.fullkey
                                      OR (substr(o.fullkey, 1, length(n.fullkey)) = n.fullkey
                                          AND substr(o.fullkey, length(n.fullkey) + 1, 1) IN ('.', '['))))))
)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be changed, only the personal data in them removed'); END;
