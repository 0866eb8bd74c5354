-- How many facts each stored state was folded from: a worker may reuse its in-memory copy of a
-- person's history only while this still equals the length of that copy.
ALTER TABLE person_state ADD COLUMN facts int NOT NULL DEFAULT 0;
UPDATE person_state ps SET facts = (SELECT count(*) FROM timeline_events t WHERE t.person_key = ps.person_key);
