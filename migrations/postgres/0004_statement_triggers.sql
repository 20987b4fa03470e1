-- Allocations are checked and their programs recorded once per statement
-- rather than once per row: a multi-row INSERT (a split, the demo's or a
-- migration's thousands) runs one query over the rows it added, where the
-- row triggers of 0001 ran a query and an UPDATE of the donation for each.
-- Same rules, same refusals: an allocation to a case not in fundraising
-- fails the whole statement.
DROP TRIGGER allocations_only_fundraising ON allocations;
DROP TRIGGER allocations_programs ON allocations;
DROP FUNCTION allocations_only_fundraising();
DROP FUNCTION allocations_programs();

CREATE FUNCTION allocations_check_and_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM added a LEFT JOIN cases c ON c.id = a.case_id
               WHERE c.stage IS DISTINCT FROM 'fundraising') THEN
        RAISE EXCEPTION 'allocations go only to cases in fundraising' USING ERRCODE = 'check_violation';
    END IF;
    UPDATE donations d SET programs = d.programs | x.bits
    FROM (SELECT a.donation_id, bit_or(program_bit(c.program)) AS bits
          FROM added a JOIN cases c ON c.id = a.case_id GROUP BY a.donation_id) x
    WHERE d.id = x.donation_id AND d.programs | x.bits <> d.programs;
    RETURN NULL;
END $$;
CREATE TRIGGER allocations_check_and_mark AFTER INSERT ON allocations
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION allocations_check_and_mark();
