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
