-- has_any(text, w1, w2, w3, w4): whether `text` contains any of the words
-- given (NULLs skipped); NULL when `text` is NULL. SQLite has it as a
-- function the store registers (src/store/sql_fn.rs); a segment's purpose
-- filter asks it of every gift with the spellings of one word.
CREATE FUNCTION has_any(t TEXT, w1 TEXT, w2 TEXT, w3 TEXT, w4 TEXT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t IS NULL THEN NULL ELSE COALESCE(
        strpos(t, w1) > 0 OR strpos(t, w2) > 0 OR strpos(t, w3) > 0 OR strpos(t, w4) > 0, FALSE) END
$$;
