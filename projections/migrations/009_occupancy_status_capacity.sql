-- Occupancy by location and resident status, capacity, and relocations (docs/projections.md).
-- Stays are split further: by location id, by the resident status of the reception's case
-- and by whether the person is a child. Rows written before this migration say UNKNOWN (and
-- not a child) until their person is folded again (`ketenlog replay` rebuilds them all).
ALTER TABLE coa_stays
    ADD COLUMN location_id     text    NOT NULL DEFAULT 'UNKNOWN',
    ADD COLUMN resident_status text    NOT NULL DEFAULT 'UNKNOWN', -- IN_PROCEDURE, STATUS_HOLDER, REJECTED, OTHER
    ADD COLUMN minor           boolean NOT NULL DEFAULT false;

-- A location's places per span of days [from_day, to_day) (LocationOpened,
-- LocationCapacityChanged, LocationClosed on the subject `location:<id>`).
CREATE TABLE location_capacity (
    person_key    text NOT NULL,   -- the subject that carries the location: location:<id>
    seq           int  NOT NULL,
    from_day      date NOT NULL,
    to_day        date,
    location_id   text NOT NULL,
    location_type text NOT NULL,
    places        int  NOT NULL,
    PRIMARY KEY (person_key, seq)
);

-- Each relocation (Relocated) of a person counted in COA occupancy, on the day it happened.
CREATE TABLE relocation_items (
    person_key    text    NOT NULL,
    event_id      uuid    NOT NULL,
    day           date    NOT NULL,
    minor         boolean NOT NULL,   -- under 18 by the age reached in the year of the move
    location_type text    NOT NULL    -- moved to
);
CREATE INDEX relocation_items_person ON relocation_items (person_key);
