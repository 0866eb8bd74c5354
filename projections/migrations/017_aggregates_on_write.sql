-- Aggregates maintained on write (issue 16): per-day counts and per-day deltas of the items
-- tables, keyed, with their record-key sums, so an analyst's view reads days x dimensions
-- rows through an index instead of regrouping every item ever recorded (projections/views.sql
-- reads them; projections/aggregates.py drives them from Python).
--
-- One mechanism for all of them: each aggregate is a row of `aggregates` saying which items
-- table it sums, its group columns, its summed columns and the SQL of each item's
-- contributions over a relation `{rows}`. Statement-level triggers with transition tables on
-- the items table add the inserted rows' contributions and subtract the deleted ones', in the
-- writer's transaction (COPY fires them too); a replay's bulk load disables them and builds
-- each aggregate once at the end (aggregation.recompute); verify compares each to its
-- recompute. `contributions` counts the item contributions a row sums: at 0 nothing
-- contributes any more and the row goes (a day whose deltas net to zero still counts as a
-- day that changed, as in the views that grouped the items).
--
-- The functions live in a schema of their own, `aggregation`, so that a replay's swap, which
-- moves tables between schemas, needs not move them; they find a table's aggregates through
-- the schema of the table that fired (TG_TABLE_SCHEMA).

CREATE SCHEMA IF NOT EXISTS aggregation;

