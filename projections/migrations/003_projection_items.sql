-- What each person contributes to the analysts' figures (projections/items.py), replaced in
-- the processor's transaction whenever the person is folded again; and, in schema `analyst`,
-- the stable views that are the analysts' contract (docs/projections.md). Internal tables may
-- change; the views keep their names and columns.

CREATE TABLE inflow_items (
    person_key          text NOT NULL,
    event_id            uuid NOT NULL,
    day                 date NOT NULL,
    kind                text NOT NULL,   -- FIRST, REPEAT, NAREIS
    unaccompanied_minor boolean NOT NULL
);
CREATE INDEX inflow_items_person ON inflow_items (person_key);
CREATE INDEX inflow_items_day ON inflow_items (day);

CREATE TABLE decision_items (
    person_key text NOT NULL,
    event_id   uuid NOT NULL,
    day        date NOT NULL,
    track      text NOT NULL,
    outcome    text NOT NULL,            -- A, B, REJECTED, INADMISSIBLE, MANIFESTLY_UNFOUNDED
    lodged_at  timestamptz,
    decided_at timestamptz NOT NULL
);
CREATE INDEX decision_items_person ON decision_items (person_key);
CREATE INDEX decision_items_day ON decision_items (day);

CREATE TABLE departure_items (
    person_key  text NOT NULL,
    event_id    uuid NOT NULL,
    day         date NOT NULL,
    kind        text NOT NULL,           -- INDEPENDENT, FORCED, DUBLIN_TRANSFER, UNSUPERVISED
    destination text
);
CREATE INDEX departure_items_person ON departure_items (person_key);
CREATE INDEX departure_items_day ON departure_items (day);

-- Stays count at the end of each day in [from_day, to_day); to_day NULL = still there.
CREATE TABLE coa_stays (
    person_key    text NOT NULL,
    seq           int  NOT NULL,
    from_day      date NOT NULL,
    to_day        date,
    location_type text NOT NULL,
    PRIMARY KEY (person_key, seq)
);
CREATE TABLE goo_stays (LIKE coa_stays INCLUDING ALL);

CREATE SCHEMA analyst;

CREATE VIEW analyst.inflow AS
SELECT day, kind, unaccompanied_minor, count(*)::int AS applications
FROM inflow_items GROUP BY day, kind, unaccompanied_minor;

CREATE VIEW analyst.decisions AS
SELECT day, track, outcome, count(*)::int AS decisions,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - lodged_at) / 86400)
           AS median_lead_days
FROM decision_items GROUP BY day, track, outcome;

CREATE VIEW analyst.departures AS
SELECT day, kind, kind IN ('INDEPENDENT', 'FORCED') AS demonstrable, count(*)::int AS departures
FROM departure_items GROUP BY day, kind;

-- Persons in reception at the end of each day, by location type: a running sum of arrivals
-- (+1 on from_day) and leavings (-1 on to_day).
CREATE VIEW analyst.coa_occupancy AS
WITH deltas AS (
    SELECT from_day AS day, location_type, 1 AS d FROM coa_stays
    UNION ALL
    SELECT to_day, location_type, -1 FROM coa_stays WHERE to_day IS NOT NULL
), per_day AS (
    SELECT day, location_type, sum(d) AS d FROM deltas GROUP BY day, location_type
), days AS (
    SELECT generate_series(min(day), greatest(max(day), current_date), interval '1 day')::date AS day
    FROM per_day
), types AS (
    SELECT DISTINCT location_type FROM per_day
), running AS (
    SELECT days.day, types.location_type,
           sum(coalesce(per_day.d, 0)) OVER (PARTITION BY types.location_type ORDER BY days.day)
               AS persons
    FROM days CROSS JOIN types
    LEFT JOIN per_day ON per_day.day = days.day AND per_day.location_type = types.location_type
)
SELECT day, location_type, persons::int AS persons FROM running WHERE persons <> 0;

CREATE VIEW analyst.goo_occupancy AS
WITH deltas AS (
    SELECT from_day AS day, 1 AS d FROM goo_stays
    UNION ALL
    SELECT to_day, -1 FROM goo_stays WHERE to_day IS NOT NULL
), per_day AS (
    SELECT day, sum(d) AS d FROM deltas GROUP BY day
), days AS (
    SELECT generate_series(min(day), greatest(max(day), current_date), interval '1 day')::date AS day
    FROM per_day
)
SELECT days.day, (sum(coalesce(per_day.d, 0)) OVER (ORDER BY days.day))::int AS persons
FROM days LEFT JOIN per_day ON per_day.day = days.day;
