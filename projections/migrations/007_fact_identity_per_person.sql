-- A fact is identified by its event id within its person. An event id comes from the agency's
-- own reference; one reused for another person is that person's fact, not a duplicate to drop.
-- Keyed this way, "first copy wins" is decided within one partition (a person's records share
-- one), so the live path and a replay keep the same copies whatever the interleaving.
ALTER TABLE timeline_events DROP CONSTRAINT timeline_events_pkey;
ALTER TABLE timeline_events ADD PRIMARY KEY (event_id, person_key);
