-- The IND's pending cases: one row per case, from the day its first application was lodged to
-- the day of its first decision (NULL: still pending); and the analysts' daily backlog.

CREATE TABLE case_items (
    person_key  text NOT NULL,
    case_id     text NOT NULL,
    lodged_day  date NOT NULL,
    decided_day date,
    PRIMARY KEY (person_key, case_id)
);

-- Pending at the end of each day, and of those pending longer than the legal decision period
-- of six months (Vreemdelingenwet art. 42; extensions to 15 months are not recorded as events).
CREATE VIEW analyst.decision_backlog AS
WITH spans AS (
    SELECT lodged_day AS from_day, decided_day AS to_day, false AS beyond FROM case_items
    WHERE decided_day IS NULL OR lodged_day < decided_day
    UNION ALL
    SELECT (lodged_day + interval '6 months')::date, decided_day, true FROM case_items
    WHERE decided_day IS NULL OR (lodged_day + interval '6 months')::date < decided_day
), deltas AS (
    SELECT from_day AS day, beyond, 1 AS d FROM spans
    UNION ALL
    SELECT to_day, beyond, -1 FROM spans WHERE to_day IS NOT NULL
), per_day AS (
    SELECT day, sum(d) FILTER (WHERE NOT beyond) AS pending, sum(d) FILTER (WHERE beyond) AS late
    FROM deltas GROUP BY day
), days AS (
    SELECT generate_series(min(day), greatest(max(day), current_date), interval '1 day')::date AS day
    FROM per_day
)
SELECT days.day,
       (sum(coalesce(per_day.pending, 0)) OVER w)::int AS pending,
       (sum(coalesce(per_day.late, 0)) OVER w)::int AS pending_beyond_legal_period
FROM days LEFT JOIN per_day ON per_day.day = days.day
WINDOW w AS (ORDER BY days.day);
