-- Webhooks for agency inboxes (issue 15, ketenlog.webhooks): an organisation's registered
-- HTTPS endpoints, how far each has received its inbox, and its dead letter. Owner-only tables
-- (the analyst role reads views of its own schema, never these): the secret signs deliveries.
-- They live in a schema of their own, `webhook`, never in a replay's fresh schema: a replay's
-- swap replaces the live tables and must not take the registrations, secrets and dead letters
-- with it (so in a replay's schema this migration creates nothing new: IF NOT EXISTS).
CREATE SCHEMA IF NOT EXISTS webhook;

CREATE TABLE IF NOT EXISTS webhook.endpoints (
    id              serial PRIMARY KEY,
    org             text NOT NULL,
    -- For the municipalities' shared inbox: the one municipality (CBS code) this endpoint
    -- receives deliveries for; NULL for every other organisation.
    gemeente        text,
    url             text NOT NULL,
    secret          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered       bigint NOT NULL DEFAULT 0,
    requests        bigint NOT NULL DEFAULT 0,
    failures        bigint NOT NULL DEFAULT 0,
    last_success_at timestamptz,
    last_error      text,
    last_error_at   timestamptz,
    CHECK ((org = 'GEMEENTE') = (gemeente IS NOT NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS endpoints_url ON webhook.endpoints
    (org, coalesce(gemeente, ''), url);

-- The next inbox offset per partition each webhook has yet to handle (delivered or parked).
CREATE TABLE IF NOT EXISTS webhook.positions (
    webhook_id  int    NOT NULL REFERENCES webhook.endpoints (id) ON DELETE CASCADE,
    partition   int    NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (webhook_id, partition)
);

-- Deliveries that failed every try, in inbox order per webhook (seq). While a person has a row
-- here, their later events are parked behind it, so a redelivery keeps their order.
CREATE TABLE IF NOT EXISTS webhook.dead_letters (
    webhook_id  int    NOT NULL REFERENCES webhook.endpoints (id) ON DELETE CASCADE,
    seq         bigserial,
    partition   int    NOT NULL,
    "offset"    bigint NOT NULL,
    event_id    text   NOT NULL,
    person_key  text   NOT NULL,
    event       jsonb  NOT NULL,
    -- parked: waits for `ketenlog webhooks redeliver`; requeued: the sender sends it next.
    status      text   NOT NULL DEFAULT 'parked' CHECK (status IN ('parked', 'requeued')),
    attempts    int    NOT NULL,
    last_error  text   NOT NULL,
    parked_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (webhook_id, partition, "offset")
);
CREATE INDEX IF NOT EXISTS dead_letters_order ON webhook.dead_letters (webhook_id, seq);
