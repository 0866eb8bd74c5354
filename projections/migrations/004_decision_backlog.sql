-- The IND's pending cases: one row per case, from the day its first application was lodged to
-- the day of its first decision (NULL: still pending). The backlog view is in views.sql.

CREATE TABLE case_items (
    person_key  text NOT NULL,
    case_id     text NOT NULL,
    lodged_day  date NOT NULL,
    decided_day date,
    PRIMARY KEY (person_key, case_id)
);
