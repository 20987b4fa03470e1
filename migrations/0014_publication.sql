-- What the family's publication consent allows the website to show of a
-- case (NULL: first name, age and city), and the diagnosis in lay words.
ALTER TABLE cases ADD COLUMN publish_fields TEXT;
ALTER TABLE cases ADD COLUMN lay_diagnosis TEXT;
