-- Live refresh: every committed change to almoner's tables tells the
-- consoles listening on channel `almoner_changed` (one notice per table and
-- transaction; PostgreSQL delivers them at commit, never for a rollback).
-- SQLite's consoles notice commits through `PRAGMA data_version` instead.

CREATE FUNCTION almoner_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('almoner_changed', TG_TABLE_NAME);
    RETURN NULL;
END $$;

DO $$
DECLARE
    t TEXT;
BEGIN
    FOR t IN SELECT table_name FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH STATEMENT EXECUTE FUNCTION almoner_changed()',
                       t || '_changed', t);
    END LOOP;
END $$;
