-- The processors' own state: consumer positions kept with the state they produced, every
-- accepted event once (the de-duplication set and each person's history), and the derived
-- per-person lifecycle with its state changes and anomalies.

CREATE TABLE consumer_positions (
    consumer    text   NOT NULL,
    topic       text   NOT NULL,
    partition   int    NOT NULL,
    next_offset bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);

CREATE TABLE timeline_events (
    event_id         uuid PRIMARY KEY,
    person_key       text NOT NULL,
    event_type       text NOT NULL,
    producer         text NOT NULL,
    occurred_at      timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL,
    source_topic     text NOT NULL,
    source_partition int  NOT NULL,
    source_offset    bigint NOT NULL,
    ingested_at      timestamptz NOT NULL DEFAULT now(),
    fact             jsonb NOT NULL
);
CREATE INDEX timeline_events_person ON timeline_events (person_key);

CREATE TABLE person_state (
    person_key text PRIMARY KEY,
    state      jsonb NOT NULL,
    events     int NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE state_changes (
    person_key  text NOT NULL,
    seq         int  NOT NULL,
    event_id    uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    lifecycle   text NOT NULL,
    subject     text NOT NULL,
    from_state  text,
    to_state    text NOT NULL,
    PRIMARY KEY (person_key, seq)
);

CREATE TABLE anomalies (
    person_key  text NOT NULL,
    seq         int  NOT NULL,
    kind        text NOT NULL,
    event_id    uuid,
    occurred_at timestamptz,
    case_id     text,
    detail      text NOT NULL,
    PRIMARY KEY (person_key, seq)
);
CREATE INDEX anomalies_kind ON anomalies (kind);
