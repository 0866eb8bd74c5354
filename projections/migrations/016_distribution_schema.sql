-- The distribution processor's state in a schema of their own, `distribution`, as the webhooks'
-- (015) and the read log's are: a replay's swap, and the processor's catch-up at batch speed
-- (ketenlog.catching_up), replace every table of the live schema with a fresh copy, and took
-- the deliveries made and the distribution processor's positions with them (the next run then
-- delivered every inbox record again). Its positions leave consumer_positions for the same
-- reason. In a replay's fresh schema, where 014 just created the tables, they are dropped again.
CREATE SCHEMA IF NOT EXISTS distribution;

CREATE TABLE IF NOT EXISTS distribution.positions (
    consumer    text   NOT NULL,
    topic       text   NOT NULL,
    partition   int    NOT NULL,
    next_offset bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);

DO $$
BEGIN
    IF to_regclass('distribution.deliveries') IS NULL THEN
        -- The schema being migrated is first on the search path: these are its tables.
        ALTER TABLE distribution_records SET SCHEMA distribution;
        ALTER TABLE deliveries SET SCHEMA distribution;
        -- The distribution processor's positions are those on its input, the timeline.
        INSERT INTO distribution.positions
            SELECT consumer, topic, partition, next_offset, updated_at FROM consumer_positions
            WHERE topic = 'keten.timeline';
        DELETE FROM consumer_positions WHERE topic = 'keten.timeline';
    ELSE
        DROP TABLE distribution_records;
        DROP TABLE deliveries;
    END IF;
END $$;
