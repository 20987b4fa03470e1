-- The personal-data rules remove a donor's personal data and a closed case's
-- medical data; the audit log must not keep what they remove. It stays
-- append-only with one exception, a redaction: only the JSON detail (before,
-- after) may change, and only by putting the marker
-- '(removed under the personal-data rules)' in place of values (or of whole
-- objects and lists) it held under the names of personal fields (a name,
-- payer, e-mail, phone, INN, account, purpose, subscription, address, or a
-- diagnosis, treatment, notes and a medical paper's file name and checksum:
-- never an amount, an id, a reason or the whole entry); every other value,
-- and the entry's id, time,
-- person, action and subject, stay as they were. A redacted entry says so.
-- Entries are still never deleted.
ALTER TABLE audit_log ADD COLUMN redacted INTEGER NOT NULL DEFAULT 0 CHECK (redacted IN (0, 1));

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
                                     AND n.key IN ('name', 'full_name', 'donor_name', 'payer', 'payer_name', 'email', 'phone', 'inn', 'payer_inn', 'account', 'accounts', 'payer_account', 'purpose', 'subscription', 'subscriptions', 'name_key', 'address', 'diagnosis', 'lay_diagnosis', 'treatment', 'notes', 'note', 'file', 'sha256')))))
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
                                     AND n.key IN ('name', 'full_name', 'donor_name', 'payer', 'payer_name', 'email', 'phone', 'inn', 'payer_inn', 'account', 'accounts', 'payer_account', 'purpose', 'subscription', 'subscriptions', 'name_key', 'address', 'diagnosis', 'lay_diagnosis', 'treatment', 'notes', 'note', 'file', 'sha256')))))
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
