-- The analysts' views end at the log's last valid time (analyst.data_until = the latest
-- occurred_at): an index makes that max() a lookup instead of a scan of every event.
CREATE INDEX timeline_events_occurred_at ON timeline_events (occurred_at);
