-- Housing of status holders: each link to a municipality and each housing, per task period,
-- and the municipalities' tasks (HousingTaskPublished, on the subject `housing-task:...`).

CREATE TABLE housing_items (
    person_key        text NOT NULL,
    event_id          uuid NOT NULL,
    day               date NOT NULL,
    municipality_code text NOT NULL,
    task_period       text NOT NULL,   -- e.g. 2026-I, 2026-II
    step              text NOT NULL    -- LINKED or HOUSED
);
CREATE INDEX housing_items_person ON housing_items (person_key);

CREATE TABLE housing_tasks (
    person_key        text NOT NULL,   -- the subject that carries the task
    municipality_code text NOT NULL,
    task_period       text NOT NULL,
    task              int  NOT NULL
);
CREATE INDEX housing_tasks_person ON housing_tasks (person_key);

-- Per municipality and task period: the task, status holders linked and housed so far, and
-- what is left of the task (the backlog; never below zero).
CREATE VIEW analyst.housing AS
WITH steps AS (
    SELECT municipality_code, task_period,
           count(*) FILTER (WHERE step = 'LINKED')::int AS linked,
           count(*) FILTER (WHERE step = 'HOUSED')::int AS housed
    FROM housing_items GROUP BY municipality_code, task_period
), tasks AS (
    SELECT municipality_code, task_period, sum(task)::int AS task
    FROM housing_tasks GROUP BY municipality_code, task_period
)
SELECT municipality_code, task_period,
       coalesce(tasks.task, 0) AS task,
       coalesce(steps.linked, 0) AS linked,
       coalesce(steps.housed, 0) AS housed,
       greatest(coalesce(tasks.task, 0) - coalesce(steps.housed, 0), 0) AS backlog
FROM tasks FULL JOIN steps USING (municipality_code, task_period);
