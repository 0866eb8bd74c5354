-- What each person contributes to the analysts' figures (domain/contributions.py), replaced in
-- the processor's transaction whenever the person is folded again. The analysts' views over
-- them are in projections/views.sql.

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
