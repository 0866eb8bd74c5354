-- The EU Migration Pact's figures (docs/projections.md, "The Pact"): what each person
-- contributes (domain/contributions.py), replaced with the person's other rows.

ALTER TABLE departure_items ADD COLUMN border_return boolean NOT NULL DEFAULT false;

CREATE TABLE screening_items (
    person_key   text NOT NULL,
    event_id     uuid NOT NULL,
    started_at   timestamptz NOT NULL,
    completed_at timestamptz,
    location     text NOT NULL,
    referral     text                    -- ASYLUM_PROCEDURE, BORDER_PROCEDURE, RETURN_PROCEDURE, NONE
);
CREATE INDEX screening_items_person ON screening_items (person_key);
CREATE INDEX screening_items_started ON screening_items (started_at);

CREATE TABLE border_procedure_items (
    person_key text NOT NULL,
    event_id   uuid NOT NULL,
    case_id    text NOT NULL,
    started_at timestamptz NOT NULL,
    deadline   timestamptz NOT NULL,
    ended_at   timestamptz,
    result     text,                     -- DECIDED, MAXIMUM_REACHED, ENDED; NULL while open
    outcome    text                      -- the decision's outcome when DECIDED
);
CREATE INDEX border_procedure_items_person ON border_procedure_items (person_key);
CREATE INDEX border_procedure_items_started ON border_procedure_items (started_at);

CREATE TABLE eurodac_hit_items (
    person_key   text NOT NULL,
    event_id     uuid NOT NULL,
    day          date NOT NULL,
    category     text NOT NULL,
    member_state text NOT NULL
);
CREATE INDEX eurodac_hit_items_person ON eurodac_hit_items (person_key);
CREATE INDEX eurodac_hit_items_day ON eurodac_hit_items (day);

CREATE TABLE ammr_items (
    person_key      text NOT NULL,
    event_id        uuid NOT NULL,
    direction       text NOT NULL,       -- OUT, IN
    kind            text NOT NULL,       -- TAKE_CHARGE, TAKE_BACK
    member_state    text NOT NULL,
    requested_day   date NOT NULL,
    answered_day    date,
    answer          text,                -- ACCEPTED, REFUSED
    time_limit      date,
    transferred_day date
);
CREATE INDEX ammr_items_person ON ammr_items (person_key);
CREATE INDEX ammr_items_requested ON ammr_items (requested_day);

CREATE TABLE solidarity_items (
    person_key       text NOT NULL,
    event_id         uuid NOT NULL,
    direction        text NOT NULL,      -- INTO_NETHERLANDS, OUT_OF_NETHERLANDS
    member_state     text NOT NULL,
    relocation_group text NOT NULL,
    pledge_year      int  NOT NULL,
    decided_day      date NOT NULL,
    transferred_day  date
);
CREATE INDEX solidarity_items_person ON solidarity_items (person_key);
CREATE INDEX solidarity_items_decided ON solidarity_items (decided_day);
