-- System time the publisher cannot set: `logged_at` is the agency record's broker timestamp
-- (the broker refuses a record whose timestamp is more than a few minutes off its own clock,
-- schemas.topics), which "as known at" rests on; `recorded_at` stays as the publisher's word.
-- Facts stored before this migration have no broker time with them: they get `ingested_at`,
-- when the processor stored them (a time the publisher did not set either, and never before
-- the broker had the record); `ketenlog replay` gives them the broker's time from the log.
ALTER TABLE timeline_events ADD COLUMN logged_at timestamptz;
UPDATE timeline_events SET logged_at = ingested_at;
ALTER TABLE timeline_events ALTER COLUMN logged_at SET NOT NULL;
CREATE INDEX timeline_events_logged_at ON timeline_events (logged_at);
