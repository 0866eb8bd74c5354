-- The analysts' contract: stable views over the projection tables (docs/projections.md).
-- Not a migration: db.create_views renders it ({views} = the schema of the views, {tables} =
-- the schema of the tables) and applies it whole, for the live schema on every start, after a
-- replay's swap, and over a moment's tables for --as-known-at. Internal tables may change; the
-- views keep their names and columns.
--
-- Counts and stocks read the aggregates maintained on write (migration 017: per-day counts and
-- per-day deltas, keyed by day and dimensions, with their record-key sums), so a request reads
-- days x dimensions rows, however many items were ever recorded. Person-based counts,
-- percentiles and figures that depend on data_until itself still read the items.

-- Up to which day the log holds data: the (UTC) day of the latest valid time among the accepted
-- events, never after today. No view has a day after it: a stock (occupancy, backlog, states)
-- is known up to that day and not carried forward to today, which would look like data; a
-- stay that ends on an 18th birthday still to come counts up to this day only. NULL on an
-- empty log (then every view is empty).
CREATE VIEW {views}.data_until AS
SELECT least((max(occurred_at) AT TIME ZONE 'UTC')::date, (now() AT TIME ZONE 'UTC')::date) AS day
FROM {tables}.timeline_events;

-- A record's key for disclosure control (projections/disclosure.py, the cell key method): a
-- public hash of the record's identity in 0 .. 2^32-1. A count's `<count>_key` column is the
-- sum of the keys of the records it counts (a stock's: of those present), so it adds up like the
-- count; the server's secret turns a cell's sum into its noise. hashtextextended is the hash of
-- hash partitioning, which relies on it staying the same; five times cheaper than md5 here.
CREATE FUNCTION {views}.record_key(identity text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT hashtextextended(identity, 0) & 4294967295 $$;

-- New columns go after the existing ones: the contract's columns keep their places.
CREATE VIEW {views}.inflow AS
SELECT day, kind, unaccompanied_minor, applications::int AS applications, nationality, age_band,
       sex, applications_key::numeric AS applications_key
FROM {tables}.inflow_daily WHERE day <= (SELECT day FROM {views}.data_until);

-- Eurostat's person-based count of asylum applicants (FIRST and REPEAT applications; not
-- nareizigers): each person once per month and once per year, FIRST_TIME when the person's
-- first application in the log falls in that period. Persons, not applications, so a period
-- is not the sum of shorter ones: one set of rows per period type. Within a period every
-- application lies in one calendar year, so its age band is the same for all of them.
CREATE VIEW {views}.inflow_eurostat AS
WITH apps AS (
    SELECT person_key, day, nationality, age_band, sex,
           min(day) OVER (PARTITION BY person_key) AS first_day
    FROM {tables}.inflow_items
    WHERE kind IN ('FIRST', 'REPEAT') AND day <= (SELECT day FROM {views}.data_until)
), per_person AS (
    SELECT DISTINCT ON (t.period_type, a.person_key, 3) t.period_type, a.person_key,
           date_trunc(t.period_type, a.day::timestamp)::date AS period,
           date_trunc(t.period_type, a.first_day::timestamp)::date AS first_period,
           a.nationality, a.age_band, a.sex
    FROM apps a CROSS JOIN (VALUES ('month'), ('year')) AS t (period_type)
    ORDER BY t.period_type, a.person_key, 3, a.day
)
SELECT period_type, period,
       CASE WHEN first_period = period THEN 'FIRST_TIME' ELSE 'SUBSEQUENT' END AS applicant_type,
       nationality, age_band, sex, count(*)::int AS applicants,
       sum({views}.record_key(person_key)) AS applicants_key
FROM per_person GROUP BY 1, 2, 3, 4, 5, 6;

-- A median does not add up: it is computed from the day's items (through their index on day),
-- and only when a query asks for it.
CREATE VIEW {views}.decisions AS
SELECT a.day, a.track, a.outcome, a.decisions::int AS decisions,
       (SELECT percentile_cont(0.5) WITHIN GROUP (
                   ORDER BY extract(epoch FROM i.decided_at - i.lodged_at) / 86400)
        FROM {tables}.decision_items i
        WHERE i.day = a.day AND i.track = a.track AND i.outcome = a.outcome) AS median_lead_days,
       a.decisions_key::numeric AS decisions_key
FROM {tables}.decisions_daily a WHERE a.day <= (SELECT day FROM {views}.data_until);

-- Lead time from a case's first application to its decision, per period: percentiles do not
-- add up across days or dimensions, so every period type and every combination of the
-- dimensions has rows of its own (NULL track or outcome = all of them). One branch per period
-- type and combination (what GROUPING SETS would do), each with its period type and NULLs as
-- constants: a query's period_type and IS NULL conditions leave one branch to compute.
CREATE VIEW {views}.decision_lead_times AS
WITH d AS NOT MATERIALIZED (
    SELECT i.day, i.track, i.outcome,
           extract(epoch FROM i.decided_at - i.lodged_at) / 86400 AS lead_days,
           {views}.record_key(i.event_id::text) AS k
    FROM {tables}.decision_items i
    WHERE i.lodged_at IS NOT NULL AND i.day <= (SELECT day FROM {views}.data_until)
)
SELECT 'day'::text AS period_type, date_trunc('day', day::timestamp)::date AS period,
       track AS track, outcome AS outcome, count(*)::int AS decisions,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_days) AS p50_lead_days,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_days) AS p90_lead_days,
       sum(k) AS decisions_key
