-- The distribution processor's own state (issue 15, processors/distribution.py): each person's
-- timeline records as they came (the history the decision reads, and the signed bytes an inbox
-- receives) and every delivery made, once per (recipient, event id). Written in one transaction
-- with the processor's positions (consumer_positions, consumer 'ketenlog-distribution').

CREATE TABLE distribution_records (
    event_id       uuid  NOT NULL,
    person_key     text  NOT NULL,
    fact           jsonb NOT NULL,
    record_key     bytea,
    record_value   bytea NOT NULL,
    -- [[name, hex of the value], ...] in the record's order
    record_headers jsonb NOT NULL,
    PRIMARY KEY (event_id, person_key)
);
CREATE INDEX distribution_records_person ON distribution_records (person_key);

CREATE TABLE deliveries (
    recipient    text NOT NULL,
    event_id     uuid NOT NULL,
    person_key   text NOT NULL,
    org          text NOT NULL,
    event_type   text NOT NULL,
    rule         text NOT NULL,
    rule_version int  NOT NULL,
    policy_label text NOT NULL,
    due_with     uuid NOT NULL,
    delivered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (recipient, event_id, person_key)
);
CREATE INDEX deliveries_person ON deliveries (person_key);
CREATE INDEX deliveries_org_rule ON deliveries (org, rule);
