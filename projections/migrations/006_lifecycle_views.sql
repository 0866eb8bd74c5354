-- The lifecycle for analysts: subjects per lifecycle and state at the end of each day (from the
-- state changes every fold stores), and anomalies per day and kind.


-- A change moves one subject (a case, a reception, ...) out of from_state and into to_state
-- on the day of its valid time; the running sum is the number in each state.
CREATE VIEW analyst.lifecycle AS
WITH deltas AS (
    SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, lifecycle, to_state AS state, 1 AS d
    FROM state_changes
    UNION ALL
    SELECT (occurred_at AT TIME ZONE 'UTC')::date, lifecycle, from_state, -1
    FROM state_changes WHERE from_state IS NOT NULL
), per_day AS (
    SELECT day, lifecycle, state, sum(d) AS d FROM deltas GROUP BY day, lifecycle, state
), days AS (
    SELECT generate_series(min(day), greatest(max(day), current_date), interval '1 day')::date AS day
    FROM per_day
), keys AS (
    SELECT DISTINCT lifecycle, state FROM per_day
), running AS (
    SELECT days.day, keys.lifecycle, keys.state,
           sum(coalesce(per_day.d, 0)) OVER (
               PARTITION BY keys.lifecycle, keys.state ORDER BY days.day) AS subjects
    FROM days CROSS JOIN keys
    LEFT JOIN per_day ON per_day.day = days.day AND per_day.lifecycle = keys.lifecycle
                     AND per_day.state = keys.state
)
SELECT day, lifecycle, state, subjects::int AS subjects FROM running WHERE subjects <> 0;

CREATE VIEW analyst.anomalies AS
SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, kind, count(*)::int AS anomalies
FROM anomalies WHERE occurred_at IS NOT NULL
GROUP BY 1, 2;
