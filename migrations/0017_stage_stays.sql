-- Each stage change also records the case's program and when the stage it
-- leaves was entered, so a period's report reads stays and programs from one
-- index instead of a lookup per change. Both are filled once, by the trigger
-- below, and history stays otherwise append-only.
ALTER TABLE stage_changes ADD COLUMN program TEXT;
ALTER TABLE stage_changes ADD COLUMN since TEXT;

DROP TRIGGER stage_changes_no_update;
UPDATE stage_changes SET program = (SELECT program FROM cases WHERE id = stage_changes.case_id);
UPDATE stage_changes SET since = (SELECT p.at FROM stage_changes p
    WHERE p.case_id = stage_changes.case_id AND p.id < stage_changes.id ORDER BY p.id DESC LIMIT 1);

CREATE TRIGGER stage_changes_no_update BEFORE UPDATE ON stage_changes
WHEN NOT (OLD.program IS NULL AND OLD.since IS NULL AND NEW.id = OLD.id AND NEW.case_id = OLD.case_id
          AND NEW.from_stage IS OLD.from_stage AND NEW.to_stage = OLD.to_stage AND NEW.at = OLD.at
          AND NEW.by_user = OLD.by_user AND NEW.reason IS OLD.reason)
BEGIN SELECT RAISE(ABORT, 'stage history is append-only'); END;

CREATE TRIGGER stage_changes_fill AFTER INSERT ON stage_changes
BEGIN
    UPDATE stage_changes SET
        program = (SELECT program FROM cases WHERE id = NEW.case_id),
        since = (SELECT p.at FROM stage_changes p WHERE p.case_id = NEW.case_id AND p.id < NEW.id ORDER BY p.id DESC LIMIT 1)
    WHERE id = NEW.id;
END;

DROP INDEX stage_changes_at;
CREATE INDEX stage_changes_at ON stage_changes (at, to_stage, program, case_id, from_stage, since);