-- views.sql's record_key (the disclosure-control cell keys): the same hash, so the key sums
-- are the same as when the views summed the items.
CREATE OR REPLACE FUNCTION aggregation.record_key(identity text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT hashtextextended(identity, 0) & 4294967295 $$;

-- The SELECT of aggregate `name` of `schema` over the relations `parts`, each item's
-- contributions times the matching sign (1 adds, -1 subtracts): group columns, summed
-- columns, contributions. Ordered by the group so that concurrent writers lock its rows in
-- the same order.
CREATE OR REPLACE FUNCTION aggregation.summed(schema text, name text, parts text[], signs int[])
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    d record;
    unioned text;
    keys text;
    sums text;
BEGIN
    EXECUTE format('SELECT keys, sums, contributions FROM %I.aggregates WHERE name = $1', schema)
        INTO d USING name;
    IF d IS NULL THEN
        RAISE EXCEPTION 'no aggregate %.%', schema, name;
    END IF;
    SELECT string_agg(format('SELECT c.*, %s AS sign_ FROM (%s) c', s,
                             replace(d.contributions, '{rows}', p)), ' UNION ALL ')
        INTO unioned FROM unnest(parts, signs) AS u (p, s);
    SELECT string_agg(quote_ident(k), ', ') INTO keys FROM unnest(d.keys) AS k;
    SELECT string_agg(format('sum(%I * sign_)::bigint AS %I', s, s), ', ')
        INTO sums FROM unnest(d.sums) AS s;
    RETURN format('SELECT %s, %s, sum(sign_)::bigint AS contributions FROM (%s) x'
                  ' GROUP BY %s ORDER BY %s', keys, sums, unioned, keys, keys);
END $$;

-- Aggregate `name` of `schema` computed from its items table: what the triggers maintain.
CREATE OR REPLACE FUNCTION aggregation.recomputed(schema text, name text)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    source text;
BEGIN
    EXECUTE format('SELECT source FROM %I.aggregates WHERE name = $1', schema) INTO source USING name;
    RETURN aggregation.summed(schema, name, ARRAY[format('%I.%I', schema, source)], ARRAY[1]);
END $$;

-- The columns of aggregate `name` of `schema`, as aggregation.summed gives them.
CREATE OR REPLACE FUNCTION aggregation.columns(schema text, name text)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    cols text;
BEGIN
    EXECUTE format('SELECT string_agg(quote_ident(c), '', '') FROM %I.aggregates,'
                   ' unnest(keys || sums || ''contributions''::text) AS c WHERE name = $1', schema)
        INTO cols USING name;
    RETURN cols;
END $$;

-- Build aggregate `name` of `schema` afresh from its items table (a bulk load, a migration).
CREATE OR REPLACE FUNCTION aggregation.recompute(schema text, name text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DELETE FROM %I.%I', schema, name);
    EXECUTE format('INSERT INTO %I.%I (%s) %s', schema, name, aggregation.columns(schema, name),
                   aggregation.recomputed(schema, name));
END $$;

-- How many rows aggregate `name` of `schema` has that its recompute has not, and the other
-- way round: 0 when what the triggers maintained equals the items (ketenlog verify).
CREATE OR REPLACE FUNCTION aggregation.differences(schema text, name text)
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('WITH kept AS (SELECT * FROM %I.%I), recomputed AS (%s)'
                   ' SELECT (SELECT count(*) FROM (TABLE kept EXCEPT ALL TABLE recomputed) a)'
                   ' + (SELECT count(*) FROM (TABLE recomputed EXCEPT ALL TABLE kept) b)',
                   schema, name, aggregation.recomputed(schema, name))
        INTO n;
    RETURN n;
END $$;

-- The trigger on an items table: every aggregate of it gets the statement's change. The
-- transition tables are visible only to statements this function runs itself.
CREATE OR REPLACE FUNCTION aggregation.maintain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    a record;
    parts text[];
    signs int[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        parts := ARRAY['new_rows']; signs := ARRAY[1];
    ELSIF TG_OP = 'DELETE' THEN
        parts := ARRAY['old_rows']; signs := ARRAY[-1];
    ELSIF TG_OP = 'UPDATE' THEN
        parts := ARRAY['new_rows', 'old_rows']; signs := ARRAY[1, -1];
    END IF;
    FOR a IN EXECUTE format('SELECT name, keys, sums FROM %I.aggregates WHERE source = $1'
                            ' ORDER BY name', TG_TABLE_SCHEMA) USING TG_TABLE_NAME LOOP
        IF TG_OP = 'TRUNCATE' THEN
            EXECUTE format('DELETE FROM %I.%I', TG_TABLE_SCHEMA, a.name);
            CONTINUE;
        END IF;
        EXECUTE format(
            'INSERT INTO %I.%I AS a (%s) %s ON CONFLICT (%s) DO UPDATE SET %s',
            TG_TABLE_SCHEMA, a.name, aggregation.columns(TG_TABLE_SCHEMA, a.name),
            aggregation.summed(TG_TABLE_SCHEMA, a.name, parts, signs),
            (SELECT string_agg(quote_ident(k), ', ') FROM unnest(a.keys) AS k),
            (SELECT string_agg(format('%I = a.%I + excluded.%I', s, s, s), ', ')
             FROM unnest(a.sums || 'contributions'::text) AS s));
        EXECUTE format('DELETE FROM %I.%I WHERE contributions = 0', TG_TABLE_SCHEMA, a.name);
    END LOOP;
    RETURN NULL;
END $$;

CREATE TABLE aggregates (
    name          text PRIMARY KEY,   -- the aggregate's table, in this schema
    source        text NOT NULL,      -- the items table it sums
    keys          text[] NOT NULL,    -- its group columns: its primary key
    sums          text[] NOT NULL,    -- its summed columns
    contributions text NOT NULL       -- SELECT keys..., sums... FROM {rows}: each item's part
);

-- Flows: per day and dimensions, the count and its record-key sum.
CREATE TABLE inflow_daily (
    day date NOT NULL, kind text NOT NULL, unaccompanied_minor boolean NOT NULL,
    nationality text NOT NULL, age_band text NOT NULL, sex text NOT NULL,
    applications bigint NOT NULL, applications_key bigint NOT NULL, contributions bigint NOT NULL,
    PRIMARY KEY (day, kind, unaccompanied_minor, nationality, age_band, sex)
);
CREATE TABLE decisions_daily (
    day date NOT NULL, track text NOT NULL, outcome text NOT NULL,
    decisions bigint NOT NULL, decisions_key bigint NOT NULL, contributions bigint NOT NULL,
    PRIMARY KEY (day, track, outcome)
);
CREATE TABLE departures_daily (
    day date NOT NULL, kind text NOT NULL, border_return boolean NOT NULL,
    departures bigint NOT NULL, departures_key bigint NOT NULL, contributions bigint NOT NULL,
    PRIMARY KEY (day, kind, border_return)
);
CREATE TABLE anomalies_daily (
    day date NOT NULL, kind text NOT NULL,
    anomalies bigint NOT NULL, anomalies_key bigint NOT NULL, contributions bigint NOT NULL,
    PRIMARY KEY (day, kind)
);
CREATE TABLE eurodac_hits_daily (
    day date NOT NULL, category text NOT NULL, member_state text NOT NULL,
    hits bigint NOT NULL, hits_key bigint NOT NULL, contributions bigint NOT NULL,
    PRIMARY KEY (day, category, member_state)
);
CREATE TABLE solidarity_daily (
    day date NOT NULL, direction text NOT NULL, relocation_group text NOT NULL,
    pledge_year int NOT NULL, member_state text NOT NULL,
    decided bigint NOT NULL, transferred bigint NOT NULL,
    decided_key bigint NOT NULL, transferred_key bigint NOT NULL, contributions bigint NOT NULL,
    PRIMARY KEY (day, direction, relocation_group, pledge_year, member_state)
);
-- Stocks: per day and dimensions, arrivals minus leavings and their record-key sums; a
-- running sum over the days gives the stock.
CREATE TABLE coa_occupancy_deltas (
    day date NOT NULL, location_type text NOT NULL,
    persons bigint NOT NULL, persons_key bigint NOT NULL, contributions bigint NOT NULL,
    PRIMARY KEY (day, location_type)
);
CREATE TABLE coa_location_deltas (
    day date NOT NULL, location_type text NOT NULL, location_id text NOT NULL,
    resident_status text NOT NULL,
    persons bigint NOT NULL, persons_key bigint NOT NULL, contributions bigint NOT NULL,
    PRIMARY KEY (day, location_type, location_id, resident_status)
);
CREATE TABLE capacity_deltas (
    day date NOT NULL, location_type text NOT NULL, location_id text NOT NULL,
    places bigint NOT NULL, contributions bigint NOT NULL,
    PRIMARY KEY (day, location_type, location_id)
);
CREATE TABLE goo_deltas (
    day date NOT NULL,
    persons bigint NOT NULL, persons_key bigint NOT NULL, contributions bigint NOT NULL,
    PRIMARY KEY (day)
);
CREATE TABLE backlog_deltas (
    day date NOT NULL,
    pending bigint NOT NULL, pending_key bigint NOT NULL,
    late bigint NOT NULL, late_key bigint NOT NULL, contributions bigint NOT NULL,
    PRIMARY KEY (day)
);
CREATE TABLE lifecycle_deltas (
    day date NOT NULL, lifecycle text NOT NULL, state text NOT NULL,
    subjects bigint NOT NULL, subjects_key bigint NOT NULL, contributions bigint NOT NULL,
    PRIMARY KEY (day, lifecycle, state)
);

INSERT INTO aggregates (name, source, keys, sums, contributions) VALUES
('inflow_daily', 'inflow_items',
 '{day,kind,unaccompanied_minor,nationality,age_band,sex}', '{applications,applications_key}',
 $q$SELECT day, kind, unaccompanied_minor, nationality, age_band, sex, 1 AS applications,
           aggregation.record_key(event_id::text) AS applications_key FROM {rows}$q$),
('decisions_daily', 'decision_items', '{day,track,outcome}', '{decisions,decisions_key}',
 $q$SELECT day, track, outcome, 1 AS decisions,
           aggregation.record_key(event_id::text) AS decisions_key FROM {rows}$q$),
('departures_daily', 'departure_items', '{day,kind,border_return}',
 '{departures,departures_key}',
 $q$SELECT day, kind, border_return, 1 AS departures,
           aggregation.record_key(event_id::text) AS departures_key FROM {rows}$q$),
-- An anomaly without a valid time is on no day: no view counts it.
('anomalies_daily', 'anomalies', '{day,kind}', '{anomalies,anomalies_key}',
 $q$SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, kind, 1 AS anomalies,
           aggregation.record_key(person_key || ':' || seq) AS anomalies_key
    FROM {rows} WHERE occurred_at IS NOT NULL$q$),
('eurodac_hits_daily', 'eurodac_hit_items', '{day,category,member_state}', '{hits,hits_key}',
 $q$SELECT day, category, member_state, 1 AS hits,
           aggregation.record_key(event_id::text) AS hits_key FROM {rows}$q$),
('solidarity_daily', 'solidarity_items',
 '{day,direction,relocation_group,pledge_year,member_state}',
 '{decided,transferred,decided_key,transferred_key}',
 $q$SELECT decided_day AS day, direction, relocation_group, pledge_year, member_state,
           1 AS decided, 0 AS transferred, aggregation.record_key(event_id::text) AS decided_key,
           0::bigint AS transferred_key FROM {rows}
    UNION ALL
    SELECT transferred_day, direction, relocation_group, pledge_year, member_state, 0, 1, 0,
           aggregation.record_key(event_id::text) FROM {rows} WHERE transferred_day IS NOT NULL$q$),
('coa_occupancy_deltas', 'coa_stays', '{day,location_type}', '{persons,persons_key}',
 $q$SELECT from_day AS day, location_type, 1 AS persons,
           aggregation.record_key(person_key || ':' || seq) AS persons_key FROM {rows}
    UNION ALL
    SELECT to_day, location_type, -1, -aggregation.record_key(person_key || ':' || seq)
    FROM {rows} WHERE to_day IS NOT NULL$q$),
('coa_location_deltas', 'coa_stays', '{day,location_type,location_id,resident_status}',
 '{persons,persons_key}',
 $q$SELECT from_day AS day, location_type, location_id, resident_status, 1 AS persons,
           aggregation.record_key(person_key || ':' || seq) AS persons_key FROM {rows}
    UNION ALL
    SELECT to_day, location_type, location_id, resident_status, -1,
           -aggregation.record_key(person_key || ':' || seq)
    FROM {rows} WHERE to_day IS NOT NULL$q$),
('capacity_deltas', 'location_capacity', '{day,location_type,location_id}', '{places}',
 $q$SELECT from_day AS day, location_type, location_id, places FROM {rows}
    UNION ALL
    SELECT to_day, location_type, location_id, -places FROM {rows} WHERE to_day IS NOT NULL$q$),
('goo_deltas', 'goo_stays', '{day}', '{persons,persons_key}',
 $q$SELECT from_day AS day, 1 AS persons,
           aggregation.record_key(person_key || ':' || seq) AS persons_key FROM {rows}
    UNION ALL
    SELECT to_day, -1, -aggregation.record_key(person_key || ':' || seq)
    FROM {rows} WHERE to_day IS NOT NULL$q$),
-- Pending from the day lodged to the day decided; beyond the legal period (six months) from
-- six months after lodging to the day decided. A span that is empty counts nowhere.
('backlog_deltas', 'case_items', '{day}', '{pending,pending_key,late,late_key}',
 $q$WITH c AS (
        SELECT lodged_day, decided_day, (lodged_day + interval '6 months')::date AS late_day,
               aggregation.record_key(person_key || ':' || case_id) AS k
        FROM {rows}
    )
    SELECT lodged_day AS day, 1 AS pending, k AS pending_key, 0 AS late, 0::bigint AS late_key
    FROM c WHERE decided_day IS NULL OR lodged_day < decided_day
    UNION ALL
    SELECT decided_day, -1, -k, 0, 0 FROM c WHERE lodged_day < decided_day
    UNION ALL
    SELECT late_day, 0, 0, 1, k FROM c WHERE decided_day IS NULL OR late_day < decided_day
    UNION ALL
    SELECT decided_day, 0, 0, -1, -k FROM c WHERE late_day < decided_day$q$),
-- A change moves one subject out of from_state and into to_state on the day of its valid time.
('lifecycle_deltas', 'state_changes', '{day,lifecycle,state}', '{subjects,subjects_key}',
 $q$SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, lifecycle, to_state AS state,
           1 AS subjects,
           aggregation.record_key(person_key || ':' || lifecycle || ':' || subject) AS subjects_key
    FROM {rows}
    UNION ALL
    SELECT (occurred_at AT TIME ZONE 'UTC')::date, lifecycle, from_state, -1,
           -aggregation.record_key(person_key || ':' || lifecycle || ':' || subject)
    FROM {rows} WHERE from_state IS NOT NULL$q$);

-- Rows whose contributions have all gone are removed after each statement: this finds them
-- without reading the table (it is empty between statements).
DO $$
DECLARE
    a record;
BEGIN
    FOR a IN SELECT name FROM aggregates ORDER BY name LOOP
        EXECUTE format('CREATE INDEX %I ON %I (contributions) WHERE contributions = 0',
                       a.name || '_emptied', a.name);
    END LOOP;
    -- The schema being migrated is first on the search path: these are its tables.
    FOR a IN SELECT DISTINCT source FROM aggregates ORDER BY source LOOP
        EXECUTE format('CREATE TRIGGER aggregates_insert AFTER INSERT ON %I'
                       ' REFERENCING NEW TABLE AS new_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION aggregation.maintain()', a.source);
        EXECUTE format('CREATE TRIGGER aggregates_delete AFTER DELETE ON %I'
                       ' REFERENCING OLD TABLE AS old_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION aggregation.maintain()', a.source);
        EXECUTE format('CREATE TRIGGER aggregates_update AFTER UPDATE ON %I'
                       ' REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION aggregation.maintain()', a.source);
        EXECUTE format('CREATE TRIGGER aggregates_truncate AFTER TRUNCATE ON %I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION aggregation.maintain()', a.source);
    END LOOP;
    -- A database that already holds items gets its aggregates now.
    FOR a IN SELECT name FROM aggregates ORDER BY name LOOP
        PERFORM aggregation.recompute(current_schema(), a.name);
    END LOOP;
END $$;