FROM d GROUP BY 2, 3, 4
UNION ALL
SELECT 'day', date_trunc('day', day::timestamp)::date, track, NULL::text, count(*)::int,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_days),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_days), sum(k)
FROM d GROUP BY 2, 3
UNION ALL
SELECT 'day', date_trunc('day', day::timestamp)::date, NULL::text, outcome, count(*)::int,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_days),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_days), sum(k)
FROM d GROUP BY 2, 4
UNION ALL
SELECT 'day', date_trunc('day', day::timestamp)::date, NULL::text, NULL::text, count(*)::int,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_days),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_days), sum(k)
FROM d GROUP BY 2
UNION ALL
SELECT 'week', date_trunc('week', day::timestamp)::date, track, outcome, count(*)::int,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_days),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_days), sum(k)
FROM d GROUP BY 2, 3, 4
UNION ALL
SELECT 'week', date_trunc('week', day::timestamp)::date, track, NULL::text, count(*)::int,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_days),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_days), sum(k)
FROM d GROUP BY 2, 3
UNION ALL
SELECT 'week', date_trunc('week', day::timestamp)::date, NULL::text, outcome, count(*)::int,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_days),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_days), sum(k)
FROM d GROUP BY 2, 4
UNION ALL
SELECT 'week', date_trunc('week', day::timestamp)::date, NULL::text, NULL::text, count(*)::int,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_days),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_days), sum(k)
FROM d GROUP BY 2
UNION ALL
SELECT 'month', date_trunc('month', day::timestamp)::date, track, outcome, count(*)::int,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_days),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_days), sum(k)
FROM d GROUP BY 2, 3, 4
UNION ALL
SELECT 'month', date_trunc('month', day::timestamp)::date, track, NULL::text, count(*)::int,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_days),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_days), sum(k)
FROM d GROUP BY 2, 3
UNION ALL
SELECT 'month', date_trunc('month', day::timestamp)::date, NULL::text, outcome, count(*)::int,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_days),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_days), sum(k)
FROM d GROUP BY 2, 4
UNION ALL
SELECT 'month', date_trunc('month', day::timestamp)::date, NULL::text, NULL::text, count(*)::int,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_days),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_days), sum(k)
FROM d GROUP BY 2
UNION ALL
SELECT 'year', date_trunc('year', day::timestamp)::date, track, outcome, count(*)::int,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_days),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_days), sum(k)
FROM d GROUP BY 2, 3, 4
UNION ALL
SELECT 'year', date_trunc('year', day::timestamp)::date, track, NULL::text, count(*)::int,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_days),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_days), sum(k)
FROM d GROUP BY 2, 3
UNION ALL
SELECT 'year', date_trunc('year', day::timestamp)::date, NULL::text, outcome, count(*)::int,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_days),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_days), sum(k)
FROM d GROUP BY 2, 4
UNION ALL
SELECT 'year', date_trunc('year', day::timestamp)::date, NULL::text, NULL::text, count(*)::int,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_days),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_days), sum(k)
FROM d GROUP BY 2;

-- Demonstrable departure (DT&V; domain reference §5) = independent + forced, and DT&V counts a
-- Dublin transfer as a forced departure (2024: forced 2,750, of which 1,740 Dublin transfers),
-- so: INDEPENDENT, FORCED and DUBLIN_TRANSFER; without supervision (UNSUPERVISED) is not.
CREATE VIEW {views}.departures AS
SELECT day, kind, kind IN ('INDEPENDENT', 'FORCED', 'DUBLIN_TRANSFER') AS demonstrable,
       sum(departures)::int AS departures, sum(departures_key) AS departures_key
FROM {tables}.departures_daily WHERE day <= (SELECT day FROM {views}.data_until)
GROUP BY day, kind;

-- Persons in reception at the end of each day, by location type: a running sum of arrivals
-- (+1 on from_day) and leavings (-1 on to_day) over the days it changed, each level held until
-- its next change (no join of every day with every type).
CREATE VIEW {views}.coa_occupancy AS
WITH levels AS (
    SELECT day, location_type, sum(persons) OVER w AS persons,
           sum(persons_key) OVER w AS persons_key,
           lead(day) OVER w AS next_day
    FROM {tables}.coa_occupancy_deltas
    WINDOW w AS (PARTITION BY location_type ORDER BY day)
), last AS (
    SELECT day FROM {views}.data_until
)
SELECT g.day::date AS day, l.location_type, l.persons::int AS persons, l.persons_key
FROM levels l CROSS JOIN last
CROSS JOIN LATERAL generate_series(
    l.day::timestamp, least(l.next_day - 1, last.day)::timestamp, interval '1 day') AS g (day)
WHERE l.persons <> 0 AND last.day IS NOT NULL;

-- Persons in reception at the end of each day by location, location type and resident status:
-- a running sum per combination over the days it changed, each level held until its next
-- change (so only the days with someone there are expanded).
CREATE VIEW {views}.coa_residents AS
WITH per_day AS (
    SELECT day, location_type, location_id, resident_status, persons AS d, persons_key AS k
    FROM {tables}.coa_location_deltas
), levels AS (
    SELECT day, location_type, location_id, resident_status,
           sum(d) OVER w AS persons, sum(k) OVER w AS persons_key, lead(day) OVER w AS next_day
    FROM per_day
    WINDOW w AS (PARTITION BY location_type, location_id, resident_status ORDER BY day)
), last AS (
    SELECT day FROM {views}.data_until
)
SELECT g.day::date AS day, l.location_type, l.location_id, l.resident_status,
       l.persons::int AS persons, l.persons_key
FROM levels l CROSS JOIN last
CROSS JOIN LATERAL generate_series(
    l.day::timestamp, least(l.next_day - 1, last.day)::timestamp, interval '1 day') AS g (day)
WHERE l.persons <> 0;

-- Places at each open location at the end of each day.
CREATE VIEW {views}.coa_capacity AS
WITH last AS (
    SELECT day FROM {views}.data_until
)
SELECT g.day::date AS day, c.location_type, c.location_id, sum(c.places)::int AS places
FROM {tables}.location_capacity c CROSS JOIN last
CROSS JOIN LATERAL generate_series(
    c.from_day::timestamp, least(c.to_day - 1, last.day)::timestamp, interval '1 day')
    AS g (day)
GROUP BY 1, 2, 3;

-- Occupancy against capacity per day and location: persons (all resident statuses), places,
-- and the occupancy rate in percent (NULL without places, e.g. UNPLACED). One running sum of
-- both per location over the days either changed, each level held until the next change:
-- no per-status split and no join of two day-by-day expansions (the dashboard asks for it).
CREATE VIEW {views}.coa_occupancy_capacity AS
WITH deltas AS (
    SELECT day, location_type, location_id, persons, 0 AS places, persons_key AS k
    FROM {tables}.coa_location_deltas
    UNION ALL
    SELECT day, location_type, location_id, 0, places, 0 FROM {tables}.capacity_deltas
), per_day AS (
    SELECT day, location_type, location_id, sum(persons) AS persons, sum(places) AS places,
           sum(k) AS k
    FROM deltas GROUP BY day, location_type, location_id
), levels AS (
    SELECT day, location_type, location_id,
           sum(persons) OVER w AS persons, sum(places) OVER w AS places,
           sum(k) OVER w AS persons_key,
           lead(day) OVER w AS next_day
    FROM per_day
    WINDOW w AS (PARTITION BY location_type, location_id ORDER BY day)
), last AS (
    SELECT day FROM {views}.data_until
)
SELECT g.day::date AS day, l.location_type, l.location_id, l.persons::int AS persons,
       l.places::int AS places,
       round(100.0 * l.persons / nullif(l.places, 0), 1) AS occupancy_rate, l.persons_key
