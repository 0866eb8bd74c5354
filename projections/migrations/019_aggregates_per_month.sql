-- More aggregates maintained on write (issue 16), for the analysts' resources that still read
-- every day ever recorded or every item: the stocks per month and year (levensloop, bewoners,
-- capaciteit) and COA's relocations per resident-year (verhuisbewegingen). Same mechanism as
-- migration 017 (rows of `aggregates`, kept by its statement triggers through the statements
-- migration 018 prepares, rebuilt after a bulk load, compared by `ketenlog verify`, computed
-- from a moment's rows for --as-known-at), with the record-key sums of the stocks.
--
-- Per-month deltas: a stock's deltas summed per calendar month. A stock per month or year
-- asked over all of history then runs its running sum over months x dimensions rather than
-- days x dimensions (views.sql, `<view>_ends`); the daily deltas are still read for the month
-- of the last day asked, which may be partial.
CREATE TABLE lifecycle_monthly (
    month date NOT NULL, lifecycle text NOT NULL, state text NOT NULL,
    subjects bigint NOT NULL, subjects_key bigint NOT NULL, contributions bigint NOT NULL,
    PRIMARY KEY (month, lifecycle, state)
);
CREATE TABLE coa_location_monthly (
    month date NOT NULL, location_type text NOT NULL, location_id text NOT NULL,
    resident_status text NOT NULL,
    persons bigint NOT NULL, persons_key bigint NOT NULL, contributions bigint NOT NULL,
    PRIMARY KEY (month, location_type, location_id, resident_status)
);
-- COA's resident days by child-or-not (views.sql, coa_relocations): per day, the persons of
-- the stays that begin minus those that end (a stay [from_day, to_day) with to_day after
-- from_day: one that ends before it begins is present on no day), and, on the first day of a
-- year, the stays whose years (from from_day's to to_day - 1's, open ones without end) begin
-- minus those that ended the year before: the running sum of `stays` is, on any day of a
-- year, how many stays reach into it (the years the view counts a stay in, resident days or
-- none). And the relocations per day by child-or-not. No record-key sums: the relocations'
-- figures have none (one row a year; their cell key is what they count, docs/projections.md),
-- and each sum is paid for by every write of a stay.
CREATE TABLE coa_minor_deltas (
    day date NOT NULL, minor boolean NOT NULL,
    persons bigint NOT NULL, stays bigint NOT NULL, contributions bigint NOT NULL,
    PRIMARY KEY (day, minor)
);
CREATE TABLE relocations_daily (
    day date NOT NULL, minor boolean NOT NULL,
    relocations bigint NOT NULL, contributions bigint NOT NULL,
    PRIMARY KEY (day, minor)
);

INSERT INTO aggregates (name, source, keys, sums, contributions) VALUES
('lifecycle_monthly', 'state_changes', '{month,lifecycle,state}', '{subjects,subjects_key}',
 $q$WITH c AS (
        SELECT date_trunc('month', (occurred_at AT TIME ZONE 'UTC')::timestamp)::date AS month,
               lifecycle, from_state, to_state,
               aggregation.record_key(person_key || ':' || lifecycle || ':' || subject) AS k
        FROM {rows}
    )
    SELECT month, lifecycle, to_state AS state, 1 AS subjects, k AS subjects_key FROM c
    UNION ALL
    SELECT month, lifecycle, from_state, -1, -k FROM c WHERE from_state IS NOT NULL$q$),
('coa_location_monthly', 'coa_stays', '{month,location_type,location_id,resident_status}',
 '{persons,persons_key}',
 $q$SELECT date_trunc('month', from_day::timestamp)::date AS month, location_type, location_id,
           resident_status, 1 AS persons,
           aggregation.record_key(person_key || ':' || seq) AS persons_key FROM {rows}
    UNION ALL
    SELECT date_trunc('month', to_day::timestamp)::date, location_type, location_id,
           resident_status, -1, -aggregation.record_key(person_key || ':' || seq)
    FROM {rows} WHERE to_day IS NOT NULL$q$),
('coa_minor_deltas', 'coa_stays', '{day,minor}', '{persons,stays}',
 $q$WITH s AS (
        SELECT from_day, to_day, minor, date_trunc('year', from_day::timestamp)::date AS first_year,
               date_trunc('year', (to_day - 1)::timestamp)::date AS last_year
        FROM {rows}
    )
    SELECT from_day AS day, minor, 1 AS persons, 0 AS stays
    FROM s WHERE to_day IS NULL OR to_day > from_day
    UNION ALL
    SELECT to_day, minor, -1, 0 FROM s WHERE to_day > from_day
    UNION ALL
    SELECT first_year, minor, 0, 1 FROM s WHERE to_day IS NULL OR last_year >= first_year
    UNION ALL
    SELECT (last_year + interval '1 year')::date, minor, 0, -1
    FROM s WHERE last_year >= first_year$q$),
('relocations_daily', 'relocation_items', '{day,minor}', '{relocations}',
 $q$SELECT day, minor, 1 AS relocations FROM {rows}$q$);

-- As migration 017: emptied rows are found through an index, relocation_items gets the
-- triggers (the other sources have them), the trigger function is generated again with the
-- new statements, and a database that holds items gets the new aggregates now.
DO $$
DECLARE
    a text;
BEGIN
    FOREACH a IN ARRAY ARRAY['lifecycle_monthly', 'coa_location_monthly', 'coa_minor_deltas',
                             'relocations_daily'] LOOP
        EXECUTE format('CREATE INDEX %I ON %I (contributions) WHERE contributions = 0',
                       a || '_emptied', a);
    END LOOP;
    CREATE TRIGGER aggregates_insert AFTER INSERT ON relocation_items
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregation.maintain();
    CREATE TRIGGER aggregates_delete AFTER DELETE ON relocation_items
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION aggregation.maintain();
    CREATE TRIGGER aggregates_update AFTER UPDATE ON relocation_items
        REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION aggregation.maintain();
    CREATE TRIGGER aggregates_truncate AFTER TRUNCATE ON relocation_items
        FOR EACH STATEMENT EXECUTE FUNCTION aggregation.maintain();
    PERFORM aggregation.prepare_statements(current_schema());
    FOREACH a IN ARRAY ARRAY['lifecycle_monthly', 'coa_location_monthly', 'coa_minor_deltas',
                             'relocations_daily'] LOOP
        PERFORM aggregation.recompute(current_schema(), a);
    END LOOP;
END $$;