FROM levels l CROSS JOIN last
CROSS JOIN LATERAL generate_series(
    l.day::timestamp, least(l.next_day - 1, last.day)::timestamp, interval '1 day') AS g (day)
WHERE l.persons <> 0 OR l.places <> 0;

-- COA's relocations per resident per year: the year's relocations divided by its average
-- number of residents, i.e. by its resident days over the days in the year — a rate per
-- resident-year, so a year the log holds in part (or the current one) is annualised. The same
-- for children (under 18 by the age reached in the year). Stays count up to the log's last day
-- (data_until), open ones and those ending on an 18th birthday still to come alike.
CREATE VIEW {views}.coa_relocations AS
WITH until AS (
    SELECT day FROM {views}.data_until
), levels AS (
    -- Persons in reception (stays counted) per child-or-not, from each day they changed until
    -- the next change (the log's last day at the latest); `stays`: how many stays reach into
    -- the year (migration 019, coa_minor_deltas).
    SELECT x.day, x.minor, (sum(x.persons) OVER w)::bigint AS persons,
           sum(x.stays) OVER w AS stays, coalesce(lead(x.day) OVER w, until.day + 1) AS next_day
    FROM {tables}.coa_minor_deltas x CROSS JOIN until WHERE x.day <= until.day
    WINDOW w AS (PARTITION BY x.minor ORDER BY x.day)
), days AS (
    -- A year with a stay reaching into it has its row, resident days or none.
    SELECT g.year::date AS period, l.minor,
           sum(l.persons * (least(l.next_day, (g.year + interval '1 year')::date)
                            - greatest(l.day, g.year::date))) AS resident_days
    FROM levels l CROSS JOIN LATERAL generate_series(
        date_trunc('year', l.day::timestamp), (l.next_day - 1)::timestamp, interval '1 year')
        AS g (year)
    GROUP BY 1, 2
    HAVING max(l.stays) > 0
), moves AS (
    SELECT date_trunc('year', day::timestamp)::date AS period, minor,
           sum(relocations) AS relocations
    FROM {tables}.relocations_daily WHERE day <= (SELECT day FROM until) GROUP BY 1, 2
), per_year AS (
    SELECT period,
           coalesce(sum(m.relocations), 0)::int AS relocations,
           coalesce(sum(d.resident_days), 0)::int AS resident_days,
           coalesce(sum(m.relocations) FILTER (WHERE minor), 0)::int AS child_relocations,
           coalesce(sum(d.resident_days) FILTER (WHERE minor), 0)::int AS child_resident_days,
           ((period + interval '1 year')::date - period)::numeric AS year_days
    FROM days d FULL JOIN moves m USING (period, minor)
    GROUP BY period
)
SELECT 'year'::text AS period_type, period, relocations, resident_days, child_relocations,
       child_resident_days,
       round(relocations * year_days / nullif(resident_days, 0), 3)
           AS relocations_per_resident_year,
       round(child_relocations * year_days / nullif(child_resident_days, 0), 3)
           AS child_relocations_per_resident_year
FROM per_year;

CREATE VIEW {views}.goo_occupancy AS
WITH per_day AS (
    SELECT day, persons AS d, persons_key AS k FROM {tables}.goo_deltas
), days AS (
    SELECT generate_series(min(day), (SELECT day FROM {views}.data_until), interval '1 day')::date
        AS day
    FROM per_day
)
SELECT days.day, (sum(coalesce(per_day.d, 0)) OVER w)::int AS persons,
       sum(coalesce(per_day.k, 0)) OVER w AS persons_key
FROM days LEFT JOIN per_day ON per_day.day = days.day
WINDOW w AS (ORDER BY days.day);

-- Pending at the end of each day, and of those pending longer than the legal decision period
-- of six months (Vreemdelingenwet art. 42; extensions to 15 months are not recorded as events).
CREATE VIEW {views}.decision_backlog AS
WITH per_day AS (
    SELECT day, pending, late, pending_key, late_key FROM {tables}.backlog_deltas
), days AS (
    SELECT generate_series(min(day), (SELECT day FROM {views}.data_until), interval '1 day')::date
        AS day
    FROM per_day
)
SELECT days.day,
       (sum(coalesce(per_day.pending, 0)) OVER w)::int AS pending,
       (sum(coalesce(per_day.late, 0)) OVER w)::int AS pending_beyond_legal_period,
       sum(coalesce(per_day.pending_key, 0)) OVER w AS pending_key,
       sum(coalesce(per_day.late_key, 0)) OVER w AS pending_beyond_legal_period_key
FROM days LEFT JOIN per_day ON per_day.day = days.day
WINDOW w AS (ORDER BY days.day);

-- Per municipality and task period: the task, status holders linked and housed so far, and
-- what is left of the task (the backlog; never below zero).
CREATE VIEW {views}.housing AS
WITH steps AS (
    SELECT municipality_code, task_period,
           count(*) FILTER (WHERE step = 'LINKED')::int AS linked,
           count(*) FILTER (WHERE step = 'HOUSED')::int AS housed
    FROM {tables}.housing_items GROUP BY municipality_code, task_period
), tasks AS (
    SELECT municipality_code, task_period, sum(task)::int AS task
    FROM {tables}.housing_tasks GROUP BY municipality_code, task_period
)
SELECT municipality_code, task_period,
       coalesce(tasks.task, 0) AS task,
       coalesce(steps.linked, 0) AS linked,
       coalesce(steps.housed, 0) AS housed,
       greatest(coalesce(tasks.task, 0) - coalesce(steps.housed, 0), 0) AS backlog
FROM tasks FULL JOIN steps USING (municipality_code, task_period);

-- A change moves one subject (a case, a reception, ...) out of from_state and into to_state
-- on the day of its valid time; the running sum is the number in each state.
CREATE VIEW {views}.lifecycle AS
WITH levels AS (
    SELECT day, lifecycle, state, sum(subjects) OVER w AS subjects,
           sum(subjects_key) OVER w AS subjects_key, lead(day) OVER w AS next_day
    FROM {tables}.lifecycle_deltas
    WINDOW w AS (PARTITION BY lifecycle, state ORDER BY day)
), last AS (
    SELECT day FROM {views}.data_until
)
SELECT g.day::date AS day, l.lifecycle, l.state, l.subjects::int AS subjects, l.subjects_key
FROM levels l CROSS JOIN last
CROSS JOIN LATERAL generate_series(
    l.day::timestamp, least(l.next_day - 1, last.day)::timestamp, interval '1 day') AS g (day)
WHERE l.subjects <> 0 AND last.day IS NOT NULL;

CREATE VIEW {views}.anomalies AS
SELECT day, kind, anomalies::int AS anomalies, anomalies_key::numeric AS anomalies_key
FROM {tables}.anomalies_daily WHERE day <= (SELECT day FROM {views}.data_until);

-- The EU Migration Pact (docs/projections.md, "The EU Migration Pact"). Each figure counts on
-- the day of its own instant (a screening's start and its completion, a request and its
-- answer); nothing after data_until counts, and what happens after it is not known yet: a
-- screening completed later is still NOT_COMPLETED, a border procedure ended later is open.

-- Screenings (Screening Regulation 2024/1356): started on the day of ScreeningStarted, by
-- location and the referral the screening ended with (NOT_COMPLETED while it runs); completed
-- on the day of completion, and of those within 7 days of the start (art. 8(3)).
CREATE VIEW {views}.pact_screenings AS
WITH until AS (
    SELECT day FROM {views}.data_until
), s AS (
    SELECT (i.started_at AT TIME ZONE 'UTC')::date AS started_day,
           CASE WHEN (i.completed_at AT TIME ZONE 'UTC')::date <= until.day
                THEN (i.completed_at AT TIME ZONE 'UTC')::date END AS completed_day,
           i.location, coalesce(i.referral, 'UNKNOWN') AS referral,
           extract(epoch FROM i.completed_at - i.started_at) <= 7 * 86400 AS within_7_days,
           {views}.record_key(i.event_id::text) AS k
    FROM {tables}.screening_items i CROSS JOIN until
), counted AS (
    SELECT started_day AS day, location,
           CASE WHEN completed_day IS NULL THEN 'NOT_COMPLETED' ELSE referral END AS referral,
           1 AS started, 0 AS completed, 0 AS within_7_days, k
    FROM s
    UNION ALL
    SELECT completed_day, location, referral, 0, 1, within_7_days::int, k
    FROM s WHERE completed_day IS NOT NULL
)
SELECT day, location, referral, sum(started)::int AS started, sum(completed)::int AS completed,
       sum(within_7_days)::int AS within_7_days, sum(started * k) AS started_key,
       sum(completed * k) AS completed_key, sum(within_7_days * k) AS within_7_days_key
FROM counted WHERE day <= (SELECT day FROM until)
GROUP BY day, location, referral;

-- How long the screenings completed in each period took, in hours: mean and median per
-- period type and every combination of location and referral (NULL = all), as the decisions'
-- lead times (a median does not add up).
CREATE VIEW {views}.pact_screening_durations AS
WITH d AS (
    SELECT t.period_type,
           date_trunc(t.period_type, (i.completed_at AT TIME ZONE 'UTC')::date::timestamp)::date
               AS period,
           i.location, coalesce(i.referral, 'UNKNOWN') AS referral,
           extract(epoch FROM i.completed_at - i.started_at) / 3600 AS hours,
           {views}.record_key(i.event_id::text) AS k
    FROM {tables}.screening_items i
    CROSS JOIN (VALUES ('day'), ('week'), ('month'), ('year')) AS t (period_type)
    WHERE (i.completed_at AT TIME ZONE 'UTC')::date <= (SELECT day FROM {views}.data_until)
)
SELECT period_type, period, location, referral, count(*)::int AS completed,
       avg(hours) AS mean_duration_hours,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS median_duration_hours,
       sum(k) AS completed_key
FROM d
GROUP BY GROUPING SETS (
    (period_type, period, location, referral), (period_type, period, location),
    (period_type, period, referral), (period_type, period));

-- Asylum border procedures (APR 2024/1348 art. 43-54): started on the day of TrackAssigned
-- BORDER; decided within the maximum (by the decision's outcome), maximum reached, or ended
-- otherwise (another track, a departure) on the day it ended; and, on the day its deadline
-- fell, each one still open at the end of the data although its maximum has passed (the fold
-- ends it at the deadline when the case's next event arrives: it then moves to
-- maximum_reached on the same day). outcome is NONE on every count but decided.
CREATE VIEW {views}.pact_border_procedures AS
WITH until AS (
    SELECT day FROM {views}.data_until
), b AS (
    SELECT (i.started_at AT TIME ZONE 'UTC')::date AS started_day,
           CASE WHEN (i.ended_at AT TIME ZONE 'UTC')::date <= until.day
                THEN (i.ended_at AT TIME ZONE 'UTC')::date END AS ended_day,
           (i.deadline AT TIME ZONE 'UTC')::date AS deadline_day, i.result, i.outcome,
           {views}.record_key(i.event_id::text) AS k
    FROM {tables}.border_procedure_items i CROSS JOIN until
), counted AS (
    SELECT started_day AS day, 'NONE' AS outcome, 1 AS started, 0 AS decided,
           0 AS maximum_reached, 0 AS ended_otherwise, 0 AS open_past_maximum, k
    FROM b
    UNION ALL
    SELECT ended_day,
           CASE WHEN result = 'DECIDED' THEN coalesce(outcome, 'UNKNOWN') ELSE 'NONE' END, 0,
           (result = 'DECIDED')::int, (result = 'MAXIMUM_REACHED')::int,
           (result IS DISTINCT FROM 'DECIDED' AND result IS DISTINCT FROM 'MAXIMUM_REACHED')::int,
           0, k
    FROM b WHERE ended_day IS NOT NULL
    UNION ALL
    SELECT deadline_day, 'NONE', 0, 0, 0, 0, 1, k FROM b WHERE ended_day IS NULL
)
SELECT day, outcome, sum(started)::int AS started, sum(decided)::int AS decided,
       sum(maximum_reached)::int AS maximum_reached, sum(ended_otherwise)::int AS ended_otherwise,
       sum(open_past_maximum)::int AS open_past_maximum, sum(started * k) AS started_key,
       sum(decided * k) AS decided_key, sum(maximum_reached * k) AS maximum_reached_key,
       sum(ended_otherwise * k) AS ended_otherwise_key,
       sum(open_past_maximum * k) AS open_past_maximum_key
FROM counted WHERE day <= (SELECT day FROM until)
GROUP BY day, outcome;

-- Departures from the return border procedure (Regulation 2024/1349): the case was in it
-- when the person left.
CREATE VIEW {views}.pact_border_returns AS
SELECT day, kind, departures::int AS departures, departures_key::numeric AS departures_key
FROM {tables}.departures_daily
WHERE border_return AND day <= (SELECT day FROM {views}.data_until);

-- Eurodac hits (Regulation 2024/1358) by the hit's category and the member state it points to.
CREATE VIEW {views}.pact_eurodac_hits AS
SELECT day, category, member_state, hits::int AS hits, hits_key::numeric AS hits_key
FROM {tables}.eurodac_hits_daily WHERE day <= (SELECT day FROM {views}.data_until);

-- AMMR (2024/1351) requests out of and into the Netherlands: requested, accepted and refused
-- on the day of the request and of the answer; transferred on the day of the transfer, and
-- of those within the time limit (art. 46); and, on the first day past the time limit, each
-- accepted request still not transferred at the end of the data.
CREATE VIEW {views}.pact_ammr AS
WITH until AS (
    SELECT day FROM {views}.data_until
), counted AS (
    SELECT requested_day AS day, direction, kind, member_state, 1 AS requested, 0 AS accepted,
           0 AS refused, 0 AS transferred, 0 AS transferred_within_time_limit,
           0 AS open_past_time_limit, {views}.record_key(event_id::text) AS k
    FROM {tables}.ammr_items
    UNION ALL
    SELECT answered_day, direction, kind, member_state, 0, (answer = 'ACCEPTED')::int,
           (answer = 'REFUSED')::int, 0, 0, 0, {views}.record_key(event_id::text)
    FROM {tables}.ammr_items WHERE answered_day IS NOT NULL AND answer IN ('ACCEPTED', 'REFUSED')
    UNION ALL
    SELECT transferred_day, direction, kind, member_state, 0, 0, 0, 1,
           coalesce(transferred_day <= time_limit, false)::int, 0,
           {views}.record_key(event_id::text)
    FROM {tables}.ammr_items WHERE transferred_day IS NOT NULL
    UNION ALL
    SELECT time_limit + 1, direction, kind, member_state, 0, 0, 0, 0, 0, 1,
           {views}.record_key(event_id::text)
    FROM {tables}.ammr_items CROSS JOIN until
    WHERE answer = 'ACCEPTED' AND time_limit IS NOT NULL
      AND (transferred_day IS NULL OR transferred_day > until.day)
)
SELECT day, direction, kind, member_state, sum(requested)::int AS requested,
       sum(accepted)::int AS accepted, sum(refused)::int AS refused,
       sum(transferred)::int AS transferred,
       sum(transferred_within_time_limit)::int AS transferred_within_time_limit,
       sum(open_past_time_limit)::int AS open_past_time_limit,
       sum(requested * k) AS requested_key, sum(accepted * k) AS accepted_key,
       sum(refused * k) AS refused_key, sum(transferred * k) AS transferred_key,
       sum(transferred_within_time_limit * k) AS transferred_within_time_limit_key,
       sum(open_past_time_limit * k) AS open_past_time_limit_key
FROM counted WHERE day <= (SELECT day FROM until)
GROUP BY day, direction, kind, member_state;

-- Solidarity relocations (AMMR art. 67-68) into and out of the Netherlands: decided and
-- transferred, each on its own day, by the pledge (year) they count against.
CREATE VIEW {views}.pact_solidarity AS
SELECT day, direction, relocation_group, pledge_year, member_state,
       decided::int AS decided, transferred::int AS transferred,
       decided_key::numeric AS decided_key, transferred_key::numeric AS transferred_key
FROM {tables}.solidarity_daily WHERE day <= (SELECT day FROM {views}.data_until);

-- The per-day deltas of the stocks as they are maintained (migration 017), for the functions
-- below. They tell nothing the stock views do not: a delta is the difference of two days.
CREATE VIEW {views}.coa_occupancy_deltas AS
SELECT day, location_type, persons, persons_key FROM {tables}.coa_occupancy_deltas;
CREATE VIEW {views}.coa_location_deltas AS
SELECT day, location_type, location_id, resident_status, persons, persons_key
FROM {tables}.coa_location_deltas;
CREATE VIEW {views}.capacity_deltas AS
SELECT day, location_type, location_id, places FROM {tables}.capacity_deltas;
CREATE VIEW {views}.lifecycle_deltas AS
SELECT day, lifecycle, state, subjects, subjects_key FROM {tables}.lifecycle_deltas;
CREATE VIEW {views}.backlog_deltas AS
SELECT day, pending, late, pending_key, late_key FROM {tables}.backlog_deltas;
CREATE VIEW {views}.goo_deltas AS SELECT day, persons, persons_key FROM {tables}.goo_deltas;
-- The same per month (migration 019).
CREATE VIEW {views}.lifecycle_monthly AS
SELECT month, lifecycle, state, subjects, subjects_key FROM {tables}.lifecycle_monthly;
CREATE VIEW {views}.coa_location_monthly AS
SELECT month, location_type, location_id, resident_status, persons, persons_key
FROM {tables}.coa_location_monthly;

-- A stock per period, as the analysts' queries ask for it (projections/queries.py): the rows
-- of the view on each period's last day that has any, between van and tot. The view expands
-- every day since the first change; these start from the level at van and produce rows only
-- on the days the answer holds, so a query over a quarter expands nothing before it. A
-- function, not a view: van must reach the deltas before the running sum. Plain SQL over the
-- views above, so PostgreSQL inlines it into the query (SECURITY DEFINER or a SET would stop
-- that, and ran 5-10x slower). Each: `span` the days asked for (never after data_until);
-- `levels` each delta's running sum, held from its day (van at the earliest) to the next
-- change; `cover` each level's candidate last day in every period it overlaps; the rows
-- answered are those on the latest candidate of their period.
--
-- Per month and year, the residents, capacity and lifecycle functions do the same over the
-- per-month deltas of migration 019 (`<view>_by_day` is the day-by-day form): the running sum
-- over months x dimensions (the daily deltas only for the month of the last day asked, which
-- may be partial), each period's rows those on its last day asked (`ends`). A period with
-- nobody on that day has its rows on its last day with somebody, if any (`empty`): only
-- those periods are computed day by day, each over itself alone.
CREATE FUNCTION {views}.coa_occupancy_ends(period text, van date, tot date)
RETURNS TABLE (day date, location_type text, persons int, persons_key numeric)
LANGUAGE sql STABLE AS $$
WITH span AS MATERIALIZED (
    SELECT van AS lo, least(tot, current_date, u.day) AS hi FROM {views}.data_until u
), levels AS (
    SELECT greatest(x.day, s.lo) AS day, x.location_type, sum(x.persons) OVER w AS persons,
           sum(x.persons_key) OVER w AS persons_key,
           coalesce(lead(x.day) OVER w - 1, s.hi) AS last_day
    FROM {views}.coa_occupancy_deltas x CROSS JOIN span s WHERE x.day <= s.hi
    WINDOW w AS (PARTITION BY x.location_type ORDER BY x.day)
), cover AS (
    SELECT l.*, p.start, least(l.last_day, (p.start + ('1 ' || period)::interval)::date - 1) AS e
    FROM levels l CROSS JOIN LATERAL generate_series(
        date_trunc(period, l.day::timestamp), l.last_day::timestamp, ('1 ' || period)::interval)
        AS p (start)
    WHERE l.day <= l.last_day AND (l.persons <> 0)
), ranked AS (
    SELECT *, max(e) OVER (PARTITION BY start) AS period_last FROM cover
)
SELECT e, location_type, persons::int, persons_key FROM ranked WHERE e = period_last
$$;

CREATE FUNCTION {views}.coa_residents_ends_by_day(period text, van date, tot date)
RETURNS TABLE (day date, location_type text, location_id text, resident_status text,
               persons int, persons_key numeric)
LANGUAGE sql STABLE AS $$
WITH span AS MATERIALIZED (
    SELECT van AS lo, least(tot, current_date, u.day) AS hi FROM {views}.data_until u
), levels AS (
    SELECT greatest(x.day, s.lo) AS day, x.location_type, x.location_id, x.resident_status,
           sum(x.persons) OVER w AS persons, sum(x.persons_key) OVER w AS persons_key,
           coalesce(lead(x.day) OVER w - 1, s.hi) AS last_day
    FROM {views}.coa_location_deltas x CROSS JOIN span s WHERE x.day <= s.hi
    WINDOW w AS (PARTITION BY x.location_type, x.location_id, x.resident_status ORDER BY x.day)
), cover AS (
    SELECT l.*, p.start, least(l.last_day, (p.start + ('1 ' || period)::interval)::date - 1) AS e
    FROM levels l CROSS JOIN LATERAL generate_series(
        date_trunc(period, l.day::timestamp), l.last_day::timestamp, ('1 ' || period)::interval)
        AS p (start)
    WHERE l.day <= l.last_day AND (l.persons <> 0)
), ranked AS (
    SELECT *, max(e) OVER (PARTITION BY start) AS period_last FROM cover
)
SELECT e, location_type, location_id, resident_status, persons::int, persons_key
FROM ranked WHERE e = period_last
$$;

CREATE FUNCTION {views}.coa_residents_ends(period text, van date, tot date)
RETURNS TABLE (day date, location_type text, location_id text, resident_status text,
               persons int, persons_key numeric)
LANGUAGE sql STABLE AS $$
SELECT * FROM {views}.coa_residents_ends_by_day(period, van, tot)
WHERE period NOT IN ('month', 'year')
UNION ALL
SELECT * FROM (
    WITH span AS MATERIALIZED (
        SELECT van AS lo, h.hi, date_trunc('month', h.hi::timestamp)::date AS hm,
               (SELECT min(x.day) FROM {views}.coa_location_deltas x) AS first_day
        FROM {views}.data_until u
        CROSS JOIN LATERAL (SELECT least(tot, current_date, u.day) AS hi) h
    ), per_month AS (
        SELECT m.month, m.location_type, m.location_id, m.resident_status, m.persons,
               m.persons_key
        FROM {views}.coa_location_monthly m CROSS JOIN span s WHERE m.month < s.hm
        UNION ALL
        SELECT s.hm, x.location_type, x.location_id, x.resident_status, sum(x.persons),
               sum(x.persons_key)
        FROM {views}.coa_location_deltas x CROSS JOIN span s
        WHERE x.day >= s.hm AND x.day <= s.hi
        GROUP BY s.hm, x.location_type, x.location_id, x.resident_status
    ), levels AS (
        SELECT month, location_type, location_id, resident_status, sum(persons) OVER w AS persons,
               sum(persons_key) OVER w AS persons_key,
               coalesce(lead(month) OVER w, (SELECT (hm + interval '1 month')::date FROM span))
                   AS next_month
        FROM per_month
        WINDOW w AS (PARTITION BY location_type, location_id, resident_status ORDER BY month)
    ), ends AS (
        SELECT e.day, p.start, l.*
        FROM levels l CROSS JOIN span s
        CROSS JOIN LATERAL generate_series(
            date_trunc(period, l.month::timestamp), (l.next_month - 1)::timestamp,
            ('1 ' || period)::interval) AS p (start)
        CROSS JOIN LATERAL (
            SELECT least((p.start + ('1 ' || period)::interval)::date - 1, s.hi) AS day) e
        WHERE (l.persons <> 0) AND e.day >= s.lo AND e.day >= l.month AND e.day < l.next_month
    ), empty AS (
        SELECT greatest(p.start::date, s.lo) AS van,
               least((p.start + ('1 ' || period)::interval)::date - 1, s.hi) AS tot
        FROM span s CROSS JOIN LATERAL generate_series(
            date_trunc(period, greatest(s.lo, s.first_day)::timestamp), s.hi::timestamp,
            ('1 ' || period)::interval) AS p (start)
        WHERE s.first_day IS NOT NULL AND NOT EXISTS (SELECT FROM ends WHERE ends.start = p.start)
    )
    SELECT day, location_type, location_id, resident_status, persons::int, persons_key FROM ends
    UNION ALL
    SELECT d.* FROM empty
    CROSS JOIN LATERAL {views}.coa_residents_ends_by_day(period, empty.van, empty.tot) d
) f WHERE period IN ('month', 'year')
$$;

CREATE FUNCTION {views}.coa_occupancy_capacity_ends_by_day(period text, van date, tot date)
RETURNS TABLE (day date, location_type text, location_id text, persons int, places int,
               occupancy_rate numeric, persons_key numeric)
LANGUAGE sql STABLE AS $$
WITH span AS MATERIALIZED (
    SELECT van AS lo, least(tot, current_date, u.day) AS hi FROM {views}.data_until u
), deltas AS (
    SELECT day, location_type, location_id, persons, 0 AS places, persons_key AS k
    FROM {views}.coa_location_deltas
    UNION ALL
    SELECT day, location_type, location_id, 0, places, 0 FROM {views}.capacity_deltas
), d AS (
    SELECT greatest(x.day, s.lo) AS day, x.location_type, x.location_id,
           sum(x.persons) AS persons, sum(x.places) AS places, sum(x.k) AS k
    FROM deltas x CROSS JOIN span s WHERE x.day <= s.hi
    GROUP BY 1, 2, 3
), levels AS (
    SELECT day, location_type, location_id, sum(persons) OVER w AS persons,
           sum(places) OVER w AS places, sum(k) OVER w AS persons_key,
           coalesce(lead(day) OVER w - 1, (SELECT hi FROM span)) AS last_day
    FROM d WINDOW w AS (PARTITION BY location_type, location_id ORDER BY day)
), cover AS (
    SELECT l.*, p.start, least(l.last_day, (p.start + ('1 ' || period)::interval)::date - 1) AS e
    FROM levels l CROSS JOIN LATERAL generate_series(
        date_trunc(period, l.day::timestamp), l.last_day::timestamp, ('1 ' || period)::interval)
        AS p (start)
    WHERE l.day <= l.last_day AND (l.persons <> 0 OR l.places <> 0)
), ranked AS (
    SELECT *, max(e) OVER (PARTITION BY start) AS period_last FROM cover
)
SELECT e, location_type, location_id, persons::int, places::int,
       round(100.0 * persons / nullif(places, 0), 1), persons_key
FROM ranked WHERE e = period_last
$$;

CREATE FUNCTION {views}.coa_occupancy_capacity_ends(period text, van date, tot date)
RETURNS TABLE (day date, location_type text, location_id text, persons int, places int,
               occupancy_rate numeric, persons_key numeric)
LANGUAGE sql STABLE AS $$
SELECT * FROM {views}.coa_occupancy_capacity_ends_by_day(period, van, tot)
WHERE period NOT IN ('month', 'year')
UNION ALL
SELECT * FROM (
    WITH span AS MATERIALIZED (
        SELECT van AS lo, h.hi, date_trunc('month', h.hi::timestamp)::date AS hm,
               (SELECT least((SELECT min(x.day) FROM {views}.coa_location_deltas x),
                       (SELECT min(c.day) FROM {views}.capacity_deltas c))) AS first_day
        FROM {views}.data_until u
        CROSS JOIN LATERAL (SELECT least(tot, current_date, u.day) AS hi) h
    ), per_month AS (
        SELECT x.month, x.location_type, x.location_id, sum(x.persons) AS persons,
               sum(x.places) AS places, sum(x.k) AS k
        FROM (
            SELECT m.month, m.location_type, m.location_id, m.persons, 0 AS places,
                   m.persons_key AS k
            FROM {views}.coa_location_monthly m
            UNION ALL
            SELECT date_trunc('month', c.day::timestamp)::date, c.location_type, c.location_id,
                   0, c.places, 0
            FROM {views}.capacity_deltas c
        ) x CROSS JOIN span s WHERE x.month < s.hm
        GROUP BY x.month, x.location_type, x.location_id
        UNION ALL
        SELECT s.hm, x.location_type, x.location_id, sum(x.persons), sum(x.places), sum(x.k)
        FROM span s CROSS JOIN LATERAL (
            SELECT location_type, location_id, persons, 0 AS places, persons_key AS k
            FROM {views}.coa_location_deltas WHERE day >= s.hm AND day <= s.hi
            UNION ALL
            SELECT location_type, location_id, 0, places, 0
            FROM {views}.capacity_deltas WHERE day >= s.hm AND day <= s.hi
        ) x
        GROUP BY s.hm, x.location_type, x.location_id
    ), levels AS (
        SELECT month, location_type, location_id, sum(persons) OVER w AS persons,
               sum(places) OVER w AS places, sum(k) OVER w AS persons_key,
               coalesce(lead(month) OVER w, (SELECT (hm + interval '1 month')::date FROM span))
                   AS next_month
        FROM per_month WINDOW w AS (PARTITION BY location_type, location_id ORDER BY month)
    ), ends AS (
        SELECT e.day, p.start, l.*
        FROM levels l CROSS JOIN span s
        CROSS JOIN LATERAL generate_series(
            date_trunc(period, l.month::timestamp), (l.next_month - 1)::timestamp,
            ('1 ' || period)::interval) AS p (start)
        CROSS JOIN LATERAL (
            SELECT least((p.start + ('1 ' || period)::interval)::date - 1, s.hi) AS day) e
        WHERE (l.persons <> 0 OR l.places <> 0)
          AND e.day >= s.lo AND e.day >= l.month AND e.day < l.next_month
    ), empty AS (
        SELECT greatest(p.start::date, s.lo) AS van,
               least((p.start + ('1 ' || period)::interval)::date - 1, s.hi) AS tot
        FROM span s CROSS JOIN LATERAL generate_series(
            date_trunc(period, greatest(s.lo, s.first_day)::timestamp), s.hi::timestamp,
            ('1 ' || period)::interval) AS p (start)
        WHERE s.first_day IS NOT NULL AND NOT EXISTS (SELECT FROM ends WHERE ends.start = p.start)
    )
    SELECT day, location_type, location_id, persons::int, places::int,
           round(100.0 * persons / nullif(places, 0), 1), persons_key
    FROM ends
    UNION ALL
    SELECT d.* FROM empty
    CROSS JOIN LATERAL {views}.coa_occupancy_capacity_ends_by_day(period, empty.van, empty.tot) d
) f WHERE period IN ('month', 'year')
$$;

CREATE FUNCTION {views}.lifecycle_ends_by_day(period text, van date, tot date)
RETURNS TABLE (day date, lifecycle text, state text, subjects int, subjects_key numeric)
LANGUAGE sql STABLE AS $$
WITH span AS MATERIALIZED (
    SELECT van AS lo, least(tot, current_date, u.day) AS hi FROM {views}.data_until u
), levels AS (
    SELECT greatest(x.day, s.lo) AS day, x.lifecycle, x.state, sum(x.subjects) OVER w AS subjects,
           sum(x.subjects_key) OVER w AS subjects_key,
           coalesce(lead(x.day) OVER w - 1, s.hi) AS last_day
    FROM {views}.lifecycle_deltas x CROSS JOIN span s WHERE x.day <= s.hi
    WINDOW w AS (PARTITION BY x.lifecycle, x.state ORDER BY x.day)
), cover AS (
    SELECT l.*, p.start, least(l.last_day, (p.start + ('1 ' || period)::interval)::date - 1) AS e
    FROM levels l CROSS JOIN LATERAL generate_series(
        date_trunc(period, l.day::timestamp), l.last_day::timestamp, ('1 ' || period)::interval)
        AS p (start)
    WHERE l.day <= l.last_day AND (l.subjects <> 0)
), ranked AS (
    SELECT *, max(e) OVER (PARTITION BY start) AS period_last FROM cover
)
SELECT e, lifecycle, state, subjects::int, subjects_key FROM ranked WHERE e = period_last
$$;

CREATE FUNCTION {views}.lifecycle_ends(period text, van date, tot date)
RETURNS TABLE (day date, lifecycle text, state text, subjects int, subjects_key numeric)
LANGUAGE sql STABLE AS $$
SELECT * FROM {views}.lifecycle_ends_by_day(period, van, tot)
WHERE period NOT IN ('month', 'year')
UNION ALL
SELECT * FROM (
    WITH span AS MATERIALIZED (
        SELECT van AS lo, h.hi, date_trunc('month', h.hi::timestamp)::date AS hm,
               (SELECT min(x.day) FROM {views}.lifecycle_deltas x) AS first_day
        FROM {views}.data_until u
        CROSS JOIN LATERAL (SELECT least(tot, current_date, u.day) AS hi) h
    ), per_month AS (
        SELECT m.month, m.lifecycle, m.state, m.subjects, m.subjects_key
        FROM {views}.lifecycle_monthly m CROSS JOIN span s WHERE m.month < s.hm
        UNION ALL
        SELECT s.hm, x.lifecycle, x.state, sum(x.subjects), sum(x.subjects_key)
        FROM {views}.lifecycle_deltas x CROSS JOIN span s WHERE x.day >= s.hm AND x.day <= s.hi
        GROUP BY s.hm, x.lifecycle, x.state
    ), levels AS (
        SELECT month, lifecycle, state, sum(subjects) OVER w AS subjects,
               sum(subjects_key) OVER w AS subjects_key,
               coalesce(lead(month) OVER w, (SELECT (hm + interval '1 month')::date FROM span))
                   AS next_month
        FROM per_month WINDOW w AS (PARTITION BY lifecycle, state ORDER BY month)
    ), ends AS (
        SELECT e.day, p.start, l.*
        FROM levels l CROSS JOIN span s
        CROSS JOIN LATERAL generate_series(
            date_trunc(period, l.month::timestamp), (l.next_month - 1)::timestamp,
            ('1 ' || period)::interval) AS p (start)
        CROSS JOIN LATERAL (
            SELECT least((p.start + ('1 ' || period)::interval)::date - 1, s.hi) AS day) e
        WHERE (l.subjects <> 0) AND e.day >= s.lo AND e.day >= l.month AND e.day < l.next_month
    ), empty AS (
        SELECT greatest(p.start::date, s.lo) AS van,
               least((p.start + ('1 ' || period)::interval)::date - 1, s.hi) AS tot
        FROM span s CROSS JOIN LATERAL generate_series(
            date_trunc(period, greatest(s.lo, s.first_day)::timestamp), s.hi::timestamp,
            ('1 ' || period)::interval) AS p (start)
        WHERE s.first_day IS NOT NULL AND NOT EXISTS (SELECT FROM ends WHERE ends.start = p.start)
    )
    SELECT day, lifecycle, state, subjects::int, subjects_key FROM ends
    UNION ALL
    SELECT d.* FROM empty
    CROSS JOIN LATERAL {views}.lifecycle_ends_by_day(period, empty.van, empty.tot) d
) f WHERE period IN ('month', 'year')
$$;

-- The backlog and GOO views hold every day from the first change on, zeros included: every
-- level is present, so each period's last day is its own or the span's.
CREATE FUNCTION {views}.decision_backlog_ends(period text, van date, tot date)
RETURNS TABLE (day date, pending int, pending_beyond_legal_period int, pending_key numeric,
               pending_beyond_legal_period_key numeric)
LANGUAGE sql STABLE AS $$
WITH span AS MATERIALIZED (
    SELECT van AS lo, least(tot, current_date, u.day) AS hi FROM {views}.data_until u
), levels AS (
    SELECT greatest(x.day, s.lo) AS day, sum(x.pending) OVER w AS pending,
           sum(x.late) OVER w AS late, sum(x.pending_key) OVER w AS pending_key,
           sum(x.late_key) OVER w AS late_key, coalesce(lead(x.day) OVER w - 1, s.hi) AS last_day
    FROM {views}.backlog_deltas x CROSS JOIN span s WHERE x.day <= s.hi
    WINDOW w AS (ORDER BY x.day)
), cover AS (
    SELECT l.*, p.start, least(l.last_day, (p.start + ('1 ' || period)::interval)::date - 1) AS e
    FROM levels l CROSS JOIN LATERAL generate_series(
        date_trunc(period, l.day::timestamp), l.last_day::timestamp, ('1 ' || period)::interval)
        AS p (start)
    WHERE l.day <= l.last_day
), ranked AS (
    SELECT *, max(e) OVER (PARTITION BY start) AS period_last FROM cover
)
SELECT e, pending::int, late::int, pending_key, late_key FROM ranked WHERE e = period_last
$$;

CREATE FUNCTION {views}.goo_occupancy_ends(period text, van date, tot date)
RETURNS TABLE (day date, persons int, persons_key numeric)
LANGUAGE sql STABLE AS $$
WITH span AS MATERIALIZED (
    SELECT van AS lo, least(tot, current_date, u.day) AS hi FROM {views}.data_until u
), levels AS (
    SELECT greatest(x.day, s.lo) AS day, sum(x.persons) OVER w AS persons,
           sum(x.persons_key) OVER w AS persons_key, coalesce(lead(x.day) OVER w - 1, s.hi) AS last_day
    FROM {views}.goo_deltas x CROSS JOIN span s WHERE x.day <= s.hi
    WINDOW w AS (ORDER BY x.day)
), cover AS (
    SELECT l.*, p.start, least(l.last_day, (p.start + ('1 ' || period)::interval)::date - 1) AS e
    FROM levels l CROSS JOIN LATERAL generate_series(
        date_trunc(period, l.day::timestamp), l.last_day::timestamp, ('1 ' || period)::interval)
        AS p (start)
    WHERE l.day <= l.last_day
), ranked AS (
    SELECT *, max(e) OVER (PARTITION BY start) AS period_last FROM cover
)
SELECT e, persons::int, persons_key FROM ranked WHERE e = period_last
$$;
